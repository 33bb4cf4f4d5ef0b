package autograd

import (
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// in describes one input of a gradient-check case: its shape and the range
// its seeded uniform values are drawn from (default [-1, 1)).
type in struct {
	shape  []int
	lo, hi float32
}

func sh(shape ...int) in                  { return in{shape: shape, lo: -1, hi: 1} }
func pos(shape ...int) in                 { return in{shape: shape, lo: 0.5, hi: 2} }
func rng(lo, hi float32, shape ...int) in { return in{shape: shape, lo: lo, hi: hi} }

type gradCase struct {
	name string
	ins  []in
	f    func(xs []*Var) *Var
	opt  CheckOptions
}

// kinky is the option set for ops with kinks (ReLU, Abs, Clamp, Max,
// Maximum, max-pooling): elements within a step of a kink are skipped.
var kinky = CheckOptions{SkipKinks: true}

// gradCases lists a gradient check for every differentiable op, with
// broadcasting, strided (transposed, sliced, permuted) operands and
// composite mid-graph uses.
func gradCases(b tensor.Backend) []gradCase {
	x1 := func(f func(x *Var) *Var) func(xs []*Var) *Var {
		return func(xs []*Var) *Var { return f(xs[0]) }
	}
	x2 := func(f func(a, b *Var) *Var) func(xs []*Var) *Var {
		return func(xs []*Var) *Var { return f(xs[0], xs[1]) }
	}
	// tr views x [a, b] as a strided [b, a] operand.
	tr := func(x *Var) *Var { return Transpose(x, 0, 1) }
	cond := tensor.FromSlice(b, []float32{1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1}, 3, 4)
	idx := tensor.FromInt32(b, []int32{2, 0, 2, 1, 2})
	rm := func() *tensor.Tensor { return tensor.FromSlice(b, []float32{0.1, -0.2, 0.3}) }
	rv := func() *tensor.Tensor { return tensor.FromSlice(b, []float32{0.5, 1.5, 2}) }

	return []gradCase{
		// Elementwise binary, with broadcasting.
		{"Add", []in{sh(3, 4), sh(3, 4)}, x2(Add), CheckOptions{}},
		{"Add/bcast-row", []in{sh(3, 4), sh(4)}, x2(Add), CheckOptions{}},
		{"Add/bcast-both", []in{sh(3, 1), sh(1, 5)}, x2(Add), CheckOptions{}},
		{"Add/bcast-rank3", []in{sh(2, 3, 4), sh(3, 1)}, x2(Add), CheckOptions{}},
		{"Add/strided", []in{sh(4, 3), sh(3, 4)}, x2(func(a, b *Var) *Var { return Add(tr(a), b) }), CheckOptions{}},
		{"Sub", []in{sh(3, 4), sh(3, 4)}, x2(Sub), CheckOptions{}},
		{"Sub/bcast", []in{sh(4), sh(2, 3, 4)}, x2(Sub), CheckOptions{}},
		{"Mul", []in{sh(5, 3), sh(5, 3)}, x2(Mul), CheckOptions{}},
		{"Mul/bcast", []in{sh(2, 1, 4), sh(3, 1)}, x2(Mul), CheckOptions{}},
		{"Mul/same-var-twice", []in{sh(7)}, x1(func(x *Var) *Var { return Mul(x, x) }), CheckOptions{}},
		{"Div", []in{sh(3, 4), pos(3, 4)}, x2(Div), CheckOptions{}},
		{"Div/bcast", []in{sh(3, 4), pos(3, 1)}, x2(Div), CheckOptions{}},
		{"Maximum", []in{sh(4, 5), sh(4, 5)}, x2(Maximum), kinky},
		{"Maximum/bcast", []in{sh(4, 5), sh(5)}, x2(Maximum), kinky},
		{"Maximum/tie-same-var", []in{sh(6)}, x1(func(x *Var) *Var { return Maximum(x, x) }), CheckOptions{}},
		{"Minimum", []in{sh(4, 5), sh(4, 5)}, x2(Minimum), kinky},
		{"Minimum/bcast", []in{sh(3, 1), sh(1, 4)}, x2(Minimum), kinky},
		{"Where", []in{sh(3, 4), sh(3, 4)}, x2(func(a, c *Var) *Var { return Where(cond, a, c) }), CheckOptions{}},
		{"Where/bcast", []in{sh(4), sh(3, 1)}, x2(func(a, c *Var) *Var { return Where(cond, a, c) }), CheckOptions{}},

		// Elementwise unary.
		{"Neg", []in{sh(3, 4)}, x1(Neg), CheckOptions{}},
		{"Exp", []in{sh(3, 4)}, x1(Exp), CheckOptions{}},
		{"Exp/strided", []in{sh(4, 3)}, x1(func(x *Var) *Var { return Exp(tr(x)) }), CheckOptions{}},
		{"Log", []in{pos(3, 4)}, x1(Log), CheckOptions{FourPoint: true}},
		{"Sqrt", []in{pos(3, 4)}, x1(Sqrt), CheckOptions{FourPoint: true}},
		{"Square", []in{sh(3, 4)}, x1(Square), CheckOptions{}},
		{"Abs", []in{sh(4, 5)}, x1(Abs), kinky},
		{"Relu", []in{sh(4, 5)}, x1(Relu), kinky},
		{"Relu/strided-slice", []in{sh(5, 6)}, x1(func(x *Var) *Var { return Relu(Slice(tr(x), 1, 1, 4)) }), kinky},
		{"Clamp", []in{sh(4, 5)}, x1(func(x *Var) *Var { return Clamp(x, -0.4, 0.5) }), kinky},
		{"PowScalar/3", []in{sh(3, 4)}, x1(func(x *Var) *Var { return PowScalar(x, 3) }), CheckOptions{}},
		{"PowScalar/2", []in{sh(3, 4)}, x1(func(x *Var) *Var { return PowScalar(x, 2) }), CheckOptions{}},
		{"PowScalar/1", []in{sh(3, 4)}, x1(func(x *Var) *Var { return PowScalar(x, 1) }), CheckOptions{}},
		{"PowScalar/-1.5", []in{pos(3, 4)}, x1(func(x *Var) *Var { return PowScalar(x, -1.5) }), CheckOptions{FourPoint: true}},
		{"Scale", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Scale(x, -2.5) }), CheckOptions{}},
		{"AddScalar", []in{sh(3, 4)}, x1(func(x *Var) *Var { return AddScalar(x, 1.5) }), CheckOptions{}},

		// Reductions.
		{"Sum/all", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Sum(x, false) }), CheckOptions{}},
		{"Sum/axis0", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Sum(x, false, 0) }), CheckOptions{}},
		{"Sum/axes-keepdim", []in{sh(2, 3, 5)}, x1(func(x *Var) *Var { return Sum(x, true, 0, 2) }), CheckOptions{}},
		{"Sum/neg-axis-strided", []in{sh(4, 3)}, x1(func(x *Var) *Var { return Sum(tr(x), false, -1) }), CheckOptions{}},
		{"Mean/all", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Mean(x, true) }), CheckOptions{}},
		{"Mean/axis1", []in{sh(2, 7, 3)}, x1(func(x *Var) *Var { return Mean(x, false, 1) }), CheckOptions{}},
		{"Mean/axes", []in{sh(2, 3, 4)}, x1(func(x *Var) *Var { return Mean(x, true, 2, 0) }), CheckOptions{}},
		{"Max/all", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Max(x, false) }), kinky},
		{"Max/axis1", []in{sh(4, 5)}, x1(func(x *Var) *Var { return Max(x, false, 1) }), kinky},
		{"Max/axes-keepdim", []in{sh(3, 4, 2)}, x1(func(x *Var) *Var { return Max(x, true, 0, 2) }), kinky},
		{"Variance/all", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Variance(x, false) }), CheckOptions{}},
		{"Variance/axis0", []in{sh(5, 3)}, x1(func(x *Var) *Var { return Variance(x, false, 0) }), CheckOptions{}},
		{"Variance/axes-keepdim", []in{sh(2, 3, 4)}, x1(func(x *Var) *Var { return Variance(x, true, 0, 2) }), CheckOptions{}},

		// Linear algebra.
		{"MatMul", []in{sh(5, 7), sh(7, 3)}, x2(MatMul), CheckOptions{}},
		{"MatMul/batched", []in{sh(2, 3, 4), sh(2, 4, 5)}, x2(MatMul), CheckOptions{}},
		{"MatMul/bcast-rank2-b", []in{sh(2, 3, 4), sh(4, 5)}, x2(MatMul), CheckOptions{}},
		{"MatMul/bcast-rank2-a", []in{sh(3, 4), sh(2, 4, 5)}, x2(MatMul), CheckOptions{}},
		{"MatMul/bcast-batch1", []in{sh(1, 3, 4), sh(3, 4, 2)}, x2(MatMul), CheckOptions{}},
		{"MatMul/strided", []in{sh(7, 5), sh(3, 7)}, x2(func(a, c *Var) *Var { return MatMul(tr(a), tr(c)) }), CheckOptions{}},
		{"MatMulT/tA", []in{sh(7, 5), sh(7, 3)}, x2(func(a, c *Var) *Var { return MatMulT(a, c, true, false) }), CheckOptions{}},
		{"MatMulT/tB", []in{sh(5, 7), sh(3, 7)}, x2(func(a, c *Var) *Var { return MatMulT(a, c, false, true) }), CheckOptions{}},
		{"MatMulT/tAtB", []in{sh(7, 5), sh(3, 7)}, x2(func(a, c *Var) *Var { return MatMulT(a, c, true, true) }), CheckOptions{}},
		{"MatMulT/tAtB-batched", []in{sh(2, 4, 3), sh(2, 5, 4)}, x2(func(a, c *Var) *Var { return MatMulT(a, c, true, true) }), CheckOptions{}},
		{"Linear", []in{sh(4, 5), sh(3, 5), sh(3)}, func(xs []*Var) *Var { return Linear(xs[0], xs[1], xs[2]) }, CheckOptions{}},
		{"Linear/nobias", []in{sh(4, 5), sh(3, 5)}, func(xs []*Var) *Var { return Linear(xs[0], xs[1], nil) }, CheckOptions{}},
		{"Linear/rank3", []in{sh(2, 3, 5), sh(4, 5), sh(4)}, func(xs []*Var) *Var { return Linear(xs[0], xs[1], xs[2]) }, CheckOptions{}},
		{"Linear/strided-x", []in{sh(5, 4), sh(3, 5), sh(3)}, func(xs []*Var) *Var { return Linear(tr(xs[0]), xs[1], xs[2]) }, CheckOptions{}},

		// Shape and movement.
		{"Reshape", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Mul(Reshape(x, 2, -1, 2), Reshape(x, 2, 3, 2)) }), CheckOptions{}},
		{"Reshape/strided", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Reshape(tr(x), 12) }), CheckOptions{}},
		{"Flatten", []in{sh(2, 3, 2)}, x1(func(x *Var) *Var { return Square(Flatten(x)) }), CheckOptions{}},
		{"Unsqueeze", []in{sh(3, 2)}, x1(func(x *Var) *Var { return Square(Unsqueeze(x, 1)) }), CheckOptions{}},
		{"Squeeze", []in{sh(3, 1, 2)}, x1(func(x *Var) *Var { return Square(Squeeze(x, 1)) }), CheckOptions{}},
		{"Transpose", []in{sh(2, 3, 4)}, x1(func(x *Var) *Var { return Exp(Transpose(x, 0, 2)) }), CheckOptions{}},
		{"Permute", []in{sh(2, 3, 4)}, x1(func(x *Var) *Var { return Square(Permute(x, 2, 0, 1)) }), CheckOptions{}},
		{"Slice", []in{sh(5, 4)}, x1(func(x *Var) *Var { return Square(Slice(x, 0, 1, 4)) }), CheckOptions{}},
		{"Slice/neg-axis", []in{sh(3, 6)}, x1(func(x *Var) *Var { return Square(Slice(x, -1, 2, 5)) }), CheckOptions{}},
		{"Expand", []in{sh(3, 1)}, x1(func(x *Var) *Var { return Square(Expand(x, 2, 3, 4)) }), CheckOptions{}},
		{"Concat", []in{sh(2, 3), sh(2, 1), sh(2, 4)}, func(xs []*Var) *Var { return Square(Concat(1, xs...)) }, CheckOptions{}},
		{"Concat/axis0-strided", []in{sh(3, 2), sh(4, 3)}, x2(func(a, c *Var) *Var { return Exp(Concat(0, tr(a), c)) }), CheckOptions{}},
		{"Stack", []in{sh(2, 3), sh(2, 3)}, x2(func(a, c *Var) *Var { return Square(Stack(1, a, c)) }), CheckOptions{}},
		{"Split", []in{sh(2, 6)}, x1(func(x *Var) *Var {
			p := Split(x, 1, 1, 3, 2)
			return Concat(1, Square(p[2]), Exp(p[0]), Scale(p[1], 3))
		}), CheckOptions{}},
		{"Pad", []in{sh(2, 3)}, x1(func(x *Var) *Var { return Square(Pad(x, [][2]int{{1, 0}, {2, 1}}, 0.5)) }), CheckOptions{}},
		{"IndexSelect/repeats", []in{sh(3, 4)}, x1(func(x *Var) *Var { return Square(IndexSelect(x, 0, idx)) }), CheckOptions{}},
		{"IndexSelect/axis1-strided", []in{sh(4, 3)}, x1(func(x *Var) *Var { return IndexSelect(tr(x), 1, tensor.FromInt32(b, []int32{3, 3, 0})) }), CheckOptions{}},

		// NN ops.
		{"Conv2D", []in{sh(2, 3, 5, 5), sh(4, 3, 3, 3), sh(4)}, func(xs []*Var) *Var { return Conv2D(xs[0], xs[1], xs[2], 1, 1) }, CheckOptions{}},
		{"Conv2D/stride2-nobias", []in{sh(2, 2, 7, 6), sh(3, 2, 3, 2)}, func(xs []*Var) *Var { return Conv2D(xs[0], xs[1], nil, 2, 0) }, CheckOptions{}},
		{"Conv2D/1x1-strided-x", []in{sh(3, 2, 4, 4), sh(5, 3, 1, 1), sh(5)}, func(xs []*Var) *Var {
			return Conv2D(Permute(xs[0], 1, 0, 2, 3), xs[1], xs[2], 1, 0)
		}, CheckOptions{}},
		{"MaxPool2D", []in{sh(2, 2, 6, 6)}, x1(func(x *Var) *Var { return MaxPool2D(x, 2, 2, 0) }), kinky},
		{"MaxPool2D/overlap-pad", []in{sh(1, 2, 5, 5)}, x1(func(x *Var) *Var { return MaxPool2D(x, 3, 2, 1) }), kinky},
		{"AvgPool2D", []in{sh(2, 2, 6, 6)}, x1(func(x *Var) *Var { return AvgPool2D(x, 2, 2, 0) }), CheckOptions{}},
		{"AvgPool2D/overlap-pad", []in{sh(1, 2, 5, 5)}, x1(func(x *Var) *Var { return AvgPool2D(x, 3, 1, 1) }), CheckOptions{}},
		{"GlobalAvgPool", []in{sh(2, 3, 4, 5)}, x1(GlobalAvgPool), CheckOptions{}},
		{"BatchNorm2D/train", []in{sh(3, 3, 2, 3), rng(0.5, 1.5, 3), sh(3)}, func(xs []*Var) *Var {
			return BatchNorm2D(xs[0], xs[1], xs[2], rm(), rv(), true, 0.1, 1e-5)
		}, CheckOptions{FourPoint: true}},
		{"BatchNorm2D/train-strided", []in{sh(3, 2, 4, 3), rng(0.5, 1.5, 3), sh(3)}, func(xs []*Var) *Var {
			return BatchNorm2D(Permute(xs[0], 1, 0, 2, 3), xs[1], xs[2], rm(), rv(), true, 0.1, 1e-5)
		}, CheckOptions{FourPoint: true}},
		{"BatchNorm2D/eval", []in{sh(2, 3, 3, 2), rng(0.5, 1.5, 3), sh(3)}, func(xs []*Var) *Var {
			return BatchNorm2D(xs[0], xs[1], xs[2], rm(), rv(), false, 0.1, 1e-5)
		}, CheckOptions{}},
		{"L2Normalize", []in{sh(4, 5)}, x1(func(x *Var) *Var { return L2Normalize(x, 1e-6) }), CheckOptions{FourPoint: true}},
		{"L2Normalize/rank3-strided", []in{sh(3, 2, 4)}, x1(func(x *Var) *Var { return L2Normalize(Transpose(x, 0, 2), 1e-3) }), CheckOptions{FourPoint: true}},

		// Composites: ops mid-graph, values used several times.
		{"Composite/mse-linear", []in{sh(6, 4), sh(3, 4), sh(3), sh(6, 3)}, func(xs []*Var) *Var {
			return Mean(Square(Sub(Linear(xs[0], xs[1], xs[2]), xs[3])), false)
		}, CheckOptions{}},
		{"Composite/log-softmax", []in{rng(-2, 2, 4, 5)}, x1(func(x *Var) *Var {
			m := Const(tensor.Max(x.Value, true, 1))
			s := Sub(x, m)
			return Sub(s, Log(Sum(Exp(s), true, 1)))
		}), CheckOptions{FourPoint: true}},
		{"Composite/conv-bn-relu-gap", []in{sh(2, 2, 4, 4), sh(3, 2, 3, 3), rng(0.5, 1.5, 3), sh(3)}, func(xs []*Var) *Var {
			h := Conv2D(xs[0], xs[1], nil, 1, 1)
			h = BatchNorm2D(h, xs[2], xs[3], tensor.Zeros(b, 3), tensor.Ones(b, 3), true, 0.1, 1e-5)
			return GlobalAvgPool(Relu(h))
		}, kinky},
	}
}

// TestGradCheck runs the finite-difference check for every differentiable
// op.
func TestGradCheck(t *testing.T) {
	b := cpu(t)
	for ci, c := range gradCases(b) {
		t.Run(c.name, func(t *testing.T) {
			inputs := make([]*tensor.Tensor, len(c.ins))
			for i, s := range c.ins {
				inputs[i] = uniform(b, uint64(100*ci+i+1), s.lo, s.hi, s.shape...)
			}
			if err := CheckGrad(c.f, inputs, c.opt); err != nil {
				t.Fatal(err)
			}
		})
	}
}
