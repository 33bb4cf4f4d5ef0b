package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// conv is a hand-written convolution shape: input channels and side,
// output channels, kernel, stride, padding and output side.
type conv struct{ cin, h, cout, k, s, p, oh int }

func (c conv) params(n int) tensor.Conv2DParams {
	return tensor.Conv2DParams{N: n, Cin: c.cin, H: c.h, W: c.h, Cout: c.cout, KH: c.k, KW: c.k,
		StrideH: c.s, StrideW: c.s, PadH: c.p, PadW: c.p, OH: c.oh, OW: c.oh}
}

// TestTraceEncoders checks the traced shapes against the architectures
// written out by hand from nn's documentation (1x32x32 input).
func TestTraceEncoders(t *testing.T) {
	const n = 3
	cases := []struct {
		enc    string
		params int
		convs  []conv
		layers []string // a few layer names, in forward order
		head   int      // features into the linear head
	}{
		{"released", 4929820, []conv{
			{1, 32, 32, 3, 1, 0, 30},
			{32, 30, 32, 3, 2, 1, 15}, {32, 15, 32, 3, 1, 1, 15}, {32, 30, 32, 1, 2, 0, 15},
			{32, 15, 64, 3, 2, 1, 8}, {64, 8, 64, 3, 1, 1, 8}, {32, 15, 64, 1, 2, 0, 8},
			{64, 8, 128, 3, 2, 1, 4}, {128, 4, 128, 3, 1, 1, 4}, {64, 8, 128, 1, 2, 0, 4},
			{128, 4, 256, 3, 2, 1, 2}, {256, 2, 256, 3, 1, 1, 2}, {128, 4, 256, 1, 2, 0, 2},
			{256, 2, 512, 3, 2, 1, 1}, {512, 1, 512, 3, 1, 1, 1}, {256, 2, 512, 1, 2, 0, 1},
		}, []string{"block1.0", "block2.conv1", "block2.conv2"}, 512},
		{"table3", 0, []conv{
			{1, 32, 32, 3, 1, 1, 32},
			{32, 16, 64, 3, 1, 1, 16}, {64, 16, 64, 3, 1, 1, 16}, {32, 16, 64, 1, 1, 0, 16},
			{64, 16, 128, 3, 2, 1, 8}, {128, 8, 128, 3, 1, 1, 8}, {64, 16, 128, 1, 2, 0, 8},
			{128, 8, 256, 3, 2, 1, 4}, {256, 4, 256, 3, 1, 1, 4}, {128, 8, 256, 1, 2, 0, 4},
			{256, 4, 512, 3, 2, 1, 2}, {512, 2, 512, 3, 1, 1, 2}, {256, 4, 512, 1, 2, 0, 2},
		}, []string{"conv1", "layer1.0.conv1", "layer1.0.conv2"}, 512},
	}
	for _, c := range cases {
		t.Run(c.enc, func(t *testing.T) {
			tr, err := TraceEncoder(c.enc, n)
			if err != nil {
				t.Fatal(err)
			}
			if c.params != 0 && tr.Params != c.params {
				t.Errorf("%d parameters, want %d", tr.Params, c.params)
			}
			if len(tr.Convs) != len(c.convs) {
				t.Fatalf("%d convolutions traced, want %d: %+v", len(tr.Convs), len(c.convs), tr.Convs)
			}
			flops := 0.0
			for i, want := range c.convs {
				got := tr.Convs[i]
				if got.Params != want.params(n) {
					t.Errorf("conv %d (%s): %+v, want %+v", i, got.Layer, got.Params, want.params(n))
				}
				if got.Layer == "?" || got.Layer == "" {
					t.Errorf("conv %d has no layer name", i)
				}
				// Forward and both backward directions, except the
				// input's gradient of the first layer (the images need none).
				dirs := 3.0
				if i == 0 {
					dirs = 2
				}
				flops += dirs * Spec{Kind: KindConvForward, Conv: got.Params}.Cost().Flops
			}
			for i, l := range c.layers {
				if tr.Convs[i].Layer != l {
					t.Errorf("conv %d is %q, want %q", i, tr.Convs[i].Layer, l)
				}
			}
			// The head: x @ w^T forward, dy @ w and dy^T @ x backward.
			want := []MatMulCall{
				{Role: "forward", Batch: 1, M: n, N: LatentDim, K: c.head, TransB: true},
				{Role: "backward-data", Batch: 1, M: n, N: c.head, K: LatentDim},
				{Role: "backward-weight", Batch: 1, M: LatentDim, N: c.head, K: n, TransA: true},
			}
			if len(tr.MatMuls) != len(want) {
				t.Fatalf("matmuls %+v, want %+v", tr.MatMuls, want)
			}
			for i, w := range want {
				g := tr.MatMuls[i]
				g.Layer = ""
				if g != w {
					t.Errorf("matmul %d: %+v, want %+v", i, g, w)
				}
				flops += 2 * float64(w.M*w.N*w.K)
			}
			if math.Abs(tr.Flops-flops) > 1e-9*flops {
				t.Errorf("step FLOPs %g, want %g", tr.Flops, flops)
			}
		})
	}
}

