//go:build cgo && linux && !android

package vulkan

import (
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// frame is one command buffer with its fence and descriptor pool. A frame
// records until it is submitted, then is in flight until its fence is
// waited for.
type frame struct {
	cmd        vk.CommandBuffer
	fence      vk.Fence
	pool       vk.DescriptorPool
	sets       []vk.DescriptorSet // allocated from pool, not yet used
	capacity   int                // descriptor sets the pool holds
	allocated  int                // descriptor sets allocated since the reset
	serial     uint64
	inFlight   bool
	dispatches int
	commands   int
}

// descriptorChunk is how many descriptor sets are allocated per call.
const descriptorChunk = 64

// access is one buffer range an command reads or writes.
type access struct {
	blk    *block
	lo, hi uint64 // byte range within the block
}

func (a access) overlaps(o access) bool { return a.blk == o.blk && a.lo < o.hi && o.lo < a.hi }

// hazards tracks ranges read and written since the last barrier.
type hazards struct {
	reads, writes []access
}

// conflict reports whether a command with the given accesses must wait for
// earlier commands: read-after-write, write-after-read or write-after-write.
func (h *hazards) conflict(reads, writes []access) bool {
	for _, w := range writes {
		for _, o := range h.writes {
			if w.overlaps(o) {
				return true
			}
		}
		for _, o := range h.reads {
			if w.overlaps(o) {
				return true
			}
		}
	}
	for _, r := range reads {
		for _, o := range h.writes {
			if r.overlaps(o) {
				return true
			}
		}
	}
	return false
}

func (h *hazards) add(reads, writes []access) {
	h.reads = append(h.reads, reads...)
	h.writes = append(h.writes, writes...)
}

func (h *hazards) reset() {
	h.reads = h.reads[:0]
	h.writes = h.writes[:0]
}

// whole is the access covering a whole buffer.
func whole(v *vkBuffer) access {
	return access{v.a.blk, v.a.off, v.a.off + v.bytes}
}

// elems is the access covering elements [lo, hi) of a buffer.
func elems(v *vkBuffer, lo, hi int) access {
	es := uint64(v.dt.Size())
	return access{v.a.blk, v.a.off + uint64(lo)*es, v.a.off + uint64(hi)*es}
}

const (
	stagesAll  = vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit | vk.PipelineStageTransferBit)
	accessRead = vk.AccessFlags(vk.AccessShaderReadBit | vk.AccessTransferReadBit)
	accessWrt  = vk.AccessFlags(vk.AccessShaderWriteBit | vk.AccessTransferWriteBit)
)

// barrier records a global memory barrier between compute/transfer work.
func (b *Backend) barrier(f *frame) {
	b.rawMemoryBarrier(f.cmd, stagesAll, stagesAll, accessWrt, accessRead|accessWrt)
	b.stats.Barriers++
	b.hz.reset()
}

func (b *Backend) newFrame() (*frame, error) {
	f := &frame{}
	cai := vk.CommandBufferAllocateInfo{SType: vk.StructureTypeCommandBufferAllocateInfo, CommandPool: b.cmdPool, Level: vk.CommandBufferLevelPrimary, CommandBufferCount: 1}
	cmds := make([]vk.CommandBuffer, 1)
	err := vkError(vk.AllocateCommandBuffers(b.dev, &cai, cmds))
	cai.Free()
	if err != nil {
		return nil, fmt.Errorf("vkAllocateCommandBuffers: %w", err)
	}
	f.cmd = cmds[0]
	fci := vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo}
	err = vkError(vk.CreateFence(b.dev, &fci, nil, &f.fence))
	fci.Free()
	if err != nil {
		return nil, fmt.Errorf("vkCreateFence: %w", err)
	}
	sets := uint32(b.maxDispatches + descriptorChunk)
	f.capacity = int(sets)
	dpi := vk.DescriptorPoolCreateInfo{
		SType:         vk.StructureTypeDescriptorPoolCreateInfo,
		MaxSets:       sets,
		PoolSizeCount: 1,
		PPoolSizes:    []vk.DescriptorPoolSize{{Type: vk.DescriptorTypeStorageBuffer, DescriptorCount: sets * bindings}},
	}
	err = vkError(withoutGC(func() vk.Result { return vk.CreateDescriptorPool(b.dev, &dpi, nil, &f.pool) }))
	dpi.Free()
	if err != nil {
		return nil, fmt.Errorf("vkCreateDescriptorPool: %w", err)
	}
	b.frames = append(b.frames, f)
	return f, nil
}

