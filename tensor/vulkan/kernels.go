//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"os"
	"strings"

	"github.com/vkgrad/vkgrad/tensor"
)

// Kernel selection: the one place that decides which kernel, and which
// tile, runs a matmul or a convolution on this device.
//
// Device-class rules (by VkPhysicalDeviceType, never by vendor):
//
//   - CPU devices (llvmpipe/lavapipe, SwiftShader): every storage-buffer or
//     shared-memory load is a loop over the SIMD lanes, so speed is set by
//     loads per FMA and shared memory only adds loads. Matmul and all three
//     convolution directions use the subgroup-broadcast kernels
//     (mm_bcast.comp, conv_bcast*.comp): no shared memory, one row of A
//     loaded per lane and broadcast to the subgroup, B read as vec4 where
//     the layout allows. They are chosen only when the device reports the
//     BASIC and BALLOT subgroup operations in compute shaders with a
//     subgroup size that is a multiple of 8 and divides the workgroup; the
//     tile (16 rows, 8 columns per invocation, 32 invocations) is the best
//     measured on lavapipe (Mesa 22.3, 2 cores), see bench/README.md.
//   - Other devices (GPUs): matmul uses the shared-memory tiled kernel
//     (mm_tiled.comp, 64x64 tiles of 4x4 per invocation, BK 16, shrunk to
//     the device's workgroup and shared-memory limits); convolutions keep
//     the register-blocked implicit GEMMs (conv2d*.comp).
//
// The memory-bound ops take vec4 fast paths on every device when the
// layout allows (ops_fast.go).
//
// VKGRAD_KERNELS overrides the rule for every device: "generic" (the
// register-blocked matmul.comp and conv2d*.comp everywhere, and no vec4
// fast paths: the kernels as they were before the throughput work, for
// comparisons), "bcast" (the broadcast kernels wherever the subgroup
// requirements hold), "tiled" (mm_tiled for matmul) or "auto" (the rules
// above, the default).

// EnvKernels selects a kernel family, overriding the device-class rules.
const EnvKernels = "VKGRAD_KERNELS"

// kernelFamily names a family of GEMM-shaped kernels.
type kernelFamily int

const (
	familyGeneric kernelFamily = iota // matmul.comp, conv2d*.comp
	familyBcast                       // mm_bcast.comp, conv_bcast*.comp
	familyTiled                       // mm_tiled.comp (matmul only)
)

// Tiles of the broadcast kernels.
const (
	bcastWG     = 32 // invocations per workgroup
	bcastGroups = 2  // groups of 8 rows per workgroup
	bcastMaxG   = 4  // largest G the shaders support
)

// kernelMode is VKGRAD_KERNELS, normalised.
func kernelMode() string { return strings.ToLower(strings.TrimSpace(os.Getenv(EnvKernels))) }

// family returns the kernel family for matmul (conv = false) or a
// convolution on this device.
func (b *Backend) family(conv bool) kernelFamily {
	switch kernelMode() {
	case "generic":
		return familyGeneric
	case "bcast":
		if b.broadcastOK(bcastWG) {
			return familyBcast
		}
		return familyGeneric
	case "tiled":
		if !conv {
			return familyTiled
		}
		return familyGeneric
	}
	if b.info.Type == "CPU" {
		if b.broadcastOK(bcastWG) {
			return familyBcast
		}
		return familyGeneric
	}
	if conv {
		return familyGeneric
	}
	return familyTiled
}

// broadcastOK reports whether the broadcast kernels can run with
// workgroups of wg invocations: subgroupBroadcast (BALLOT) in compute, a
// subgroup size that is a multiple of 8 (lanes 0..7 of every subgroup
// hold the rows), and whole subgroups per workgroup.
func (b *Backend) broadcastOK(wg uint32) bool {
	s := b.info.Subgroup
	const need = SubgroupBasic | SubgroupBallot
	return s.Known && s.ComputeSupports && s.Operations&need == need &&
		s.Size >= 8 && s.Size%8 == 0 && wg%s.Size == 0 && wg <= b.info.Limits.MaxComputeWorkGroupSize[0]
}