func TestSuite(t *testing.T) {
	specs, err := Suite()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		key := s.Group() + "/" + s.Name
		if seen[key] {
			t.Errorf("duplicate benchmark %s", key)
		}
		seen[key] = true
		c := s.Cost()
		if c.Flops <= 0 && c.Bytes <= 0 {
			t.Errorf("%s has no cost: %+v", key, c)
		}
		if c.Bound != ComputeBound && c.Bound != MemoryBound {
			t.Errorf("%s has no ceiling: %+v", key, c)
		}
	}
	// Every group runs in the default (smoke) mode; the biggest shapes
	// only in the full mode.
	def := Select(specs, "", false)
	groups := Groups(specs)
	if got := Groups(def); strings.Join(got, ",") != strings.Join(groups, ",") {
		t.Errorf("default groups %v, want all of %v", got, groups)
	}
	for _, g := range []string{"matmul", "conv", "reduce", "elementwise", "batchnorm", "adam", "trainstep"} {
		if len(Select(specs, g, false)) == 0 {
			t.Errorf("group %s is empty", g)
		}
	}
	for _, s := range def {
		if s.Kind == KindMatMul && s.M == 2048 || s.Conv.N == BatchStep {
			t.Errorf("%s/%s should be in the full mode only", s.Group(), s.Name)
		}
	}
	// The issue-7 target convolution is there in all three directions,
	// with the GEMMs of the same FLOP count.
	wantNames := []string{
		"conv/" + convName(TargetConv) + "/fwd", "conv/" + convName(TargetConv) + "/bwd-data", "conv/" + convName(TargetConv) + "/bwd-weight",
		"matmul/b1-64x25600x576", "matmul/b1-576x25600x64-tA", "matmul/b1-64x576x25600-tB",
		"matmul/b1-1024x1024x1024", "matmul/b1-2048x2048x2048", "matmul/b1-200x60x512-tB",
	}
	for _, n := range wantNames {
		if !seen[n] {
			t.Errorf("missing %s", n)
		}
	}
	for _, s := range specs {
		if s.Kind == KindConvForward && s.Conv == TargetConv && !strings.Contains(s.Source, "table3.layer1.0.conv2") {
			t.Errorf("target convolution's source %q does not name table3.layer1.0.conv2", s.Source)
		}
	}
}

func TestCost(t *testing.T) {
	p := tensor.Conv2DParams{N: 2, Cin: 3, H: 5, W: 5, Cout: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OH: 5, OW: 5}
	cases := []struct {
		s    Spec
		want Cost
	}{
		{Spec{Kind: KindMatMul, Batch: 2, M: 3, N: 4, K: 5}, Cost{2 * 2 * 3 * 4 * 5, 4 * 2 * (15 + 20 + 12), ComputeBound}},
		{Spec{Kind: KindConvBackWeight, Conv: p}, Cost{2 * 2 * 4 * 25 * 27, 4 * (150 + 108 + 200), ComputeBound}},
		{Spec{Kind: KindReduce, Outer: 2, Len: 3, Inner: 4}, Cost{24, 4 * 32, MemoryBound}},
		{Spec{Kind: KindUnary, Shape: []int{3, 4}}, Cost{12, 96, MemoryBound}},
		{Spec{Kind: KindBinary, Shape: []int{3, 4}, BShape: []int{1, 4}}, Cost{12, 4 * 28, MemoryBound}},
		{Spec{Kind: KindCopy, Shape: []int{3, 4}}, Cost{0, 96, MemoryBound}},
		{Spec{Kind: KindAdam, Elems: 10}, Cost{120, 280, MemoryBound}},
		{Spec{Kind: KindEncoderStep, StepFlops: 7}, Cost{7, 0, ComputeBound}},
	}
	for _, c := range cases {
		if got := c.s.Cost(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.s.Kind, got, c.want)
		}
	}
}

