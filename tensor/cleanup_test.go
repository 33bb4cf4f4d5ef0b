package tensor_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/tensor"
)

// countingBuffer wraps a CPU buffer and counts Release calls; heap selects
// whether it reports itself as garbage-collected memory.
type countingBuffer struct {
	tensor.Buffer
	heap     bool
	releases *atomic.Int32
}

func (c countingBuffer) HeapManaged() bool { return c.heap }
func (c countingBuffer) Release()          { c.releases.Add(1); c.Buffer.Release() }

type countingBackend struct {
	tensor.Backend
	heap     bool
	releases atomic.Int32
}

func (b *countingBackend) Alloc(n int, dt tensor.DType) (tensor.Buffer, error) {
	buf, err := b.Backend.Alloc(n, dt)
	if err != nil {
		return nil, err
	}
	return countingBuffer{Buffer: buf, heap: b.heap, releases: &b.releases}, nil
}

// TestDroppedTensorCleanup checks who frees a dropped tensor's buffer:
// device-style buffers get a cleanup that calls Release once, heap-managed
// ones (tensor.HeapBuffer) get none, so their memory goes with the
// collection that finds the tensor unreachable.
func TestDroppedTensorCleanup(t *testing.T) {
	for _, tc := range []struct {
		name string
		heap bool
		want int32
	}{{"device buffer", false, 1}, {"heap buffer", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			b := &countingBackend{Backend: backend(t), heap: tc.heap}
			func() {
				x := tensor.Zeros(b, 1000)
				_ = tensor.Reshape(x, 10, 100) // a view shares the storage
			}()
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) && b.releases.Load() < tc.want {
				runtime.GC()
				time.Sleep(5 * time.Millisecond)
			}
			for i := 0; i < 3; i++ { // give a wrong cleanup the chance to run
				runtime.GC()
				time.Sleep(5 * time.Millisecond)
			}
			if got := b.releases.Load(); got != tc.want {
				t.Errorf("Release called %d times, want %d", got, tc.want)
			}
		})
	}
}
