//go:build !amd64 || purego

package cpu

// archKernels returns no assembly kernels: this build uses the pure-Go
// micro-kernel.
func archKernels() []*microKernel { return nil }
