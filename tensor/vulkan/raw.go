//go:build cgo && linux && !android

package vulkan

/*
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Direct calls for the hot and the fragile entry points.
//
// vulkan-go converts a slice of structs for a call (unpackArgS*) into C
// memory whose release is tied to a finalizer on a local variable that is
// unreachable as soon as the conversion returns: a garbage collection
// during the call can free the structs while the driver reads them. That
// crashed vkCreateComputePipelines on lavapipe (a freed pNext, SIGSEGV at
// address 0x71) and could hand vkUpdateDescriptorSets or vkQueueSubmit
// freed memory. These shims build the structs on the C stack instead.
//
// Non-dispatchable handles are 64-bit values; dispatchable ones pointers.

typedef void* (*vkg_gipa_t)(void* instance, const char* name);
typedef void* (*vkg_gdpa_t)(void* device, const char* name);

typedef struct { uint64_t buffer, offset, range; } vkg_buffer_info;
typedef struct {
	uint32_t sType; const void* pNext; uint64_t dstSet; uint32_t dstBinding, dstArrayElement, descriptorCount, descriptorType;
	const void* pImageInfo; const vkg_buffer_info* pBufferInfo; const void* pTexelBufferView;
} vkg_write_set;
typedef struct { uint32_t sType; const void* pNext; uint32_t srcAccessMask, dstAccessMask; } vkg_memory_barrier;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t waitSemaphoreCount; const void* pWaitSemaphores; const void* pWaitDstStageMask;
	uint32_t commandBufferCount; void* const* pCommandBuffers; uint32_t signalSemaphoreCount; const void* pSignalSemaphores;
} vkg_submit_info;
typedef struct { uint64_t srcOffset, dstOffset, size; } vkg_buffer_copy;
typedef struct { uint32_t constantID, offset; size_t size; } vkg_spec_entry;
typedef struct { uint32_t mapEntryCount; const vkg_spec_entry* pMapEntries; size_t dataSize; const void* pData; } vkg_spec_info;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags, stage; uint64_t module; const char* pName; const vkg_spec_info* pSpecializationInfo;
} vkg_stage_info;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags; vkg_stage_info stage; uint64_t layout, basePipelineHandle; int32_t basePipelineIndex;
} vkg_compute_info;
typedef struct { uint32_t sType; const void* pNext; uint64_t descriptorPool; uint32_t descriptorSetCount; const uint64_t* pSetLayouts; } vkg_set_alloc_info;

typedef void (*vkg_update_sets_t)(void* dev, uint32_t nw, const vkg_write_set* w, uint32_t nc, const void* c);
typedef void (*vkg_cmd_barrier_t)(void* cmd, uint32_t src, uint32_t dst, uint32_t dep, uint32_t nm, const vkg_memory_barrier* m, uint32_t nb, const void* b, uint32_t ni, const void* i);
typedef int32_t (*vkg_queue_submit_t)(void* queue, uint32_t n, const vkg_submit_info* s, uint64_t fence);
typedef void (*vkg_cmd_copy_t)(void* cmd, uint64_t src, uint64_t dst, uint32_t n, const vkg_buffer_copy* r);
typedef int32_t (*vkg_create_compute_t)(void* dev, uint64_t cache, uint32_t n, const vkg_compute_info* ci, const void* alloc, uint64_t* out);
typedef int32_t (*vkg_alloc_sets_t)(void* dev, const vkg_set_alloc_info* ai, uint64_t* out);

typedef struct {
	vkg_update_sets_t updateSets;
	vkg_cmd_barrier_t cmdBarrier;
	vkg_queue_submit_t queueSubmit;
	vkg_cmd_copy_t cmdCopy;
	vkg_create_compute_t createCompute;
	vkg_alloc_sets_t allocSets;
} vkg_devfns;

// vkg_load_devfns fills fns through vkGetDeviceProcAddr; it returns the
// name of the first missing entry point, or NULL.
static const char* vkg_load_devfns(void* gipa, void* instance, void* device, vkg_devfns* fns) {
	vkg_gdpa_t gdpa = (vkg_gdpa_t)((vkg_gipa_t)gipa)(instance, "vkGetDeviceProcAddr");
	if (!gdpa) return "vkGetDeviceProcAddr";
#define VKG_LOAD(field, type, name) fns->field = (type)gdpa(device, name); if (!fns->field) return name;
	VKG_LOAD(updateSets, vkg_update_sets_t, "vkUpdateDescriptorSets")
	VKG_LOAD(cmdBarrier, vkg_cmd_barrier_t, "vkCmdPipelineBarrier")
	VKG_LOAD(queueSubmit, vkg_queue_submit_t, "vkQueueSubmit")
	VKG_LOAD(cmdCopy, vkg_cmd_copy_t, "vkCmdCopyBuffer")
	VKG_LOAD(createCompute, vkg_create_compute_t, "vkCreateComputePipelines")
	VKG_LOAD(allocSets, vkg_alloc_sets_t, "vkAllocateDescriptorSets")
#undef VKG_LOAD
	return NULL;
}

#define VKG_MAX_BINDINGS 8

// vkg_write_storage_set points bindings 0..n-1 of set at n buffer ranges.
static void vkg_write_storage_set(const vkg_devfns* f, void* dev, uint64_t set, uint32_t n,
		const uint64_t* bufs, const uint64_t* offs, const uint64_t* ranges) {
	vkg_buffer_info info[VKG_MAX_BINDINGS];
	vkg_write_set w[VKG_MAX_BINDINGS];
	if (n > VKG_MAX_BINDINGS) n = VKG_MAX_BINDINGS;
	memset(w, 0, sizeof w);
	for (uint32_t i = 0; i < n; i++) {
		info[i].buffer = bufs[i];
		info[i].offset = offs[i];
		info[i].range = ranges[i];
		w[i].sType = 35; // VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
		w[i].dstSet = set;
		w[i].dstBinding = i;
		w[i].descriptorCount = 1;
		w[i].descriptorType = 7; // VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
		w[i].pBufferInfo = &info[i];
	}
	f->updateSets(dev, n, w, 0, NULL);
}

// vkg_memory_barrier_cmd records one global memory barrier.
static void vkg_memory_barrier_cmd(const vkg_devfns* f, void* cmd, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess, uint32_t dstAccess) {
	vkg_memory_barrier m;
	memset(&m, 0, sizeof m);
	m.sType = 46; // VK_STRUCTURE_TYPE_MEMORY_BARRIER
	m.srcAccessMask = srcAccess;
	m.dstAccessMask = dstAccess;
	f->cmdBarrier(cmd, srcStage, dstStage, 0, 1, &m, 0, NULL, 0, NULL);
}

// vkg_submit_one submits one command buffer with a fence.
static int32_t vkg_submit_one(const vkg_devfns* f, void* queue, void* cmd, uint64_t fence) {
	vkg_submit_info s;
	void* cmds[1] = { cmd };
	memset(&s, 0, sizeof s);
	s.sType = 4; // VK_STRUCTURE_TYPE_SUBMIT_INFO
	s.commandBufferCount = 1;
	s.pCommandBuffers = cmds;
	return f->queueSubmit(queue, 1, &s, fence);
}

// vkg_copy_buffer records one buffer-to-buffer copy.
static void vkg_copy_buffer(const vkg_devfns* f, void* cmd, uint64_t src, uint64_t dst, uint64_t srcOff, uint64_t dstOff, uint64_t size) {
	vkg_buffer_copy r = { srcOff, dstOff, size };
	f->cmdCopy(cmd, src, dst, 1, &r);
}

#define VKG_MAX_SPEC 32

// vkg_create_compute creates a compute pipeline from module's "main" with
// n 32-bit specialization constants (ids[i] = data[i]).
static int32_t vkg_create_compute(const vkg_devfns* f, void* dev, uint64_t module, uint64_t layout,
		uint32_t n, const uint32_t* ids, const uint32_t* data, uint64_t* out) {
	vkg_spec_entry entries[VKG_MAX_SPEC];
	uint32_t values[VKG_MAX_SPEC];
	vkg_spec_info spec;
	vkg_compute_info ci;
	if (n > VKG_MAX_SPEC) return -3; // VK_ERROR_INITIALIZATION_FAILED
	for (uint32_t i = 0; i < n; i++) {
		entries[i].constantID = ids[i];
		entries[i].offset = 4 * i;
		entries[i].size = 4;
		values[i] = data[i];
	}
	memset(&spec, 0, sizeof spec);
	spec.mapEntryCount = n;
	spec.pMapEntries = entries;
	spec.dataSize = 4 * (size_t)n;
	spec.pData = values;
	memset(&ci, 0, sizeof ci);
	ci.sType = 29; // VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
	ci.stage.sType = 18; // VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
	ci.stage.stage = 0x20; // VK_SHADER_STAGE_COMPUTE_BIT
	ci.stage.module = module;
	ci.stage.pName = "main";
	ci.stage.pSpecializationInfo = n ? &spec : NULL;
	ci.layout = layout;
	ci.basePipelineIndex = -1;
	return f->createCompute(dev, 0, 1, &ci, NULL, out);
}

// vkg_alloc_sets allocates n descriptor sets of one layout from pool.
static int32_t vkg_alloc_sets(const vkg_devfns* f, void* dev, uint64_t pool, uint64_t layout, uint32_t n, uint64_t* out) {
	uint64_t layouts[256];
	vkg_set_alloc_info ai;
	if (n > 256) return -3;
	for (uint32_t i = 0; i < n; i++) layouts[i] = layout;
	memset(&ai, 0, sizeof ai);
	ai.sType = 34; // VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
	ai.descriptorPool = pool;
	ai.descriptorSetCount = n;
	ai.pSetLayouts = layouts;
	return f->allocSets(dev, &ai, out);
}
*/
import "C"

