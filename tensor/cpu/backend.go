// Package cpu is vkgrad's CPU reference backend, the oracle every other
// backend is checked against.
//
// Every op of tensor.Backend is implemented with plain Go loops that favour
// obvious correctness: reductions and normalisation statistics accumulate in
// float64, transcendental functions are evaluated in float64 and rounded once.
// Large ops are split across GOMAXPROCS goroutines. Matrix products use a
// cache-blocked, packed kernel whose register micro-kernel is Go assembly on
// amd64 (AVX-512, or AVX2 with FMA, chosen at run time; it accumulates in
// float32) and Go elsewhere or with the purego build tag; the environment
// variable VKGRAD_CPU_KERNEL ("avx512", "avx2", "go") picks one, and
// Caps().Device names the one in use. Convolutions are lowered to it through
// an implicit im2col that packs the kernel's operand panels straight from the
// images, in chunks of whole images.
//
// Importing the package registers the backend as "cpu" with priority 0 (the
// lowest), so any device backend that opens is preferred by tensor.Best:
//
//	import _ "github.com/vkgrad/vkgrad/tensor/cpu"
//	b, err := tensor.Open("cpu")
package cpu

import (
	"fmt"
	"os"
	"runtime"

	"github.com/vkgrad/vkgrad/tensor"
)

func init() { tensor.Register("cpu", 0, open) }

// open is the registry's factory: New, or an error for a configuration or
// a VKGRAD_CPU_KERNEL value this CPU has no micro-kernel for.
func open(config string) (tensor.Backend, error) {
	if config != "" {
		return nil, fmt.Errorf("cpu backend takes no configuration, got %q", config)
	}
	if _, ok := defaultKernel(); !ok {
		return nil, fmt.Errorf("cpu backend: %s=%q names no micro-kernel this CPU supports (have %s)",
			kernelEnv, os.Getenv(kernelEnv), kernelNames())
	}
	return New(), nil
}

// Backend is the CPU backend. It computes every op immediately; Sync is a
// no-op. The zero value is not usable; call New.
type Backend struct {
	workers int
	kern    *microKernel // matmul micro-kernel
}

// New returns a CPU backend that uses GOMAXPROCS goroutines for large ops
// and the fastest matmul micro-kernel this CPU supports (AVX-512, AVX2+FMA or
// pure Go), or the one named by the environment variable VKGRAD_CPU_KERNEL
// ("avx512", "avx2" or "go") when this CPU supports it.
func New() *Backend {
	k, _ := defaultKernel()
	return &Backend{workers: runtime.GOMAXPROCS(0), kern: k}
}

// Name returns "cpu".
func (b *Backend) Name() string { return "cpu" }

// opNames lists every op the backend implements (all of tensor.Backend).
var opNames = []string{
	"Copy", "Unary", "Binary", "Where", "Reduce", "MatMul",
	"Conv2D", "Conv2DBackwardData", "Conv2DBackwardWeight",
	"MaxPool2D", "MaxPool2DBackward", "AvgPool2D", "AvgPool2DBackward",
	"BatchNormForward", "BatchNormBackward", "IndexSelect", "IndexAdd",
	"L2Normalize", "AdamUpdate", "SGDUpdate",
}

// Caps describes the backend: every op, no buffer limit beyond memory.
func (b *Backend) Caps() tensor.Caps {
	return tensor.Caps{
		Device: fmt.Sprintf("Go on %s/%s, %s matmul kernel, %d goroutines", runtime.GOOS, runtime.GOARCH, b.kern.name, b.workers),
		Ops:    append([]string(nil), opNames...),
	}
}

// Alloc returns a zero-filled buffer of n elements.
func (b *Backend) Alloc(n int, dt tensor.DType) (tensor.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc of %d elements", n)
	}
	switch dt {
	case tensor.Float32:
		return &buffer{dt: dt, f: make([]float32, n)}, nil
	case tensor.Int32:
		return &buffer{dt: dt, i: make([]int32, n)}, nil
	}
	return nil, fmt.Errorf("cpu: alloc: unsupported dtype %s", dt)
}

// Write copies src into buf starting at element off.
func (b *Backend) Write(buf tensor.Buffer, off int, src []float32) error {
	d, err := floats("Write", buf)
	if err != nil {
		return err
	}
	if off < 0 || off+len(src) > len(d) {
		return fmt.Errorf("cpu: Write of %d elements at %d into buffer of %d", len(src), off, len(d))
	}
	copy(d[off:], src)
	return nil
}

// WriteInt32 copies src into an int32 buf starting at element off.
func (b *Backend) WriteInt32(buf tensor.Buffer, off int, src []int32) error {
	d, err := ints("WriteInt32", buf)
	if err != nil {
		return err
	}
	if off < 0 || off+len(src) > len(d) {
		return fmt.Errorf("cpu: WriteInt32 of %d elements at %d into buffer of %d", len(src), off, len(d))
	}
	copy(d[off:], src)
	return nil
}

// Read copies elements of buf starting at off into dst.
func (b *Backend) Read(buf tensor.Buffer, off int, dst []float32) error {
	d, err := floats("Read", buf)
	if err != nil {
		return err
	}
	if off < 0 || off+len(dst) > len(d) {
		return fmt.Errorf("cpu: Read of %d elements at %d from buffer of %d", len(dst), off, len(d))
	}
	copy(dst, d[off:])
	return nil
}

// ReadInt32 copies elements of an int32 buf starting at off into dst.
func (b *Backend) ReadInt32(buf tensor.Buffer, off int, dst []int32) error {
	d, err := ints("ReadInt32", buf)
	if err != nil {
		return err
	}
	if off < 0 || off+len(dst) > len(d) {
		return fmt.Errorf("cpu: ReadInt32 of %d elements at %d from buffer of %d", len(dst), off, len(d))
	}
	copy(dst, d[off:])
	return nil
}

// Sync returns immediately: the CPU backend runs every op when called.
func (b *Backend) Sync() error { return nil }

var _ tensor.Backend = (*Backend)(nil)
