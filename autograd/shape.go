package autograd

import (
	"fmt"
	"slices"

	"github.com/vkgrad/vkgrad/tensor"
)

// This file holds the movement ops: views, joins, splits, padding and
// gathering. Their backward rules move the gradient the opposite way.

// Reshape returns x with a new shape holding the same number of elements (one
// dimension may be -1).
func Reshape(x *Var, shape ...int) *Var {
	xs := x.Value.Shape()
	return Record("Reshape", tensor.Reshape(x.Value, shape...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Reshape(g, xs...)}
	})
}

// Flatten reshapes x to [dim0, rest]; a tensor of rank 0 or 1 is returned
// unchanged.
func Flatten(x *Var) *Var {
	if x.Value.Rank() <= 1 {
		return x
	}
	return Reshape(x, x.Value.Dim(0), -1)
}

// Unsqueeze inserts an axis of size 1 at position axis (0..rank).
func Unsqueeze(x *Var, axis int) *Var {
	xs := x.Value.Shape()
	return Record("Unsqueeze", tensor.Unsqueeze(x.Value, axis), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Reshape(g, xs...)}
	})
}

// Squeeze removes axis, which must have size 1.
func Squeeze(x *Var, axis int) *Var {
	xs := x.Value.Shape()
	return Record("Squeeze", tensor.Squeeze(x.Value, axis), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Reshape(g, xs...)}
	})
}

// Transpose swaps axes a and b (a view).
func Transpose(x *Var, a, b int) *Var {
	return Record("Transpose", tensor.Transpose(x.Value, a, b), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Transpose(g, a, b)}
	})
}

// Permute reorders the axes: out.shape[i] = x.shape[dims[i]] (a view).
func Permute(x *Var, dims ...int) *Var {
	out := tensor.Permute(x.Value, dims...)
	inv := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 {
			d += len(dims)
		}
		inv[d] = i
	}
	return Record("Permute", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Permute(g, inv...)}
	})
}

// Slice returns elements start..end-1 of x along axis (a view). The gradient
// is zero outside the slice.
func Slice(x *Var, axis, start, end int) *Var {
	out := tensor.Slice(x.Value, axis, start, end)
	xs := x.Value.Shape()
	if axis < 0 {
		axis += len(xs)
	}
	return Record("Slice", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		pads := make([][2]int, len(xs))
		pads[axis] = [2]int{start, xs[axis] - end}
		return []*tensor.Tensor{tensor.Pad(g, pads, 0)}
	})
}

// Expand broadcasts x to shape with NumPy rules (a stride-0 view). The
// gradient sums over the broadcast axes.
func Expand(x *Var, shape ...int) *Var {
	xs := x.Value.Shape()
	return Record("Expand", tensor.Expand(x.Value, shape...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SumTo(g, xs)}
	})
}

// Concat joins xs along axis; all other dimensions must agree.
func Concat(axis int, xs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		if x == nil {
			panic(&tensor.OpError{Op: "Concat", Msg: fmt.Sprintf("input %d is nil", i)})
		}
		vals[i] = x.Value
	}
	out := tensor.Concat(axis, vals...)
	if axis < 0 {
		axis += out.Rank()
	}
	sizes := make([]int, len(xs))
	for i, v := range vals {
		sizes[i] = v.Dim(axis)
	}
	ps := append([]*Var(nil), xs...)
	return Record("Concat", out, ps, func(g *tensor.Tensor) []*tensor.Tensor {
		parts := tensor.Split(g, axis, sizes...)
		for i := range parts {
			if !NeedsGrad(ps, i) {
				parts[i] = nil
			}
		}
		return parts
	})
}

// Stack joins equally shaped xs along a new axis at position axis.
func Stack(axis int, xs ...*Var) *Var {
	us := make([]*Var, len(xs))
	for i, x := range xs {
		if x == nil {
			panic(&tensor.OpError{Op: "Stack", Msg: fmt.Sprintf("input %d is nil", i)})
		}
		if i > 0 && !slices.Equal(x.Value.Shape(), xs[0].Value.Shape()) {
			panic(&tensor.OpError{Op: "Stack", Shapes: [][]int{xs[0].Value.Shape(), x.Value.Shape()}, Msg: "shapes differ"})
		}
		us[i] = Unsqueeze(x, axis)
	}
	return Concat(axis, us...)
}

// Split cuts x along axis into pieces of the given sizes (views). Each piece
// is its own node; gradients of the pieces are summed into x.
func Split(x *Var, axis int, sizes ...int) []*Var {
	parts := tensor.Split(x.Value, axis, sizes...) // validates sizes
	out := make([]*Var, len(parts))
	pos := 0
	for i, s := range sizes {
		out[i] = Slice(x, axis, pos, pos+s)
		pos += s
	}
	return out
}

// Pad adds pads[i][0] elements before and pads[i][1] after axis i, filled
// with value (len(pads) equals the rank). The gradient is the interior of
// the incoming gradient.
func Pad(x *Var, pads [][2]int, value float32) *Var {
	pads = append([][2]int(nil), pads...)
	return Record("Pad", tensor.Pad(x.Value, pads, value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Unpad(g, pads)}
	})
}

// IndexSelect gathers entries of x along axis at the int32 indices idx
// (rank 1, repeats allowed). The gradient scatter-adds back with
// tensor.IndexAdd, so repeated indices accumulate.
func IndexSelect(x *Var, axis int, idx *tensor.Tensor) *Var {
	xs := x.Value.Shape()
	return Record("IndexSelect", tensor.IndexSelect(x.Value, axis, idx), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.IndexAdd(xs, axis, idx, g)}
	})
}
