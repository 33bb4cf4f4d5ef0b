//go:build cgo && linux && !android

package vulkan

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/tensor"
)

// memKind selects a memory pool.
type memKind int

const (
	// kindDevice holds tensors: device-local, host-visible too when the
	// device offers that (UMA, ReBAR, lavapipe), which enables direct access.
	kindDevice memKind = iota
	// kindHost holds staging and readback buffers and the error flag.
	kindHost
	// kindPersistent holds tensors allocated under tensor.PoolPersistent
	// (parameters, optimizer state): the memory type of kindDevice, but
	// blocks of its own, so per-step churn never shares a block with them.
	kindPersistent
	numKinds
)

// String names the pool of a kind in errors and statistics.
func (k memKind) String() string {
	switch k {
	case kindDevice:
		return "step"
	case kindHost:
		return "host"
	case kindPersistent:
		return "persistent"
	}
	return fmt.Sprintf("memKind(%d)", int(k))
}

const (
	defaultBlockSize = 64 << 20
	hostBlockSize    = 4 << 20
	// persistentBlockSize is smaller than the per-step block: persistent
	// buffers are allocated once, so the pool grows in small steps and a
	// small model does not reserve a large block for its parameters.
	persistentBlockSize = 16 << 20
	minClass            = 256
)

// block is one VkDeviceMemory with a VkBuffer spanning it, suballocated
// first-fit over a sorted list of free spans.
type block struct {
	mem  vk.DeviceMemory
	buf  vk.Buffer
	size uint64
	host []byte // the persistent mapping, nil when not host-visible
	free []span
	kind memKind
}

type span struct{ off, size uint64 }

// allocation is a suballocated range of a block.
type allocation struct {
	blk       *block
	off, size uint64
}

// pool is the memory of one kind: its blocks and, per size class, cached
// allocations ready for reuse. Fields other than live are guarded by
// Backend.mu.
type pool struct {
	kind     memKind
	typeIdx  uint32
	flags    uint32
	blocks   []*block
	cache    map[uint64][]allocation
	cached   uint64
	reserved uint64
	// live counts the bytes of tensors allocated from the pool and not yet
	// released (Release may run on any goroutine).
	live atomic.Int64
}

// allocator owns the device memory of a backend.
type allocator struct {
	b     *Backend
	align uint64
	usage vk.BufferUsageFlags
	pools [numKinds]*pool
	// direct reports that tensors live in host-visible coherent memory and
	// can be read and written through the mapping.
	direct    bool
	blockSize uint64
	maxAlloc  uint64
	// limit caps the bytes of device memory reserved (0: none); tests use
	// it to exercise the out-of-memory path.
	limit uint64
}

// deferredFree returns an allocation to its pool once the submission with
// the given serial has completed.
type deferredFree struct {
	serial uint64
	buf    *vkBuffer
}

func newAllocator(b *Backend) (*allocator, error) {
	l := b.info.Limits
	a := &allocator{
		b:         b,
		align:     max(256, l.MinStorageBufferOffsetAlignment, l.NonCoherentAtomSize),
		usage:     vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit | vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit),
		blockSize: defaultBlockSize,
		maxAlloc:  l.MaxMemoryAllocationSize,
	}
	if a.maxAlloc == 0 {
		a.maxAlloc = 1 << 30
	}
	a.blockSize = min(a.blockSize, a.maxAlloc)
	// Which memory types can back our buffers?
	bci := vk.BufferCreateInfo{SType: vk.StructureTypeBufferCreateInfo, Size: 4096, Usage: a.usage, SharingMode: vk.SharingModeExclusive}
	var probe vk.Buffer
	err := vkError(vk.CreateBuffer(b.dev, &bci, nil, &probe))
	bci.Free()
	if err != nil {
		return nil, fmt.Errorf("vulkan: vkCreateBuffer on %s: %w", b.desc, err)
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(b.dev, probe, &req)
	req.Deref()
	vk.DestroyBuffer(b.dev, probe, nil)
	a.align = max(a.align, uint64(req.Alignment))

	pick := func(want uint32, prefer uint32) int {
		best, bestScore := -1, -1
		for i, t := range b.info.MemoryTypes {
			if req.MemoryTypeBits&(1<<i) == 0 || t.Flags&want != want {
				continue
			}
			score := bits.OnesCount32(t.Flags & prefer)
			if score > bestScore {
				best, bestScore = i, score
			}
		}
		return best
	}
	const coherent = MemHostVisible | MemHostCoherent
	dev := pick(MemDeviceLocal|coherent, 0)
	a.direct = dev >= 0
	if dev < 0 {
		dev = pick(MemDeviceLocal, 0)
	}
	if dev < 0 {
		dev = pick(0, MemDeviceLocal)
	}
	host := pick(coherent, MemHostCached)
	if dev < 0 || host < 0 {
		return nil, fmt.Errorf("vulkan: %s offers no memory type for storage buffers (device %d, host-visible %d): %w", b.desc, dev, host, tensor.ErrUnavailable)
	}
	a.pools[kindDevice] = &pool{kind: kindDevice, typeIdx: uint32(dev), flags: b.info.MemoryTypes[dev].Flags, cache: map[uint64][]allocation{}}
	a.pools[kindPersistent] = &pool{kind: kindPersistent, typeIdx: uint32(dev), flags: b.info.MemoryTypes[dev].Flags, cache: map[uint64][]allocation{}}
	if host == dev {
		// One memory type serves both (UMA, lavapipe): share the blocks.
		a.pools[kindHost] = a.pools[kindDevice]
	} else {
		a.pools[kindHost] = &pool{kind: kindHost, typeIdx: uint32(host), flags: b.info.MemoryTypes[host].Flags, cache: map[uint64][]allocation{}}
	}
	return a, nil
}