func TestNMSE(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		got, want []float32
		res       float64
	}{
		{[]float32{1, 2}, []float32{1, 2}, 0},
		{[]float32{1, 3}, []float32{1, 2}, 1.0 / 5},
		{[]float32{0.5, 0}, []float32{0, 0}, 0.25},
		{[]float32{nan, 1}, []float32{1, 1}, math.Inf(1)},
		{[]float32{1, 1}, []float32{nan, 1}, math.Inf(1)},
		{[]float32{nan, 1}, []float32{nan, 1}, 0},
		{[]float32{inf, 1}, []float32{1, 1}, math.Inf(1)},
		{[]float32{inf, 1}, []float32{inf, 1}, 0},
	}
	for _, c := range cases {
		if got := nmse(c.got, c.want); got != c.res {
			t.Errorf("nmse(%v, %v) = %g, want %g", c.got, c.want, got, c.res)
		}
	}
}

// lazy is a backend that skips convolutions and perturbs matmuls: the
// verification before timing must reject it.
type lazy struct{ tensor.Backend }

func (lazy) Name() string { return "lazy" }

func (lazy) Conv2D(out, x, w, bias tensor.View, p tensor.Conv2DParams) error { return nil }

func (l lazy) MatMul(out, a, bm tensor.View, batch, m, n, k int, transA, transB bool) error {
	if err := l.Backend.MatMul(out, a, bm, batch, m, n, k, transA, transB); err != nil {
		return err
	}
	one := []float32{0}
	if err := l.Read(out.Buf, out.Offset, one); err != nil {
		return err
	}
	one[0] += 1e-2
	return l.Write(out.Buf, out.Offset, one)
}

// honest wraps a backend without changing it.
type honest struct{ tensor.Backend }

func TestVerify(t *testing.T) {
	cpu, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := tensor.Conv2DParams{N: 2, Cin: 3, H: 6, W: 6, Cout: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OH: 3, OW: 3}
	specs := []Spec{
		{Kind: KindMatMul, Name: "mm", Batch: 2, M: 5, N: 7, K: 9, TransB: true},
		{Kind: KindConvForward, Name: "conv", Conv: p},
	}
	for _, s := range specs {
		for _, c := range []struct {
			be tensor.Backend
			ok bool
		}{{honest{cpu}, true}, {lazy{cpu}, false}} {
			inst, err := newInstance(c.be, s)
			if err != nil {
				t.Fatal(err)
			}
			err = verify(c.be, cpu, s, inst)
			inst.release()
			if (err == nil) != c.ok {
				t.Errorf("%s on %T: verify error %v, want ok=%v", s.Name, c.be, err, c.ok)
			}
		}
	}
}

// TestMeasure runs one small case and the ceilings on every backend
// through the path the report command uses.
func TestMeasure(t *testing.T) {
	s := Spec{Kind: KindMatMul, Name: "b1-64x48x32", Batch: 1, M: 64, N: 48, K: 32}
	for _, name := range BackendSpecs() {
		be, err := OpenBackend(name)
		if err != nil {
			t.Logf("backend %s skipped: %v", name, err)
			continue
		}
		c, err := CeilingsFor(be)
		if err != nil {
			t.Fatal(err)
		}
		if c.FMAGFLOPS <= 0 || c.CopyGBps <= 0 || c.DispatchUs <= 0 || c.SubmitUs <= 0 {
			t.Errorf("%s: ceilings %+v", name, c)
		}
		r := Measure(be, s)
		if r.Error != "" {
			t.Fatalf("%s: %s", name, r.Error)
		}
		for _, m := range []string{"GFLOP/s", "GB/s", "%FMA"} {
			if !(r.Metrics[m] > 0) {
				t.Errorf("%s: metric %s = %v in %+v", name, m, r.Metrics[m], r)
			}
		}
		if r.Iters < 1 || r.Backend != be.Name() || r.Group != "matmul" {
			t.Errorf("%s: result %+v", name, r)
		}
	}
}
