package backendtest

import (
	"github.com/vkgrad/vkgrad/tensor"
)

// hostGather reads a strided view of host data in row-major order: the
// independent answer for copies.
func hostGather[T float32 | int32](data []T, shape, strides []int, offset int) []T {
	out := make([]T, 0, tensor.Numel(shape))
	idx := make([]int, len(shape))
	for range tensor.Numel(shape) {
		off := offset
		for d := range shape {
			off += idx[d] * strides[d]
		}
		out = append(out, data[off])
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// copyPair returns Clone(view) and the same values gathered on the host
// from base, which view is a view of.
func copyPair(e *Env, base, view *tensor.Tensor) []*tensor.Tensor {
	got := tensor.Clone(view)
	if base.DType() == tensor.Int32 {
		h := hostGather(base.Int32s(), view.Shape(), view.Strides(), view.Offset())
		return []*tensor.Tensor{got, tensor.FromInt32(e.B, h, view.Shape()...)}
	}
	h := hostGather(base.Float32s(), view.Shape(), view.Strides(), view.Offset())
	return []*tensor.Tensor{got, tensor.FromSlice(e.B, h, view.Shape()...)}
}

func copyCases() []Case {
	views := func(base *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{
			base,
			tensor.Transpose(base, 0, 2),
			tensor.Permute(base, 1, 2, 0),
			tensor.Slice(tensor.Slice(base, 1, 2, 11), 2, 1, 6),
			tensor.Expand(tensor.Slice(base, 0, 1, 2), 4, 13, 7),
			tensor.Transpose(tensor.Slice(base, 2, 3, 4), 0, 1),
		}
	}
	return []Case{
		{Name: "Copy/float32/views", Op: "Copy", Pairs: true, Run: func(e *Env) []*tensor.Tensor {
			base := e.Randn(3, 13, 7)
			var outs []*tensor.Tensor
			for _, v := range views(base) {
				outs = append(outs, copyPair(e, base, v)...)
			}
			return outs
		}},
		{Name: "Copy/int32/views", Op: "Copy", Pairs: true, Run: func(e *Env) []*tensor.Tensor {
			d := make([]int32, 3*13*7)
			for i := range d {
				d[i] = int32(i*7919%1000 - 500)
			}
			base := tensor.FromInt32(e.B, d, 3, 13, 7)
			var outs []*tensor.Tensor
			for _, v := range views(base) {
				outs = append(outs, copyPair(e, base, v)...)
			}
			return outs
		}},
		{Name: "Copy/concat-stack-split", Op: "Copy", Run: func(e *Env) []*tensor.Tensor {
			a, b, c := e.Randn(2, 7), e.Randn(5, 7), e.Randn(2, 7)
			parts := tensor.Split(e.Randn(7, 13), 1, 3, 1, 9)
			return []*tensor.Tensor{
				tensor.Concat(0, a, b, c),
				tensor.Concat(1, tensor.Transpose(b, 0, 1), tensor.Transpose(e.Randn(2, 7), 0, 1)),
				tensor.Concat(0, tensor.Transpose(b, 0, 1), e.Randn(1, 5)),
				tensor.Stack(1, a, c),
				tensor.Clone(parts[0]), tensor.Clone(parts[1]), tensor.Clone(parts[2]),
			}
		}},
		{Name: "Copy/pad-assign", Op: "Copy", Run: func(e *Env) []*tensor.Tensor {
			x := e.Randn(3, 5, 7)
			big := e.Randn(4, 13)
			tensor.Assign(tensor.Slice(big, 1, 2, 9), tensor.Transpose(e.Randn(7, 4), 0, 1))
			return []*tensor.Tensor{
				tensor.Pad(x, [][2]int{{0, 1}, {2, 0}, {1, 3}}, -1.5),
				tensor.Pad(tensor.Transpose(x, 1, 2), [][2]int{{1, 1}, {0, 0}, {0, 2}}, 0),
				big,
			}
		}},
	}
}
