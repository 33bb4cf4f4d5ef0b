package tensor_test

import (
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// transposeHost returns the [c, r] transpose of row-major [r, c] data.
func transposeHost(d []float32, r, c int) []float32 {
	out := make([]float32, len(d))
	for i := range r {
		for j := range c {
			out[j*r+i] = d[i*c+j]
		}
	}
	return out
}

func TestReshape(t *testing.T) {
	b := backend(t)
	x := tensor.FromSlice(b, seq(24), 2, 3, 4)
	tests := []struct {
		name  string
		shape []int
		want  []int
	}{
		{"flat", []int{24}, []int{24}},
		{"infer", []int{4, -1}, []int{4, 6}},
		{"infer first", []int{-1, 2, 3}, []int{4, 2, 3}},
		{"same", []int{2, 3, 4}, []int{2, 3, 4}},
		{"ones", []int{1, 24, 1}, []int{1, 24, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tensor.Reshape(x, tc.shape...)
			wantValues(t, "reshape", r, tc.want, seq(24))
			if r.Buffer() != x.Buffer() {
				t.Error("reshape of a dense tensor copied the data")
			}
		})
	}
	// A transposed tensor is copied into row-major order first.
	tr := tensor.Transpose(tensor.FromSlice(b, seq(12), 3, 4), 0, 1)
	r := tensor.Reshape(tr, 2, 6)
	wantValues(t, "reshape of transpose", r, []int{2, 6}, transposeHost(seq(12), 3, 4))
	if r.Buffer() == tr.Buffer() {
		t.Error("reshape of a non-contiguous tensor did not copy")
	}
	if s := tensor.Flatten(x).Shape(); !equalInts(s, []int{2, 12}) {
		t.Errorf("Flatten shape %v", s)
	}
	if s := tensor.Reshape(tensor.Scalar(b, 3)).Shape(); len(s) != 0 {
		t.Errorf("scalar reshape shape %v", s)
	}
}

func TestViews(t *testing.T) {
	b := backend(t)
	x := tensor.FromSlice(b, seq(24), 2, 3, 4)
	p := tensor.Permute(x, 2, 0, 1)
	if !equalInts(p.Shape(), []int{4, 2, 3}) || !equalInts(p.Strides(), []int{1, 12, 4}) || p.IsContiguous() {
		t.Fatalf("permute: shape %v strides %v", p.Shape(), p.Strides())
	}
	var want []float32
	for k := range 4 {
		for i := range 2 {
			for j := range 3 {
				want = append(want, float32(i*12+j*4+k))
			}
		}
	}
	wantValues(t, "permute", p, []int{4, 2, 3}, want)

	s := tensor.Slice(x, 2, 1, 3) // [2,3,2]
	if s.Offset() != 1 || s.Buffer() != x.Buffer() {
		t.Fatalf("slice offset %d", s.Offset())
	}
	wantValues(t, "slice", s, []int{2, 3, 2}, []float32{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22})
	ss := tensor.Slice(tensor.Slice(x, 0, 1, 2), 1, 1, 3)
	wantValues(t, "slice of slice", ss, []int{1, 2, 4}, []float32{16, 17, 18, 19, 20, 21, 22, 23})
	parts := tensor.Split(x, 1, 1, 2)
	wantValues(t, "split 0", parts[0], []int{2, 1, 4}, []float32{0, 1, 2, 3, 12, 13, 14, 15})

	e := tensor.Expand(tensor.FromSlice(b, []float32{1, 2, 3}, 3, 1), 2, 3, 4)
	if !equalInts(e.Strides(), []int{0, 1, 0}) {
		t.Fatalf("expand strides %v", e.Strides())
	}
	wantValues(t, "expand", e, []int{2, 3, 4}, []float32{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3})

	u := tensor.Unsqueeze(x, 1)
	wantValues(t, "unsqueeze", u, []int{2, 1, 3, 4}, seq(24))
	wantValues(t, "unsqueeze end", tensor.Unsqueeze(x, -1), []int{2, 3, 4, 1}, seq(24))
	wantValues(t, "squeeze", tensor.Squeeze(u, 1), []int{2, 3, 4}, seq(24))

	// A view of a view of a transposed tensor, made dense.
	tt := tensor.Transpose(tensor.Slice(x, 1, 0, 2), 0, 2) // [4,2,2]
	c := tensor.Contiguous(tt)
	if !c.IsContiguous() || tensor.Contiguous(c) != c {
		t.Error("Contiguous of a dense tensor should return it unchanged")
	}
	wantValues(t, "contiguous", c, []int{4, 2, 2}, tt.Float32s())
	if got := tt.Float32s(); got[1] != 12 || got[2] != 4 {
		t.Errorf("transposed slice values %v", got)
	}
}

func TestAssignAndWrite(t *testing.T) {
	b := backend(t)
	big := tensor.Zeros(b, 3, 4)
	tensor.Assign(tensor.Slice(big, 1, 1, 3), tensor.Transpose(tensor.FromSlice(b, seq(6), 2, 3), 0, 1))
	wantValues(t, "assign into slice", big, []int{3, 4}, []float32{0, 0, 3, 0, 0, 1, 4, 0, 0, 2, 5, 0})
	tensor.Write(big, seq(12))
	wantValues(t, "write", big, []int{3, 4}, seq(12))
	wantOpError(t, func() { tensor.Assign(big, tensor.Zeros(b, 4, 3)) }, "Assign", "[3 4]", "[4 3]")
	wantOpError(t, func() { tensor.Write(tensor.Transpose(big, 0, 1), seq(12)) }, "Write")
	wantOpError(t, func() { tensor.Write(big, seq(5)) }, "Write", "5 values")
}

func TestViewErrors(t *testing.T) {
	b := backend(t)
	x := tensor.Zeros(b, 2, 3)
	tests := []struct {
		name string
		f    func()
		frag []string
	}{
		{"reshape count", func() { tensor.Reshape(x, 4, 2) }, []string{"Reshape", "[2 3]", "[4 2]"}},
		{"reshape two -1", func() { tensor.Reshape(x, -1, -1) }, []string{"Reshape"}},
		{"reshape infer", func() { tensor.Reshape(x, 4, -1) }, []string{"Reshape", "cannot infer"}},
		{"permute repeat", func() { tensor.Permute(x, 0, 0) }, []string{"Permute", "repeated"}},
		{"permute rank", func() { tensor.Permute(x, 0) }, []string{"Permute", "rank 2"}},
		{"axis range", func() { tensor.Transpose(x, 0, 2) }, []string{"Transpose", "axis 2 out of range"}},
		{"slice range", func() { tensor.Slice(x, 1, 2, 5) }, []string{"Slice", "[2, 5)"}},
		{"slice empty", func() { tensor.Slice(x, 0, 1, 1) }, []string{"Slice"}},
		{"expand", func() { tensor.Expand(x, 2, 4) }, []string{"Expand", "[2 3]", "[2 4]"}},
		{"expand rank", func() { tensor.Expand(x, 3) }, []string{"Expand", "rank"}},
		{"squeeze", func() { tensor.Squeeze(x, 0) }, []string{"Squeeze", "size 2"}},
		{"split sizes", func() { tensor.Split(x, 1, 1, 1) }, []string{"Split", "sum to 2"}},
		{"unsqueeze", func() { tensor.Unsqueeze(x, 4) }, []string{"Unsqueeze"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantOpError(t, tc.f, tc.frag...) })
	}
}
