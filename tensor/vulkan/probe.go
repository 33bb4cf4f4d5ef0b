//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"time"
)

type pcProbe struct {
	A, B uint32
	C, D float32
}

// probeStart flushes and waits for earlier work so that a probe times only
// its own commands. Called with b.mu held.
func (b *Backend) probeStart() error {
	return b.syncLocked()
}

// ProbeFMA runs the FMA-bound probe_fma kernel on invocations invocations
// (rounded up to whole workgroups) with iters loop trips each, in one
// submit, and waits for it. Work is in FLOPs (64 per invocation and trip).
// The first call on a backend also compiles the pipeline (slow on
// llvmpipe): warm it with a small call before timing. iters beyond the
// driver's loop limit per invocation (llvmpipe: 65535) are refused, since
// the driver would silently cut the loop short.
func (b *Backend) ProbeFMA(invocations, iters int) (ProbeResult, error) {
	if invocations <= 0 || iters <= 0 || invocations > 1<<30 || iters > 1<<30 {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeFMA: invalid sizes invocations=%d iters=%d", invocations, iters)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkTrips("ProbeFMA", uint64(iters)); err != nil {
		return ProbeResult{}, err
	}
	if err := b.probeStart(); err != nil {
		return ProbeResult{}, err
	}
	k, err := b.kernel("probe_fma", nil)
	if err != nil {
		return ProbeResult{}, err
	}
	out, err := b.allocInternal(uint64(invocations)*16, kindDevice)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeFMA: %w", err)
	}
	defer out.Release()
	g, err := b.grid1(uint64(invocations), k)
	if err != nil {
		return ProbeResult{}, err
	}
	t0 := time.Now()
	if err := b.dispatch(k, []arg{bufArg(out)}, pcProbe{A: uint32(iters), B: uint32(invocations), C: 1}, g); err != nil {
		return ProbeResult{}, err
	}
	if err := b.syncLocked(); err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{Work: 64 * float64(invocations) * float64(iters), Elapsed: time.Since(t0)}, nil
}

// ProbeCopy copies n float32 values between two device buffers reps times
// with the probe_copy kernel (probe_copy4, one vec4 per invocation, when
// vec4 is set; n must then be a multiple of 4), in one submit, and waits.
// Work is in bytes read plus bytes written (8*n per rep).
func (b *Backend) ProbeCopy(n, reps int, vec4 bool) (ProbeResult, error) {
	maxN := int(b.info.Limits.MaxStorageBufferRange / 4)
	if n <= 0 || reps <= 0 || n > maxN || (vec4 && n%4 != 0) {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeCopy: invalid sizes n=%d reps=%d vec4=%v (at most %d elements)", n, reps, vec4, maxN)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.probeStart(); err != nil {
		return ProbeResult{}, err
	}
	name, elems := "probe_copy", n
	if vec4 {
		name, elems = "probe_copy4", n/4
	}
	k, err := b.kernel(name, nil)
	if err != nil {
		return ProbeResult{}, err
	}
	src, err := b.allocInternal(uint64(n)*4, kindDevice)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeCopy: %w", err)
	}
	defer src.Release()
	dst, err := b.allocInternal(uint64(n)*4, kindDevice)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeCopy: %w", err)
	}
	defer dst.Release()
	g, err := b.grid1(uint64(elems), k)
	if err != nil {
		return ProbeResult{}, err
	}
	t0 := time.Now()
	for range reps {
		if err := b.dispatch(k, []arg{bufArg(dst), bufArg(src)}, pcProbe{A: uint32(elems)}, g); err != nil {
			return ProbeResult{}, err
		}
	}
	if err := b.syncLocked(); err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{Work: 8 * float64(n) * float64(reps), Elapsed: time.Since(t0)}, nil
}

