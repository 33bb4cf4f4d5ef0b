//go:build cgo && linux && !android

package vulkan

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// blockOf is the device memory block behind a tensor.
func blockOf(x *tensor.Tensor) *block { return x.Buffer().(*vkBuffer).a.blk }

// settlePool collects garbage until the live bytes of pool p reach want.
func settlePool(b *Backend, p tensor.Pool, want int64) int64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		_ = b.Sync()
		got := b.MemStats(p).Live
		if got <= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPoolsNeverShareBlocks interleaves per-step and persistent
// allocations of several sizes (one larger than a persistent block) and
// checks that no block holds both, that the accounting per pool matches, and
// that every count returns to zero after Release.
func TestPoolsNeverShareBlocks(t *testing.T) {
	b := freshBackend(t)
	const blockSize = 256 << 10
	b.mu.Lock()
	b.mem.blockSize = blockSize // blocks of both pools
	b.mu.Unlock()
	tests := []struct {
		name  string
		elems int
	}{
		{"tiny", 1},
		{"small", 1000},
		{"quarter block", blockSize / 16},
		{"over a block", blockSize/4 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var step, pers []*tensor.Tensor
			for i := 0; i < 3; i++ {
				step = append(step, tensor.Zeros(b, tc.elems))
				tensor.Persistent(b, func() { pers = append(pers, tensor.Ones(b, tc.elems)) })
				step = append(step, tensor.AddScalar(step[len(step)-1], 1)) // an op's output
			}
			stepBlocks, persBlocks := map[*block]bool{}, map[*block]bool{}
			for _, x := range step {
				if k := blockOf(x).kind; k != kindDevice {
					t.Errorf("per-step tensor in a %v block", k)
				}
				stepBlocks[blockOf(x)] = true
			}
			for _, x := range pers {
				if k := blockOf(x).kind; k != kindPersistent {
					t.Errorf("persistent tensor in a %v block", k)
				}
				persBlocks[blockOf(x)] = true
			}
			for blk := range persBlocks {
				if stepBlocks[blk] {
					t.Errorf("a block of %d bytes holds both per-step and persistent tensors", blk.size)
				}
			}
			es := int64(tc.elems * 4)
			if got, want := b.MemStats(tensor.PoolPersistent).Live, 3*es; got != want {
				t.Errorf("persistent live %d bytes, want %d", got, want)
			}
			if got, want := b.MemStats(tensor.PoolStep).Live, 6*es; got != want {
				t.Errorf("per-step live %d bytes, want %d", got, want)
			}
			if got, want := b.LiveBytes(), 9*es; got != want {
				t.Errorf("LiveBytes %d, want %d", got, want)
			}
			if v := pers[0].Float32s(); v[len(v)-1] != 1 {
				t.Errorf("persistent tensor holds %v, want 1", v[len(v)-1])
			}
			for _, x := range append(step, pers...) {
				x.Release()
			}
			for _, p := range []tensor.Pool{tensor.PoolStep, tensor.PoolPersistent} {
				if s := b.MemStats(p); s.Live != 0 {
					t.Errorf("%v pool: %d bytes live after Release", p, s.Live)
				}
			}
			if n := b.LiveBytes(); n != 0 {
				t.Errorf("LiveBytes %d after Release", n)
			}
		})
	}
}

