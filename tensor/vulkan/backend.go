//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/tensor"
)

func init() {
	tensor.Register("vulkan", 10, func(config string) (tensor.Backend, error) {
		b, err := New(config)
		if err != nil {
			return nil, err
		}
		return b, nil
	})
}

// Defaults of the command stream.
const (
	// DefaultMaxDispatches bounds the dispatches recorded into one submit.
	DefaultMaxDispatches = 1024
	// maxFrames is the number of command buffers that can be in flight.
	maxFrames = 2
	// fenceTimeout is how long one flush may run before the device is
	// declared hung.
	fenceTimeout = 10 * time.Minute
	// bindings is the size of the shared descriptor-set layout.
	bindings = 8
	// pushBytes is the size of the shared push-constant range.
	pushBytes = 128
	// defaultGCMin is the smallest pool size that triggers a garbage
	// collection before the pool grows.
	defaultGCMin = 256 << 20
)

// Stats counts the work a backend has submitted.
type Stats struct {
	Submits    uint64 // vkQueueSubmit calls
	Dispatches uint64 // vkCmdDispatch calls
	Barriers   uint64 // vkCmdPipelineBarrier calls (hazard, frame and host barriers)
	Transfers  uint64 // fill, update and copy commands
	Waits      uint64 // fence waits
	Pipelines  uint64 // compute pipelines created
	// Collections counts garbage collections run to reclaim device memory
	// of tensors that were dropped without Release.
	Collections uint64
}

// Backend is a tensor.Backend on one Vulkan device. Ops are recorded into a
// command buffer and submitted at a host read, an explicit Sync, or when the
// dispatch bound per submit is reached. Methods are safe for concurrent use,
// though ops are meant to come from one goroutine; Buffer.Release may be
// called from any goroutine (including garbage-collector cleanups).
type Backend struct {
	mu   sync.Mutex
	info DeviceInfo
	desc string

	pd    vk.PhysicalDevice
	dev   vk.Device
	queue vk.Queue
	qfam  uint32

	mem *allocator

	setLayout  vk.DescriptorSetLayout
	pipeLayout vk.PipelineLayout
	modules    map[string]vk.ShaderModule
	kernels    map[string]*kernel

	cmdPool   vk.CommandPool
	frames    []*frame
	cur       *frame
	serial    uint64 // serial of the submission being recorded
	completed uint64 // every submission with a serial <= completed has finished
	hz        hazards
	stats     Stats

	maxDispatches int
	// loopLimit is the number of loop iterations after which the driver
	// silently stops an invocation (llvmpipe: 65535, shared by all loops of
	// a shader); 0 when the driver has no such limit.
	loopLimit uint64
	// fns are the entry points called without the binding (raw.go).
	fns devFns
	// quietCompiles makes pipeline creation wait for submissions in
	// flight. lavapipe (Mesa 22.3) builds a compute pipeline on the same
	// gallium context its queue thread executes command buffers with, and
	// takes no lock for it (lvp_pipeline_compile -> create_compute_state).
	// This is a precaution: the crash once blamed on it was the binding's
	// (raw.go). It costs a wait only at a kernel's first use.
	quietCompiles bool

	errBuf     *vkBuffer
	errTags    map[uint32]string
	nextTag    uint32
	pendingErr error
	broken     error
	closed     bool

	relMu    sync.Mutex
	released []*vkBuffer
	deferred []deferredFree

	liveBytes atomic.Int64
	// allocPool is the pool Alloc takes tensors from (see SetPool).
	allocPool tensor.Pool
	// fault makes the next queue submit or fence wait fail (tests only).
	fault faultInjection
	// gcTarget is the pool size at which the next allocation first
	// collects garbage; gcMin is its floor.
	gcTarget, gcMin uint64
}

// New opens a backend on the device chosen by spec: "" (VKGRAD_DEVICE, else
// discrete > integrated > virtual > CPU), a device index, or a name
// substring.
func New(spec string) (*Backend, error) {
	inst, err := instance()
	if err != nil {
		return nil, err
	}
	pds, err := physicalDevices(inst)
	if err != nil {
		return nil, err
	}
	devs := make([]DeviceInfo, len(pds))
	for i, pd := range pds {
		devs[i] = describe(inst, pd, i)
	}
	idx, err := chooseDevice(devs, spec)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		info:          devs[idx],
		pd:            pds[idx],
		modules:       map[string]vk.ShaderModule{},
		kernels:       map[string]*kernel{},
		errTags:       map[uint32]string{},
		maxDispatches: DefaultMaxDispatches,
		serial:        1,
		gcMin:         defaultGCMin,
		gcTarget:      defaultGCMin,
	}
	b.desc = fmt.Sprintf("device %d %q (%s)", idx, b.info.Name, b.info.Type)
	if isLLVMpipe(b.info) {
		b.loopLimit = llvmpipeLoopLimit
		b.quietCompiles = true
	}
	if err := b.checkLimits(); err != nil {
		return nil, err
	}
	if err := b.createDevice(); err != nil {
		return nil, err
	}
	if err := b.init(); err != nil {
		b.destroy()
		return nil, err
	}
	return b, nil
}