// ProbeDispatch records n dispatches of the one-invocation probe_empty
// kernel in one submit and waits. When chained, every dispatch writes the
// same buffer, so the stream puts a barrier between consecutive ones (a
// chain of dependent ops); otherwise each gets its own buffer and no
// barrier. Work is n (dispatches); Elapsed includes one submit and fence
// wait, which ProbeSubmit measures on its own. n is capped by the stream's
// dispatch bound per submit.
func (b *Backend) ProbeDispatch(n int, chained bool) (ProbeResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= 0 || n > b.maxDispatches {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeDispatch: n=%d outside [1, %d] (dispatches per submit)", n, b.maxDispatches)
	}
	if err := b.probeStart(); err != nil {
		return ProbeResult{}, err
	}
	k, err := b.kernel("probe_empty", nil)
	if err != nil {
		return ProbeResult{}, err
	}
	nbuf := n
	if chained {
		nbuf = 1
	}
	bufs := make([]*vkBuffer, nbuf)
	for i := range bufs {
		if bufs[i], err = b.allocInternal(16, kindDevice); err != nil {
			return ProbeResult{}, fmt.Errorf("vulkan: ProbeDispatch: %w", err)
		}
		defer bufs[i].Release()
	}
	t0 := time.Now()
	for i := range n {
		if err := b.dispatch(k, []arg{bufArg(bufs[i%nbuf])}, pcProbe{}, [3]uint32{1, 1, 1}); err != nil {
			return ProbeResult{}, err
		}
	}
	if err := b.syncLocked(); err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{Work: float64(n), Elapsed: time.Since(t0)}, nil
}

// ProbeSubmit measures reps rounds of one empty dispatch, a submit and a
// fence wait (the fixed cost of every host read or Sync). Work is reps.
func (b *Backend) ProbeSubmit(reps int) (ProbeResult, error) {
	if reps <= 0 {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeSubmit: reps=%d", reps)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.probeStart(); err != nil {
		return ProbeResult{}, err
	}
	k, err := b.kernel("probe_empty", nil)
	if err != nil {
		return ProbeResult{}, err
	}
	buf, err := b.allocInternal(16, kindDevice)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeSubmit: %w", err)
	}
	defer buf.Release()
	t0 := time.Now()
	for range reps {
		if err := b.dispatch(k, []arg{bufArg(buf)}, pcProbe{}, [3]uint32{1, 1, 1}); err != nil {
			return ProbeResult{}, err
		}
		if err := b.syncLocked(); err != nil {
			return ProbeResult{}, err
		}
	}
	return ProbeResult{Work: float64(reps), Elapsed: time.Since(t0)}, nil
}

// ProbeLoad runs the in-loop load probe (probe_load, or probe_load4 with
// vec4 loads): invocations invocations each load iters elements of a
// 64 KiB buffer (it stays in cache) inside a loop, in one submit. Work is
// in floats loaded. On drivers that load storage buffers lane by lane
// (llvmpipe) this is what bounds a GEMM's inner loop. iters beyond the
// driver's loop limit are refused.
func (b *Backend) ProbeLoad(invocations, iters int, vec4 bool) (ProbeResult, error) {
	if invocations <= 0 || iters <= 0 || invocations > 1<<26 || iters > 1<<30 {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeLoad: invalid sizes invocations=%d iters=%d", invocations, iters)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkTrips("ProbeLoad", uint64(iters)); err != nil {
		return ProbeResult{}, err
	}
	if err := b.probeStart(); err != nil {
		return ProbeResult{}, err
	}
	name, width := "probe_load", 1
	if vec4 {
		name, width = "probe_load4", 4
	}
	k, err := b.kernel(name, nil)
	if err != nil {
		return ProbeResult{}, err
	}
	const srcElems = 4096 // a power of two: addresses wrap with a mask
	src, err := b.allocInternal(uint64(srcElems*width)*4, kindDevice)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeLoad: %w", err)
	}
	defer src.Release()
	out, err := b.allocInternal(uint64(invocations*width)*4, kindDevice)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("vulkan: ProbeLoad: %w", err)
	}
	defer out.Release()
	g, err := b.grid1(uint64(invocations), k)
	if err != nil {
		return ProbeResult{}, err
	}
	pc := struct{ Iters, N, Mask, Pad uint32 }{uint32(iters), uint32(invocations), srcElems - 1, 0}
	t0 := time.Now()
	if err := b.dispatch(k, []arg{bufArg(out), bufArg(src)}, pc, g); err != nil {
		return ProbeResult{}, err
	}
	if err := b.syncLocked(); err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{Work: float64(invocations) * float64(iters) * float64(width), Elapsed: time.Since(t0)}, nil
}