// TestTrainingStepsKeepPools trains a small nn model with Adam: the
// parameters, running statistics and optimizer state must be persistent
// (and the persistent pool untouched after the first step), the per-step
// pool must be reused without growing after warm-up, Trim must free
// per-step memory only, and live bytes must return to zero at the end.
func TestTrainingStepsKeepPools(t *testing.T) {
	b := freshBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	bn := nn.NewBatchNorm2d(b, 4)
	model := nn.NewSequential(nn.NewConv2d(b, rng, 1, 4, 3, 1, 1, true), bn, nn.NewReLU(),
		nn.NewGlobalAvgPool(), nn.NewLinear(b, rng, 4, 3, true))
	opt, err := nn.NewAdam(model.Params(), nn.DefaultAdamConfig())
	if err != nil {
		t.Fatal(err)
	}
	var paramBytes int64
	for _, p := range model.Params() {
		if k := blockOf(p.Var.Value).kind; k != kindPersistent {
			t.Errorf("parameter %s in a %v block", p.Name, k)
		}
		paramBytes += int64(p.Var.Value.Numel() * 4)
	}
	for _, x := range []*tensor.Tensor{bn.RunningMean, bn.RunningVar} {
		if k := blockOf(x).kind; k != kindPersistent {
			t.Errorf("batch-norm running statistics in a %v block", k)
		}
	}
	runningBytes := int64(2 * 4 * 4)
	if got, want := b.MemStats(tensor.PoolPersistent).Live, paramBytes+runningBytes; got != want {
		t.Errorf("persistent live %d bytes after construction, want %d", got, want)
	}

	step := func() {
		t.Helper()
		x := autograd.Const(tensor.RandNormal(b, rng, 0, 1, 8, 1, 6, 6))
		target := tensor.RandNormal(b, rng, 0, 1, 8, 3)
		loss := autograd.Mean(autograd.Square(autograd.Sub(model.Forward(x), autograd.Const(target))), false)
		if err := loss.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(); err != nil {
			t.Fatal(err)
		}
		opt.ZeroGrad()
		// Every temporary of the step is garbage now.
		if live := settlePool(b, tensor.PoolStep, 0); live != 0 {
			t.Fatalf("per-step pool: %d bytes live after the step", live)
		}
	}
	step()
	for _, st := range opt.State() {
		if st.Tensor != nil && blockOf(st.Tensor).kind != kindPersistent {
			t.Errorf("optimizer state %s in a %v block", st.Name, blockOf(st.Tensor).kind)
		}
	}
	wantPers := paramBytes + runningBytes + 2*paramBytes // + exp_avg, exp_avg_sq
	if got := b.MemStats(tensor.PoolPersistent).Live; got != wantPers {
		t.Errorf("persistent live %d bytes after the first step, want %d", got, wantPers)
	}
	step() // warm-up done: every size class of a step has been cached
	pers0, step0 := b.MemStats(tensor.PoolPersistent), b.MemStats(tensor.PoolStep)
	for i := 0; i < 4; i++ {
		step()
	}
	pers1, step1 := b.MemStats(tensor.PoolPersistent), b.MemStats(tensor.PoolStep)
	t.Logf("after warm-up: persistent %+v, per-step %+v; 4 steps later: persistent %+v, per-step %+v", pers0, step0, pers1, step1)
	if pers1 != pers0 {
		t.Errorf("training steps changed the persistent pool: %+v, then %+v", pers0, pers1)
	}
	// Reserved minus Free is the memory carved into allocations: live,
	// cached for reuse, or internal. It grows only when a step does not
	// reuse what earlier steps released.
	carved := func(s PoolStats) uint64 { return s.Reserved - s.Free }
	if carved(step1) > carved(step0) || step1.Blocks > step0.Blocks {
		t.Errorf("per-step pool grew after warm-up: %+v, then %+v", step0, step1)
	}
	if step1.Cached == 0 {
		t.Error("no released per-step memory is cached for reuse")
	}

	b.Trim()
	pers2, step2 := b.MemStats(tensor.PoolPersistent), b.MemStats(tensor.PoolStep)
	if pers2 != pers1 {
		t.Errorf("Trim changed the persistent pool: %+v, then %+v", pers1, pers2)
	}
	if step2.Cached != 0 || carved(step2) != carved(step1)-step1.Cached {
		t.Errorf("Trim did not return the cached per-step memory: %+v, then %+v", step1, step2)
	}
	step() // the model still trains after Trim

	runtime.KeepAlive(model)
	runtime.KeepAlive(opt)
	model, opt, bn = nil, nil, nil
	if live := settle(b, 0); live != 0 {
		t.Errorf("LiveBytes %d after the model and optimizer became garbage", live)
	}
	if live := b.MemStats(tensor.PoolPersistent).Live; live != 0 {
		t.Errorf("persistent pool: %d bytes live after the model became garbage", live)
	}
}

// TestPersistentReleaseWaitsForFence releases a persistent buffer that
// recorded work still reads: its memory must not be handed out before the
// fence, and afterwards only to the persistent pool.
func TestPersistentReleaseWaitsForFence(t *testing.T) {
	b := freshBackend(t)
	persistent := func(f func() *tensor.Tensor) (x *tensor.Tensor) {
		tensor.Persistent(b, func() { x = f() })
		return x
	}
	x := persistent(func() *tensor.Tensor { return tensor.Full(b, 3, 4096) })
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	y := tensor.Scale(x, 2) // recorded, not submitted
	xa := x.Buffer().(*vkBuffer).a
	x.Release()
	same := func(z *tensor.Tensor) bool {
		za := z.Buffer().(*vkBuffer).a
		return za.blk == xa.blk && za.off == xa.off
	}
	if z := persistent(func() *tensor.Tensor { return tensor.Zeros(b, 4096) }); same(z) {
		t.Fatal("a released persistent buffer's memory was reused while recorded work still reads it")
	}
	if v := y.Float32s(); v[0] != 6 || v[4095] != 6 {
		t.Errorf("got %v, want 6", v[0])
	}
	if s := tensor.Zeros(b, 4096); s.Buffer().(*vkBuffer).a.blk == xa.blk {
		t.Error("a per-step tensor got persistent memory")
	}
	if w := persistent(func() *tensor.Tensor { return tensor.Zeros(b, 4096) }); !same(w) {
		t.Error("persistent memory not reused after the fence")
	} else if v := w.Float32s(); v[0] != 0 || v[4095] != 0 {
		t.Error("a reused persistent buffer is not zero-filled")
	}
}
