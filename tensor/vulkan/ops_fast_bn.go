//go:build cgo && linux && !android

package vulkan

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// Batch-norm fast path (bn4.comp): the per-channel statistics as a
// middle-axis reduction of x viewed as [N, C*HW] with vec4 loads, a small
// per-channel combine, and the normalisation (forward) or dx (backward) as
// per-channel affine maps over vec4s. Taken when C*HW and the offsets of the
// large operands are multiples of 4 and HW >= 4: with HW a multiple of 4
// the maps run per [HW] row (bn4_*apply), otherwise over x as one flat
// vec4 stream (bn4_*apply_flat, e.g. 15x15 and 7x7 feature maps);
// bn_*.comp handle the rest.

type pcBN4 struct {
	N, C, HW, Training                uint32
	XOff, DYOff, OOff, MeanOff        uint32
	IstdOff, GOff, BOff, RMOff, RVOff uint32
	Eps, Momentum                     float32
	Pad                               uint32
}

// bn4V is the adjacent vec4s per invocation of bn4_*cols and bn4_*apply.
const bn4V = 4

// bn4ChanWG is the workgroup size (a power of 2) of bn4_*chan: one
// workgroup combines one channel's columns.
const bn4ChanWG = 64

// bn4OK reports whether the bn4 kernels can run p with vec4 operands at
// the given offsets within the driver's loop limit.
func (b *Backend) bn4OK(p tensor.BatchNormParams, offs ...int) bool {
	if kernelMode() == "generic" || p.C*p.HW%4 != 0 || p.HW < 4 {
		return false
	}
	for _, o := range offs {
		if o%4 != 0 {
			return false
		}
	}
	return (uint64(p.N)+2)*(bn4V+1) < b.loopBudget() && 2*uint64(p.HW)+8 < b.loopBudget()
}

// bn4Scratch allocates the column partial sums (2*C*HW floats) and the
// per-channel coefficients (nc*C floats) after marking the operands in use
// (the allocation may collect garbage).
func (b *Backend) bn4Scratch(name string, p tensor.BatchNormParams, nc int, ops ...arg) (part, coef *vkBuffer, err error) {
	for _, a := range ops {
		b.use(a.buf)
	}
	if part, err = b.allocInternal(uint64(2*p.C*p.HW)*4, kindDevice); err != nil {
		return nil, nil, fmt.Errorf("vulkan: %s: column sums: %w", name, err)
	}
	if coef, err = b.allocInternal(uint64(nc*p.C)*4, kindDevice); err != nil {
		part.Release()
		return nil, nil, fmt.Errorf("vulkan: %s: channel coefficients: %w", name, err)
	}
	return part, coef, nil
}

// bn4Launch records the three bn4 launches of one direction: the column
// sums (skipped when cols is nil), the channel combine (with its own push
// constants cpc) and the apply.
func (b *Backend) bn4Launch(prefix string, p tensor.BatchNormParams, pc, cpc pcBN4, cols, chan_, apply []arg) error {
	spec := map[int]uint32{1: bn4V}
	if cols != nil {
		k, err := b.kernel(prefix+"cols", spec)
		if err != nil {
			return err
		}
		g, err := b.grid1(ceilDiv(uint64(p.C*p.HW/4), bn4V), k)
		if err != nil {
			return err
		}
		if err := b.dispatch(k, cols, pc, g); err != nil {
			return err
		}
	}
	// One workgroup per channel (a tree over its HW columns).
	k, err := b.kernel(prefix+"chan", map[int]uint32{0: bn4ChanWG})
	if err != nil {
		return err
	}
	if k.local[0] != bn4ChanWG {
		return fmt.Errorf("vulkan: %schan: workgroup of %d, want %d", prefix, k.local[0], bn4ChanWG)
	}
	g, err := b.grid(uint64(p.C))
	if err != nil {
		return err
	}
	if err := b.dispatch(k, chan_, cpc, g); err != nil {
		return err
	}
	name, groups := prefix+"apply", uint64(p.N*p.C)*ceilDiv(uint64(p.HW/4), bn4V)
	if p.HW%4 != 0 {
		// One channel boundary at most per invocation: 4*V <= HW.
		v := uint32(bn4V)
		if p.HW < 4*bn4V {
			v = 1
		}
		name, spec, groups = prefix+"apply_flat", map[int]uint32{1: v}, ceilDiv(uint64(p.N*p.C*p.HW/4), uint64(v))
	}
	if k, err = b.kernel(name, spec); err != nil {
		return err
	}
	if g, err = b.grid1(groups, k); err != nil {
		return err
	}
	return b.dispatch(k, apply, pc, g)
}

