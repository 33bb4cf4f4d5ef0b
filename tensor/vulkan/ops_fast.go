//go:build cgo && linux && !android

package vulkan

import (
	"github.com/vkgrad/vkgrad/tensor"
)

// Fast paths of the memory-bound ops (ew4.comp, red4.comp): dense operands
// read as vec4s. They are chosen here, for every device class, when the
// layout allows (dense operands, counts and offsets multiples of 4); the
// strided kernels (unary.comp, binary.comp, reduce.comp) handle the rest.
// On llvmpipe a vec4 load costs about as much as one scalar load, so these
// reach the copy probe's vec4 bandwidth; on GPUs they are wide loads.

type pcEW4 struct {
	N4, OutOff4, AOff4, BOff4 uint32
	Alpha, Beta               float32
	Pad0, Pad1                uint32
}

type pcRed4 struct {
	Outer, N, Inner, XOff4, OutOff, Pad0, Pad1, Pad2 uint32
}

// dense4 reports whether views of n elements can be read as vec4s.
func dense4(n int, vs ...tensor.View) bool {
	if n%4 != 0 || n == 0 || kernelMode() == "generic" {
		return false
	}
	for _, v := range vs {
		if v.Offset%4 != 0 || !v.Contiguous() {
			return false
		}
	}
	return true
}

// unaryFast runs Unary with ew4_unary when out and x are dense vec4 arrays.
func (b *Backend) unaryFast(op tensor.UnaryOp, out arg, ov tensor.View, x arg, xv tensor.View, alpha, beta float32) (bool, error) {
	n := tensor.Numel(ov.Shape)
	if !dense4(n, ov, xv) {
		return false, nil
	}
	k, err := b.kernel("ew4_unary", map[int]uint32{1: uint32(op)})
	if err != nil {
		return true, err
	}
	g, err := b.grid1(uint64(n/4), k)
	if err != nil {
		return true, err
	}
	pc := pcEW4{N4: uint32(n / 4), OutOff4: uint32(ov.Offset / 4), AOff4: uint32(xv.Offset / 4), Alpha: alpha, Beta: beta}
	return true, b.dispatch(k, []arg{out, x}, pc, g)
}

// binaryFast runs Binary with ew4_binary when out, x and y are dense vec4
// arrays of the same shape (no broadcasting).
func (b *Backend) binaryFast(op tensor.BinaryOp, out arg, ov tensor.View, x arg, xv tensor.View, y arg, yv tensor.View) (bool, error) {
	n := tensor.Numel(ov.Shape)
	if !dense4(n, ov, xv, yv) {
		return false, nil
	}
	k, err := b.kernel("ew4_binary", map[int]uint32{1: uint32(op)})
	if err != nil {
		return true, err
	}
	g, err := b.grid1(uint64(n/4), k)
	if err != nil {
		return true, err
	}
	pc := pcEW4{N4: uint32(n / 4), OutOff4: uint32(ov.Offset / 4), AOff4: uint32(xv.Offset / 4), BOff4: uint32(yv.Offset / 4)}
	return true, b.dispatch(k, []arg{out, x, y}, pc, g)
}

// Limits of the red4 kernels.
const (
	red4RowsWG  = 128  // invocations per row
	red4ColsMax = 4096 // longest n summed sequentially (float32 accuracy)
	red4ColsV   = 4    // adjacent vec4 columns per red4_cols invocation
)

// reduceFast runs sum, mean and max with red4.comp when the layout allows.
func (b *Backend) reduceFast(op tensor.ReduceOp, out arg, outOff int, x arg, xOff int, outer, n, inner int) (bool, error) {
	if op != tensor.ReduceSum && op != tensor.ReduceMean && op != tensor.ReduceMax || xOff%4 != 0 || kernelMode() == "generic" {
		return false, nil
	}
	pc := pcRed4{Outer: uint32(outer), N: uint32(n), Inner: uint32(inner), XOff4: uint32(xOff / 4), OutOff: uint32(outOff)}
	switch {
	case inner == 1 && n%4 == 0 && n/4 >= red4RowsWG:
		name := "red4_rows"
		s := b.info.Subgroup
		if s.Known && s.ComputeSupports && s.Operations&SubgroupArithmetic != 0 && s.Size >= 1 && red4RowsWG%s.Size == 0 {
			name = "red4_rows_sg"
		}
		k, err := b.kernel(name, map[int]uint32{0: red4RowsWG, 1: uint32(op)})
		if err != nil {
			return true, err
		}
		if k.local[0] != red4RowsWG || b.checkTrips("Reduce", uint64(n/4/red4RowsWG+16)) != nil {
			return false, nil
		}
		g, err := b.grid(uint64(outer))
		if err != nil {
			return true, err
		}
		return true, b.dispatch(k, []arg{out, x}, pc, g)
	case inner > 1 && inner%4 == 0 && n <= red4ColsMax && (uint64(n/4)+4)*(red4ColsV+1) < b.loopBudget():
		k, err := b.kernel("red4_cols", map[int]uint32{1: uint32(op), 2: red4ColsV})
		if err != nil {
			return true, err
		}
		g, err := b.grid1(uint64(outer)*ceilDiv(uint64(inner/4), red4ColsV), k)
		if err != nil {
			return true, err
		}
		return true, b.dispatch(k, []arg{out, x}, pc, g)
	}
	return false, nil
}

// adamFast runs AdamUpdate with adam4 over the leading multiple of 4
// values when every operand's offset is a multiple of 4, and adam over the
// tail of fewer than 4; handled is false when adam must run alone.
func (b *Backend) adamFast(args []arg, n int, pc pcAdam) (bool, error) {
	if n < 4 || !aligned4(pc.POff, pc.GOff, pc.MOff, pc.VOff) || kernelMode() == "generic" {
		return false, nil
	}
	k, err := b.kernel("adam4", nil)
	if err != nil {
		return true, err
	}
	n4 := n / 4
	g, err := b.grid1(uint64(n4), k)
	if err != nil {
		return true, err
	}
	p4 := pc
	p4.N, p4.POff, p4.GOff, p4.MOff, p4.VOff = uint32(n4), pc.POff/4, pc.GOff/4, pc.MOff/4, pc.VOff/4
	if err := b.dispatch(k, args, p4, g); err != nil || n%4 == 0 {
		return true, err
	}
	kt, err := b.kernel("adam", nil)
	if err != nil {
		return true, err
	}
	d := uint32(4 * n4)
	pt := pc
	pt.N, pt.POff, pt.GOff, pt.MOff, pt.VOff = uint32(n%4), pc.POff+d, pc.GOff+d, pc.MOff+d, pc.VOff+d
	return true, b.dispatch(kt, args, pt, [3]uint32{1, 1, 1})
}
