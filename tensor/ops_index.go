package tensor

import "slices"

func splitAt(t *Tensor, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i := 0; i < axis; i++ {
		outer *= t.shape[i]
	}
	for i := axis + 1; i < t.Rank(); i++ {
		inner *= t.shape[i]
	}
	return outer, t.shape[axis], inner
}

// IndexSelect gathers entries of x along axis by the int32 indices idx
// (rank 1). Indices out of range are an error raised by the backend (on
// async backends at the next sync).
func IndexSelect(x *Tensor, axis int, idx *Tensor) *Tensor {
	const name = "IndexSelect"
	sameBackend(name, x, idx)
	axis = normAxis(name, x, axis)
	if idx.dtype != Int32 || idx.Rank() != 1 {
		fail(name, shapesOf(x, idx), "indices must be a 1-D int32 tensor")
	}
	c := Contiguous(x)
	outer, n, inner := splitAt(c, axis)
	shape := cloneInts(x.shape)
	shape[axis] = idx.shape[0]
	out := Empty(x.b, x.dtype, shape...)
	check(name, shapesOf(x, idx), x.b.IndexSelect(out.View(), c.View(), Contiguous(idx).View(), outer, n, inner))
	return out
}

// IndexAdd returns a tensor of shape `shape` that is zero except that
// src's entries along axis are added at the positions idx: the adjoint of
// IndexSelect.
func IndexAdd(shape []int, axis int, idx, src *Tensor) *Tensor {
	const name = "IndexAdd"
	sameBackend(name, src, idx)
	out := Zeros(src.b, shape...)
	axis = normAxis(name, out, axis)
	if idx.dtype != Int32 || idx.Rank() != 1 || src.Rank() != len(shape) || src.shape[axis] != idx.shape[0] {
		fail(name, [][]int{shape, src.shape, idx.shape}, "indices must be 1-D int32 matching src along axis %d", axis)
	}
	wantFloat(name, src)
	for i, d := range shape {
		if i != axis && src.shape[i] != d {
			fail(name, [][]int{shape, src.shape, idx.shape}, "src dimension %d is %d, want %d", i, src.shape[i], d)
		}
	}
	outer, n, inner := splitAt(out, axis)
	check(name, shapesOf(src, idx), src.b.IndexAdd(out.View(), Contiguous(src).View(), Contiguous(idx).View(), outer, n, inner))
	return out
}

// Concat joins tensors along axis; all other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	const name = "Concat"
	if len(ts) == 0 {
		fail(name, nil, "no tensors")
	}
	sameBackend(name, ts...)
	axis = normAxis(name, ts[0], axis)
	shape := cloneInts(ts[0].shape)
	total := 0
	for _, t := range ts {
		if t.Rank() != len(shape) || t.dtype != ts[0].dtype {
			fail(name, shapesOf(ts...), "rank or dtype mismatch")
		}
		for i := range shape {
			if i != axis && t.shape[i] != shape[i] {
				fail(name, shapesOf(ts...), "dimension %d differs", i)
			}
		}
		total += t.shape[axis]
	}
	shape[axis] = total
	out := Empty(ts[0].b, ts[0].dtype, shape...)
	pos := 0
	for _, t := range ts {
		dst := Slice(out, axis, pos, pos+t.shape[axis])
		check(name, shapesOf(ts...), t.b.Copy(dst.View(), t.View()))
		pos += t.shape[axis]
	}
	return out
}

// Stack joins equally shaped tensors along a new axis.
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		fail("Stack", nil, "no tensors")
	}
	us := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !slices.Equal(t.shape, ts[0].shape) {
			fail("Stack", shapesOf(ts...), "shapes differ")
		}
		us[i] = Unsqueeze(t, axis)
	}
	return Concat(axis, us...)
}

// Split cuts t along axis into pieces of the given sizes (views).
func Split(t *Tensor, axis int, sizes ...int) []*Tensor {
	axis = normAxis("Split", t, axis)
	total := 0
	for _, s := range sizes {
		if s <= 0 {
			fail("Split", shapesOf(t), "non-positive size in %v", sizes)
		}
		total += s
	}
	if total != t.shape[axis] {
		fail("Split", shapesOf(t), "sizes %v sum to %d, axis %d has %d", sizes, total, axis, t.shape[axis])
	}
	out := make([]*Tensor, len(sizes))
	pos := 0
	for i, s := range sizes {
		out[i] = Slice(t, axis, pos, pos+s)
		pos += s
	}
	return out
}

// Pad adds pads[i][0] elements before and pads[i][1] after axis i, filled
// with value. len(pads) must equal the rank.
func Pad(t *Tensor, pads [][2]int, value float32) *Tensor {
	const name = "Pad"
	wantFloat(name, t)
	if len(pads) != t.Rank() {
		fail(name, shapesOf(t), "got %d pad pairs for rank %d", len(pads), t.Rank())
	}
	shape := cloneInts(t.shape)
	for i, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			fail(name, shapesOf(t), "negative padding %v", p)
		}
		shape[i] += p[0] + p[1]
	}
	out := Full(t.b, value, shape...)
	dst := out
	for i, p := range pads {
		dst = Slice(dst, i, p[0], p[0]+t.shape[i])
	}
	check(name, shapesOf(t), t.b.Copy(dst.View(), t.View()))
	return out
}

// Unpad is the adjoint of Pad: it returns the interior view.
func Unpad(t *Tensor, pads [][2]int) *Tensor {
	out := t
	for i, p := range pads {
		out = Slice(out, i, p[0], t.shape[i]-p[1])
	}
	return out
}
