package backendtest

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

type unaryDef struct {
	name    string
	f       func(*tensor.Tensor) *tensor.Tensor
	in      func(e *Env, shape ...int) *tensor.Tensor
	tol     float64
	special bool // also run on Env.Special (infinities, ±0, huge values)
}

func randn(e *Env, shape ...int) *tensor.Tensor { return e.Randn(shape...) }
func steps(e *Env, shape ...int) *tensor.Tensor { return e.Steps(shape...) }
func uniform(lo, hi float32) func(e *Env, shape ...int) *tensor.Tensor {
	return func(e *Env, shape ...int) *tensor.Tensor { return e.Uniform(lo, hi, shape...) }
}

func unaryDefs() []unaryDef {
	return []unaryDef{
		{"Neg", tensor.Neg, randn, 0, true},
		{"Abs", tensor.Abs, randn, 0, true},
		{"Exp", tensor.Exp, uniform(-10, 10), 1e-6, true},
		{"Log", tensor.Log, uniform(0.01, 100), 1e-6, false},
		{"Sqrt", tensor.Sqrt, uniform(0, 100), 0, false},
		{"Rsqrt", tensor.Rsqrt, uniform(0.01, 100), 1e-6, false},
		{"Square", tensor.Square, randn, 0, true},
		{"Relu", tensor.Relu, steps, 0, true},
		{"Sign", tensor.Sign, steps, 0, true},
		{"ReluMask", tensor.ReluMask, steps, 0, true},
		{"Recip", tensor.Recip, uniform(0.2, 5), 0, false},
		{"RecipNeg", tensor.Recip, uniform(-5, -0.2), 0, false},
		{"PowScalar2.5", func(x *tensor.Tensor) *tensor.Tensor { return tensor.PowScalar(x, 2.5) }, uniform(0.1, 3), 1e-6, false},
		{"PowScalar-1.5", func(x *tensor.Tensor) *tensor.Tensor { return tensor.PowScalar(x, -1.5) }, uniform(0.1, 3), 1e-6, false},
		{"PowScalar3NegBase", func(x *tensor.Tensor) *tensor.Tensor { return tensor.PowScalar(x, 3) }, randn, 1e-6, false},
		{"Clamp", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, -0.5, 0.75) }, randn, 0, true},
		{"Affine", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Affine(x, 2.5, -1) }, randn, 0, false},
		{"AffineFill", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Affine(x, 0, 3) }, randn, 0, true},
		{"Scale", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Scale(x, -0.25) }, randn, 0, true},
		{"AddScalar", func(x *tensor.Tensor) *tensor.Tensor { return tensor.AddScalar(x, 1.5) }, randn, 0, false},
	}
}

// viewsOf returns strided views of fresh inputs drawn by in: a transpose, an
// expansion (stride 0), a slice and a permuted slice.
func viewsOf(e *Env, in func(e *Env, shape ...int) *tensor.Tensor) []*tensor.Tensor {
	return []*tensor.Tensor{
		tensor.Transpose(in(e, 33, 13), 0, 1),
		tensor.Expand(in(e, 1, 13), 7, 13),
		tensor.Expand(in(e, 7, 1), 7, 13),
		tensor.Slice(in(e, 7, 20), 1, 3, 16),
		tensor.Permute(tensor.Slice(in(e, 5, 9, 4), 1, 2, 7), 2, 0, 1),
	}
}

var plainShapes = [][]int{{1}, {7}, {13, 33}, {3, 5, 7}, {2, 3, 4, 5}, {1000}}

