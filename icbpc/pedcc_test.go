package icbpc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func unitRows(rows [][]float64) *Centroids {
	c := &Centroids{Classes: len(rows), Dim: len(rows[0])}
	for _, r := range rows {
		c.Data = append(c.Data, r...)
	}
	for i := 0; i < c.Classes; i++ {
		normalize(c.Row(i))
	}
	return c
}

func assertRow(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for j := range want {
		if math.Abs(got[j]-want[j]) > tol {
			t.Errorf("%s = %v, want %v (tol %g)", what, got, want, tol)
			return
		}
	}
}

// TestPEDCCReferenceVector checks the C=4, d=3 test vector of
// icbpc-reference.md §2.2.
func TestPEDCCReferenceVector(t *testing.T) {
	start := unitRows([][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}})
	s3 := 1 / math.Sqrt(3)

	it1 := RepulsePEDCC(start, 1)
	for i := 0; i < 4; i++ {
		assertRow(t, fmt.Sprintf("iter 1 row %d", i), it1.Row(i), start.Row(i), 1e-15)
	}

	it2 := RepulsePEDCC(start, 2)
	assertRow(t, "iter 2 row 0", it2.Row(0), []float64{0.99988, -0.010963, -0.010963}, 1e-5)
	assertRow(t, "iter 2 row 1", it2.Row(1), []float64{-0.010963, 0.99988, -0.010963}, 1e-5)
	assertRow(t, "iter 2 row 2", it2.Row(2), []float64{-0.010963, -0.010963, 0.99988}, 1e-5)
	assertRow(t, "iter 2 row 3", it2.Row(3), []float64{s3, s3, s3}, 1e-12)

	it200 := RepulsePEDCC(start, 200)
	assertRow(t, "iter 200 row 0", it200.Row(0), []float64{0.577376, -0.577338, -0.577338}, 2e-6)
	assertRow(t, "iter 200 row 3", it200.Row(3), []float64{s3, s3, s3}, 1e-12)
	if c := it200.Cosine(0, 1); math.Abs(c-(-0.33336)) > 1e-5 {
		t.Errorf("iter 200 cos(0,1) = %.6f, want -0.33336", c)
	}
	if c := it200.Cosine(0, 3); math.Abs(c-(-0.33330)) > 1e-5 {
		t.Errorf("iter 200 cos(0,3) = %.6f, want -0.33330", c)
	}
	// The input must not be modified.
	assertRow(t, "start row 0", start.Row(0), []float64{1, 0, 0}, 0)
}

func TestPEDCCEvenlyDistributed(t *testing.T) {
	cases := []struct {
		c, d   int
		method PEDCCMethod
	}{
		{10, 60, PEDCCRepulsion}, {10, 100, PEDCCRepulsion}, {20, 160, PEDCCRepulsion},
		{10, 60, PEDCCSimplex}, {10, 100, PEDCCSimplex}, {20, 160, PEDCCSimplex},
		{4, 3, PEDCCSimplex}, {2, 1, PEDCCSimplex}, {11, 10, PEDCCSimplex},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v_%d_%d", tc.method, tc.c, tc.d), func(t *testing.T) {
			got, err := NewPEDCC(tc.c, tc.d, PEDCCOptions{Method: tc.method, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if got.Classes != tc.c || got.Dim != tc.d || len(got.Data) != tc.c*tc.d {
				t.Fatalf("shape %dx%d (%d values)", got.Classes, got.Dim, len(got.Data))
			}
			for i := 0; i < tc.c; i++ {
				var n float64
				for _, v := range got.Row(i) {
					n += v * v
				}
				if math.Abs(math.Sqrt(n)-1) > 1e-12 {
					t.Errorf("row %d norm %v", i, math.Sqrt(n))
				}
			}
			tol := 1e-3
			if tc.method == PEDCCSimplex {
				tol = 1e-12
			}
			if e := got.MaxCosineError(); e > tol {
				t.Errorf("max |cos + 1/(C-1)| = %g, want <= %g", e, tol)
			}
		})
	}
}

