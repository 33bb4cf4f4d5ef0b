//go:build !purego

package cpu

import "golang.org/x/sys/cpu"

// copyGridAVX512 is copyGrid's kernel for strides 1 and 2 (masked 16-float
// moves; stride 2 compacts two loaded vectors with VPERMT2PS).
//
//go:noescape
func copyGridAVX512(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)

// addGridAVX512 is addGrid's kernel for strides 1 and 2 (stride 2 spreads
// 16 values over the even lanes of two vectors with VPERMPS and adds them
// under a mask).
//
//go:noescape
func addGridAVX512(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)

// copyGridAVX2 is copyGrid's kernel for stride 1 (8-float moves, scalar
// VEX moves for the rest of a run); sw is ignored.
//
//go:noescape
func copyGridAVX2(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)

// addGridAVX2 is addGrid's kernel for stride 1; sw is ignored.
//
//go:noescape
func addGridAVX2(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)

var (
	avx512Grid = &gridKernel{name: "avx512", maxStride: 2, copy: copyGridAVX512, add: addGridAVX512}
	avx2Grid   = &gridKernel{name: "avx2", maxStride: 1, copy: copyGridAVX2, add: addGridAVX2}
)

// gridKernels returns the copyGrid/addGrid kernels this CPU supports,
// fastest first.
func gridKernels() []*gridKernel {
	var ks []*gridKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Grid)
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, avx2Grid)
	}
	return ks
}