// recording returns the frame being recorded, beginning one when needed.
func (b *Backend) recording() (*frame, error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	if b.cur != nil {
		return b.cur, nil
	}
	var f *frame
	for _, fr := range b.frames {
		if !fr.inFlight {
			f = fr
			break
		}
	}
	if f == nil && len(b.frames) < maxFrames {
		var err error
		if f, err = b.newFrame(); err != nil {
			return nil, fmt.Errorf("vulkan: %s: %w", b.desc, err)
		}
	}
	if f == nil {
		// Every frame is in flight: wait for the oldest.
		oldest := b.frames[0]
		for _, fr := range b.frames[1:] {
			if fr.serial < oldest.serial {
				oldest = fr
			}
		}
		if err := b.waitUpTo(oldest.serial); err != nil {
			return nil, err
		}
		f = oldest
	}
	if err := vkError(vk.ResetDescriptorPool(b.dev, f.pool, 0)); err != nil {
		return nil, b.fail("vkResetDescriptorPool", err)
	}
	f.sets = f.sets[:0]
	f.allocated = 0
	bi := vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo, Flags: vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit)}
	err := vkError(vk.BeginCommandBuffer(f.cmd, &bi))
	bi.Free()
	if err != nil {
		return nil, b.fail("vkBeginCommandBuffer", err)
	}
	f.serial = b.serial
	f.dispatches, f.commands = 0, 0
	b.cur = f
	b.hz.reset()
	// Order this command buffer after submissions still in flight.
	for _, fr := range b.frames {
		if fr.inFlight {
			b.barrier(f)
			break
		}
	}
	return f, nil
}

// fail marks the backend broken after a device error.
func (b *Backend) fail(what string, err error) error {
	b.broken = fmt.Errorf("vulkan: %s failed on %s: %w", what, b.desc, err)
	return b.broken
}

// prepare returns the recording frame for a command with the given
// accesses, submitting first when the dispatch bound is reached and
// recording a barrier when the command depends on earlier ones.
func (b *Backend) prepare(reads, writes []access, dispatch bool) (*frame, error) {
	f, err := b.recording()
	if err != nil {
		return nil, err
	}
	// The descriptor pool of a frame made before SetMaxDispatches raised
	// the bound may run out first.
	if dispatch && (f.dispatches >= b.maxDispatches || (len(f.sets) == 0 && f.allocated >= f.capacity)) {
		if err := b.flush(); err != nil {
			return nil, err
		}
		if f, err = b.recording(); err != nil {
			return nil, err
		}
	}
	if b.hz.conflict(reads, writes) {
		b.barrier(f)
	}
	b.hz.add(reads, writes)
	f.commands++
	return f, nil
}

// use marks buffers as referenced by the submission being recorded.
func (b *Backend) use(bufs ...*vkBuffer) {
	for _, v := range bufs {
		v.lastUse = b.serial
	}
}

// arg is one binding of a dispatch: a buffer and the element range the
// kernel touches (the whole buffer when hi == 0).
type arg struct {
	buf    *vkBuffer
	lo, hi int
	// untracked excludes the binding from hazard tracking (the error flag,
	// updated with atomics in any order).
	untracked bool
}

func bufArg(v *vkBuffer) arg { return arg{buf: v} }

func (a arg) access() access {
	if a.hi > a.lo {
		return elems(a.buf, a.lo, a.hi)
	}
	return whole(a.buf)
}

