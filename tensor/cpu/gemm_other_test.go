//go:build !amd64 || purego

package cpu

// wantArchKernels returns nil: this build has only the pure-Go kernel.
func wantArchKernels() []string { return nil }
