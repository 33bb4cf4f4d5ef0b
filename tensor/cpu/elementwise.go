package cpu

import (
	"fmt"
	"math"

	"github.com/vkgrad/vkgrad/tensor"
)

// grainElems is the smallest number of elements worth a goroutine for a
// cheap elementwise op.
const grainElems = 1 << 15

// gather returns the n elements of d starting at off with the given stride
// as a contiguous slice: d itself when stride is 1, otherwise tmp filled.
func gather(d []float32, off, stride, n int, tmp []float32) []float32 {
	if stride == 1 {
		return d[off : off+n : off+n]
	}
	t := tmp[:n]
	for i := range t {
		t[i] = d[off+i*stride]
	}
	return t
}

// scatter writes src to d starting at off with the given stride.
func scatter(d []float32, off, stride int, src []float32) {
	for i, v := range src {
		d[off+i*stride] = v
	}
}

// Copy copies x into out elementwise for float32 or int32 views of equal
// shape; both may be strided.
func (b *Backend) Copy(out, x tensor.View) error {
	const op = "Copy"
	if err := sameShape(op, out.Shape, x); err != nil {
		return err
	}
	ob, err := asBuffer(op+" out", out.Buf)
	if err != nil {
		return err
	}
	xb, err := asBuffer(op+" x", x.Buf)
	if err != nil {
		return err
	}
	if ob.dt != xb.dt {
		return fmt.Errorf("cpu: Copy: out is %s, x is %s", ob.dt, xb.dt)
	}
	if err := checkSpan(op, "out", out, ob.Len()); err != nil {
		return err
	}
	if err := checkSpan(op, "x", x, xb.Len()); err != nil {
		return err
	}
	w := newWalker(out.Shape, []int{out.Offset, x.Offset}, out.Strides, x.Strides)
	s := w.inner()
	if ob.dt == tensor.Int32 {
		od, xd := ob.i, xb.i
		b.parallelFor(w.numel(), grainElems, func(lo, hi int) {
			w.run(lo, hi, func(off []int, n int) {
				if s[0] == 1 && s[1] == 1 {
					copy(od[off[0]:off[0]+n], xd[off[1]:off[1]+n])
					return
				}
				for i := range n {
					od[off[0]+i*s[0]] = xd[off[1]+i*s[1]]
				}
			})
		})
		return nil
	}
	od, xd := ob.f, xb.f
	b.parallelFor(w.numel(), grainElems, func(lo, hi int) {
		w.run(lo, hi, func(off []int, n int) {
			if s[0] == 1 && s[1] == 1 {
				copy(od[off[0]:off[0]+n], xd[off[1]:off[1]+n])
				return
			}
			for i := range n {
				od[off[0]+i*s[0]] = xd[off[1]+i*s[1]]
			}
		})
	})
	return nil
}

// Unary computes out = f(x) elementwise; x may be strided or broadcast.
// NaN inputs propagate through every op except ReluMask (0) and Affine with
// alpha 0, which fills out with beta whatever x holds.
func (b *Backend) Unary(op tensor.UnaryOp, out, x tensor.View, alpha, beta float32) error {
	if op > tensor.OpRecip {
		return fmt.Errorf("cpu: Unary: %v: %w", op, tensor.ErrNotImplemented)
	}
	name := "Unary " + op.String()
	od, err := stridedF(name, "out", out)
	if err != nil {
		return err
	}
	xd, err := stridedF(name, "x", x)
	if err != nil {
		return err
	}
	if err := sameShape(name, out.Shape, x); err != nil {
		return err
	}
	w := newWalker(out.Shape, []int{out.Offset, x.Offset}, out.Strides, x.Strides)
	s := w.inner()
	b.parallelFor(w.numel(), grainElems, func(lo, hi int) {
		tx := make([]float32, maxRun)
		to := make([]float32, maxRun)
		w.run(lo, hi, func(off []int, n int) {
			src := gather(xd, off[1], s[1], n, tx)
			if s[0] == 1 {
				unaryKernel(op, od[off[0]:off[0]+n], src, alpha, beta)
				return
			}
			unaryKernel(op, to[:n], src, alpha, beta)
			scatter(od, off[0], s[0], to[:n])
		})
	})
	return nil
}

func unaryKernel(op tensor.UnaryOp, dst, src []float32, alpha, beta float32) {
	src = src[:len(dst)]
	switch op {
	case tensor.OpNeg:
		for i, v := range src {
			dst[i] = -v
		}
	case tensor.OpAbs:
		for i, v := range src {
			dst[i] = float32(math.Abs(float64(v)))
		}
	case tensor.OpExp:
		for i, v := range src {
			dst[i] = float32(math.Exp(float64(v)))
		}
	case tensor.OpLog:
		for i, v := range src {
			dst[i] = float32(math.Log(float64(v)))
		}
	case tensor.OpSqrt:
		for i, v := range src {
			dst[i] = float32(math.Sqrt(float64(v)))
		}
	case tensor.OpRsqrt:
		for i, v := range src {
			dst[i] = float32(1 / math.Sqrt(float64(v)))
		}
	case tensor.OpSquare:
		for i, v := range src {
			dst[i] = v * v
		}
	case tensor.OpRelu:
		// max keeps NaN and maps -0 to +0, as v <= 0 ? 0 : v, without a
		// branch that random signs mispredict.
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	case tensor.OpSign:
		for i, v := range src {
			switch {
			case v > 0:
				dst[i] = 1
			case v < 0:
				dst[i] = -1
			case v == 0:
				dst[i] = 0
			default:
				dst[i] = v // NaN
			}
		}
	case tensor.OpPowScalar:
		p := float64(alpha)
		for i, v := range src {
			dst[i] = float32(math.Pow(float64(v), p))
		}
	case tensor.OpClamp:
		for i, v := range src {
			if v < alpha {
				v = alpha
			} else if v > beta {
				v = beta
			}
			dst[i] = v
		}
	case tensor.OpAffine:
		if alpha == 0 {
			for i := range dst {
				dst[i] = beta
			}
			return
		}
		for i, v := range src {
			dst[i] = alpha*v + beta
		}
	case tensor.OpReluMask:
		// 1 where v > 0, else 0 (also for NaN), without a branch that random
		// signs mispredict: v > 0 exactly when its bits u are in
		// [1, 0x7f800000] (+0 excluded, +Inf included, NaN and negatives
		// above), i.e. when u-1 < 0x7f800000 and the 64-bit difference
		// (u-1) - 0x7f800000 wraps, setting bit 63.
		for i, v := range src {
			pos := uint32((uint64(math.Float32bits(v)-1) - 0x7f800000) >> 63)
			dst[i] = math.Float32frombits(pos * 0x3f800000)
		}
	case tensor.OpRecip:
		for i, v := range src {
			dst[i] = 1 / v
		}
	}
}