// dispatch records one kernel launch. Binding i of the kernel gets args[i];
// the manifest says which bindings are written.
func (b *Backend) dispatch(k *kernel, args []arg, push any, groups [3]uint32) error {
	if len(args) > bindings {
		return fmt.Errorf("vulkan: kernel %s binds %d buffers, more than the %d of the shared descriptor-set layout", k.name, len(args), bindings)
	}
	if len(args) != len(k.meta.Bindings) {
		return fmt.Errorf("vulkan: kernel %s has %d bindings, got %d buffers", k.name, len(k.meta.Bindings), len(args))
	}
	pc, err := encodePush(k, push)
	if err != nil {
		return err
	}
	mx := b.info.Limits.MaxComputeWorkGroupCount
	for d := 0; d < 3; d++ {
		if groups[d] == 0 {
			return nil // empty launch
		}
		if groups[d] > mx[d] {
			return fmt.Errorf("vulkan: kernel %s: %d workgroups in dimension %d exceed maxComputeWorkGroupCount %d on %s", k.name, groups[d], d, mx[d], b.desc)
		}
	}
	var reads, writes []access
	for i, a := range args {
		if a.buf == nil {
			return fmt.Errorf("vulkan: kernel %s: binding %d has no buffer", k.name, i)
		}
		if a.untracked {
			continue
		}
		if k.meta.Bindings[i].Writable {
			writes = append(writes, a.access())
		} else {
			reads = append(reads, a.access())
		}
	}
	f, err := b.prepare(reads, writes, true)
	if err != nil {
		return err
	}
	if len(f.sets) == 0 {
		n := min(descriptorChunk, f.capacity-f.allocated)
		sets := make([]vk.DescriptorSet, n)
		if err := vkError(b.rawAllocSets(f.pool, sets)); err != nil {
			return b.fail("vkAllocateDescriptorSets", err)
		}
		f.sets = sets
		f.allocated += n
	}
	set := f.sets[len(f.sets)-1]
	f.sets = f.sets[:len(f.sets)-1]
	var bufs [maxBindings]vk.Buffer
	var offs, ranges [maxBindings]uint64
	for i, a := range args {
		bufs[i], offs[i], ranges[i] = a.buf.a.blk.buf, a.buf.a.off, alignUp(a.buf.bytes, 4)
		b.use(a.buf)
	}
	b.rawWriteSet(set, bufs[:len(args)], offs[:len(args)], ranges[:len(args)])
	vk.CmdBindPipeline(f.cmd, vk.PipelineBindPointCompute, k.pipeline)
	vk.CmdBindDescriptorSets(f.cmd, vk.PipelineBindPointCompute, b.pipeLayout, 0, 1, []vk.DescriptorSet{set}, 0, nil)
	if len(pc) > 0 {
		vk.CmdPushConstants(f.cmd, b.pipeLayout, vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, uint32(len(pc)), unsafe.Pointer(&pc[0]))
	}
	vk.CmdDispatch(f.cmd, groups[0], groups[1], groups[2])
	f.dispatches++
	b.stats.Dispatches++
	return nil
}

// grid splits a 1-D count of workgroups over x, y and z under
// maxComputeWorkGroupCount; kernels rebuild the index with flat_group().
func (b *Backend) grid(groups uint64) ([3]uint32, error) {
	mx := b.info.Limits.MaxComputeWorkGroupCount
	gx, gy, gz := uint64(mx[0]), uint64(mx[1]), uint64(mx[2])
	switch {
	case groups == 0:
		return [3]uint32{0, 1, 1}, nil
	case groups <= gx:
		return [3]uint32{uint32(groups), 1, 1}, nil
	case groups <= gx*gy:
		y := (groups + gx - 1) / gx
		return [3]uint32{uint32((groups + y - 1) / y), uint32(y), 1}, nil
	case groups <= gx*gy*gz:
		z := (groups + gx*gy - 1) / (gx * gy)
		return [3]uint32{uint32(gx), uint32(gy), uint32(z)}, nil
	}
	return [3]uint32{}, fmt.Errorf("vulkan: %d workgroups exceed the grid of %s", groups, b.desc)
}

// grid1 is grid for n elements at one element per invocation.
func (b *Backend) grid1(n uint64, k *kernel) ([3]uint32, error) {
	wg := uint64(k.local[0])
	return b.grid((n + wg - 1) / wg)
}

// fill records vkCmdFillBuffer over bytes [off, off+size) of v.
func (b *Backend) fill(v *vkBuffer, off, size uint64, value uint32) error {
	acc := access{v.a.blk, v.a.off + off, v.a.off + off + size}
	f, err := b.prepare(nil, []access{acc}, false)
	if err != nil {
		return err
	}
	vk.CmdFillBuffer(f.cmd, v.a.blk.buf, vk.DeviceSize(v.a.off+off), vk.DeviceSize(size), value)
	b.use(v)
	b.stats.Transfers++
	return nil
}

