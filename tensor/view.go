package tensor

func (t *Tensor) withView(shape, strides []int, offset int) *Tensor {
	return &Tensor{b: t.b, st: t.st, shape: shape, strides: strides, offset: offset, dtype: t.dtype}
}

// Contiguous returns t itself when dense, otherwise a dense copy.
func Contiguous(t *Tensor) *Tensor {
	if t.IsContiguous() {
		return t
	}
	return Clone(t)
}

// Clone returns a dense copy of t.
func Clone(t *Tensor) *Tensor {
	out := Empty(t.b, t.dtype, t.shape...)
	check("Clone", shapesOf(t), t.b.Copy(out.View(), t.View()))
	return out
}

// Reshape returns t with a new shape holding the same number of elements.
// One dimension may be -1 and is inferred. It is a view when t is dense and
// a copy otherwise.
func Reshape(t *Tensor, shape ...int) *Tensor {
	shape = cloneInts(shape)
	infer, known := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d <= 0:
			fail("Reshape", [][]int{t.shape, shape}, "invalid dimension %d", d)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if t.Numel()%known != 0 {
			fail("Reshape", [][]int{t.shape, shape}, "cannot infer -1: %d elements not divisible by %d", t.Numel(), known)
		}
		shape[infer] = t.Numel() / known
	}
	if Numel(shape) != t.Numel() {
		fail("Reshape", [][]int{t.shape, shape}, "element count %d != %d", t.Numel(), Numel(shape))
	}
	c := Contiguous(t)
	return c.withView(shape, ContiguousStrides(shape), c.offset)
}

// Flatten reshapes t to [dim0, rest] (a 1-D tensor stays as is).
func Flatten(t *Tensor) *Tensor {
	if t.Rank() <= 1 {
		return t
	}
	return Reshape(t, t.shape[0], -1)
}

// Permute reorders the axes: out.shape[i] = t.shape[dims[i]]. A view.
func Permute(t *Tensor, dims ...int) *Tensor {
	if len(dims) != t.Rank() {
		fail("Permute", shapesOf(t), "got %d axes for rank %d", len(dims), t.Rank())
	}
	seen := make([]bool, t.Rank())
	shape := make([]int, len(dims))
	strides := make([]int, len(dims))
	for i, d := range dims {
		d = normAxis("Permute", t, d)
		if seen[d] {
			fail("Permute", shapesOf(t), "axis %d repeated in %v", d, dims)
		}
		seen[d] = true
		shape[i], strides[i] = t.shape[d], t.strides[d]
	}
	return t.withView(shape, strides, t.offset)
}

// Transpose swaps two axes. A view.
func Transpose(t *Tensor, a, b int) *Tensor {
	a, b = normAxis("Transpose", t, a), normAxis("Transpose", t, b)
	dims := make([]int, t.Rank())
	for i := range dims {
		dims[i] = i
	}
	dims[a], dims[b] = b, a
	return Permute(t, dims...)
}

// Slice returns elements start..end-1 (step 1) along axis. A view.
func Slice(t *Tensor, axis, start, end int) *Tensor {
	axis = normAxis("Slice", t, axis)
	if start < 0 || end > t.shape[axis] || start >= end {
		fail("Slice", shapesOf(t), "range [%d, %d) invalid for axis %d of size %d", start, end, axis, t.shape[axis])
	}
	shape := cloneInts(t.shape)
	shape[axis] = end - start
	return t.withView(shape, cloneInts(t.strides), t.offset+start*t.strides[axis])
}

// Expand broadcasts t to shape (NumPy rules; new leading axes allowed). A
// view with stride 0 on broadcast axes.
func Expand(t *Tensor, shape ...int) *Tensor {
	if len(shape) < t.Rank() {
		fail("Expand", [][]int{t.shape, shape}, "target rank is smaller")
	}
	lead := len(shape) - t.Rank()
	strides := make([]int, len(shape))
	for i := range shape {
		if i < lead {
			continue
		}
		d := t.shape[i-lead]
		switch {
		case d == shape[i]:
			strides[i] = t.strides[i-lead]
		case d == 1:
			strides[i] = 0
		default:
			fail("Expand", [][]int{t.shape, shape}, "cannot broadcast axis %d from %d to %d", i, d, shape[i])
		}
	}
	return t.withView(cloneInts(shape), strides, t.offset)
}

// Unsqueeze inserts an axis of size 1 at position axis (0..rank). A view.
func Unsqueeze(t *Tensor, axis int) *Tensor {
	if axis < 0 {
		axis += t.Rank() + 1
	}
	if axis < 0 || axis > t.Rank() {
		fail("Unsqueeze", shapesOf(t), "axis %d out of range", axis)
	}
	shape := append(append(cloneInts(t.shape[:axis]), 1), t.shape[axis:]...)
	st := 1
	if axis < t.Rank() {
		st = t.strides[axis] * t.shape[axis]
	}
	strides := append(append(cloneInts(t.strides[:axis]), st), t.strides[axis:]...)
	return t.withView(shape, strides, t.offset)
}

// Squeeze removes axis, which must have size 1. A view.
func Squeeze(t *Tensor, axis int) *Tensor {
	axis = normAxis("Squeeze", t, axis)
	if t.shape[axis] != 1 {
		fail("Squeeze", shapesOf(t), "axis %d has size %d, want 1", axis, t.shape[axis])
	}
	shape := append(cloneInts(t.shape[:axis]), t.shape[axis+1:]...)
	strides := append(cloneInts(t.strides[:axis]), t.strides[axis+1:]...)
	return t.withView(shape, strides, t.offset)
}