// bnForwardFast runs BatchNormForward with bn4 when the layout allows.
// per holds mean, invstd, gamma, beta, runMean, runVar (args and views).
func (b *Backend) bnForwardFast(oa, xa arg, out, x tensor.View, per []arg, pv []tensor.View, p tensor.BatchNormParams) (bool, error) {
	if !b.bn4OK(p, out.Offset, x.Offset) {
		return false, nil
	}
	const name = "BatchNormForward"
	part, coef, err := b.bn4Scratch(name, p, 2, append([]arg{oa, xa}, per...)...)
	if err != nil {
		return true, err
	}
	defer part.Release()
	defer coef.Release()
	pc := pcBN4{N: uint32(p.N), C: uint32(p.C), HW: uint32(p.HW), XOff: uint32(x.Offset), OOff: uint32(out.Offset),
		MeanOff: uint32(pv[0].Offset), IstdOff: uint32(pv[1].Offset), GOff: uint32(pv[2].Offset), BOff: uint32(pv[3].Offset),
		RMOff: uint32(pv[4].Offset), RVOff: uint32(pv[5].Offset), Eps: p.Eps, Momentum: p.Momentum}
	var cols []arg
	partArg := xa // bound but unread in eval mode
	if p.Training {
		pc.Training = 1
		cols = []arg{bufArg(part), xa}
		partArg = bufArg(part)
	}
	chan_ := []arg{partArg, bufArg(coef), per[2], xa, per[1], per[0], per[4], per[5]}
	return true, b.bn4Launch("bn4_", p, pc, pc, cols, chan_, []arg{oa, xa, bufArg(coef), per[3]})
}

// bnBackwardFast runs BatchNormBackward with bn4 when the layout allows.
// big holds dx, dy, x; per holds dgamma, dbeta, gamma, mean, invstd.
func (b *Backend) bnBackwardFast(big []arg, bv []tensor.View, per []arg, pv []tensor.View, p tensor.BatchNormParams) (bool, error) {
	if !b.bn4OK(p, bv[0].Offset, bv[1].Offset, bv[2].Offset) {
		return false, nil
	}
	const name = "BatchNormBackward"
	part, coef, err := b.bn4Scratch(name, p, 4, append(append([]arg{}, big...), per...)...)
	if err != nil {
		return true, err
	}
	defer part.Release()
	defer coef.Release()
	pc := pcBN4{N: uint32(p.N), C: uint32(p.C), HW: uint32(p.HW), XOff: uint32(bv[2].Offset), DYOff: uint32(bv[1].Offset),
		OOff: uint32(bv[0].Offset), MeanOff: uint32(pv[3].Offset), IstdOff: uint32(pv[4].Offset), GOff: uint32(pv[2].Offset)}
	cols := []arg{bufArg(part), big[2], big[1], per[3]}
	cpc := pc
	cpc.OOff, cpc.BOff = uint32(pv[0].Offset), uint32(pv[1].Offset) // dgamma, dbeta
	chan_ := []arg{bufArg(part), bufArg(coef), per[2], per[3], per[4], per[0], per[1]}
	return true, b.bn4Launch("bn4_bwd_", p, pc, cpc, cols, chan_, []arg{big[0], big[2], bufArg(coef), big[1]})
}
