package autograd

import "github.com/vkgrad/vkgrad/tensor"

// This file holds the elementwise ops. Binary ops broadcast with NumPy rules;
// their backward rules reduce the gradient back to each operand's shape with
// tensor.SumTo.

// grads2 allocates the result slice of a two-parent backward rule.
func grads2(ga, gb *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{ga, gb} }

// Add returns a + b with broadcasting.
func Add(a, b *Var) *Var {
	ps := []*Var{a, b}
	return Record("Add", tensor.Add(a.Value, b.Value), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if NeedsGrad(ps, 0) {
			ga = tensor.SumTo(g, a.Value.Shape())
		}
		if NeedsGrad(ps, 1) {
			gb = tensor.SumTo(g, b.Value.Shape())
		}
		return grads2(ga, gb)
	})
}

// Sub returns a - b with broadcasting.
func Sub(a, b *Var) *Var {
	ps := []*Var{a, b}
	return Record("Sub", tensor.Sub(a.Value, b.Value), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if NeedsGrad(ps, 0) {
			ga = tensor.SumTo(g, a.Value.Shape())
		}
		if NeedsGrad(ps, 1) {
			gb = tensor.Neg(tensor.SumTo(g, b.Value.Shape()))
		}
		return grads2(ga, gb)
	})
}

// Mul returns a * b (elementwise) with broadcasting.
func Mul(a, b *Var) *Var {
	ps := []*Var{a, b}
	return Record("Mul", tensor.Mul(a.Value, b.Value), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if NeedsGrad(ps, 0) {
			ga = tensor.SumTo(tensor.Mul(g, b.Value), a.Value.Shape())
		}
		if NeedsGrad(ps, 1) {
			gb = tensor.SumTo(tensor.Mul(g, a.Value), b.Value.Shape())
		}
		return grads2(ga, gb)
	})
}

// Div returns a / b with broadcasting.
func Div(a, b *Var) *Var {
	ps := []*Var{a, b}
	out := tensor.Div(a.Value, b.Value)
	return Record("Div", out, ps, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		gOverB := tensor.Div(g, b.Value)
		if NeedsGrad(ps, 0) {
			ga = tensor.SumTo(gOverB, a.Value.Shape())
		}
		if NeedsGrad(ps, 1) {
			// d(a/b)/db = -a/b^2 = -out/b.
			gb = tensor.Neg(tensor.SumTo(tensor.Mul(gOverB, out), b.Value.Shape()))
		}
		return grads2(ga, gb)
	})
}

// Neg returns -x.
func Neg(x *Var) *Var {
	return Record("Neg", tensor.Neg(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Neg(g)}
	})
}

// Exp returns e^x.
func Exp(x *Var) *Var {
	out := tensor.Exp(x.Value)
	return Record("Exp", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, out)}
	})
}

// Log returns the natural logarithm of x.
func Log(x *Var) *Var {
	return Record("Log", tensor.Log(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Div(g, x.Value)}
	})
}

// Sqrt returns the square root of x. Its gradient 1/(2 sqrt x) is infinite
// at 0.
func Sqrt(x *Var) *Var {
	out := tensor.Sqrt(x.Value)
	return Record("Sqrt", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Div(tensor.Scale(g, 0.5), out)}
	})
}

// Square returns x*x.
func Square(x *Var) *Var {
	return Record("Square", tensor.Square(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(tensor.Scale(g, 2), x.Value)}
	})
}

// Abs returns |x|. At the kink x = 0 the subgradient 0 is used (sign(0) = 0).
func Abs(x *Var) *Var {
	return Record("Abs", tensor.Abs(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, tensor.Sign(x.Value))}
	})
}

// Relu returns max(x, 0). At the kink x = 0 the subgradient 0 is used (as
// PyTorch does).
func Relu(x *Var) *Var {
	return Record("Relu", tensor.Relu(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, tensor.ReluMask(x.Value))}
	})
}

// Clamp limits x to [lo, hi]. The gradient passes where lo <= x <= hi
// (boundaries included, as PyTorch does) and is 0 outside.
func Clamp(x *Var, lo, hi float32) *Var {
	out := tensor.Clamp(x.Value, lo, hi)
	return Record("Clamp", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		// out == x exactly where x lies inside the closed interval.
		return []*tensor.Tensor{tensor.Mul(g, tensor.Eq(out, x.Value))}
	})
}

// PowScalar returns x^p for a constant exponent p.
func PowScalar(x *Var, p float32) *Var {
	return Record("PowScalar", tensor.PowScalar(x.Value, p), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		var d *tensor.Tensor
		switch p {
		case 1:
			return []*tensor.Tensor{g}
		case 2:
			d = tensor.Scale(x.Value, 2)
		default:
			d = tensor.Scale(tensor.PowScalar(x.Value, p-1), p)
		}
		return []*tensor.Tensor{tensor.Mul(g, d)}
	})
}

// Scale returns a*x for a constant a.
func Scale(x *Var, a float32) *Var {
	return Record("Scale", tensor.Scale(x.Value, a), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Scale(g, a)}
	})
}

// AddScalar returns x + b for a constant b.
func AddScalar(x *Var, b float32) *Var {
	return Record("AddScalar", tensor.AddScalar(x.Value, b), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	})
}

// Maximum returns max(a, b) elementwise with broadcasting. Where a == b the
// gradient is split evenly between a and b (as PyTorch does).
func Maximum(a, b *Var) *Var {
	return minMax("Maximum", tensor.Maximum, tensor.Gt, a, b)
}

// Minimum returns min(a, b) elementwise with broadcasting. Where a == b the
// gradient is split evenly between a and b (as PyTorch does).
func Minimum(a, b *Var) *Var {
	return minMax("Minimum", tensor.Minimum, tensor.Lt, a, b)
}

// minMax implements Maximum and Minimum: wins(a, b) is 1 where a is selected
// strictly.
func minMax(op string, f, wins func(a, b *tensor.Tensor) *tensor.Tensor, a, b *Var) *Var {
	ps := []*Var{a, b}
	return Record(op, f(a.Value, b.Value), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		// share of a: 1 where a wins, 1/2 on ties, 0 where b wins.
		shareA := tensor.Add(wins(a.Value, b.Value), tensor.Scale(tensor.Eq(a.Value, b.Value), 0.5))
		var ga, gb *tensor.Tensor
		if NeedsGrad(ps, 0) {
			ga = tensor.SumTo(tensor.Mul(g, shareA), a.Value.Shape())
		}
		if NeedsGrad(ps, 1) {
			gb = tensor.SumTo(tensor.Mul(g, tensor.Affine(shareA, -1, 1)), b.Value.Shape())
		}
		return grads2(ga, gb)
	})
}

// Where returns a where cond != 0 and b elsewhere, with broadcasting of all
// three. cond is a constant float32 mask (e.g. from tensor.Gt); the gradient
// goes to a where cond != 0 and to b elsewhere.
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	ps := []*Var{a, b}
	return Record("Where", tensor.Where(cond, a.Value, b.Value), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		zero := tensor.Zeros(g.Backend(), g.Shape()...)
		var ga, gb *tensor.Tensor
		if NeedsGrad(ps, 0) {
			ga = tensor.SumTo(tensor.Where(cond, g, zero), a.Value.Shape())
		}
		if NeedsGrad(ps, 1) {
			gb = tensor.SumTo(tensor.Where(cond, zero, g), b.Value.Shape())
		}
		return grads2(ga, gb)
	})
}
