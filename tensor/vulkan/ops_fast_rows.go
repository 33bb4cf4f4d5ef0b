//go:build cgo && linux && !android

package vulkan

import (
	"github.com/vkgrad/vkgrad/tensor"
)

// Row-copy fast path of Copy (rowcp4.comp): a dense output whose collapsed
// iteration space ends in rows that x stores contiguously, with x's outer
// axes in any order ([N,C,H,W] -> [C,N,H,W] copies of a training step,
// dense copies). rowcp4 moves vec4s when the rows, x's outer strides and
// both offsets are multiples of 4; rowcp4_any reads x one element at a
// time (rows of 15x15 maps) but decomposes the row index once per 4V
// elements, and leaves the last N%4 elements to copy.comp.

type pcRowCP4 struct {
	N4, R, ORank, Rows       uint32
	OOff4, XOff, XLast, NInv uint32
	Shape, XSt               [maxRank]uint32
}

// Vec4s per rowcp4 invocation.
const rowcpV = 4

// rowLayout is a row copy in collapsed form: rows of r elements, the
// output's outer shape and x's strides over it.
type rowLayout struct {
	outer, xst []int
	r, rows    int
	vec        bool // rowcp4 (vec4 loads), else rowcp4_any
}

// rowMatch reports whether out (dense) copies x by contiguous rows that
// rowcp4 can move.
func rowMatch(out, x tensor.View) (rowLayout, bool) {
	if kernelMode() == "generic" || !out.Contiguous() || out.Offset%4 != 0 {
		return rowLayout{}, false
	}
	shape, st := collapse(out.Shape, [][]int{tensor.ContiguousStrides(out.Shape), x.Strides})
	k := len(shape)
	if k > maxRank || st[1][k-1] != 1 {
		return rowLayout{}, false
	}
	l := rowLayout{outer: shape[:k-1], xst: st[1][:k-1], r: shape[k-1], rows: tensor.Numel(shape[:k-1])}
	l.vec = l.r%4 == 0 && x.Offset%4 == 0
	for _, s := range l.xst {
		l.vec = l.vec && s%4 == 0
	}
	if !l.vec && l.r < 4*rowcpV {
		return rowLayout{}, false
	}
	return l, true
}

// copyRowsFast runs Copy with rowcp4 when the layout allows; handled is
// false when the strided kernel must run alone.
func (b *Backend) copyRowsFast(out arg, ov tensor.View, x arg, xv tensor.View) (bool, error) {
	l, ok := rowMatch(ov, xv)
	if !ok {
		return false, nil
	}
	name := "rowcp4_any"
	if l.vec {
		name = "rowcp4"
	}
	k, err := b.kernel(name, map[int]uint32{1: rowcpV})
	if err != nil {
		return true, err
	}
	n := l.rows * l.r
	pc := pcRowCP4{R: uint32(l.r), ORank: uint32(len(l.outer)), Rows: uint32(l.rows), OOff4: uint32(ov.Offset / 4),
		XOff: uint32(xv.Offset), XLast: uint32(x.hi - 1), Shape: arr(l.outer), XSt: arr(l.xst)}
	if l.vec {
		pc.R, pc.XOff = uint32(l.r/4), uint32(xv.Offset/4)
		for i := range l.xst {
			pc.XSt[i] /= 4
		}
		pc.NInv = uint32(l.rows * int(ceilDiv(uint64(l.r/4), rowcpV)))
	} else {
		pc.N4 = uint32(n / 4)
		pc.NInv = uint32(ceilDiv(uint64(n/4), rowcpV))
	}
	g, err := b.grid1(uint64(pc.NInv), k)
	if err != nil {
		return true, err
	}
	args := []arg{out, x}
	if err := b.dispatch(k, args, pc, g); err != nil || n%4 == 0 {
		return true, err
	}
	// The last n%4 elements, inside the last row (r >= 4).
	t := n % 4
	xlast := xv.Offset
	for i, s := range l.outer {
		xlast += (s - 1) * l.xst[i]
	}
	return true, b.copyStrided(args, []int{t}, [][]int{{1}, {1}}, []int{ov.Offset + n - t, xlast + l.r - t})
}
