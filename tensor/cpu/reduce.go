package cpu

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// reduceBlock is how many inner positions one reduction task covers.
const reduceBlock = 512

// Reduce reduces the middle axis of a dense x seen as [outer, n, inner] into
// a dense out [outer, inner]. Sum, mean and variance accumulate in float64
// (variance in two passes); max and argmax propagate NaN (argmax returns the
// first NaN or the first maximum).
func (b *Backend) Reduce(op tensor.ReduceOp, out, x tensor.View, outer, n, inner int) error {
	name := "Reduce " + op.String()
	if op > tensor.ReduceVariance {
		return fmt.Errorf("cpu: Reduce: %v: %w", op, tensor.ErrNotImplemented)
	}
	if outer <= 0 || n <= 0 || inner <= 0 {
		return fmt.Errorf("cpu: %s: invalid sizes outer=%d n=%d inner=%d", name, outer, n, inner)
	}
	xd, err := denseF(name, "x", x, outer*n*inner)
	if err != nil {
		return err
	}
	var of []float32
	var oi []int32
	if op == tensor.ReduceArgmax {
		oi, err = denseI(name, "out", out, outer*inner)
	} else {
		of, err = denseF(name, "out", out, outer*inner)
	}
	if err != nil {
		return err
	}
	nb := (inner + reduceBlock - 1) / reduceBlock
	tasks := outer * nb
	split := tasks < b.workers && outer*n*inner >= 2*grainElems
	// task reduces inner positions i0..i1 of outer row o; s, q, best and
	// arg are scratch of reduceBlock elements (nil when split).
	task := func(t int, s, q []float64, best []float32, arg []int32) {
		o := t / nb
		i0 := (t % nb) * reduceBlock
		i1 := min(i0+reduceBlock, inner)
		dst := o*inner + i0
		switch op {
		case tensor.ReduceSum, tensor.ReduceMean, tensor.ReduceVariance:
			s = b.sumSplit(xd, o, n, inner, i0, i1, nil, split, s)
			if op == tensor.ReduceSum {
				for i, v := range s {
					of[dst+i] = float32(v)
				}
				return
			}
			for i := range s {
				s[i] /= float64(n)
			}
			if op == tensor.ReduceMean {
				for i, v := range s {
					of[dst+i] = float32(v)
				}
				return
			}
			q = b.sumSplit(xd, o, n, inner, i0, i1, s, split, q)
			for i, v := range q {
				of[dst+i] = float32(v / float64(n))
			}
		case tensor.ReduceMax, tensor.ReduceArgmax:
			best, arg = b.maxSplit(xd, o, n, inner, i0, i1, split, best, arg)
			if op == tensor.ReduceMax {
				copy(of[dst:], best)
			} else {
				copy(oi[dst:], arg)
			}
		}
	}
	if split {
		for t := range tasks {
			task(t, nil, nil, nil, nil)
		}
		return nil
	}
	grain := max(1, grainElems/(n*min(inner, reduceBlock)))
	b.parallelFor(tasks, grain, func(lo, hi int) {
		blk := min(inner, reduceBlock)
		s, q := make([]float64, blk), make([]float64, blk)
		best, arg := make([]float32, blk), make([]int32, blk)
		for t := lo; t < hi; t++ {
			task(t, s, q, best, arg)
		}
	})
	return nil
}

// sumSplit returns, for inner positions i0..i1 of outer row o, the float64
// sum over the reduced axis of x, or of (x-mean)^2 when mean is not nil.
// With split the reduced axis is divided among the workers; otherwise the
// sums are written to scratch.
func (b *Backend) sumSplit(xd []float32, o, n, inner, i0, i1 int, mean []float64, split bool, scratch []float64) []float64 {
	if !split {
		acc := scratch[:i1-i0]
		clear(acc)
		sumRange(xd, o, n, inner, i0, i1, 0, n, mean, acc)
		return acc
	}
	parts := make([][]float64, b.workers)
	b.parallelWorkers(n, func(w, j0, j1 int) {
		acc := make([]float64, i1-i0)
		sumRange(xd, o, n, inner, i0, i1, j0, j1, mean, acc)
		parts[w] = acc
	})
	acc := parts[0]
	for _, p := range parts[1:] {
		for i, v := range p {
			acc[i] += v
		}
	}
	return acc
}

// sumRange adds x[o, j, i] (or its squared deviation from mean[i-i0]) for j
// in [j0, j1) and i in [i0, i1) into acc[i-i0].
func sumRange(xd []float32, o, n, inner, i0, i1, j0, j1 int, mean []float64, acc []float64) {
	if i1-i0 == 1 {
		var s0, s1 float64
		base := o*n*inner + i0
		m := 0.0
		if mean != nil {
			m = mean[0]
		}
		j := j0
		for ; j+1 < j1; j += 2 {
			a := float64(xd[base+j*inner]) - m
			c := float64(xd[base+(j+1)*inner]) - m
			if mean != nil {
				a, c = a*a, c*c
			}
			s0 += a
			s1 += c
		}
		if j < j1 {
			a := float64(xd[base+j*inner]) - m
			if mean != nil {
				a *= a
			}
			s0 += a
		}
		acc[0] += s0 + s1
		return
	}
	for j := j0; j < j1; j++ {
		row := xd[(o*n+j)*inner+i0 : (o*n+j)*inner+i1]
		if mean == nil {
			for i, v := range row {
				acc[i] += float64(v)
			}
			continue
		}
		for i, v := range row {
			d := float64(v) - mean[i]
			acc[i] += d * d
		}
	}
}

// maxSplit returns the maximum and its first index over the reduced axis
// for inner positions i0..i1 of outer row o.
func (b *Backend) maxSplit(xd []float32, o, n, inner, i0, i1 int, split bool, best []float32, arg []int32) ([]float32, []int32) {
	if !split {
		best, arg = best[:i1-i0], arg[:i1-i0]
		maxRange(xd, o, n, inner, i0, i1, 0, n, best, arg)
		return best, arg
	}
	bests := make([][]float32, b.workers)
	args := make([][]int32, b.workers)
	used := b.parallelWorkers(n, func(w, j0, j1 int) {
		best, arg := make([]float32, i1-i0), make([]int32, i1-i0)
		maxRange(xd, o, n, inner, i0, i1, j0, j1, best, arg)
		bests[w], args[w] = best, arg
	})
	best, arg = bests[0], args[0]
	for w := 1; w < used; w++ {
		for i, v := range bests[w] {
			if better(v, best[i]) {
				best[i], arg[i] = v, args[w][i]
			}
		}
	}
	return best, arg
}

// better reports whether v replaces the current maximum cur: it is larger,
// or it is the first NaN.
func better(v, cur float32) bool { return v > cur || (v != v && cur == cur) }

// maxRange finds the maximum over j in [j0, j1) (j0 < j1) for each inner
// position, keeping the first index on ties.
func maxRange(xd []float32, o, n, inner, i0, i1, j0, j1 int, best []float32, arg []int32) {
	copy(best, xd[(o*n+j0)*inner+i0:(o*n+j0)*inner+i1])
	for i := range arg {
		arg[i] = int32(j0)
	}
	for j := j0 + 1; j < j1; j++ {
		row := xd[(o*n+j)*inner+i0 : (o*n+j)*inner+i1]
		for i, v := range row {
			if better(v, best[i]) {
				best[i], arg[i] = v, int32(j)
			}
		}
	}
}
