//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/tensor"
)

// TestDeviceLost injects VK_ERROR_DEVICE_LOST into a queue submit or a
// fence wait and checks the fault path: the op that hits it fails with an
// error naming the device and "device lost", every later op fails fast with
// the same error, the accounting of live bytes stays sound, and Close works.
func TestDeviceLost(t *testing.T) {
	tests := []struct {
		name   string
		inject func(b *Backend)
		// hit runs the op that meets the fault.
		hit func(b *Backend, x *tensor.Tensor) error
	}{
		{"submit at a host read", func(b *Backend) { b.fault.submit = vk.ErrorDeviceLost },
			func(b *Backend, x *tensor.Tensor) error {
				return tensor.Try(func() { tensor.AddScalar(x, 1).Float32s() })
			}},
		{"fence wait at a host read", func(b *Backend) { b.fault.wait = vk.ErrorDeviceLost },
			func(b *Backend, x *tensor.Tensor) error {
				return tensor.Try(func() { tensor.AddScalar(x, 1).Float32s() })
			}},
		{"submit at the dispatch bound", func(b *Backend) {
			b.maxDispatches = 1
			b.fault.submit = vk.ErrorDeviceLost
		}, func(b *Backend, x *tensor.Tensor) error {
			return tensor.Try(func() { tensor.AddScalar(tensor.AddScalar(x, 1), 1) })
		}},
		{"fence wait at Sync", func(b *Backend) { b.fault.wait = vk.ErrorDeviceLost },
			func(b *Backend, x *tensor.Tensor) error {
				if err := tensor.Try(func() { tensor.AddScalar(x, 1) }); err != nil {
					return fmt.Errorf("op before the fault: %w", err)
				}
				return b.Sync()
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := freshBackend(t)
			x := tensor.FromSlice(b, []float32{1, 2, 3, 4})
			var p *tensor.Tensor
			tensor.Persistent(b, func() { p = tensor.Ones(b, 4) })
			if v := x.Float32s(); v[3] != 4 { // works before the fault
				t.Fatalf("got %v", v)
			}
			b.mu.Lock()
			tc.inject(b)
			b.mu.Unlock()

			err := tc.hit(b, x)
			if err == nil {
				t.Fatal("the op that met the fault did not fail")
			}
			if !strings.Contains(err.Error(), "device lost") || !strings.Contains(err.Error(), b.info.Name) {
				t.Errorf("error %q does not name the device and say device lost", err)
			}
			b.mu.Lock()
			lost := b.usable()
			b.mu.Unlock()
			if lost == nil || !strings.Contains(err.Error(), lost.Error()) {
				t.Fatalf("backend error %v, op error %v", lost, err)
			}

			// Later ops fail fast with the same error.
			later := []struct {
				name string
				run  func() error
			}{
				{"Sync", b.Sync},
				{"Read", func() error { return b.Read(x.Buffer(), 0, make([]float32, 4)) }},
				{"Write", func() error { return b.Write(p.Buffer(), 0, []float32{5}) }},
				{"Alloc", func() error { _, err := b.Alloc(4, tensor.Float32); return err }},
				{"op", func() error { return tensor.Try(func() { tensor.Add(x, p) }) }},
				{"persistent alloc", func() error {
					return tensor.Try(func() { tensor.Persistent(b, func() { tensor.Zeros(b, 4) }) })
				}},
			}
			for _, l := range later {
				start := time.Now()
				err := l.run()
				if err == nil || !strings.Contains(err.Error(), lost.Error()) {
					t.Errorf("%s after the fault: %v, want %v", l.name, err, lost)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("%s took %v to fail", l.name, d)
				}
			}

			// Release what the test holds; the outputs of the failed ops are
			// garbage, released by their cleanups.
			x.Release()
			p.Release()
			if n := settle(b, 0); n != 0 {
				t.Errorf("LiveBytes %d after releasing every tensor, want 0", n)
			}
			for _, pl := range []tensor.Pool{tensor.PoolStep, tensor.PoolPersistent} {
				if n := b.MemStats(pl).Live; n != 0 {
					t.Errorf("%v pool: %d bytes live after releasing every tensor", pl, n)
				}
			}
			if err := b.Close(); err != nil {
				t.Errorf("Close after the fault: %v", err)
			}
			if err := b.Sync(); err == nil || !strings.Contains(err.Error(), "closed") {
				t.Errorf("Sync after Close: %v", err)
			}
			if n := b.LiveBytes(); n != 0 {
				t.Errorf("LiveBytes %d after Close", n)
			}
		})
	}
}

// TestOutOfMemoryNamesLimit checks that an exhausted pool reports the
// device, the size asked for, the pool and the limit, and that the other
// pool still allocates.
func TestOutOfMemoryNamesLimit(t *testing.T) {
	b := freshBackend(t)
	if d := b.mem.limitDesc(kindDevice); !strings.Contains(d, "memory heap of") {
		t.Errorf("without a test limit the limit is %q, want the memory heap", d)
	}
	b.mu.Lock()
	b.mem.blockSize = 256 << 10
	b.mem.limit = b.mem.reservedBytes() + 1<<20
	limit := b.mem.limit
	b.mu.Unlock()
	const n = 1 << 19 // 2 MiB, over the limit
	var x *tensor.Tensor
	err := tensor.Try(func() { tensor.Persistent(b, func() { x = tensor.Zeros(b, n) }) })
	if err == nil {
		t.Fatal("an allocation over the limit succeeded")
	}
	for _, want := range []string{"out of device memory", b.info.Name, fmt.Sprintf("%d bytes", 4*n), "persistent pool", fmt.Sprintf("limit %d bytes", limit)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	y := tensor.Ones(b, 1<<10) // the per-step pool still has room
	if v := y.Float32s(); v[0] != 1 {
		t.Errorf("got %v, want 1", v[0])
	}
	if x != nil {
		t.Error("the failed allocation returned a tensor")
	}
	if n := b.LiveBytes(); n != 4<<10 {
		t.Errorf("LiveBytes %d, want %d", n, 4<<10)
	}
}