// Binary computes out = f(a, b) elementwise; a and b may be strided and
// broadcast (stride 0). Maximum and Minimum propagate NaN; comparisons
// yield 1 or 0.
func (b *Backend) Binary(op tensor.BinaryOp, out, x, y tensor.View) error {
	if op > tensor.OpGe {
		return fmt.Errorf("cpu: Binary: %v: %w", op, tensor.ErrNotImplemented)
	}
	name := "Binary " + op.String()
	od, err := stridedF(name, "out", out)
	if err != nil {
		return err
	}
	xd, err := stridedF(name, "a", x)
	if err != nil {
		return err
	}
	yd, err := stridedF(name, "b", y)
	if err != nil {
		return err
	}
	if err := sameShape(name, out.Shape, x, y); err != nil {
		return err
	}
	w := newWalker(out.Shape, []int{out.Offset, x.Offset, y.Offset}, out.Strides, x.Strides, y.Strides)
	s := w.inner()
	b.parallelFor(w.numel(), grainElems, func(lo, hi int) {
		tx := make([]float32, maxRun)
		ty := make([]float32, maxRun)
		to := make([]float32, maxRun)
		w.run(lo, hi, func(off []int, n int) {
			av := gather(xd, off[1], s[1], n, tx)
			bv := gather(yd, off[2], s[2], n, ty)
			if s[0] == 1 {
				binaryKernel(op, od[off[0]:off[0]+n], av, bv)
				return
			}
			binaryKernel(op, to[:n], av, bv)
			scatter(od, off[0], s[0], to[:n])
		})
	})
	return nil
}

func b2f(c bool) float32 {
	if c {
		return 1
	}
	return 0
}

func binaryKernel(op tensor.BinaryOp, dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case tensor.OpAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case tensor.OpSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case tensor.OpMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case tensor.OpDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	case tensor.OpPow:
		for i := range dst {
			dst[i] = float32(math.Pow(float64(a[i]), float64(b[i])))
		}
	case tensor.OpMaximum:
		for i := range dst {
			x, y := a[i], b[i]
			switch {
			case x != x || x > y:
				dst[i] = x
			default:
				dst[i] = y // y >= x, or y NaN
			}
		}
	case tensor.OpMinimum:
		for i := range dst {
			x, y := a[i], b[i]
			switch {
			case x != x || x < y:
				dst[i] = x
			default:
				dst[i] = y
			}
		}
	case tensor.OpEq:
		for i := range dst {
			dst[i] = b2f(a[i] == b[i])
		}
	case tensor.OpNe:
		for i := range dst {
			dst[i] = b2f(a[i] != b[i])
		}
	case tensor.OpLt:
		for i := range dst {
			dst[i] = b2f(a[i] < b[i])
		}
	case tensor.OpLe:
		for i := range dst {
			dst[i] = b2f(a[i] <= b[i])
		}
	case tensor.OpGt:
		for i := range dst {
			dst[i] = b2f(a[i] > b[i])
		}
	case tensor.OpGe:
		for i := range dst {
			dst[i] = b2f(a[i] >= b[i])
		}
	}
}

// Where computes out = cond != 0 ? a : b; every operand may be strided.
func (b *Backend) Where(out, cond, x, y tensor.View) error {
	const name = "Where"
	od, err := stridedF(name, "out", out)
	if err != nil {
		return err
	}
	cd, err := stridedF(name, "cond", cond)
	if err != nil {
		return err
	}
	xd, err := stridedF(name, "a", x)
	if err != nil {
		return err
	}
	yd, err := stridedF(name, "b", y)
	if err != nil {
		return err
	}
	if err := sameShape(name, out.Shape, cond, x, y); err != nil {
		return err
	}
	w := newWalker(out.Shape, []int{out.Offset, cond.Offset, x.Offset, y.Offset},
		out.Strides, cond.Strides, x.Strides, y.Strides)
	s := w.inner()
	b.parallelFor(w.numel(), grainElems, func(lo, hi int) {
		tc := make([]float32, maxRun)
		tx := make([]float32, maxRun)
		ty := make([]float32, maxRun)
		w.run(lo, hi, func(off []int, n int) {
			c := gather(cd, off[1], s[1], n, tc)
			av := gather(xd, off[2], s[2], n, tx)
			bv := gather(yd, off[3], s[3], n, ty)
			for i := range n {
				v := bv[i]
				if c[i] != 0 {
					v = av[i]
				}
				od[off[0]+i*s[0]] = v
			}
		})
	})
	return nil
}
