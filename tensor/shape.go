package tensor

// Numel returns the number of elements of a shape (1 for a scalar).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ContiguousStrides returns the row-major strides of shape.
func ContiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// IsContiguous reports whether strides are row-major dense for shape.
// Dimensions of size 1 may have any stride.
func IsContiguous(shape, strides []int) bool {
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != s {
			return false
		}
		s *= shape[i]
	}
	return true
}

// BroadcastShapes returns the NumPy broadcast of a and b, or ok=false.
func BroadcastShapes(a, b []int) (out []int, ok bool) {
	n := max(len(a), len(b))
	out = make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

func cloneInts(s []int) []int { return append([]int(nil), s...) }

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(op string, t *Tensor, axis int) int {
	r := len(t.shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		fail(op, shapesOf(t), "axis %d out of range for rank %d", axis, r)
	}
	return axis
}
