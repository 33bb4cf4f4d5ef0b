package cpu

// maxRun bounds the length of one run handed to a kernel, so per-goroutine
// gather buffers stay small and parallel chunks stay balanced.
const maxRun = 2048

// walker visits the elements of several equally shaped strided operands in
// row-major order, in runs along the innermost axis.
type walker struct {
	shape   []int   // collapsed shape, at least one axis
	strides [][]int // per operand, per collapsed axis
	base    []int   // per operand element offset
}

// newWalker collapses shape for the given operand strides: axes of size 1
// are dropped and adjacent axes merge when every operand steps through
// them as one.
func newWalker(shape []int, base []int, strides ...[]int) *walker {
	w := &walker{base: base, strides: make([][]int, len(strides))}
	for i := range shape {
		if shape[i] == 1 {
			continue
		}
		if n := len(w.shape); n > 0 {
			merge := true
			for k, st := range strides {
				if w.strides[k][n-1] != st[i]*shape[i] {
					merge = false
					break
				}
			}
			if merge {
				w.shape[n-1] *= shape[i]
				for k, st := range strides {
					w.strides[k][n-1] = st[i]
				}
				continue
			}
		}
		w.shape = append(w.shape, shape[i])
		for k, st := range strides {
			w.strides[k] = append(w.strides[k], st[i])
		}
	}
	if len(w.shape) == 0 {
		w.shape = []int{1}
		for k := range w.strides {
			w.strides[k] = []int{0}
		}
	}
	return w
}

// numel is the number of elements visited.
func (w *walker) numel() int {
	n := 1
	for _, d := range w.shape {
		n *= d
	}
	return n
}

// inner returns each operand's stride along the innermost axis.
func (w *walker) inner() []int {
	last := len(w.shape) - 1
	s := make([]int, len(w.strides))
	for k := range w.strides {
		s[k] = w.strides[k][last]
	}
	return s
}

// run calls fn for consecutive runs covering flat indices [lo, hi). off
// holds each operand's offset of the run's first element; consecutive
// elements of a run are one innermost stride apart.
func (w *walker) run(lo, hi int, fn func(off []int, n int)) {
	nd := len(w.shape)
	idx := make([]int, nd)
	off := append([]int(nil), w.base...)
	rem := lo
	for d := nd - 1; d >= 0; d-- {
		idx[d] = rem % w.shape[d]
		rem /= w.shape[d]
		for k := range off {
			off[k] += idx[d] * w.strides[k][d]
		}
	}
	last := nd - 1
	for pos := lo; pos < hi; {
		n := min(w.shape[last]-idx[last], hi-pos, maxRun)
		fn(off, n)
		pos += n
		idx[last] += n
		for k := range off {
			off[k] += n * w.strides[k][last]
		}
		for d := last; d > 0 && idx[d] == w.shape[d]; d-- {
			idx[d] = 0
			idx[d-1]++
			for k := range off {
				off[k] += w.strides[k][d-1] - w.shape[d]*w.strides[k][d]
			}
		}
	}
}