// sizeClass rounds a request up to a class: multiples of 256 bytes up to
// 4 KiB, then eight classes per power of two (at most 12.5% waste).
func sizeClass(n uint64) uint64 {
	if n <= minClass {
		return minClass
	}
	if n <= 4096 {
		return (n + minClass - 1) / minClass * minClass
	}
	step := uint64(1) << (bits.Len64(n-1) - 4) // a power of two >= n, over 8
	return (n + step - 1) / step * step
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

// errOOM marks a failed vkAllocateMemory (or the test limit).
var errOOM = errors.New("out of device memory")

// reuse returns an allocation of at least n bytes from the class cache or
// the free space of existing blocks.
func (a *allocator) reuse(n uint64, kind memKind) (allocation, bool) {
	p := a.pools[kind]
	class := sizeClass(n)
	if l := p.cache[class]; len(l) > 0 {
		al := l[len(l)-1]
		p.cache[class] = l[:len(l)-1]
		p.cached -= al.size
		return al, true
	}
	if al, ok := a.carve(p, class); ok {
		return al, true
	}
	// Return cached allocations to their blocks and try again.
	if p.cached > 0 {
		a.trim(p)
		if al, ok := a.carve(p, class); ok {
			return al, true
		}
	}
	return allocation{}, false
}

// grow allocates a new block and carves n bytes from it.
func (a *allocator) grow(n uint64, kind memKind) (allocation, error) {
	p := a.pools[kind]
	class := sizeClass(n)
	bs := a.blockSize
	switch p.kind {
	case kindHost:
		bs = min(bs, hostBlockSize) // staging and flags: keep pinned memory small
	case kindPersistent:
		bs = min(bs, persistentBlockSize)
	}
	size := max(bs, alignUp(class, a.align))
	if size > a.maxAlloc {
		size = alignUp(class, a.align)
	}
	if size > a.maxAlloc {
		return allocation{}, fmt.Errorf("allocation of %d bytes exceeds maxMemoryAllocationSize %d", class, a.maxAlloc)
	}
	blk, err := a.newBlock(p, size)
	if errors.Is(err, errOOM) && size > alignUp(class, a.align) {
		// A smaller, dedicated block may still fit.
		blk, err = a.newBlock(p, alignUp(class, a.align))
	}
	if err != nil {
		return allocation{}, err
	}
	al, ok := a.carve(p, class)
	if !ok {
		return allocation{}, fmt.Errorf("internal error: fresh block of %d bytes cannot hold %d", blk.size, class)
	}
	return al, nil
}

// alloc returns an allocation of at least n bytes, growing the pool when
// nothing can be reused.
func (a *allocator) alloc(n uint64, kind memKind) (allocation, error) {
	if al, ok := a.reuse(n, kind); ok {
		return al, nil
	}
	return a.grow(n, kind)
}

// carve takes class bytes, aligned, from the first block with room.
func (a *allocator) carve(p *pool, class uint64) (allocation, bool) {
	for _, blk := range p.blocks {
		for i, s := range blk.free {
			start := alignUp(s.off, a.align)
			if start+class > s.off+s.size {
				continue
			}
			end := start + class
			var repl []span
			if start > s.off {
				repl = append(repl, span{s.off, start - s.off})
			}
			if end < s.off+s.size {
				repl = append(repl, span{end, s.off + s.size - end})
			}
			blk.free = append(blk.free[:i], append(repl, blk.free[i+1:]...)...)
			return allocation{blk: blk, off: start, size: class}, true
		}
	}
	return allocation{}, false
}

// release puts an allocation in its class cache.
func (a *allocator) release(al allocation) {
	p := a.pools[al.blk.kind]
	p.cache[al.size] = append(p.cache[al.size], al)
	p.cached += al.size
}

// giveBack returns an allocation's range to its block's free list.
func giveBack(al allocation) {
	blk := al.blk
	i := sort.Search(len(blk.free), func(i int) bool { return blk.free[i].off > al.off })
	blk.free = append(blk.free, span{})
	copy(blk.free[i+1:], blk.free[i:])
	blk.free[i] = span{al.off, al.size}
	// Coalesce with the neighbours.
	if i+1 < len(blk.free) && blk.free[i].off+blk.free[i].size == blk.free[i+1].off {
		blk.free[i].size += blk.free[i+1].size
		blk.free = append(blk.free[:i+1], blk.free[i+2:]...)
	}
	if i > 0 && blk.free[i-1].off+blk.free[i-1].size == blk.free[i].off {
		blk.free[i-1].size += blk.free[i].size
		blk.free = append(blk.free[:i], blk.free[i+1:]...)
	}
}

// trim empties a pool's caches into the blocks and frees empty blocks.
func (a *allocator) trim(p *pool) {
	for class, l := range p.cache {
		for _, al := range l {
			giveBack(al)
		}
		delete(p.cache, class)
	}
	p.cached = 0
	kept := p.blocks[:0]
	for _, blk := range p.blocks {
		if len(blk.free) == 1 && blk.free[0].off == 0 && blk.free[0].size == blk.size {
			a.freeBlock(p, blk)
			continue
		}
		kept = append(kept, blk)
	}
	p.blocks = kept
}

// distinctPools lists each pool once (kindHost may share kindDevice's).
func (a *allocator) distinctPools() []*pool {
	ps := make([]*pool, 0, numKinds)
	for i, p := range a.pools {
		if p == nil || (memKind(i) == kindHost && p == a.pools[kindDevice]) {
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

func (a *allocator) reservedBytes() uint64 {
	var n uint64
	for _, p := range a.distinctPools() {
		n += p.reserved
	}
	return n
}

// limitDesc says what bounds a pool's memory: the test limit when set,
// else the size of its memory heap.
func (a *allocator) limitDesc(kind memKind) string {
	if a.limit > 0 {
		return fmt.Sprintf("limit %d bytes", a.limit)
	}
	if h := a.heapSize(a.pools[kind]); h > 0 {
		return fmt.Sprintf("limit: memory heap of %d bytes", h)
	}
	return "limit: memory heap of unknown size"
}

// heapSize is the size of the memory heap behind a pool (0 if unknown).
func (a *allocator) heapSize(p *pool) uint64 {
	heaps := a.b.info.MemoryHeaps
	types := a.b.info.MemoryTypes
	if int(p.typeIdx) >= len(types) || int(types[p.typeIdx].HeapIndex) >= len(heaps) {
		return 0
	}
	return heaps[types[p.typeIdx].HeapIndex].Size
}

func (a *allocator) newBlock(p *pool, size uint64) (*block, error) {
	b := a.b
	if a.limit > 0 && a.reservedBytes()+size > a.limit {
		return nil, errOOM
	}
	bci := vk.BufferCreateInfo{SType: vk.StructureTypeBufferCreateInfo, Size: vk.DeviceSize(size), Usage: a.usage, SharingMode: vk.SharingModeExclusive}
	var buf vk.Buffer
	err := vkError(vk.CreateBuffer(b.dev, &bci, nil, &buf))
	bci.Free()
	if err != nil {
		return nil, fmt.Errorf("vkCreateBuffer(%d bytes): %w", size, err)
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(b.dev, buf, &req)
	req.Deref()
	mai := vk.MemoryAllocateInfo{SType: vk.StructureTypeMemoryAllocateInfo, AllocationSize: req.Size, MemoryTypeIndex: p.typeIdx}
	var mem vk.DeviceMemory
	r := vk.AllocateMemory(b.dev, &mai, nil, &mem)
	mai.Free()
	if r != vk.Success {
		vk.DestroyBuffer(b.dev, buf, nil)
		if r == vk.ErrorOutOfDeviceMemory || r == vk.ErrorOutOfHostMemory {
			return nil, errOOM
		}
		return nil, fmt.Errorf("vkAllocateMemory(%d bytes): %w", size, vkError(r))
	}
	if err := vkError(vk.BindBufferMemory(b.dev, buf, mem, 0)); err != nil {
		vk.DestroyBuffer(b.dev, buf, nil)
		vk.FreeMemory(b.dev, mem, nil)
		return nil, fmt.Errorf("vkBindBufferMemory: %w", err)
	}
	blk := &block{mem: mem, buf: buf, size: size, kind: p.kind, free: []span{{0, size}}}
	if p.flags&MemHostVisible != 0 {
		var ptr unsafe.Pointer
		if err := vkError(vk.MapMemory(b.dev, mem, 0, vk.DeviceSize(vk.WholeSize), 0, &ptr)); err != nil {
			vk.DestroyBuffer(b.dev, buf, nil)
			vk.FreeMemory(b.dev, mem, nil)
			return nil, fmt.Errorf("vkMapMemory: %w", err)
		}
		blk.host = unsafe.Slice((*byte)(ptr), size)
	}
	p.blocks = append(p.blocks, blk)
	p.reserved += size
	return blk, nil
}

func (a *allocator) freeBlock(p *pool, blk *block) {
	d := a.b.dev
	if blk.host != nil {
		vk.UnmapMemory(d, blk.mem)
		blk.host = nil
	}
	vk.DestroyBuffer(d, blk.buf, nil)
	vk.FreeMemory(d, blk.mem, nil)
	p.reserved -= blk.size
}

func (a *allocator) destroy() {
	for _, p := range a.distinctPools() {
		for _, blk := range p.blocks {
			a.freeBlock(p, blk)
		}
		p.blocks = nil
		p.cache = map[uint64][]allocation{}
		p.cached = 0
	}
}

// vkBuffer is a tensor.Buffer: a suballocation holding n elements.
type vkBuffer struct {
	b        *Backend
	a        allocation
	n        int
	dt       tensor.DType
	bytes    uint64
	internal bool
	// lastUse is the serial of the last submission that references the
	// buffer (guarded by Backend.mu).
	lastUse  uint64
	released bool // guarded by Backend.relMu
}

func (v *vkBuffer) Len() int            { return v.n }
func (v *vkBuffer) DType() tensor.DType { return v.dt }

// Release returns the buffer to the backend's pool once every submission
// that used it has completed. It is safe to call from any goroutine, and
// more than once.
func (v *vkBuffer) Release() {
	b := v.b
	b.relMu.Lock()
	if v.released {
		b.relMu.Unlock()
		return
	}
	v.released = true
	b.released = append(b.released, v)
	b.relMu.Unlock()
	if !v.internal {
		b.liveBytes.Add(-int64(v.bytes))
		b.mem.pools[v.a.blk.kind].live.Add(-int64(v.bytes))
	}
}

func (v *vkBuffer) isReleased() bool {
	v.b.relMu.Lock()
	defer v.b.relMu.Unlock()
	return v.released
}

// hostBytes is the mapped memory of the buffer (nil when not mapped).
func (v *vkBuffer) hostBytes() []byte {
	if v.a.blk.host == nil {
		return nil
	}
	return v.a.blk.host[v.a.off : v.a.off+v.bytes : v.a.off+v.bytes]
}

// inUse reports whether recorded or in-flight work references the buffer.
func (b *Backend) inUse(v *vkBuffer) bool { return v.lastUse > b.completed }

// drainReleases moves released buffers to the pool, or to the deferred
// list when a pending submission still uses them. Called with b.mu held.
func (b *Backend) drainReleases() {
	b.relMu.Lock()
	rel := b.released
	b.released = nil
	b.relMu.Unlock()
	if b.closed {
		return
	}
	for _, v := range rel {
		if b.inUse(v) {
			b.deferred = append(b.deferred, deferredFree{v.lastUse, v})
			continue
		}
		b.mem.release(v.a)
	}
	kept := b.deferred[:0]
	for _, d := range b.deferred {
		if d.serial <= b.completed {
			b.mem.release(d.buf.a)
			continue
		}
		kept = append(kept, d)
	}
	b.deferred = kept
}

// allocInternal allocates a backend-owned buffer (not counted in
// LiveBytes). Release it with Release; reuse waits for the fence.
func (b *Backend) allocInternal(nbytes uint64, kind memKind) (*vkBuffer, error) {
	al, err := b.allocRetry(nbytes, kind)
	if err != nil {
		return nil, err
	}
	return &vkBuffer{b: b, a: al, n: int(nbytes / 4), dt: tensor.Float32, bytes: nbytes, internal: true}, nil
}

// allocRetry allocates device memory. Tensors dropped without Release are
// only returned by garbage-collector cleanups, and the Go heap does not see
// device memory, so before the pool grows past gcTarget (twice the bytes
// live after the last collection) the backend collects: it waits for
// pending work, runs the garbage collector and takes back what the cleanups
// released. On out-of-memory it collects and retries once.
func (b *Backend) allocRetry(nbytes uint64, kind memKind) (allocation, error) {
	b.drainReleases()
	if al, ok := b.mem.reuse(nbytes, kind); ok {
		return al, nil
	}
	if b.mem.reservedBytes()+nbytes > b.gcTarget {
		b.collect()
		if al, ok := b.mem.reuse(nbytes, kind); ok {
			return al, nil
		}
	}
	al, err := b.mem.grow(nbytes, kind)
	if errors.Is(err, errOOM) {
		// Collect, return every pool's cached memory and retry once.
		b.collect()
		for _, p := range b.mem.distinctPools() {
			b.mem.trim(p)
		}
		al, err = b.mem.alloc(nbytes, kind)
	}
	switch {
	case errors.Is(err, errOOM):
		return al, fmt.Errorf("vulkan: out of device memory on %s: allocating %d bytes for the %s pool (%s; live %d bytes, reserved %d bytes)",
			b.desc, nbytes, kind, b.mem.limitDesc(kind), b.liveBytes.Load(), b.mem.reservedBytes())
	case err != nil:
		return al, fmt.Errorf("on %s: %w", b.desc, err)
	}
	return al, nil
}

// collect finishes pending work, runs the garbage collector, gives its
// cleanups a moment to release buffers, and moves those to the pool.
func (b *Backend) collect() {
	if err := b.flush(); err == nil {
		b.waitAll()
	}
	runtime.GC()
	// Cleanups run on their own goroutine: wait until they stop arriving.
	prev := -1
	for i := 0; i < 50; i++ {
		b.relMu.Lock()
		n := len(b.released)
		b.relMu.Unlock()
		if n == prev {
			break
		}
		prev = n
		time.Sleep(time.Millisecond)
	}
	b.drainReleases()
	b.stats.Collections++
	b.gcTarget = max(b.gcMin, 2*uint64(max(b.liveBytes.Load(), 0)))
}

// Alloc returns a zero-filled buffer of n elements.
func (b *Backend) Alloc(n int, dt tensor.DType) (tensor.Buffer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("vulkan: Alloc of %d elements", n)
	}
	nbytes := uint64(n) * uint64(dt.Size())
	if limit := uint64(b.info.Limits.MaxStorageBufferRange); nbytes > limit {
		return nil, fmt.Errorf("vulkan: tensor of %d elements (%d bytes) exceeds maxStorageBufferRange of %d bytes on %s", n, nbytes, limit, b.desc)
	}
	kind := kindDevice
	if b.allocPool == tensor.PoolPersistent {
		kind = kindPersistent
	}
	al, err := b.allocRetry(nbytes, kind)
	if err != nil {
		return nil, fmt.Errorf("vulkan: Alloc(%d %s): %w", n, dt, err)
	}
	v := &vkBuffer{b: b, a: al, n: n, dt: dt, bytes: nbytes}
	if err := b.zero(v); err != nil {
		b.mem.release(al)
		return nil, err
	}
	b.liveBytes.Add(int64(nbytes))
	b.mem.pools[kind].live.Add(int64(nbytes))
	return v, nil
}

// zero clears a fresh buffer: through the mapping when tensors are
// host-visible, else with vkCmdFillBuffer in the stream.
func (b *Backend) zero(v *vkBuffer) error {
	if b.mem.direct {
		clear(v.hostBytes())
		return nil
	}
	return b.fill(v, 0, alignUp(v.bytes, 4), 0)
}
