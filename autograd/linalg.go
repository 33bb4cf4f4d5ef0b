package autograd

import "github.com/vkgrad/vkgrad/tensor"

// MatMul multiplies a [.., M, K] by b [.., K, N]. Operands have rank 2 or 3;
// a rank-2 operand or a batch of 1 broadcasts over the other's batch (its
// gradient is summed over that batch).
func MatMul(a, b *Var) *Var { return MatMulT(a, b, false, false) }

// MatMulT is MatMul with optional transposition of the last two axes of a
// (transA) and b (transB): out = op(a) @ op(b).
func MatMulT(a, b *Var, transA, transB bool) *Var {
	ps := []*Var{a, b}
	return Record("MatMul", tensor.MatMulT(a.Value, b.Value, transA, transB), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		av, bv := a.Value, b.Value
		// With A = op(a), B = op(b): dA = g B^T and dB = A^T g, transposed
		// back when the operand was used transposed.
		if NeedsGrad(ps, 0) {
			switch {
			case !transA && !transB:
				ga = tensor.MatMulT(g, bv, false, true)
			case !transA && transB:
				ga = tensor.MatMulT(g, bv, false, false)
			case transA && !transB:
				ga = tensor.MatMulT(bv, g, false, true)
			default:
				ga = tensor.MatMulT(bv, g, true, true)
			}
			ga = tensor.SumTo(ga, av.Shape())
		}
		if NeedsGrad(ps, 1) {
			switch {
			case !transA && !transB:
				gb = tensor.MatMulT(av, g, true, false)
			case transA && !transB:
				gb = tensor.MatMulT(av, g, false, false)
			case !transA && transB:
				gb = tensor.MatMulT(g, av, true, false)
			default:
				gb = tensor.MatMulT(g, av, true, true)
			}
			gb = tensor.SumTo(gb, bv.Shape())
		}
		return grads2(ga, gb)
	})
}

// Linear returns x @ w^T + b for x [.., in], w [out, in] and b [out] (b may
// be nil): PyTorch's nn.Linear. Leading axes of x are flattened into one
// batch axis for the product and restored in the result [.., out].
func Linear(x, w, b *Var) *Var {
	const name = "Linear"
	xs, ws := x.Value.Shape(), w.Value.Shape()
	if len(xs) < 1 || len(ws) != 2 || xs[len(xs)-1] != ws[1] {
		panic(&tensor.OpError{Op: name, Shapes: [][]int{xs, ws}, Msg: "want x [.., in] and w [out, in] with matching in"})
	}
	if b != nil && (b.Value.Rank() != 1 || b.Value.Dim(0) != ws[0]) {
		panic(&tensor.OpError{Op: name, Shapes: [][]int{xs, ws, b.Value.Shape()}, Msg: "bias must be [out]"})
	}
	in, outF := ws[1], ws[0]
	x2 := tensor.Reshape(x.Value, -1, in)
	y := tensor.MatMulT(x2, w.Value, false, true)
	if b != nil {
		y = tensor.Add(y, b.Value)
	}
	outShape := append(append([]int(nil), xs[:len(xs)-1]...), outF)
	ps := []*Var{x, w, b}
	return Record(name, tensor.Reshape(y, outShape...), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		g2 := tensor.Reshape(g, -1, outF)
		res := make([]*tensor.Tensor, 3)
		if NeedsGrad(ps, 0) {
			res[0] = tensor.Reshape(tensor.MatMul(g2, w.Value), xs...)
		}
		if NeedsGrad(ps, 1) {
			res[1] = tensor.MatMulT(g2, x2, true, false)
		}
		if NeedsGrad(ps, 2) {
			res[2] = tensor.Sum(g2, false, 0)
		}
		return res
	})
}
