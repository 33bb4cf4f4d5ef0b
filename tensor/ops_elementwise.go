package tensor

import "slices"

func unary(name string, op UnaryOp, x *Tensor, alpha, beta float32) *Tensor {
	wantFloat(name, x)
	out := Zeros(x.b, x.shape...)
	check(name, shapesOf(x), x.b.Unary(op, out.View(), x.View(), alpha, beta))
	return out
}

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return unary("Neg", OpNeg, x, 0, 0) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return unary("Abs", OpAbs, x, 0, 0) }

// Exp returns e^x.
func Exp(x *Tensor) *Tensor { return unary("Exp", OpExp, x, 0, 0) }

// Log returns the natural logarithm of x.
func Log(x *Tensor) *Tensor { return unary("Log", OpLog, x, 0, 0) }

// Sqrt returns the square root of x.
func Sqrt(x *Tensor) *Tensor { return unary("Sqrt", OpSqrt, x, 0, 0) }

// Rsqrt returns 1/sqrt(x).
func Rsqrt(x *Tensor) *Tensor { return unary("Rsqrt", OpRsqrt, x, 0, 0) }

// Square returns x*x.
func Square(x *Tensor) *Tensor { return unary("Square", OpSquare, x, 0, 0) }

// Relu returns max(x, 0).
func Relu(x *Tensor) *Tensor { return unary("Relu", OpRelu, x, 0, 0) }

// ReluMask returns 1 where x > 0 and 0 elsewhere.
func ReluMask(x *Tensor) *Tensor { return unary("ReluMask", OpReluMask, x, 0, 0) }

// Sign returns -1, 0 or 1.
func Sign(x *Tensor) *Tensor { return unary("Sign", OpSign, x, 0, 0) }

// Recip returns 1/x.
func Recip(x *Tensor) *Tensor { return unary("Recip", OpRecip, x, 0, 0) }

// PowScalar returns x^p.
func PowScalar(x *Tensor, p float32) *Tensor { return unary("PowScalar", OpPowScalar, x, p, 0) }

// Clamp limits x to [lo, hi].
func Clamp(x *Tensor, lo, hi float32) *Tensor {
	if lo > hi {
		fail("Clamp", shapesOf(x), "lo %v > hi %v", lo, hi)
	}
	return unary("Clamp", OpClamp, x, lo, hi)
}

// Affine returns a*x + b.
func Affine(x *Tensor, a, b float32) *Tensor { return unary("Affine", OpAffine, x, a, b) }

// Scale returns a*x.
func Scale(x *Tensor, a float32) *Tensor { return unary("Scale", OpAffine, x, a, 0) }

// AddScalar returns x + b.
func AddScalar(x *Tensor, b float32) *Tensor { return unary("AddScalar", OpAffine, x, 1, b) }

func binary(name string, op BinaryOp, a, b *Tensor) *Tensor {
	sameBackend(name, a, b)
	wantFloat(name, a, b)
	shape, ok := BroadcastShapes(a.shape, b.shape)
	if !ok {
		fail(name, shapesOf(a, b), "shapes do not broadcast")
	}
	out := Zeros(a.b, shape...)
	check(name, shapesOf(a, b), a.b.Binary(op, out.View(), Expand(a, shape...).View(), Expand(b, shape...).View()))
	return out
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return binary("Add", OpAdd, a, b) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return binary("Sub", OpSub, a, b) }

// Mul returns a * b with broadcasting.
func Mul(a, b *Tensor) *Tensor { return binary("Mul", OpMul, a, b) }

// Div returns a / b with broadcasting.
func Div(a, b *Tensor) *Tensor { return binary("Div", OpDiv, a, b) }

// Pow returns a^b with broadcasting.
func Pow(a, b *Tensor) *Tensor { return binary("Pow", OpPow, a, b) }

// Maximum returns max(a, b) with broadcasting.
func Maximum(a, b *Tensor) *Tensor { return binary("Maximum", OpMaximum, a, b) }

// Minimum returns min(a, b) with broadcasting.
func Minimum(a, b *Tensor) *Tensor { return binary("Minimum", OpMinimum, a, b) }

// Eq returns 1 where a == b, else 0.
func Eq(a, b *Tensor) *Tensor { return binary("Eq", OpEq, a, b) }

// Ne returns 1 where a != b, else 0.
func Ne(a, b *Tensor) *Tensor { return binary("Ne", OpNe, a, b) }

// Lt returns 1 where a < b, else 0.
func Lt(a, b *Tensor) *Tensor { return binary("Lt", OpLt, a, b) }

// Le returns 1 where a <= b, else 0.
func Le(a, b *Tensor) *Tensor { return binary("Le", OpLe, a, b) }

// Gt returns 1 where a > b, else 0.
func Gt(a, b *Tensor) *Tensor { return binary("Gt", OpGt, a, b) }

// Ge returns 1 where a >= b, else 0.
func Ge(a, b *Tensor) *Tensor { return binary("Ge", OpGe, a, b) }

// Where returns a where cond != 0 and b elsewhere, with broadcasting.
func Where(cond, a, b *Tensor) *Tensor {
	sameBackend("Where", cond, a, b)
	wantFloat("Where", cond, a, b)
	s1, ok1 := BroadcastShapes(cond.shape, a.shape)
	shape, ok2 := BroadcastShapes(s1, b.shape)
	if !ok1 || !ok2 {
		fail("Where", shapesOf(cond, a, b), "shapes do not broadcast")
	}
	out := Zeros(a.b, shape...)
	check("Where", shapesOf(cond, a, b), a.b.Where(out.View(), Expand(cond, shape...).View(), Expand(a, shape...).View(), Expand(b, shape...).View()))
	return out
}

// SumTo reduces g (a broadcast result) back to shape by summing the
// broadcast axes: the adjoint of Expand, used by backward rules.
func SumTo(g *Tensor, shape []int) *Tensor {
	if slices.Equal(g.shape, shape) {
		return g
	}
	lead := g.Rank() - len(shape)
	if lead < 0 {
		fail("SumTo", [][]int{g.shape, shape}, "target rank larger than source")
	}
	var axes []int
	for i := 0; i < g.Rank(); i++ {
		if i < lead || (shape[i-lead] == 1 && g.shape[i] != 1) {
			axes = append(axes, i)
		} else if shape[i-lead] != g.shape[i] {
			fail("SumTo", [][]int{g.shape, shape}, "axis %d: %d cannot reduce to %d", i, g.shape[i], shape[i-lead])
		}
	}
	s := g
	if len(axes) > 0 {
		s = Sum(g, true, axes...)
	}
	return Reshape(s, shape...)
}
