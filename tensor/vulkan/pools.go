//go:build cgo && linux && !android

package vulkan

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// SetPool makes later allocations come from pool p and returns the pool
// selected before (tensor.Pooler). Tensors of tensor.PoolPersistent live in
// blocks of their own, so the per-step pool can be trimmed and reused
// freely without fragmenting or pinning them. Prefer tensor.Persistent.
// SetPool panics on a pool other than tensor.PoolStep and
// tensor.PoolPersistent.
func (b *Backend) SetPool(p tensor.Pool) tensor.Pool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p != tensor.PoolStep && p != tensor.PoolPersistent {
		panic(fmt.Sprintf("vulkan: SetPool(%v): unknown pool", p))
	}
	prev := b.allocPool
	b.allocPool = p
	return prev
}

// PoolStats describes one memory pool of a backend.
type PoolStats struct {
	// Live is the number of bytes held by tensors allocated from the pool
	// and not yet released.
	Live int64
	// Reserved is the device memory the pool's blocks hold.
	Reserved uint64
	// Cached is the part of Reserved held by released buffers kept for
	// reuse (their submissions have completed).
	Cached uint64
	// Free is the part of Reserved not carved into allocations; Reserved
	// minus Free grows only when released memory is not being reused.
	Free uint64
	// Blocks is the number of device memory allocations of the pool.
	Blocks int
}

// MemStats returns the statistics of pool p. Released buffers whose last
// submission is still running are counted as neither live nor cached. When
// staging buffers share the tensors' memory type (lavapipe, UMA) they come
// from the per-step pool and count in its Reserved bytes.
func (b *Backend) MemStats(p tensor.Pool) PoolStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mem == nil {
		return PoolStats{}
	}
	pl := b.mem.pools[kindOf(p)]
	st := PoolStats{Live: pl.live.Load(), Reserved: pl.reserved, Cached: pl.cached, Blocks: len(pl.blocks)}
	for _, blk := range pl.blocks {
		for _, sp := range blk.free {
			st.Free += sp.size
		}
	}
	return st
}

// Trim returns the memory of released per-step buffers to the device:
// cached allocations go back to their blocks and empty blocks are freed.
// Buffers still used by a submission in flight are returned later.
// Persistent memory is left alone.
func (b *Backend) Trim() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.mem == nil {
		return
	}
	b.drainReleases()
	b.mem.trim(b.mem.pools[kindDevice])
	if h := b.mem.pools[kindHost]; h != b.mem.pools[kindDevice] {
		b.mem.trim(h)
	}
}

// kindOf maps a tensor pool to the memory kind that serves it.
func kindOf(p tensor.Pool) memKind {
	if p == tensor.PoolPersistent {
		return kindPersistent
	}
	return kindDevice
}
