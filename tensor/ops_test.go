package tensor_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

func TestBroadcastShapes(t *testing.T) {
	tests := []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{2, 3}, []int{2, 3}, []int{2, 3}, true},
		{[]int{2, 3}, []int{3}, []int{2, 3}, true},
		{[]int{2, 1}, []int{1, 3}, []int{2, 3}, true},
		{[]int{}, []int{4, 5}, []int{4, 5}, true},
		{[]int{5, 1, 7}, []int{3, 1}, []int{5, 3, 7}, true},
		{[]int{1}, []int{1}, []int{1}, true},
		{[]int{2, 3}, []int{2}, nil, false},
		{[]int{4, 3}, []int{3, 3}, nil, false},
	}
	for _, tc := range tests {
		got, ok := tensor.BroadcastShapes(tc.a, tc.b)
		if ok != tc.ok || (ok && !equalInts(got, tc.want)) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, %v; want %v, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

// hostBroadcast computes f elementwise over the NumPy broadcast of a and b.
func hostBroadcast(a []float32, as []int, b []float32, bs []int, f func(x, y float32) float32) ([]float32, []int) {
	out, _ := tensor.BroadcastShapes(as, bs)
	res := make([]float32, tensor.Numel(out))
	idx := make([]int, len(out))
	at := func(d []float32, s []int) float32 {
		off, stride := 0, 1
		for i := len(s) - 1; i >= 0; i-- {
			j := idx[len(out)-len(s)+i]
			if s[i] == 1 {
				j = 0
			}
			off += j * stride
			stride *= s[i]
		}
		return d[off]
	}
	for n := range res {
		rem := n
		for i := len(out) - 1; i >= 0; i-- {
			idx[i] = rem % out[i]
			rem /= out[i]
		}
		res[n] = f(at(a, as), at(b, bs))
	}
	return res, out
}

func TestBroadcastOps(t *testing.T) {
	b := backend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	pairs := [][2][]int{{{2, 3}, {3}}, {{4, 1}, {1, 5}}, {{}, {2, 2}}, {{3, 1, 2}, {4, 1}}, {{1}, {7}}}
	ops := []struct {
		name string
		f    func(a, b *tensor.Tensor) *tensor.Tensor
		h    func(x, y float32) float32
	}{
		{"Add", tensor.Add, func(x, y float32) float32 { return x + y }},
		{"Sub", tensor.Sub, func(x, y float32) float32 { return x - y }},
		{"Mul", tensor.Mul, func(x, y float32) float32 { return x * y }},
		{"Maximum", tensor.Maximum, func(x, y float32) float32 { return max(x, y) }},
		{"Lt", tensor.Lt, func(x, y float32) float32 {
			if x < y {
				return 1
			}
			return 0
		}},
	}
	for _, p := range pairs {
		ad := make([]float32, tensor.Numel(p[0]))
		bd := make([]float32, tensor.Numel(p[1]))
		for i := range ad {
			ad[i] = float32(rng.IntN(7) - 3)
		}
		for i := range bd {
			bd[i] = float32(rng.IntN(7) - 3)
		}
		at, bt := tensor.Reshape(tensor.FromSlice(b, ad), p[0]...), tensor.Reshape(tensor.FromSlice(b, bd), p[1]...)
		for _, op := range ops {
			want, shape := hostBroadcast(ad, p[0], bd, p[1], op.h)
			wantValues(t, op.name, op.f(at, bt), shape, want)
		}
	}
}

func TestCreation(t *testing.T) {
	b := backend(t)
	wantValues(t, "Zeros", tensor.Zeros(b, 2, 2), []int{2, 2}, []float32{0, 0, 0, 0})
	wantValues(t, "Ones", tensor.Ones(b, 3), []int{3}, []float32{1, 1, 1})
	wantValues(t, "Full", tensor.Full(b, -2.5, 1, 2), []int{1, 2}, []float32{-2.5, -2.5})
	wantValues(t, "Arange", tensor.Arange(b, 1, 2, 0.25), []int{4}, []float32{1, 1.25, 1.5, 1.75})
	wantValues(t, "Arange down", tensor.Arange(b, 3, 0, -1), []int{3}, []float32{3, 2, 1})
	if s := tensor.Scalar(b, 4); s.Rank() != 0 || s.Item() != 4 {
		t.Errorf("Scalar: rank %d item %v", s.Rank(), s.Item())
	}
	if got := tensor.FromInt32(b, []int32{3, -1}).Int32s(); got[0] != 3 || got[1] != -1 {
		t.Errorf("FromInt32 %v", got)
	}
	u := tensor.RandUniform(b, rand.New(rand.NewPCG(1, 1)), -1, 2, 1000)
	mn, mx := tensor.Max(tensor.Neg(u), false).Item(), tensor.Max(u, false).Item()
	if -mn < -1 || mx >= 2 || -mn > -0.9 || mx < 1.9 {
		t.Errorf("RandUniform range [%v, %v]", -mn, mx)
	}
	n1 := tensor.RandNormal(b, rand.New(rand.NewPCG(5, 5)), 3, 2, 4000)
	n2 := tensor.RandNormal(b, rand.New(rand.NewPCG(5, 5)), 3, 2, 4000)
	if !equalF(n1.Float32s(), n2.Float32s(), 0) {
		t.Error("RandNormal with the same seed differs")
	}
	if m, v := tensor.Mean(n1, false).Item(), tensor.Variance(n1, false).Item(); math.Abs(float64(m)-3) > 0.15 || math.Abs(float64(v)-4) > 0.4 {
		t.Errorf("RandNormal mean %v variance %v", m, v)
	}
	if tensor.Clone(u).Buffer() == u.Buffer() {
		t.Error("Clone shares the buffer")
	}
}

func TestReductions(t *testing.T) {
	b := backend(t)
	x := tensor.FromSlice(b, []float32{1, 5, 2, 8, 3, 0}, 2, 3)
	wantValues(t, "sum all", tensor.Sum(x, false), []int{}, []float32{19})
	wantValues(t, "sum 0", tensor.Sum(x, false, 0), []int{3}, []float32{9, 8, 2})
	wantValues(t, "sum -1 keepdim", tensor.Sum(x, true, -1), []int{2, 1}, []float32{8, 11})
	wantValues(t, "mean", tensor.Mean(x, false, 1), []int{2}, []float32{8.0 / 3, 11.0 / 3})
	wantValues(t, "max", tensor.Max(x, false, 0), []int{3}, []float32{8, 5, 2})
	wantValues(t, "variance", tensor.Variance(x, false, 0), []int{3}, []float32{12.25, 1, 1})
	wantValues(t, "sum axes", tensor.Sum(tensor.Reshape(tensor.FromSlice(b, seq(24)), 2, 3, 4), true, 0, 2), []int{1, 3, 1},
		[]float32{0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19, 8 + 9 + 10 + 11 + 20 + 21 + 22 + 23})
	if got := tensor.Argmax(x, 1, false).Int32s(); got[0] != 1 || got[1] != 0 {
		t.Errorf("argmax %v", got)
	}
	if got := tensor.Argmax(tensor.FromSlice(b, []float32{2, 7, 7, 1}), 0, true); !equalInts(got.Shape(), []int{1}) || got.Int32s()[0] != 1 {
		t.Errorf("argmax ties %v", got)
	}
	wantValues(t, "global avg pool", tensor.GlobalAvgPool(tensor.Reshape(tensor.FromSlice(b, seq(8)), 1, 2, 2, 2)), []int{1, 2}, []float32{1.5, 5.5})
	wantValues(t, "SumTo", tensor.SumTo(tensor.Ones(b, 4, 2, 3), []int{2, 1}), []int{2, 1}, []float32{12, 12})
	wantOpError(t, func() { tensor.Sum(x, false, 1, -1) }, "Sum", "repeated")
	wantOpError(t, func() { tensor.Mean(x, false, 2) }, "Mean", "axis 2 out of range")
}

func TestJoinAndPad(t *testing.T) {
	b := backend(t)
	a := tensor.FromSlice(b, []float32{1, 2, 3, 4}, 2, 2)
	c := tensor.FromSlice(b, []float32{5, 6}, 1, 2)
	wantValues(t, "concat 0", tensor.Concat(0, a, c), []int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	wantValues(t, "concat 1", tensor.Concat(1, a, tensor.Transpose(c, 0, 1)), []int{2, 3}, []float32{1, 2, 5, 3, 4, 6})
	wantValues(t, "stack", tensor.Stack(0, a, a), []int{2, 2, 2}, []float32{1, 2, 3, 4, 1, 2, 3, 4})
	pads := [][2]int{{1, 0}, {0, 2}}
	p := tensor.Pad(a, pads, 9)
	wantValues(t, "pad", p, []int{3, 4}, []float32{9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9})
	wantValues(t, "unpad", tensor.Unpad(p, pads), []int{2, 2}, []float32{1, 2, 3, 4})
	wantOpError(t, func() { tensor.Concat(0, a, tensor.Zeros(b, 1, 3)) }, "Concat", "[2 2]", "[1 3]")
	wantOpError(t, func() { tensor.Stack(0, a, c) }, "Stack", "shapes differ")
	wantOpError(t, func() { tensor.Pad(a, pads[:1], 0) }, "Pad", "1 pad pairs for rank 2")
}

func TestIndexOps(t *testing.T) {
	b := backend(t)
	x := tensor.FromSlice(b, seq(6), 3, 2)
	idx := tensor.FromInt32(b, []int32{2, 0, 2})
	wantValues(t, "select 0", tensor.IndexSelect(x, 0, idx), []int{3, 2}, []float32{4, 5, 0, 1, 4, 5})
	wantValues(t, "select 1", tensor.IndexSelect(x, 1, tensor.FromInt32(b, []int32{1})), []int{3, 1}, []float32{1, 3, 5})
	wantValues(t, "index add", tensor.IndexAdd([]int{4, 2}, 0, idx, tensor.Ones(b, 3, 2)), []int{4, 2}, []float32{1, 1, 0, 0, 2, 2, 0, 0})
	labels := tensor.FromInt32(b, []int32{7, 8, 9})
	if got := tensor.IndexSelect(labels, 0, tensor.FromInt32(b, []int32{2, 2, 0})).Int32s(); got[0] != 9 || got[2] != 7 {
		t.Errorf("int32 select %v", got)
	}
}

func TestMatMulAndNN(t *testing.T) {
	b := backend(t)
	a := tensor.FromSlice(b, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	m := tensor.FromSlice(b, []float32{1, 0, 0, 1, 1, 1}, 3, 2)
	wantValues(t, "matmul", tensor.MatMul(a, m), []int{2, 2}, []float32{4, 5, 10, 11})
	wantValues(t, "matmul transposes", tensor.MatMulT(m, a, true, true), []int{2, 2}, []float32{4, 10, 5, 11})
	wantValues(t, "batched broadcast", tensor.MatMul(tensor.Stack(0, a, tensor.Neg(a)), m), []int{2, 2, 2},
		[]float32{4, 5, 10, 11, -4, -5, -10, -11})
	// A 3x3 box filter over a 3x3 image with padding 1 sums neighbourhoods.
	img := tensor.Reshape(tensor.FromSlice(b, seq(9)), 1, 1, 3, 3)
	box := tensor.Ones(b, 1, 1, 3, 3)
	wantValues(t, "conv", tensor.Conv2D(img, box, tensor.FromSlice(b, []float32{1}), 1, 1), []int{1, 1, 3, 3},
		[]float32{9, 16, 13, 22, 37, 28, 21, 34, 25})
	out, idx := tensor.MaxPool2D(img, 2, 1, 0)
	wantValues(t, "maxpool", out, []int{1, 1, 2, 2}, []float32{4, 5, 7, 8})
	if got := idx.Int32s(); got[0] != 4 || got[3] != 8 {
		t.Errorf("maxpool idx %v", got)
	}
	wantValues(t, "avgpool", tensor.AvgPool2D(img, 3, 3, 1), []int{1, 1, 1, 1}, []float32{8.0 / 9})
	l2 := tensor.L2Normalize(tensor.FromSlice(b, []float32{3, 4}, 1, 2), 0)
	wantValues(t, "l2", l2, []int{1, 2}, []float32{0.6, 0.8})
}

func TestOptimizerSteps(t *testing.T) {
	b := backend(t)
	p, g := tensor.FromSlice(b, []float32{1, -2}), tensor.FromSlice(b, []float32{0.5, -0.5})
	m, v := tensor.Zeros(b, 2), tensor.Zeros(b, 2)
	// The first Adam step moves every parameter by lr against its gradient's sign.
	tensor.AdamUpdate(p, g, m, v, tensor.AdamParams{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1})
	wantValues(t, "adam", p, []int{2}, []float32{0.9, -1.9})
	mom := tensor.Zeros(b, 2)
	tensor.SGDUpdate(p, g, mom, tensor.SGDParams{LR: 1, Momentum: 0.5})
	tensor.SGDUpdate(p, g, mom, tensor.SGDParams{LR: 1, Momentum: 0.5})
	wantValues(t, "sgd", p, []int{2}, []float32{0.9 - 0.5 - 0.75, -1.9 + 0.5 + 0.75})
	wantOpError(t, func() {
		tensor.AdamUpdate(p, g, m, v, tensor.AdamParams{LR: 0.1, Step: 0})
	}, "AdamUpdate", "step must be >= 1")
	wantOpError(t, func() { tensor.SGDUpdate(p, tensor.Zeros(b, 3), mom, tensor.SGDParams{}) }, "SGDUpdate", "[2]", "[3]")
}