func TestPEDCCSeeded(t *testing.T) {
	for _, m := range []PEDCCMethod{PEDCCRepulsion, PEDCCSimplex} {
		a, _ := NewPEDCC(10, 60, PEDCCOptions{Method: m, Seed: 1})
		b, _ := NewPEDCC(10, 60, PEDCCOptions{Method: m, Seed: 1})
		c, _ := NewPEDCC(10, 60, PEDCCOptions{Method: m, Seed: 2})
		if !slicesEqual(a.Data, b.Data) {
			t.Errorf("%v: same seed gave different centroids", m)
		}
		if slicesEqual(a.Data, c.Data) {
			t.Errorf("%v: different seeds gave identical centroids", m)
		}
	}
	// More iterations get closer to the simplex (reference: 1000 iterations exact to 1e-5).
	few, _ := NewPEDCC(10, 60, PEDCCOptions{Iterations: 50, Seed: 3})
	many, _ := NewPEDCC(10, 60, PEDCCOptions{Iterations: 1000, Seed: 3})
	if !(many.MaxCosineError() < few.MaxCosineError()) || many.MaxCosineError() > 1e-5 {
		t.Errorf("50 iterations: %g, 1000 iterations: %g", few.MaxCosineError(), many.MaxCosineError())
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPEDCCBadShape(t *testing.T) {
	cases := []struct {
		c, d int
		want string
	}{
		{10, 3, "need classes <= dim+1"},
		{21, 19, "need classes <= dim+1"},
		{1, 60, "at least 2 classes"},
		{10, 0, "positive dimension"},
	}
	for _, tc := range cases {
		for _, m := range []PEDCCMethod{PEDCCRepulsion, PEDCCSimplex} {
			_, err := NewPEDCC(tc.c, tc.d, PEDCCOptions{Method: m})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewPEDCC(%d, %d, %v) error = %v, want one containing %q", tc.c, tc.d, m, err, tc.want)
			}
		}
	}
	if _, err := NewPEDCC(4, 3, PEDCCOptions{Iterations: -1}); err == nil {
		t.Error("negative iterations accepted")
	}
	if _, err := ParsePEDCCMethod("kmeans"); err == nil {
		t.Error("unknown method accepted")
	}
}

// torchPickle is pickle.dumps({0: DoubleTensor([[0.6, 0, -0.8]]), 1:
// DoubleTensor([[0, 1, 0]]), 2: FloatTensor([[0.25, 0.5, -0.75]])},
// protocol=3) from torch 1.13: the layout of the authors' 10_60.pkl.
const torchPickle = "" +
	"80037d7100284b0063746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71012863746f72" +
	"63682e73746f726167650a5f6c6f61645f66726f6d5f62797465730a7102420a01000080028a0a6cfc9c46f9206aa850" +
	"192e80024de9032e80027d710028581000000070726f746f636f6c5f76657273696f6e71014de903580d0000006c6974" +
	"746c655f656e6469616e710288580a000000747970655f73697a657371037d710428580500000073686f727471054b02" +
	"5803000000696e7471064b0458040000006c6f6e6771074b0475752e800228580700000073746f72616765710063746f" +
	"7263680a446f75626c6553746f726167650a710158090000003735303534333731327102580300000063707571034b03" +
	"4e747104512e80025d710058090000003735303534333731327101612e0300000000000000333333333333e33f000000" +
	"00000000009a9999999999e9bf71038571045271054b004b014b038671064b034b018671078963636f6c6c656374696f" +
	"6e730a4f726465726564446963740a71082952710974710a52710b4b016801286802420a01000080028a0a6cfc9c46f9" +
	"206aa850192e80024de9032e80027d710028581000000070726f746f636f6c5f76657273696f6e71014de903580d0000" +
	"006c6974746c655f656e6469616e710288580a000000747970655f73697a657371037d710428580500000073686f7274" +
	"71054b025803000000696e7471064b0458040000006c6f6e6771074b0475752e800228580700000073746f7261676571" +
	"0063746f7263680a446f75626c6553746f726167650a7101580900000036383834393137323871025803000000637075" +
	"71034b034e747104512e80025d710058090000003638383439313732387101612e030000000000000000000000000000" +
	"00000000000000f03f0000000000000000710c85710d52710e4b004b014b0386710f4b034b0186711089680829527111" +
	"7471125271134b02680128680243fd80028a0a6cfc9c46f9206aa850192e80024de9032e80027d710028581000000070" +
	"726f746f636f6c5f76657273696f6e71014de903580d0000006c6974746c655f656e6469616e710288580a0000007479" +
	"70655f73697a657371037d710428580500000073686f727471054b025803000000696e7471064b0458040000006c6f6e" +
	"6771074b0475752e800228580700000073746f72616765710063746f7263680a466c6f617453746f726167650a710158" +
	"090000003735303433373437327102580300000063707571034b034e747104512e80025d710058090000003735303433" +
	"373437327101612e03000000000000000000803e0000003f000040bf71148571155271164b004b014b038671174b034b" +
	"018671188968082952711974711a52711b752e"

// syntheticPickle writes the authors' layout by hand: a dict of int keys to
// _rebuild_tensor_v2(_load_from_bytes(blob), ...) where blob ends in an
// int64 count and float64 values.
func syntheticPickle(rows [][]float64) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x80, 3, '}', 'q', 0, '('})
	for k, row := range rows {
		b.Write([]byte{'K', byte(k)})
		b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(ctorch.storage\n_load_from_bytes\n")
		var blob bytes.Buffer
		blob.WriteString("\x80\x02(X\x07\x00\x00\x00storageq\x00ctorch\nDoubleStorage\n.")
		binary.Write(&blob, binary.LittleEndian, int64(len(row)))
		binary.Write(&blob, binary.LittleEndian, row)
		b.WriteByte('B')
		binary.Write(&b, binary.LittleEndian, uint32(blob.Len()))
		b.Write(blob.Bytes())
		b.Write([]byte{0x85, 'R', 'K', 0, 'K', 1, 'K', byte(len(row)), 0x86, 'K', byte(len(row)), 'K', 1, 0x86, 0x89})
		b.WriteString("ccollections\nOrderedDict\n)R")
		b.Write([]byte{'t', 'R'})
	}
	b.Write([]byte{'u', '.'})
	return b.Bytes()
}

