//go:build cgo && linux && !android

package vulkan

import (
	"slices"

	"github.com/vkgrad/vkgrad/tensor"
)

// Broadcast fast path of Binary (ew4b.comp): the output's collapsed
// iteration space ends in a dimension of a multiple of 4 that each operand
// reads with stride 1 (as vec4s) or broadcasts with stride 0. One index
// decomposition per vec4 of output instead of one per element.

type pcEW4B struct {
	Rows, Rank, OutOff4, AOff, BOff, Inner4, Chunks, Pad0 uint32
	Shape, ASt, BSt                                       [maxRank]uint32
}

// ew4bV is the vec4s of one row each ew4b invocation writes.
const ew4bV = 4

// bcastOperand classifies an operand's collapsed strides: vec (stride 1 on
// the last dimension, every other stride and the offset multiples of 4),
// scalar (stride 0 on the last dimension), or neither (ok false).
func bcastOperand(st []int, off int) (vec, ok bool) {
	last := len(st) - 1
	switch st[last] {
	case 0:
		return false, true
	case 1:
		if off%4 != 0 {
			return false, false
		}
		for _, s := range st[:last] {
			if s%4 != 0 {
				return false, false
			}
		}
		return true, true
	}
	return false, false
}

// binaryBcastFast runs Binary with ew4b when the layout allows; handled is
// false when the strided kernel must run.
func (b *Backend) binaryBcastFast(op tensor.BinaryOp, out arg, ov tensor.View, x arg, xv tensor.View, y arg, yv tensor.View) (bool, error) {
	n := tensor.Numel(ov.Shape)
	if n%4 != 0 || ov.Offset%4 != 0 || kernelMode() == "generic" {
		return false, nil
	}
	shape, st := collapse(ov.Shape, [][]int{tensor.ContiguousStrides(ov.Shape), xv.Strides, yv.Strides})
	if len(shape) > maxRank {
		return false, nil
	}
	if shape[len(shape)-1]%4 != 0 {
		return b.binaryFlatFast(op, out, ov, x, xv, y, yv, shape, st)
	}
	av, aok := bcastOperand(st[1], xv.Offset)
	bv, bok := bcastOperand(st[2], yv.Offset)
	if !aok || !bok || !av && !bv {
		return false, nil
	}
	name := "ew4b_vv"
	switch {
	case !bv:
		name = "ew4b_vs"
	case !av:
		name = "ew4b_sv"
	}
	k, err := b.kernel(name, map[int]uint32{1: uint32(op), 2: ew4bV})
	if err != nil {
		return true, err
	}
	inner4 := shape[len(shape)-1] / 4
	rows, chunks := n/4/inner4, (inner4+ew4bV-1)/ew4bV
	g, err := b.grid1(uint64(rows*chunks), k)
	if err != nil {
		return true, err
	}
	pc := pcEW4B{Rows: uint32(rows), Rank: uint32(len(shape)), OutOff4: uint32(ov.Offset / 4), AOff: uint32(xv.Offset), BOff: uint32(yv.Offset),
		Inner4: uint32(inner4), Chunks: uint32(chunks), Shape: arr(shape), ASt: arr(st[1]), BSt: arr(st[2])}
	return true, b.dispatch(k, []arg{out, x, y}, pc, g)
}

// binaryFlatFast runs Binary with ew4b_flat_{vs,sv} when the collapsed
// last dimension K is not a multiple of 4 but at least 4: one operand
// dense like the output (read as a flat vec4 stream), the other broadcast
// along K (stride 0 there, e.g. a per-channel vector over [N, C, 15, 15]).
func (b *Backend) binaryFlatFast(op tensor.BinaryOp, out arg, ov tensor.View, x arg, xv tensor.View, y arg, yv tensor.View, shape []int, st [][]int) (bool, error) {
	name, voff := flatChoice(shape, st, xv.Offset, yv.Offset)
	if name == "" || voff%4 != 0 || tensor.Numel(shape)%4 != 0 {
		return false, nil
	}
	k := len(shape) - 1
	// At most one row boundary per invocation: 4*V <= K.
	v := uint32(ew4bV)
	if shape[k] < 4*ew4bV {
		v = 1
	}
	kr, err := b.kernel(name, map[int]uint32{1: uint32(op), 2: v})
	if err != nil {
		return true, err
	}
	n := tensor.Numel(shape)
	chunks := ceilDiv(uint64(n/4), uint64(v))
	g, err := b.grid1(chunks, kr)
	if err != nil {
		return true, err
	}
	pc := pcEW4B{Rows: uint32(n / shape[k]), Rank: uint32(len(shape)), OutOff4: uint32(ov.Offset / 4), AOff: uint32(xv.Offset), BOff: uint32(yv.Offset),
		Inner4: uint32(shape[k]), Chunks: uint32(chunks), Shape: arr(shape), ASt: arr(st[1]), BSt: arr(st[2])}
	return true, b.dispatch(kr, []arg{out, x, y}, pc, g)
}

// flatChoice names the ew4b_flat variant for a collapsed layout (output
// strides st[0], operands st[1], st[2] at offsets aOff, bOff) and returns
// the dense operand's offset; "" when neither fits.
func flatChoice(shape []int, st [][]int, aOff, bOff int) (string, int) {
	k := len(shape) - 1
	if k == 0 || shape[k] < 4 || shape[k]%4 == 0 || !slices.Equal(st[0], tensor.ContiguousStrides(shape)) {
		return "", 0
	}
	switch {
	case slices.Equal(st[1], st[0]) && st[2][k] == 0:
		return "ew4b_flat_vs", aOff
	case slices.Equal(st[2], st[0]) && st[1][k] == 0:
		return "ew4b_flat_sv", bOff
	}
	return "", 0
}