func (b *Backend) checkLimits() error {
	l := b.info.Limits
	if b.info.ComputeQueueFamily < 0 {
		return fmt.Errorf("vulkan: %s has no compute queue: %w", b.desc, tensor.ErrUnavailable)
	}
	switch {
	case l.MaxPerStageStorageBuffers < bindings:
		return fmt.Errorf("vulkan: %s allows %d storage buffers per stage, vkgrad needs %d: %w", b.desc, l.MaxPerStageStorageBuffers, bindings, tensor.ErrUnavailable)
	case l.MaxPushConstantsSize < pushBytes:
		return fmt.Errorf("vulkan: %s allows %d bytes of push constants, vkgrad needs %d: %w", b.desc, l.MaxPushConstantsSize, pushBytes, tensor.ErrUnavailable)
	case l.MaxComputeWorkGroupInvocations < 64:
		return fmt.Errorf("vulkan: %s allows %d invocations per workgroup, vkgrad needs 64: %w", b.desc, l.MaxComputeWorkGroupInvocations, tensor.ErrUnavailable)
	}
	return nil
}

func (b *Backend) createDevice() error {
	b.qfam = uint32(b.info.ComputeQueueFamily)
	qci := []vk.DeviceQueueCreateInfo{{
		SType:            vk.StructureTypeDeviceQueueCreateInfo,
		QueueFamilyIndex: b.qfam,
		QueueCount:       1,
		PQueuePriorities: []float32{1},
	}}
	dci := vk.DeviceCreateInfo{
		SType:                vk.StructureTypeDeviceCreateInfo,
		QueueCreateInfoCount: 1,
		PQueueCreateInfos:    qci,
	}
	var dev vk.Device
	err := vkError(withoutGC(func() vk.Result { return vk.CreateDevice(b.pd, &dci, nil, &dev) }))
	dci.Free()
	if err != nil {
		return fmt.Errorf("vulkan: vkCreateDevice on %s: %w: %w", b.desc, err, tensor.ErrUnavailable)
	}
	b.dev = dev
	if err := b.loadDeviceFns(); err != nil {
		return fmt.Errorf("vulkan: %s: %w: %w", b.desc, err, tensor.ErrUnavailable)
	}
	var q vk.Queue
	vk.GetDeviceQueue(dev, b.qfam, 0, &q)
	b.queue = q
	return nil
}

// init creates the allocator, the shared layouts, the command pool and the
// error-flag buffer.
func (b *Backend) init() error {
	var err error
	if b.mem, err = newAllocator(b); err != nil {
		return err
	}
	if err := b.createLayouts(); err != nil {
		return err
	}
	cpci := vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		Flags:            vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: b.qfam,
	}
	var pool vk.CommandPool
	err = vkError(vk.CreateCommandPool(b.dev, &cpci, nil, &pool))
	cpci.Free()
	if err != nil {
		return fmt.Errorf("vulkan: vkCreateCommandPool on %s: %w", b.desc, err)
	}
	b.cmdPool = pool
	// The error flag lives in host-visible memory so Sync can read it.
	b.errBuf, err = b.allocInternal(16, kindHost)
	if err != nil {
		return err
	}
	clear(b.errBuf.hostBytes())
	return nil
}

// Info returns the description of the backend's device.
func (b *Backend) Info() DeviceInfo { return b.info }

// Name returns "vulkan".
func (b *Backend) Name() string { return "vulkan" }

// Caps describes the device and the ops (all of tensor.Backend).
func (b *Backend) Caps() tensor.Caps {
	return tensor.Caps{
		Device:         fmt.Sprintf("%s, Vulkan %s, driver %s", b.info.Name, VersionString(b.info.APIVersion), b.info.DriverVersionString()),
		Ops:            append([]string(nil), opNames...),
		MaxBufferElems: int(b.info.Limits.MaxStorageBufferRange / 4),
		SubgroupSize:   int(b.info.Subgroup.Size),
		Async:          true,
		HostEmulated:   b.info.Type == "CPU",
	}
}

var opNames = []string{
	"Copy", "Unary", "Binary", "Where", "Reduce", "MatMul",
	"Conv2D", "Conv2DBackwardData", "Conv2DBackwardWeight",
	"MaxPool2D", "MaxPool2DBackward", "AvgPool2D", "AvgPool2DBackward",
	"BatchNormForward", "BatchNormBackward", "IndexSelect", "IndexAdd",
	"L2Normalize", "AdamUpdate", "SGDUpdate",
}

