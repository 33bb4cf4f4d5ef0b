//go:build cgo && linux && !android

package vulkan

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/shaders"
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

// TestShaderBindingsFitLayout checks every embedded shader against the
// shared descriptor-set layout: a binding past it is refused with an error
// (lavapipe segfaults on an unhandled descriptor set instead of failing).
func TestShaderBindingsFitLayout(t *testing.T) {
	b := testBackend(t)
	for _, name := range shaders.Names() {
		_, meta, err := shaders.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(meta.Bindings) > bindings {
			t.Errorf("shader %s has %d bindings, the layout %d", name, len(meta.Bindings), bindings)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := &kernel{name: "too-wide", meta: shaders.Meta{Bindings: make([]shaders.Binding, bindings+1)}}
	args := make([]arg, bindings+1)
	if err := b.dispatch(k, args, nil, [3]uint32{1, 1, 1}); err == nil || !strings.Contains(err.Error(), "descriptor-set layout") {
		t.Errorf("dispatch with %d buffers: %v", bindings+1, err)
	}
}
