//go:build !amd64 || purego

package cpu

// gridKernels returns none: copyGrid and addGrid run in Go.
func gridKernels() []*gridKernel { return nil }