// gemmChoice is a kernel and tile for a GEMM-shaped launch.
type gemmChoice struct {
	name string
	spec map[int]uint32
	// tripsPerK is the loop iterations an invocation runs per step of K
	// (numerator over 4), for the loop limit of the driver.
	tripsPerK4 uint64
	family     kernelFamily
	unit       uint32 // columns per column unit (4 for vec4 units)
}

// tile returns the rows and columns of the output one workgroup covers.
func (c gemmChoice) tile(k *kernel) (rows, cols uint64) {
	switch c.family {
	case familyBcast:
		return 8 * uint64(k.spec[1]), uint64(k.local[0]) * uint64(k.spec[2]) * uint64(c.unit)
	default:
		return uint64(k.local[1]) * uint64(k.spec[2]), uint64(k.local[0]) * uint64(k.spec[3])
	}
}

// kSlices is the number of slices K must be cut into so that no
// invocation loops longer than the driver allows.
func (b *Backend) kSlices(c gemmChoice, k int) uint64 {
	trips := ceilDiv(uint64(k)*c.tripsPerK4, 4) + 8
	return max(1, ceilDiv(trips, b.loopBudget()))
}

// bcastWidth shrinks the broadcast kernels' workgroup for narrow outputs
// (cols output columns at perLane columns per invocation), keeping whole
// subgroups.
func (b *Backend) bcastWidth(cols, perLane int) uint32 {
	s := b.info.Subgroup.Size
	wg := uint32(bcastWG)
	for wg > s && (wg/2)*uint32(perLane) >= uint32(cols) {
		wg /= 2
	}
	return wg
}

func bcastRows(rows int) uint32 {
	if rows <= 8 {
		return 1
	}
	return bcastGroups
}

func aligned4(vs ...uint32) bool {
	for _, v := range vs {
		if v%4 != 0 {
			return false
		}
	}
	return true
}

// matmulConfig picks the matmul kernel and its tile for a problem with
// the operand strides and offsets of pc.
func (b *Backend) matmulConfig(pc pcMatmul, m, n, k int) gemmChoice {
	switch b.family(false) {
	case familyBcast:
		c := gemmChoice{family: familyBcast, tripsPerK4: 1, unit: 1}
		tc := uint32(8)
		switch {
		case pc.BSn == 1 && n%4 == 0 && aligned4(pc.BOff, pc.BBs, pc.BSk):
			c.name, c.unit, tc = "mm_bcast_b4n", 4, 2
		case pc.BSk == 1 && k%4 == 0 && aligned4(pc.BOff, pc.BBs, pc.BSn):
			c.name = "mm_bcast_b4k"
		default:
			c.name = "mm_bcast_b1"
		}
		c.spec = map[int]uint32{0: b.bcastWidth(n, int(tc*c.unit)), 1: bcastRows(m), 2: tc}
		return c
	case familyTiled:
		tm, tn, bk := uint32(4), uint32(4), uint32(16)
		tx, ty := uint32(16), uint32(16)
		l := b.info.Limits
		for tx*ty > l.MaxComputeWorkGroupInvocations || (ty*tm+tx*tn)*bk*4 > l.MaxComputeSharedMemorySize {
			if tx >= ty {
				tx /= 2
			} else {
				ty /= 2
			}
		}
		return gemmChoice{name: "mm_tiled", family: familyTiled, tripsPerK4: 8,
			spec: map[int]uint32{0: tx, 1: ty, 2: tm, 3: tn, 4: bk}}
	}
	return gemmChoice{name: "matmul", family: familyGeneric, tripsPerK4: 4, spec: map[int]uint32{0: 16, 1: 16, 2: 4, 3: 4}}
}

