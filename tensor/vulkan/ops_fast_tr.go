//go:build cgo && linux && !android

package vulkan

import (
	"github.com/vkgrad/vkgrad/tensor"
)

// Transposed-copy fast path of Copy (tr4.comp): a dense output [B, C, R]
// (B may be absent) from a view that walks it transposed, x[b, c, r] at
// x.Offset + b*xbs + r*xrs + c, as Permute/Transpose + Contiguous produce
// (2-D transposes, batched [B, M, N] -> [B, N, M]). 4x4 blocks move as
// vec4s; columns past the last full block of 4 go through copy.comp.

type pcTR4 struct {
	NB, RB4, CB4, XOff4, XRS4, XBS4, OOff4, OBS4 uint32
}

// trLayout is a transposed copy in collapsed form: nb matrices of c rows
// of r elements in out; x's row stride xrs and matrix stride xbs.
type trLayout struct {
	nb, c, r, xrs, xbs int
}

// trMatch reports whether out (dense) copies x as transposed matrices
// whose blocks tr4 can move as vec4s.
func trMatch(out, x tensor.View) (trLayout, bool) {
	if kernelMode() == "generic" || !out.Contiguous() || out.Offset%4 != 0 || x.Offset%4 != 0 {
		return trLayout{}, false
	}
	shape, st := collapse(out.Shape, [][]int{tensor.ContiguousStrides(out.Shape), x.Strides})
	k := len(shape)
	if k < 2 || k > 3 || st[1][k-2] != 1 {
		return trLayout{}, false
	}
	l := trLayout{nb: 1, c: shape[k-2], r: shape[k-1], xrs: st[1][k-1]}
	if k == 3 {
		l.nb, l.xbs = shape[0], st[1][0]
	}
	if l.r%4 != 0 || l.c < 4 || l.xrs%4 != 0 || l.xbs%4 != 0 {
		return trLayout{}, false
	}
	return l, true
}

// copyTransposeFast runs Copy with tr4 when the layout allows; handled is
// false when the strided kernel must run alone.
func (b *Backend) copyTransposeFast(out arg, ov tensor.View, x arg, xv tensor.View) (bool, error) {
	l, ok := trMatch(ov, xv)
	if !ok {
		return false, nil
	}
	k, err := b.kernel("tr4", nil)
	if err != nil {
		return true, err
	}
	cb4 := l.c / 4
	g, err := b.grid1(uint64(l.nb*(l.r/4)*cb4), k)
	if err != nil {
		return true, err
	}
	pc := pcTR4{NB: uint32(l.nb), RB4: uint32(l.r / 4), CB4: uint32(cb4), XOff4: uint32(xv.Offset / 4),
		XRS4: uint32(l.xrs / 4), XBS4: uint32(l.xbs / 4), OOff4: uint32(ov.Offset / 4), OBS4: uint32(l.c * l.r / 4)}
	args := []arg{out, x}
	if err := b.dispatch(k, args, pc, g); err != nil || l.c%4 == 0 {
		return true, err
	}
	// The last c%4 rows of each output matrix.
	c0 := 4 * cb4
	shape := []int{l.nb, l.c - c0, l.r}
	st := [][]int{{l.c * l.r, l.r, 1}, {l.xbs, 1, l.xrs}}
	return true, b.copyStrided(args, shape, st, []int{ov.Offset + c0*l.r, xv.Offset + c0})
}
