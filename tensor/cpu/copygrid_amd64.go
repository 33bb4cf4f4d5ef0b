//go:build !purego

package cpu

import "golang.org/x/sys/cpu"

// copyGridAVX512 is copyGrid's kernel for strides 1 and 2 (masked 16-float
// moves; stride 2 compacts two loaded vectors with VPERMT2PS).
//
//go:noescape
func copyGridAVX512(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)

// copyGridAsm is the assembly copyGrid kernel, nil without AVX-512.
var copyGridAsm = func() func(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int) {
	if cpu.X86.HasAVX512F {
		return copyGridAVX512
	}
	return nil
}()

// addGridAVX512 is addGrid's kernel for strides 1 and 2 (stride 2 spreads
// 16 values over the even lanes of two vectors with VPERMPS and adds them
// under a mask).
//
//go:noescape
func addGridAVX512(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)

// addGridAsm is the assembly addGrid kernel, nil without AVX-512.
var addGridAsm = func() func(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int) {
	if cpu.X86.HasAVX512F {
		return addGridAVX512
	}
	return nil
}()