// Stats returns the submit, dispatch and barrier counters.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// SetMaxDispatches changes the bound on dispatches per submit (n >= 1).
func (b *Backend) SetMaxDispatches(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.maxDispatches = max(1, n)
}

// LiveBytes is the number of bytes held by buffers that have not been
// released. It returns to its earlier value once every tensor allocated in
// between is released (or collected).
func (b *Backend) LiveBytes() int64 { return b.liveBytes.Load() }

// Sync submits the recorded work, waits for it, and returns the first
// error raised by the device since the last Sync (e.g. an out-of-range
// index).
func (b *Backend) Sync() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.syncLocked()
}

func (b *Backend) syncLocked() error {
	if err := b.usable(); err != nil {
		return err
	}
	if err := b.flush(); err != nil {
		return err
	}
	if err := b.waitAll(); err != nil {
		return err
	}
	b.checkErrorFlag()
	b.drainReleases()
	err := b.pendingErr
	b.pendingErr = nil
	return err
}

func (b *Backend) usable() error {
	if b.closed {
		return fmt.Errorf("vulkan: %s: backend is closed", b.desc)
	}
	return b.broken
}

// Close waits for the device, frees every Vulkan object and makes the
// backend unusable. Buffers still alive become invalid.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	var err error
	if b.broken == nil {
		err = b.flush()
		if werr := b.waitAll(); err == nil {
			err = werr
		}
	}
	b.destroy()
	b.closed = true
	return err
}

func (b *Backend) destroy() {
	if b.dev == nil {
		return
	}
	vk.DeviceWaitIdle(b.dev)
	for _, f := range b.frames {
		vk.DestroyFence(b.dev, f.fence, nil)
		vk.DestroyDescriptorPool(b.dev, f.pool, nil)
	}
	b.frames = nil
	if b.cmdPool != vk.NullCommandPool {
		vk.DestroyCommandPool(b.dev, b.cmdPool, nil)
	}
	for _, k := range b.kernels {
		vk.DestroyPipeline(b.dev, k.pipeline, nil)
	}
	for _, m := range b.modules {
		vk.DestroyShaderModule(b.dev, m, nil)
	}
	if b.pipeLayout != vk.NullPipelineLayout {
		vk.DestroyPipelineLayout(b.dev, b.pipeLayout, nil)
	}
	if b.setLayout != vk.NullDescriptorSetLayout {
		vk.DestroyDescriptorSetLayout(b.dev, b.setLayout, nil)
	}
	if b.mem != nil {
		b.mem.destroy()
	}
	vk.DestroyDevice(b.dev, nil)
	b.dev = nil
}

// llvmpipeLoopLimit is gallivm's LP_MAX_TGSI_LOOP_ITERATIONS: every loop
// back-edge of an invocation decrements one shared counter, and at zero all
// loops exit early, silently truncating the computation.
const llvmpipeLoopLimit = 65535

func isLLVMpipe(d DeviceInfo) bool {
	return strings.Contains(strings.ToLower(d.DriverName), "llvmpipe") || strings.HasPrefix(strings.ToLower(d.Name), "llvmpipe")
}

// loopBudget is the number of loop iterations one invocation may run
// (unlimited when the driver has no limit).
func (b *Backend) loopBudget() uint64 {
	if b.loopLimit == 0 {
		return ^uint64(0)
	}
	return b.loopLimit - 64 // margin for the short fixed loops of a kernel
}

// checkTrips refuses a launch whose invocations would run more loop
// iterations than the driver executes (rather than return a wrong result).
func (b *Backend) checkTrips(op string, trips uint64) error {
	if trips > b.loopBudget() {
		return fmt.Errorf("vulkan: %s needs %d loop iterations per invocation; %s stops invocations after %d", op, trips, b.desc, b.loopLimit)
	}
	return nil
}

// wgFor picks the workgroup size of a per-output reduction kernel: the
// default, or up to 1024 (within the device limit) when each invocation
// would otherwise loop more than 4096 times.
func (b *Backend) wgFor(def uint32, n uint64, passes uint64) uint32 {
	wg := def
	limit := min(uint32(1024), b.info.Limits.MaxComputeWorkGroupInvocations, b.info.Limits.MaxComputeWorkGroupSize[0])
	for wg < limit && passes*ceilDiv(n, uint64(wg)) > 4096 {
		wg *= 2
	}
	return wg
}

// treeTrips is the loop count of a shared-memory tree over wg slots.
func treeTrips(wg uint32) uint64 {
	t := uint64(0)
	for s := wg / 2; s > 0; s >>= 1 {
		t++
	}
	return t
}