// update records vkCmdUpdateBuffer of data (a multiple of 4 bytes, at most
// 65536) at byte offset off of v.
func (b *Backend) update(v *vkBuffer, off uint64, data []byte) error {
	acc := access{v.a.blk, v.a.off + off, v.a.off + off + uint64(len(data))}
	f, err := b.prepare(nil, []access{acc}, false)
	if err != nil {
		return err
	}
	words := make([]uint32, len(data)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	vk.CmdUpdateBuffer(f.cmd, v.a.blk.buf, vk.DeviceSize(v.a.off+off), vk.DeviceSize(len(data)), &words[0])
	b.use(v)
	b.stats.Transfers++
	return nil
}

// copyBuf records vkCmdCopyBuffer of size bytes between two buffers.
func (b *Backend) copyBuf(dst *vkBuffer, dstOff uint64, src *vkBuffer, srcOff, size uint64) error {
	r := access{src.a.blk, src.a.off + srcOff, src.a.off + srcOff + size}
	w := access{dst.a.blk, dst.a.off + dstOff, dst.a.off + dstOff + size}
	f, err := b.prepare([]access{r}, []access{w}, false)
	if err != nil {
		return err
	}
	b.rawCopyBuffer(f.cmd, src.a.blk.buf, dst.a.blk.buf, src.a.off+srcOff, dst.a.off+dstOff, size)
	b.use(src, dst)
	b.stats.Transfers++
	return nil
}

// flush submits the recording frame (if it holds any command) without
// waiting for it.
func (b *Backend) flush() error {
	f := b.cur
	if f == nil {
		return nil
	}
	if err := b.usable(); err != nil {
		return err
	}
	b.cur = nil
	// Make every write visible to the host once the fence has signalled.
	b.rawMemoryBarrier(f.cmd, stagesAll, vk.PipelineStageFlags(vk.PipelineStageHostBit), accessWrt, vk.AccessFlags(vk.AccessHostReadBit|vk.AccessHostWriteBit))
	b.stats.Barriers++
	if err := vkError(vk.EndCommandBuffer(f.cmd)); err != nil {
		return b.fail("vkEndCommandBuffer", err)
	}
	if err := vkError(vk.ResetFences(b.dev, 1, []vk.Fence{f.fence})); err != nil {
		return b.fail("vkResetFences", err)
	}
	if err := vkError(b.queueSubmit(f.cmd, f.fence)); err != nil {
		return b.fail("vkQueueSubmit", err)
	}
	f.inFlight = true
	b.serial++
	b.stats.Submits++
	b.hz.reset()
	return nil
}

// waitUpTo waits for every in-flight submission with a serial <= s, oldest
// first.
func (b *Backend) waitUpTo(s uint64) error {
	for {
		var next *frame
		for _, f := range b.frames {
			if f.inFlight && f.serial <= s && (next == nil || f.serial < next.serial) {
				next = f
			}
		}
		if next == nil {
			return nil
		}
		if err := b.waitFrame(next); err != nil {
			return err
		}
	}
}

func (b *Backend) waitAll() error { return b.waitUpTo(^uint64(0)) }

func (b *Backend) waitFrame(f *frame) error {
	deadline := time.Now().Add(fenceTimeout)
	for {
		r := b.waitForFence(f.fence, uint64(time.Second))
		if r == vk.Success {
			break
		}
		if r != vk.Timeout {
			return b.fail("vkWaitForFences", vkError(r))
		}
		if time.Now().After(deadline) {
			return b.fail("vkWaitForFences", fmt.Errorf("submission did not finish within %v", fenceTimeout))
		}
	}
	b.stats.Waits++
	f.inFlight = false
	if f.serial > b.completed {
		b.completed = f.serial
	}
	return nil
}

// checkErrorFlag reads the device error flag after all work has finished
// and turns it into the pending error.
func (b *Backend) checkErrorFlag() {
	h := b.errBuf.hostBytes()
	tag := binary.LittleEndian.Uint32(h)
	if tag != 0 && b.pendingErr == nil {
		v := int32(binary.LittleEndian.Uint32(h[4:]))
		pos := binary.LittleEndian.Uint32(h[8:])
		desc, ok := b.errTags[tag]
		if !ok {
			desc = fmt.Sprintf("op #%d", tag)
		}
		b.pendingErr = fmt.Errorf("vulkan: %s: index %d at position %d out of range", desc, v, pos)
	}
	clear(h)
	clear(b.errTags)
}

// errorTag registers an op description for the device error flag.
func (b *Backend) errorTag(desc string) uint32 {
	b.nextTag++
	if b.nextTag == 0 {
		b.nextTag = 1
	}
	b.errTags[b.nextTag] = desc
	return b.nextTag
}