func TestReadPEDCCPickle(t *testing.T) {
	raw, err := hex.DecodeString(torchPickle)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadPEDCCPickle(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.6, 0, -0.8, 0, 1, 0, 0.25, 0.5, -0.75}
	if c.Classes != 3 || c.Dim != 3 || !slicesEqual(c.Data, want) {
		t.Fatalf("torch pickle: got %dx%d %v, want 3x3 %v", c.Classes, c.Dim, c.Data, want)
	}

	// A synthetic 10 x 60 file in the authors' layout, written and read back
	// from disk.
	ref, _ := NewPEDCC(10, 60, PEDCCOptions{Seed: 5})
	rows := make([][]float64, ref.Classes)
	for i := range rows {
		rows[i] = ref.Row(i)
	}
	path := filepath.Join(t.TempDir(), "10_60.pkl")
	if err := os.WriteFile(path, syntheticPickle(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPEDCCPickle(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Classes != 10 || got.Dim != 60 || !slicesEqual(got.Data, ref.Data) {
		t.Fatalf("synthetic pickle: got %dx%d, values equal %v", got.Classes, got.Dim, slicesEqual(got.Data, ref.Data))
	}

	// Truncated or foreign files fail with an error naming the file.
	full := syntheticPickle(rows)
	for _, bad := range [][]byte{full[:len(full)/2], full[:3], []byte("not a pickle"), {0x80, 3, ']', '.'}} {
		p := filepath.Join(t.TempDir(), "bad.pkl")
		os.WriteFile(p, bad, 0o644)
		if _, err := LoadPEDCCPickle(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("bad pickle of %d bytes: error %v, want one naming %s", len(bad), err, p)
		}
	}
	if _, err := LoadPEDCCPickle(filepath.Join(t.TempDir(), "missing.pkl")); err == nil {
		t.Error("missing file accepted")
	}
}

// ExampleNewPEDCC shows the two ways to place 10 class centroids in a
// 60-dimensional latent space.
func ExampleNewPEDCC() {
	rep, err := NewPEDCC(10, 60, PEDCCOptions{Method: PEDCCRepulsion, Seed: 1})
	if err != nil {
		panic(err)
	}
	sim, err := NewPEDCC(10, 60, PEDCCOptions{Method: PEDCCSimplex, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("repulsion: %dx%d, cos(0,1) = %.3f, within 1e-3 of -1/9: %v\n", rep.Classes, rep.Dim, rep.Cosine(0, 1), rep.MaxCosineError() < 1e-3)
	fmt.Printf("simplex:   %dx%d, cos(0,1) = %.4f\n", sim.Classes, sim.Dim, sim.Cosine(0, 1))
	_, err = NewPEDCC(10, 3, PEDCCOptions{})
	fmt.Println(err)
	// Output:
	// repulsion: 10x60, cos(0,1) = -0.111, within 1e-3 of -1/9: true
	// simplex:   10x60, cos(0,1) = -0.1111
	// pedcc: 10 classes cannot be evenly distributed in 3 dimensions: need classes <= dim+1 (use a latent dimension of at least 9)
}
