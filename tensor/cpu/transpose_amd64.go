//go:build !purego

package cpu

import "golang.org/x/sys/cpu"

// transpose8AVX transposes blocks 8x8 blocks side by side: dst[(8b+p)·ldd
// + i] = src[i·lds + 8b+p] for i, p < 8, b < blocks.
//
//go:noescape
func transpose8AVX(dst *float32, ldd int, src *float32, lds int, blocks int)

// transpose8Asm is transpose8AVX where the CPU has AVX, else nil.
var transpose8Asm = func() func(dst *float32, ldd int, src *float32, lds int, blocks int) {
	if cpu.X86.HasAVX {
		return transpose8AVX
	}
	return nil
}()
