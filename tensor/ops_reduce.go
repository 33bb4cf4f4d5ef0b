package tensor

import "sort"

// reduceAxis reduces one axis of t (made dense first).
func reduceAxis(name string, op ReduceOp, t *Tensor, axis int, keepdim bool) *Tensor {
	axis = normAxis(name, t, axis)
	c := Contiguous(t)
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= c.shape[i]
	}
	for i := axis + 1; i < c.Rank(); i++ {
		inner *= c.shape[i]
	}
	n := c.shape[axis]
	shape := cloneInts(c.shape)
	shape[axis] = 1
	dt := Float32
	if op == ReduceArgmax {
		dt = Int32
	}
	out := Empty(c.b, dt, shape...)
	check(name, shapesOf(t), c.b.Reduce(op, out.View(), c.View(), outer, n, inner))
	if !keepdim {
		out = Squeeze(out, axis)
	}
	return out
}

func axesOrAll(name string, t *Tensor, axes []int) []int {
	if len(axes) == 0 {
		axes = make([]int, t.Rank())
		for i := range axes {
			axes[i] = i
		}
		return axes
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = normAxis(name, t, a)
	}
	sort.Ints(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			fail(name, shapesOf(t), "axis %d repeated", out[i])
		}
	}
	return out
}

// reduceAxes folds the given axes: contiguous runs of axes are merged by a
// reshape so each run costs one backend reduction.
func reduceAxes(name string, op ReduceOp, t *Tensor, keepdim bool, axes []int) *Tensor {
	wantFloat(name, t)
	axes = axesOrAll(name, t, axes)
	if t.Rank() == 0 {
		return Clone(t)
	}
	// Mean and variance over several axes: reduce over one merged axis by
	// permuting the reduced axes to the end.
	keepShape := cloneInts(t.shape)
	for _, a := range axes {
		keepShape[a] = 1
	}
	red := make(map[int]bool, len(axes))
	for _, a := range axes {
		red[a] = true
	}
	var perm, kept []int
	n := 1
	for i := 0; i < t.Rank(); i++ {
		if !red[i] {
			perm = append(perm, i)
			kept = append(kept, t.shape[i])
		}
	}
	for _, a := range axes {
		perm = append(perm, a)
		n *= t.shape[a]
	}
	p := Permute(t, perm...)
	flat := Reshape(p, append(cloneInts(kept), n)...)
	out := reduceAxis(name, op, flat, len(kept), false)
	if keepdim {
		return Reshape(out, keepShape...)
	}
	if len(kept) == 0 {
		return Reshape(out) // scalar
	}
	return out
}

// Sum adds elements over axes (all axes when none are given).
func Sum(t *Tensor, keepdim bool, axes ...int) *Tensor {
	return reduceAxes("Sum", ReduceSum, t, keepdim, axes)
}

// Mean averages over axes (all axes when none are given).
func Mean(t *Tensor, keepdim bool, axes ...int) *Tensor {
	return reduceAxes("Mean", ReduceMean, t, keepdim, axes)
}

// Max returns the maximum over axes (all axes when none are given).
func Max(t *Tensor, keepdim bool, axes ...int) *Tensor {
	return reduceAxes("Max", ReduceMax, t, keepdim, axes)
}

// Variance returns the population variance (divide by n) over axes.
func Variance(t *Tensor, keepdim bool, axes ...int) *Tensor {
	return reduceAxes("Variance", ReduceVariance, t, keepdim, axes)
}

// Argmax returns the int32 index of the first maximum along axis.
func Argmax(t *Tensor, axis int, keepdim bool) *Tensor {
	wantFloat("Argmax", t)
	return reduceAxis("Argmax", ReduceArgmax, t, axis, keepdim)
}