import (
	"fmt"
	"runtime/debug"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// maxBindings is the most buffers one dispatch binds (the C side's array):
// the shared descriptor-set layout's bindings.
const maxBindings = C.VKG_MAX_BINDINGS

// The C arrays must hold every binding of the layout.
var _ [maxBindings - bindings]struct{}

// maxSpecConstants is the most specialization constants one kernel takes.
const maxSpecConstants = C.VKG_MAX_SPEC

// maxSetsPerAlloc is the most descriptor sets one rawAllocSets call takes.
const maxSetsPerAlloc = 256

// devFns holds the device-level entry points called without vulkan-go.
type devFns struct{ c C.vkg_devfns }

// nd converts a non-dispatchable handle (given as its pointer) to its
// 64-bit value.
func nd(h unsafe.Pointer) C.uint64_t { return C.uint64_t(uintptr(h)) }

// loadDeviceFns resolves the entry points for b.dev.
func (b *Backend) loadDeviceFns() error {
	if msg := C.vkg_load_devfns(gipaPtr(), unsafe.Pointer(global.inst), unsafe.Pointer(b.dev), &b.fns.c); msg != nil {
		return fmt.Errorf("vkGetDeviceProcAddr found no %s", C.GoString(msg))
	}
	return nil
}

// rawWriteSet points bindings 0..len(bufs)-1 of set at the given ranges.
func (b *Backend) rawWriteSet(set vk.DescriptorSet, bufs []vk.Buffer, offs, ranges []uint64) {
	n := len(bufs)
	var cb, co, cr [maxBindings]C.uint64_t
	for i := 0; i < n; i++ {
		cb[i], co[i], cr[i] = nd(unsafe.Pointer(bufs[i])), C.uint64_t(offs[i]), C.uint64_t(ranges[i])
	}
	C.vkg_write_storage_set(&b.fns.c, unsafe.Pointer(b.dev), nd(unsafe.Pointer(set)), C.uint32_t(n), &cb[0], &co[0], &cr[0])
}

// rawMemoryBarrier records one global memory barrier.
func (b *Backend) rawMemoryBarrier(cmd vk.CommandBuffer, src, dst vk.PipelineStageFlags, srcAccess, dstAccess vk.AccessFlags) {
	C.vkg_memory_barrier_cmd(&b.fns.c, unsafe.Pointer(cmd), C.uint32_t(src), C.uint32_t(dst), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
}

// rawSubmit submits one command buffer signalling fence.
func (b *Backend) rawSubmit(cmd vk.CommandBuffer, fence vk.Fence) vk.Result {
	return vk.Result(C.vkg_submit_one(&b.fns.c, unsafe.Pointer(b.queue), unsafe.Pointer(cmd), nd(unsafe.Pointer(fence))))
}

// rawCopyBuffer records one buffer-to-buffer copy.
func (b *Backend) rawCopyBuffer(cmd vk.CommandBuffer, src, dst vk.Buffer, srcOff, dstOff, size uint64) {
	C.vkg_copy_buffer(&b.fns.c, unsafe.Pointer(cmd), nd(unsafe.Pointer(src)), nd(unsafe.Pointer(dst)), C.uint64_t(srcOff), C.uint64_t(dstOff), C.uint64_t(size))
}

// rawCreateCompute creates a compute pipeline from module's main with the
// given specialization constants.
func (b *Backend) rawCreateCompute(module vk.ShaderModule, ids, values []uint32) (vk.Pipeline, vk.Result) {
	if len(ids) > maxSpecConstants || len(ids) != len(values) {
		return nil, vk.ErrorInitializationFailed
	}
	var ci, cv [maxSpecConstants]C.uint32_t
	for i := range ids {
		ci[i], cv[i] = C.uint32_t(ids[i]), C.uint32_t(values[i])
	}
	var out C.uint64_t
	r := C.vkg_create_compute(&b.fns.c, unsafe.Pointer(b.dev), nd(unsafe.Pointer(module)), nd(unsafe.Pointer(b.pipeLayout)), C.uint32_t(len(ids)), &ci[0], &cv[0], &out)
	if r != 0 {
		return nil, vk.Result(r)
	}
	return *(*vk.Pipeline)(unsafe.Pointer(&out)), vk.Success
}

// rawAllocSets allocates len(out) descriptor sets of the shared layout.
func (b *Backend) rawAllocSets(pool vk.DescriptorPool, out []vk.DescriptorSet) vk.Result {
	n := len(out)
	if n == 0 || n > maxSetsPerAlloc {
		return vk.ErrorInitializationFailed
	}
	var sets [maxSetsPerAlloc]C.uint64_t
	r := C.vkg_alloc_sets(&b.fns.c, unsafe.Pointer(b.dev), nd(unsafe.Pointer(pool)), nd(unsafe.Pointer(b.setLayout)), C.uint32_t(n), &sets[0])
	if r != 0 {
		return vk.Result(r)
	}
	for i := range out {
		out[i] = *(*vk.DescriptorSet)(unsafe.Pointer(&sets[i]))
	}
	return vk.Success
}

var withoutGCMu sync.Mutex

// withoutGC runs fn with the garbage collector paused. It guards the
// binding calls left that convert slices of structs, all at start-up or
// when a frame is created (enumerations, instance, device, layouts, shader
// modules, descriptor pools), for the reason given at the top of this
// file: SetGCPercent(-1) returns only once no collection is running, and
// none starts until the setting is restored.
func withoutGC(call func() vk.Result) vk.Result {
	withoutGCMu.Lock()
	defer withoutGCMu.Unlock()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	return call()
}
