package backendtest

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// operand returns a [.., rows, cols] matrix, stored transposed (a view of a
// dense [.., cols, rows] tensor) when trans.
func operand(e *Env, trans bool, batch []int, rows, cols int) *tensor.Tensor {
	if !trans {
		return e.Randn(append(append([]int(nil), batch...), rows, cols)...)
	}
	t := e.Randn(append(append([]int(nil), batch...), cols, rows)...)
	return tensor.Transpose(t, -2, -1)
}

func matmulCases() []Case {
	sizes := [][3]int{{1, 1, 1}, {7, 13, 33}, {33, 7, 1}, {1, 33, 7}, {13, 65, 9}, {5, 257, 3}, {66, 17, 130}}
	var cs []Case
	for _, s := range sizes {
		m, k, n := s[0], s[1], s[2]
		cs = append(cs, Case{Name: fmt.Sprintf("MatMul/%dx%dx%d", m, k, n), Op: "MatMul", Tol: 1e-6, Pairs: true,
			Run: func(e *Env) []*tensor.Tensor {
				var outs []*tensor.Tensor
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					a, b := operand(e, tr[0], nil, m, k), operand(e, tr[1], nil, k, n)
					// A transposed view reaches the backend as a transpose flag;
					// its dense copy as a plain product.
					outs = append(outs, tensor.MatMul(a, b), tensor.MatMul(tensor.Contiguous(a), tensor.Contiguous(b)))
				}
				// Explicit flags on dense operands.
				a, b := e.Randn(k, m), e.Randn(n, k)
				outs = append(outs, tensor.MatMulT(a, b, true, true),
					tensor.MatMul(tensor.Contiguous(tensor.Transpose(a, 0, 1)), tensor.Contiguous(tensor.Transpose(b, 0, 1))))
				return outs
			}})
	}
	cs = append(cs,
		Case{Name: "MatMul/batched", Op: "MatMul", Tol: 1e-6, Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{
				tensor.MatMul(e.Randn(3, 7, 13), e.Randn(3, 13, 5)),
				tensor.MatMul(e.Randn(1, 7, 13), e.Randn(4, 13, 5)),
				tensor.MatMul(e.Randn(4, 7, 13), e.Randn(13, 5)),
				tensor.MatMul(e.Randn(7, 13), e.Randn(2, 13, 33)),
				tensor.MatMulT(e.Randn(3, 13, 7), e.Randn(3, 5, 13), true, true),
				tensor.MatMulT(e.Randn(2, 33, 1), e.Randn(1, 33, 9), true, false),
			}
		}},
		Case{Name: "MatMul/batched-views", Op: "MatMul", Tol: 1e-6, Pairs: true, Run: func(e *Env) []*tensor.Tensor {
			a := tensor.Slice(e.Randn(3, 9, 13), 1, 1, 8) // [3,7,13], not dense
			b := operand(e, true, []int{3}, 13, 5)
			return []*tensor.Tensor{tensor.MatMul(a, b), tensor.MatMul(tensor.Contiguous(a), tensor.Contiguous(b))}
		}},
		Case{Name: "MatMul/largeK", Op: "MatMul", Tol: 1e-6, Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.MatMul(e.Randn(9, 1031), e.Randn(1031, 11)),
				tensor.MatMulT(e.Randn(2000, 3), e.Randn(2000, 4), true, false)}
		}},
	)
	return cs
}