func elementwiseCases() []Case {
	var cs []Case
	for _, u := range unaryDefs() {
		cs = append(cs, Case{Name: "Unary/" + u.name + "/shapes", Op: "Unary", Tol: u.tol,
			Run: func(e *Env) []*tensor.Tensor {
				var outs []*tensor.Tensor
				for _, s := range plainShapes {
					outs = append(outs, u.f(u.in(e, s...)))
				}
				outs = append(outs, u.f(tensor.Reshape(u.in(e, 1)))) // rank 0
				return outs
			}})
		cs = append(cs, Case{Name: "Unary/" + u.name + "/views", Op: "Unary", Tol: u.tol, Pairs: true,
			Run: func(e *Env) []*tensor.Tensor {
				var outs []*tensor.Tensor
				for _, v := range viewsOf(e, u.in) {
					outs = append(outs, u.f(v), u.f(tensor.Contiguous(v)))
				}
				return outs
			}})
		if u.special {
			cs = append(cs, Case{Name: "Unary/" + u.name + "/special", Op: "Unary", Tol: u.tol,
				Run: func(e *Env) []*tensor.Tensor { return []*tensor.Tensor{u.f(e.Special())} }})
		}
	}
	type binDef struct {
		name string
		f    func(a, b *tensor.Tensor) *tensor.Tensor
		a, b func(e *Env, shape ...int) *tensor.Tensor
		tol  float64
	}
	bins := []binDef{
		{"Add", tensor.Add, randn, randn, 0},
		{"Sub", tensor.Sub, randn, randn, 0},
		{"Mul", tensor.Mul, randn, randn, 0},
		{"Div", tensor.Div, randn, uniform(0.2, 3), 0},
		{"Pow", tensor.Pow, uniform(0.1, 3), uniform(-2, 2), 1e-6},
		{"Maximum", tensor.Maximum, steps, steps, 0},
		{"Minimum", tensor.Minimum, steps, steps, 0},
		{"Eq", tensor.Eq, steps, steps, 0},
		{"Ne", tensor.Ne, steps, steps, 0},
		{"Lt", tensor.Lt, steps, steps, 0},
		{"Le", tensor.Le, steps, steps, 0},
		{"Gt", tensor.Gt, steps, steps, 0},
		{"Ge", tensor.Ge, steps, steps, 0},
	}
	bshapes := [][2][]int{
		{{13, 33}, {13, 33}}, {{7, 13}, {13}}, {{7, 1}, {1, 13}}, {{1}, {33}}, {{}, {5, 7}},
		{{3, 1, 5}, {4, 1}}, {{2, 3, 4, 5}, {3, 1, 1}}, {{1000}, {1000}},
	}
	for _, d := range bins {
		cs = append(cs, Case{Name: "Binary/" + d.name + "/broadcast", Op: "Binary", Tol: d.tol,
			Run: func(e *Env) []*tensor.Tensor {
				var outs []*tensor.Tensor
				for _, s := range bshapes {
					outs = append(outs, d.f(d.a(e, s[0]...), d.b(e, s[1]...)))
				}
				return outs
			}})
		cs = append(cs, Case{Name: "Binary/" + d.name + "/views", Op: "Binary", Tol: d.tol, Pairs: true,
			Run: func(e *Env) []*tensor.Tensor {
				va, vb := viewsOf(e, d.a), viewsOf(e, d.b)
				var outs []*tensor.Tensor
				for i := range va {
					j := (i + 1) % len(vb)
					if fmt.Sprint(va[i].Shape()) != fmt.Sprint(vb[j].Shape()) {
						j = i
					}
					outs = append(outs, d.f(va[i], vb[j]), d.f(tensor.Contiguous(va[i]), tensor.Contiguous(vb[j])))
				}
				return outs
			}})
	}
	cs = append(cs,
		Case{Name: "Binary/Maximum/special", Op: "Binary", Run: func(e *Env) []*tensor.Tensor {
			s := e.Special()
			return []*tensor.Tensor{tensor.Maximum(s, tensor.Neg(s)), tensor.Minimum(s, tensor.Scalar(e.B, 0.5))}
		}},
		Case{Name: "Where/broadcast", Op: "Where", Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{
				tensor.Where(tensor.Gt(e.Steps(7, 1), tensor.Scalar(e.B, 0)), e.Randn(7, 13), e.Randn(13)),
				tensor.Where(e.Steps(13, 33), e.Randn(13, 33), e.Randn(13, 33)), // any nonzero selects a
				tensor.Where(e.Steps(1), e.Randn(5), e.Randn(3, 1)),
			}
		}},
		Case{Name: "Where/views", Op: "Where", Pairs: true, Run: func(e *Env) []*tensor.Tensor {
			c, a, b := viewsOf(e, steps), viewsOf(e, randn), viewsOf(e, randn)
			var outs []*tensor.Tensor
			for i := range c {
				outs = append(outs, tensor.Where(c[i], a[i], b[i]),
					tensor.Where(tensor.Contiguous(c[i]), tensor.Contiguous(a[i]), tensor.Contiguous(b[i])))
			}
			return outs
		}},
	)
	return cs
}