// convConfig picks the tile of the register-blocked convolution kernels
// (conv2d*.comp) for a direction ("conv2d", "conv2d_bwd_data",
// "conv2d_bwd_weight"); the broadcast family is chosen in convBcast.
func (b *Backend) convConfig(name string, p tensor.Conv2DParams) map[int]uint32 {
	return map[int]uint32{0: 16, 1: 16, 2: 4, 3: 4}
}

// pcConvB is the push-constant block of the conv_bcast kernels.
type pcConvB struct {
	N, Cin, H, W, Cout, KH, KW, SH, SW, PH, PW, OH, OW uint32
	SrcOff, WOff, OutOff, BiasOff, Flag, GX0, GY0      uint32
}

type pcConvPack struct {
	Cout, Cin, Taps, Mode, WOff, Total, Pad0, Pad1 uint32
}

// convDir is a convolution direction for the broadcast kernels.
type convDir int

const (
	convForward convDir = iota
	convBackData
	convBackWeight
)

// convBcast runs a convolution direction with the broadcast kernels when
// the device class and shape allow it; handled is false when the caller
// must use the register-blocked kernels. args are the op's arguments in
// the order of the conv2d*.comp bindings (out, then the two inputs, then
// the bias for the forward direction).
func (b *Backend) convBcast(dir convDir, args []arg, p tensor.Conv2DParams, pc pcConv) (handled bool, err error) {
	if b.family(true) != familyBcast {
		return false, nil
	}
	// The operands are in use from here on: a scratch allocation below may
	// collect garbage, and a tensor the caller no longer references must
	// not give its memory back before this op has run.
	for _, a := range args {
		b.use(a.buf)
	}
	q := pcConvB{N: pc.N, Cin: pc.Cin, H: pc.H, W: pc.W, Cout: pc.Cout, KH: pc.KH, KW: pc.KW,
		SH: pc.SH, SW: pc.SW, PH: pc.PH, PW: pc.PW, OH: pc.OH, OW: pc.OW}
	taps := p.KH * p.KW
	switch dir {
	case convForward, convBackData:
		C, CK, kname, mode := p.Cout, p.Cin, "conv_bcast_fwd", uint32(0)
		rows := p.N * p.OH * p.OW
		if dir == convBackData {
			C, CK, kname, mode = p.Cin, p.Cout, "conv_bcast_bwd_data", 1
			rows = p.N * p.H * p.W
		}
		trips := uint64(p.KH + taps + taps*(CK/4+CK%4) + 8)
		if trips > b.loopBudget() {
			return false, nil // the register-blocked kernels split what they can
		}
		c4 := (C + 3) / 4
		// Two channel units per invocation, one when a subgroup already
		// has more lanes than units (wide subgroups, few channels).
		tc := uint32(2)
		if c4 <= int(b.info.Subgroup.Size) {
			tc = 1
		}
		spec := map[int]uint32{0: b.bcastWidth(c4, int(tc)), 1: bcastRows(rows), 2: tc}
		k, err := b.kernel(kname, spec)
		if err != nil {
			return true, err
		}
		wp, err := b.packWeights(args[2], pc.Off1, p, mode, C, CK)
		if err != nil {
			return true, err
		}
		defer wp.Release()
		q.SrcOff, q.OutOff = pc.Off0, pc.OutOff
		kargs := []arg{args[0], args[1], bufArg(wp)}
		if dir == convForward {
			q.BiasOff, q.Flag = pc.Off2, pc.Flag
			kargs = append(kargs, args[3])
		}
		gx := ceilDiv(uint64(c4), uint64(k.local[0])*uint64(tc))
		gy := ceilDiv(uint64(rows), 8*uint64(spec[1]))
		return true, b.dispatch3(k, kargs, gx, gy, 1, func(x0, y0, _ uint32) any {
			r := q
			r.GX0, r.GY0 = x0, y0
			return r
		})
	}
	// Backward weight: rows (ci, kh, kw), columns co, K = N*OH*OW.
	nrow, ktot, nw := p.Cin*taps, p.N*p.OH*p.OW, p.Cout*p.Cin*taps
	kname := "conv_bcast_bwd_weight_dy1"
	if (p.OH*p.OW)%4 == 0 && pc.Off1%4 == 0 {
		kname = "conv_bcast_bwd_weight_dy4"
	}
	tc := uint32(8)
	spec := map[int]uint32{0: b.bcastWidth(p.Cout, int(tc)), 1: bcastRows(nrow), 2: tc}
	k, err := b.kernel(kname, spec)
	if err != nil {
		return true, err
	}
	gx := ceilDiv(uint64(p.Cout), uint64(k.local[0])*uint64(tc))
	gy := ceilDiv(uint64(nrow), 8*uint64(spec[1]))
	// Enough slices of K to fill the device, within the loop limit; each
	// slice a multiple of 4 steps (dy4 needs them aligned).
	splits := uint64(splitK(gx*gy, uint64(ktot), uint64(nw)*4, uint64(b.info.Limits.MaxStorageBufferRange), uint64(b.info.Limits.MaxComputeWorkGroupCount[2])))
	budget := (b.loopBudget() - 8) * 4
	splits = max(splits, ceilDiv(uint64(ktot), budget))
	chunk := (ceilDiv(uint64(ktot), splits) + 3) &^ 3
	splits = ceilDiv(uint64(ktot), chunk)
	if splits*uint64(nw)*4 > uint64(b.info.Limits.MaxStorageBufferRange) {
		return false, nil
	}
	q.SrcOff, q.WOff, q.Flag = pc.Off0, pc.Off1, uint32(chunk)
	launch := func(out arg, off uint32) error {
		q.OutOff = off
		return b.dispatch3(k, []arg{out, args[1], args[2]}, gx, gy, splits, func(x0, y0, _ uint32) any {
			r := q
			r.GX0, r.GY0 = x0, y0
			return r
		})
	}
	if splits == 1 {
		return true, launch(args[0], pc.OutOff)
	}
	scratch, err := b.allocInternal(splits*uint64(nw)*4, kindDevice)
	if err != nil {
		return true, fmt.Errorf("vulkan: Conv2DBackwardWeight: split-K scratch: %w", err)
	}
	defer scratch.Release()
	if err := launch(bufArg(scratch), 0); err != nil {
		return true, err
	}
	return true, b.reduce(tensor.ReduceSum, args[0], int(pc.OutOff), bufArg(scratch), 0, 1, int(splits), nw, true)
}

// packWeights repacks w (at element offset off) into a scratch buffer for
// conv_bcast (see conv_pack.comp): mode 0 [tap][Cin][Cout4], mode 1
// [tap][Cout][Cin4].
func (b *Backend) packWeights(w arg, off uint32, p tensor.Conv2DParams, mode uint32, C, CK int) (*vkBuffer, error) {
	total := p.KH * p.KW * CK * ((C + 3) / 4 * 4)
	buf, err := b.allocInternal(uint64(total)*4, kindDevice)
	if err != nil {
		return nil, fmt.Errorf("vulkan: packing convolution weights: %w", err)
	}
	k, err := b.kernel("conv_pack", nil)
	if err != nil {
		buf.Release()
		return nil, err
	}
	g, err := b.grid1(uint64(total), k)
	if err != nil {
		buf.Release()
		return nil, err
	}
	pc := pcConvPack{Cout: uint32(p.Cout), Cin: uint32(p.Cin), Taps: uint32(p.KH * p.KW), Mode: mode, WOff: off, Total: uint32(total)}
	if err := b.dispatch(k, []arg{bufArg(buf), w}, pc, g); err != nil {
		buf.Release()
		return nil, err
	}
	return buf, nil
}
