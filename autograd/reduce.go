package autograd

import "github.com/vkgrad/vkgrad/tensor"

// This file holds the reductions. Each takes the axes to reduce (all axes when
// none are given; negative axes count from the end) and keepdim, which keeps
// reduced axes with size 1.

// keptShape returns shape with the reduced axes set to 1 (all axes when axes
// is empty), the shape of a keepdim reduction.
func keptShape(shape []int, axes []int) []int {
	out := append([]int(nil), shape...)
	if len(axes) == 0 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		if a >= 0 && a < len(shape) {
			out[a] = 1
		}
	}
	return out
}

// droppedShape returns shape without the reduced axes (a scalar shape when
// axes is empty), the shape of a reduction without keepdim.
func droppedShape(shape []int, axes []int) []int {
	kept := keptShape(shape, axes)
	red := make([]bool, len(shape))
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		if a >= 0 && a < len(shape) {
			red[a] = true
		}
	}
	var out []int
	for i, d := range kept {
		if len(axes) > 0 && !red[i] {
			out = append(out, d)
		}
	}
	return out
}

// reducedCount is the number of input elements folded into each output.
func reducedCount(x *tensor.Tensor, axes []int) int {
	return x.Numel() / tensor.Numel(keptShape(x.Shape(), axes))
}

// expandBack broadcasts the gradient g of a reduction of x over axes back to
// x's shape (a stride-0 view, no copy).
func expandBack(g, x *tensor.Tensor, axes []int) *tensor.Tensor {
	return tensor.Expand(tensor.Reshape(g, keptShape(x.Shape(), axes)...), x.Shape()...)
}

// Sum adds the elements of x over axes (all axes when none are given).
func Sum(x *Var, keepdim bool, axes ...int) *Var {
	axes = append([]int(nil), axes...)
	return Record("Sum", tensor.Sum(x.Value, keepdim, axes...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{expandBack(g, x.Value, axes)}
	})
}

// Mean averages x over axes (all axes when none are given).
func Mean(x *Var, keepdim bool, axes ...int) *Var {
	axes = append([]int(nil), axes...)
	return Record("Mean", tensor.Mean(x.Value, keepdim, axes...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		n := reducedCount(x.Value, axes)
		return []*tensor.Tensor{expandBack(tensor.Scale(g, 1/float32(n)), x.Value, axes)}
	})
}

// Max returns the maximum of x over axes (all axes when none are given).
//
// Gradient: the incoming gradient of each output is split evenly among the
// inputs that attain the maximum (a unique maximum gets all of it; k tied
// maxima get 1/k each). This is PyTorch's amax rule; it is a valid
// subgradient and keeps the result independent of element order.
func Max(x *Var, keepdim bool, axes ...int) *Var {
	axes = append([]int(nil), axes...)
	keep := tensor.Max(x.Value, true, axes...)
	out := keep
	if !keepdim {
		out = tensor.Reshape(keep, droppedShape(x.Value.Shape(), axes)...)
	}
	return Record("Max", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		hit := tensor.Eq(x.Value, tensor.Expand(keep, x.Value.Shape()...))
		ties := tensor.Sum(hit, true, axes...)
		share := tensor.Div(hit, tensor.Expand(ties, x.Value.Shape()...))
		return []*tensor.Tensor{tensor.Mul(expandBack(g, x.Value, axes), share)}
	})
}

// Variance returns the population variance (divide by n) of x over axes
// (all axes when none are given).
func Variance(x *Var, keepdim bool, axes ...int) *Var {
	axes = append([]int(nil), axes...)
	return Record("Variance", tensor.Variance(x.Value, keepdim, axes...), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		// d var / dx_i = 2 (x_i - mean) / n.
		n := reducedCount(x.Value, axes)
		mean := tensor.Mean(x.Value, true, axes...)
		centered := tensor.Sub(x.Value, mean)
		return []*tensor.Tensor{tensor.Mul(expandBack(tensor.Scale(g, 2/float32(n)), x.Value, axes), centered)}
	})
}
