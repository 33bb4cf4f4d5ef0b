//go:build cgo && linux && !android

package vulkan

import (
	"runtime"
	"sync/atomic"
	"testing"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/tensor"
)

// TestCallsSurviveGarbageCollection runs pipeline creation and the
// per-dispatch calls while another goroutine collects garbage without a
// pause. Through vulkan-go's slice conversions this crashed within a
// second (the create info was freed during vkCreateComputePipelines); the
// shims in raw.go keep the structs on the C stack.
func TestCallsSurviveGarbageCollection(t *testing.T) {
	b := freshBackend(t)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	defer func() { stop.Store(true); <-done }()

	b.mu.Lock()
	mod, meta, err := b.module("probe_fma")
	if err != nil {
		b.mu.Unlock()
		t.Fatal(err)
	}
	ids := []uint32{uint32(meta.SpecConstants[0].ID)}
	for i := 0; i < 800; i++ {
		p, r := b.rawCreateCompute(mod, ids, []uint32{uint32(8 * (1 + i%4))})
		if r != vk.Success {
			b.mu.Unlock()
			t.Fatalf("pipeline %d: %v", i, vkError(r))
		}
		vk.DestroyPipeline(b.dev, p, nil)
	}
	b.mu.Unlock()

	x := tensor.FromSlice(b, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 8)
	acc := tensor.Zeros(b, 8)
	for i := 0; i < 300; i++ {
		next := tensor.Add(acc, x)
		acc.Release()
		acc = next
		if i%50 == 49 {
			if got := acc.Float32s()[7]; got != float32(8*(i+1)) {
				t.Fatalf("after %d adds: %v, want %v", i+1, got, 8*(i+1))
			}
		}
	}
}
