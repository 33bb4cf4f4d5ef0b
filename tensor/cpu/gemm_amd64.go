//go:build !purego

package cpu

import "golang.org/x/sys/cpu"

// asmKernel wraps a generated assembly kernel: the length checks keep the
// assembly, which does no bounds checking, inside a, b and c.
func asmKernel(name string, mr, nr int, f func(k int, a, b, c *float32, ldc int, load int)) *microKernel {
	return &microKernel{name: name, mr: mr, nr: nr, run: func(k int, a, b, c []float32, ldc int, load bool) {
		_ = a[k*mr-1]
		_ = b[k*nr-1]
		_ = c[(mr-1)*ldc+nr-1]
		l := 0
		if load {
			l = 1
		}
		f(k, &a[0], &b[0], &c[0], ldc, l)
	}}
}

var (
	avx512Kernel = asmKernel("avx512", 8, 32, sgemm8x32AVX512)
	avx2Kernel   = asmKernel("avx2", 6, 16, sgemm6x16AVX2)
)

// archKernels returns the assembly kernels this CPU and OS support, fastest
// first (golang.org/x/sys/cpu reports AVX-512 and AVX only when the OS saves
// the vector state).
func archKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}
