//go:build cgo && linux && !android

package vulkan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/shaders"
	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// TestRegisteredAndPreferred checks the registry entry and that Best picks
// the Vulkan backend over the CPU when a GPU exists, and the CPU backend
// when the only device runs on the host CPU (lavapipe).
func TestRegisteredAndPreferred(t *testing.T) {
	b := testBackend(t)
	t.Setenv(tensor.EnvBackend, "")
	best, notices, err := tensor.Best()
	if err != nil {
		t.Fatal(err)
	}
	c := b.Caps()
	want := "vulkan"
	if c.HostEmulated {
		want = "cpu"
	}
	if best.Name() != want {
		t.Errorf("Best() = %s (notices %v), want %s (device %s)", best.Name(), notices, want, c.Device)
	}
	if c.HostEmulated != (b.info.Type == "CPU") {
		t.Errorf("HostEmulated = %v for a device of type %s", c.HostEmulated, b.info.Type)
	}
	if !c.Async || c.MaxBufferElems <= 0 || len(c.Ops) != 20 || c.Device == "" {
		t.Errorf("Caps = %+v", c)
	}
}

func TestLoaderMissing(t *testing.T) {
	err := probeLoader("libvulkan-missing-for-test.so.1")
	if err == nil {
		t.Fatal("loading a missing library succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "libvulkan-missing-for-test.so.1") || !strings.Contains(msg, "libvulkan1") || strings.Contains(msg, "\n") {
		t.Errorf("want one line naming the library and the package, got %q", msg)
	}
	if err := probeLoader("libc.so.6"); err == nil || !strings.Contains(err.Error(), "vkGetInstanceProcAddr") {
		t.Errorf("a library without vkGetInstanceProcAddr: %v", err)
	}
}

func TestChooseDevice(t *testing.T) {
	devs := []DeviceInfo{
		{Index: 0, Name: "llvmpipe (LLVM 15)", Type: "CPU", ComputeQueueFamily: 0},
		{Index: 1, Name: "Intel UHD 770", Type: "integrated GPU", ComputeQueueFamily: 0},
		{Index: 2, Name: "NVIDIA RTX 4090", Type: "discrete GPU", ComputeQueueFamily: 2},
		{Index: 3, Name: "Broken GPU", Type: "discrete GPU", ComputeQueueFamily: -1},
	}
	cases := []struct {
		spec, env string
		want      int
		err       string
	}{
		{"", "", 2, ""},
		{"0", "", 0, ""},
		{"llvmpipe", "", 0, ""},
		{"intel", "", 1, ""},
		{"", "1", 1, ""},
		{"", "uhd", 1, ""},
		{"2", "1", 2, ""},
		{"7", "", -1, "out of range"},
		{"radeon", "", -1, "matches no device"},
		{"", "radeon", -1, EnvDevice},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q_%q", c.spec, c.env), func(t *testing.T) {
			t.Setenv(EnvDevice, c.env)
			got, err := chooseDevice(devs, c.spec)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("err = %v, want it to mention %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("chooseDevice = %d, %v; want %d", got, err, c.want)
			}
		})
	}
	t.Setenv(EnvDevice, "")
	if _, err := chooseDevice(nil, ""); !errors.Is(err, tensor.ErrUnavailable) {
		t.Errorf("no devices: %v, want ErrUnavailable", err)
	}
	if _, err := chooseDevice(devs[3:], ""); !errors.Is(err, tensor.ErrUnavailable) || !strings.Contains(err.Error(), "compute queue") {
		t.Errorf("no compute queue: %v", err)
	}
}

func TestSizeClass(t *testing.T) {
	for _, n := range []uint64{1, 255, 256, 257, 4096, 4097, 5000, 1 << 20, 1<<20 + 1, 3<<20 + 7, 1 << 27} {
		c := sizeClass(n)
		if c < n || float64(c) > 1.125*float64(n)+256 {
			t.Errorf("sizeClass(%d) = %d", n, c)
		}
		if sizeClass(c) != c {
			t.Errorf("sizeClass(%d) = %d is not a fixed point", c, sizeClass(c))
		}
	}
}

func TestCollapse(t *testing.T) {
	cases := []struct {
		shape     []int
		strides   [][]int
		wantShape []int
		wantSt    [][]int
	}{
		{[]int{2, 3, 4}, [][]int{{12, 4, 1}, {12, 4, 1}}, []int{24}, [][]int{{1}, {1}}},
		{[]int{2, 3, 4}, [][]int{{12, 4, 1}, {0, 4, 1}}, []int{2, 12}, [][]int{{12, 1}, {0, 1}}},
		{[]int{2, 1, 4}, [][]int{{4, 4, 1}, {1, 99, 2}}, []int{2, 4}, [][]int{{4, 1}, {1, 2}}},
		{[]int{1, 1}, [][]int{{1, 1}}, []int{1}, [][]int{{0}}},
		{[]int{3, 5}, [][]int{{5, 1}, {1, 3}}, []int{3, 5}, [][]int{{5, 1}, {1, 3}}},
	}
	for _, c := range cases {
		s, st := collapse(c.shape, c.strides)
		if fmt.Sprint(s, st) != fmt.Sprint(c.wantShape, c.wantSt) {
			t.Errorf("collapse(%v, %v) = %v %v, want %v %v", c.shape, c.strides, s, st, c.wantShape, c.wantSt)
		}
	}
}

// TestHighRankCopy exercises ranks above the kernels' six dimensions.
func TestHighRankCopy(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	shape := []int{2, 3, 2, 3, 2, 3, 2, 3}
	perm := []int{7, 0, 6, 1, 5, 2, 4, 3}
	data := make([]float32, tensor.Numel(shape))
	for i := range data {
		data[i] = float32(i)
	}
	got := tensor.Contiguous(tensor.Permute(tensor.FromSlice(b, data, shape...), perm...)).Float32s()
	want := tensor.Contiguous(tensor.Permute(tensor.FromSlice(cb, data, shape...), perm...)).Float32s()
	if err := backendtest.Compare(got, want, 0); err != nil {
		t.Error(err)
	}
}

// TestPushConstantSizes asserts the push-constant struct of every
// embedded shader against the size the shader declares (the manifest) and
// the 128-byte limit; a shader missing from the table fails the test.
func TestPushConstantSizes(t *testing.T) {
	structs := map[string]any{
		"copy": pcCopy{}, "unary": pcUnary{}, "binary": pcBinary{}, "where": pcWhere{},
		"reduce": pcReduce{}, "reduce_argmax": pcReduce{}, "reduce_seq": pcReduce{}, "reduce_seq_argmax": pcReduce{},
		"matmul": pcMatmul{}, "l2norm": pcL2{},
		"conv2d": pcConv{}, "conv2d_bwd_data": pcConv{}, "conv2d_bwd_weight": pcConv{},
		"maxpool": pcPool{}, "maxpool_bwd": pcPool{}, "avgpool": pcPool{}, "avgpool_bwd": pcPool{},
		"bn_stats": pcBNStats{}, "bn_apply": pcBNApply{}, "bn_bwd_stats": pcBNBwdStats{}, "bn_bwd_apply": pcBNBwdApply{},
		"index_select": pcIndex{}, "index_add": pcIndex{}, "adam": pcAdam{}, "sgd": pcSGD{},
		// throughput kernels (kernels.go)
		"mm_bcast_b4n": pcMatmul{}, "mm_bcast_b4k": pcMatmul{}, "mm_bcast_b1": pcMatmul{}, "mm_tiled": pcMatmul{},
		"conv_bcast_fwd": pcConvB{}, "conv_bcast_bwd_data": pcConvB{},
		"conv_bcast_bwd_weight_dy4": pcConvB{}, "conv_bcast_bwd_weight_dy1": pcConvB{}, "conv_pack": pcConvPack{},
		// vec4 fast paths (ops_fast*.go)
		"ew4_unary": pcEW4{}, "ew4_binary": pcEW4{}, "red4_rows": pcRed4{}, "red4_rows_sg": pcRed4{}, "red4_cols": pcRed4{},
		"ew4b_vv": pcEW4B{}, "ew4b_vs": pcEW4B{}, "ew4b_sv": pcEW4B{}, "ew4b_flat_vs": pcEW4B{}, "ew4b_flat_sv": pcEW4B{},
		"adam4": pcAdam{}, "tr4": pcTR4{}, "rowcp4": pcRowCP4{}, "rowcp4_any": pcRowCP4{},
		"bn4_cols": pcBN4{}, "bn4_chan": pcBN4{}, "bn4_apply": pcBN4{}, "bn4_apply_flat": pcBN4{},
		"bn4_bwd_cols": pcBN4{}, "bn4_bwd_chan": pcBN4{}, "bn4_bwd_apply": pcBN4{}, "bn4_bwd_apply_flat": pcBN4{},
		// ceiling probes (probe.go)
		"probe_copy": pcProbe{}, "probe_copy4": pcProbe{}, "probe_empty": pcProbe{}, "probe_fma": pcProbe{},
		"probe_load": pcProbe{}, "probe_load4": pcProbe{},
	}
	for _, name := range shaders.Names() {
		if _, ok := structs[name]; !ok {
			t.Errorf("shader %s has no entry in this table", name)
		}
	}
	for name, s := range structs {
		_, meta, err := shaders.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if sz := binary.Size(s); sz != meta.PushSize || sz > pushBytes {
			t.Errorf("%s: %T is %d bytes, shader declares %d (limit %d)", name, s, sz, meta.PushSize, pushBytes)
		}
	}
}

// TestHazardBarriers checks that independent dispatches share a barrier
// epoch and dependent ones get exactly one barrier.
func TestHazardBarriers(t *testing.T) {
	b := testBackend(t)
	x, y := tensor.Ones(b, 1000), tensor.Full(b, 2, 1000)
	_ = tensor.Add(x, y) // warm the pipeline
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	s0 := b.Stats()
	c := tensor.Add(x, y) // reads x, y: no hazard at the start of a frame
	d := tensor.Mul(x, y) // reads x, y again, writes a new buffer: no hazard
	s1 := b.Stats()
	e := tensor.Add(c, d) // reads what the previous two wrote: one barrier
	s2 := b.Stats()
	if got := s1.Barriers - s0.Barriers; got != 0 {
		t.Errorf("independent dispatches recorded %d barriers, want 0", got)
	}
	if got := s2.Barriers - s1.Barriers; got != 1 {
		t.Errorf("read-after-write recorded %d barriers, want 1", got)
	}
	// Write-after-read: update c in place while e's producer (recorded in
	// this barrier epoch) reads it.
	s3 := b.Stats()
	tensor.AdamUpdate(c, y, tensor.Zeros(b, 1000), tensor.Zeros(b, 1000), tensor.AdamParams{LR: 0.1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, Step: 1})
	if got := b.Stats().Barriers - s3.Barriers; got != 1 {
		t.Errorf("write-after-read recorded %d barriers, want 1", got)
	}
	if got := e.Float32s(); got[0] != 5 || got[999] != 5 {
		t.Errorf("(1+2)+(1*2) = %v, want 5 (computed before c was overwritten)", got[0])
	}
	if v := c.Float32s()[0]; math.Abs(float64(v-2.9)) > 1e-5 {
		t.Errorf("Adam step of 3 with gradient 2 and lr 0.1: %v, want 2.9", v)
	}
}

// TestDispatchBound checks that the bound on dispatches per submit splits
// long recordings and that results stay correct across the split.
func TestDispatchBound(t *testing.T) {
	b := freshBackend(t)
	b.SetMaxDispatches(4)
	x := tensor.Ones(b, 100)
	s0 := b.Stats()
	for i := 0; i < 10; i++ {
		x = tensor.AddScalar(x, 1)
	}
	s1 := b.Stats()
	if got := s1.Submits - s0.Submits; got != 2 {
		t.Errorf("10 dispatches with a bound of 4 made %d submits before the read, want 2", got)
	}
	if v := x.Float32s(); v[0] != 11 || v[99] != 11 {
		t.Errorf("got %v, want 11", v[0])
	}
	// Raising the bound after the frames were made: their descriptor pools
	// are smaller than the new bound, so they submit when full.
	b.SetMaxDispatches(1000)
	for i := 0; i < 150; i++ {
		x = tensor.AddScalar(x, 1)
	}
	if v := x.Float32s(); v[0] != 161 {
		t.Errorf("got %v, want 161", v[0])
	}
}

// TestReleaseWaitsForFence releases a buffer that recorded work still
// reads: its memory must not be handed out again before the fence.
func TestReleaseWaitsForFence(t *testing.T) {
	b := freshBackend(t)
	x := tensor.Full(b, 3, 4096)
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	y := tensor.Scale(x, 2) // recorded, not submitted
	xa := x.Buffer().(*vkBuffer).a
	x.Release()
	z := tensor.Zeros(b, 4096) // same size class, would reuse x's memory
	za := z.Buffer().(*vkBuffer).a
	if za.blk == xa.blk && za.off == xa.off {
		t.Fatal("a released buffer's memory was reused while recorded work still reads it")
	}
	if v := y.Float32s(); v[0] != 6 || v[4095] != 6 {
		t.Errorf("got %v, want 6", v[0])
	}
	// After the fence the memory comes back through the pool.
	w := tensor.Zeros(b, 4096)
	wa := w.Buffer().(*vkBuffer).a
	if wa.blk != xa.blk || wa.off != xa.off {
		t.Errorf("memory not reused after the fence: got %d, want %d", wa.off, xa.off)
	}
	if v := w.Float32s(); v[0] != 0 || v[4095] != 0 {
		t.Error("a reused buffer is not zero-filled")
	}
}

// TestConcurrentRelease releases buffers from other goroutines (as garbage
// collector cleanups do) while ops are recorded.
func TestConcurrentRelease(t *testing.T) {
	b := freshBackend(t)
	base := b.LiveBytes()
	ch := make(chan *tensor.Tensor, 64)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				t.Release()
				t.Release() // twice is a no-op
			}
		}()
	}
	acc := tensor.Zeros(b, 256)
	for i := 0; i < 200; i++ {
		x := tensor.Full(b, 1, 256)
		next := tensor.Add(acc, x)
		ch <- x
		ch <- acc
		acc = next
	}
	close(ch)
	wg.Wait()
	if v := acc.Float32s(); v[0] != 200 {
		t.Errorf("sum = %v, want 200", v[0])
	}
	acc.Release()
	if got := settle(b, base); got != base {
		t.Errorf("live bytes %d, want %d", got, base)
	}
}

// TestAllocationLimits checks the errors for a tensor larger than
// maxStorageBufferRange and for exhausted device memory (with recovery).
func TestAllocationLimits(t *testing.T) {
	b := freshBackend(t)
	rng := int(b.info.Limits.MaxStorageBufferRange)
	_, err := b.Alloc(rng/4+1, tensor.Float32)
	if err == nil || !strings.Contains(err.Error(), "maxStorageBufferRange") || !strings.Contains(err.Error(), b.info.Name) ||
		!strings.Contains(err.Error(), fmt.Sprint(rng+4)) {
		t.Errorf("oversized tensor: %v", err)
	}
	if oe := tensor.Try(func() { tensor.Zeros(b, rng/4+1) }); oe == nil {
		t.Error("tensor.Zeros of an oversized tensor did not fail")
	}

	b.mu.Lock()
	b.mem.limit = b.mem.reservedBytes() + 8<<20 // room for one more small block
	b.mem.blockSize = 4 << 20
	b.mu.Unlock()
	// fill allocates 4 MiB tensors until the limit refuses one and drops
	// them all (without Release) when it returns.
	fill := func() int {
		var held []*tensor.Tensor
		for {
			var x *tensor.Tensor
			err := tensor.Try(func() { x = tensor.Zeros(b, 1<<20) })
			if err != nil {
				if !strings.Contains(err.Error(), "out of device memory") || !strings.Contains(err.Error(), b.info.Name) || !strings.Contains(err.Error(), "4194304 bytes") {
					t.Errorf("out-of-memory error: %v", err)
				}
				return len(held)
			}
			held = append(held, x)
			if len(held) > 64 {
				t.Fatal("the memory limit was not enforced")
			}
		}
	}
	if n := fill(); n == 0 {
		t.Fatal("no allocation fit under the limit")
	}
	b.mu.Lock()
	reserved, limit := b.mem.reservedBytes(), b.mem.limit
	b.mu.Unlock()
	if reserved > limit {
		t.Errorf("reserved %d bytes under a limit of %d", reserved, limit)
	}
	// The retry collects the garbage fill left behind.
	if err := tensor.Try(func() { tensor.Zeros(b, 1<<20) }); err != nil {
		t.Errorf("allocation after the tensors became garbage: %v", err)
	}
}

// TestDroppedTensorsAreCollected allocates far more than the pool target in
// tensors that are dropped without Release: the backend must collect them
// instead of growing without bound.
func TestDroppedTensorsAreCollected(t *testing.T) {
	b := freshBackend(t)
	b.mu.Lock()
	b.gcMin, b.gcTarget = 32<<20, 32<<20
	b.mu.Unlock()
	x := tensor.Ones(b, 1<<18)
	for i := 0; i < 300; i++ { // 300 MiB of 1 MiB temporaries
		x = tensor.AddScalar(x, 1)
	}
	if v := x.Float32s(); v[0] != 301 {
		t.Errorf("got %v, want 301", v[0])
	}
	b.mu.Lock()
	reserved := b.mem.reservedBytes()
	b.mu.Unlock()
	if reserved > 3*64<<20 {
		t.Errorf("pool grew to %d bytes for 1 MiB live", reserved)
	}
	if b.Stats().Collections == 0 {
		t.Error("no collection ran")
	}
}

// TestIndexOutOfRange checks that an out-of-range index is an error at the
// next host read, never a silent wrong answer.
func TestIndexOutOfRange(t *testing.T) {
	b := testBackend(t)
	x := tensor.FromSlice(b, []float32{1, 2, 3, 4, 5, 6}, 3, 2)
	for _, idx := range [][]int32{{0, 3}, {-1}, {2, 1, 7}} {
		err := tensor.Try(func() {
			tensor.IndexSelect(x, 0, tensor.FromInt32(b, idx)).Float32s()
		})
		if err == nil || !strings.Contains(err.Error(), "out of range") || !strings.Contains(err.Error(), "IndexSelect") {
			t.Errorf("IndexSelect with %v: %v", idx, err)
		}
	}
	err := tensor.Try(func() {
		tensor.IndexAdd([]int{3, 2}, 0, tensor.FromInt32(b, []int32{1, 5}), tensor.Ones(b, 2, 2)).Float32s()
	})
	if err == nil || !strings.Contains(err.Error(), "IndexAdd") {
		t.Errorf("IndexAdd out of range: %v", err)
	}
	// The error is reported once; the backend keeps working.
	if got := tensor.IndexSelect(x, 0, tensor.FromInt32(b, []int32{2, 0})).Float32s(); fmt.Sprint(got) != "[5 6 1 2]" {
		t.Errorf("IndexSelect after an error = %v", got)
	}
}

// TestLoopLimitSplits covers work that exceeds llvmpipe's 65535 loop
// iterations per invocation: long reductions, matmuls with a long K, long
// index lists and backward-weight convolutions over many pixels.
func TestLoopLimitSplits(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	const k = 70000
	cases := []struct {
		name string
		run  func(tensor.Backend) *tensor.Tensor
		tol  float64
	}{
		{"matmul-K70000", func(be tensor.Backend) *tensor.Tensor {
			return tensor.MatMul(tensor.Full(be, 0.5, 2, k), tensor.Ones(be, k, 3))
		}, 0},
		{"sum-8M", func(be tensor.Backend) *tensor.Tensor { return tensor.Sum(tensor.Ones(be, 1<<23), false) }, 0},
		{"variance-1M", func(be tensor.Backend) *tensor.Tensor {
			return tensor.Variance(tensor.Arange(be, 0, 1<<20, 1), false)
		}, 1e-8},
		{"argmax-9M", func(be tensor.Backend) *tensor.Tensor {
			x := tensor.Ones(be, 9<<20)
			return tensor.Argmax(tensor.Add(x, tensor.IndexAdd([]int{9 << 20}, 0, tensor.FromInt32(be, []int32{8<<20 + 5}), tensor.Ones(be, 1))), 0, false)
		}, 0},
		{"indexadd-k70000", func(be tensor.Backend) *tensor.Tensor {
			idx := make([]int32, k)
			for i := range idx {
				idx[i] = int32(i % 3)
			}
			return tensor.IndexAdd([]int{3}, 0, tensor.FromInt32(be, idx), tensor.Ones(be, k))
		}, 0},
		{"conv-bwd-weight-NOHOW-72000", func(be tensor.Backend) *tensor.Tensor {
			x := tensor.Full(be, 0.25, 80, 1, 30, 30)
			dy := tensor.Full(be, 0.5, 80, 2, 30, 30)
			return tensor.Conv2DBackwardWeight(x, dy, []int{2, 1, 3, 3}, 1, 1)
		}, 1e-10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.run(b)
			want := c.run(cb)
			if got.DType() == tensor.Int32 {
				if fmt.Sprint(got.Int32s()) != fmt.Sprint(want.Int32s()) {
					t.Errorf("got %v, want %v", got.Int32s(), want.Int32s())
				}
				return
			}
			if err := backendtest.Compare(got.Float32s(), want.Float32s(), c.tol); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestManyWorkgroups launches kernels whose grids exceed 65,535 workgroups
// in one dimension (one workgroup per row or channel).
func TestManyWorkgroups(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rows := int(b.info.Limits.MaxComputeWorkGroupCount[0]) + 1000
	mk := func(be tensor.Backend) *tensor.Tensor {
		d := make([]float32, rows*3)
		for i := range d {
			d[i] = float32(i%7) - 3
		}
		return tensor.FromSlice(be, d, rows, 3)
	}
	if err := backendtest.Compare(tensor.L2Normalize(mk(b), 1e-10).Float32s(), tensor.L2Normalize(mk(cb), 1e-10).Float32s(), 1e-10); err != nil {
		t.Errorf("L2Normalize over %d rows: %v", rows, err)
	}
	if err := backendtest.Compare(tensor.Variance(mk(b), false, 1).Float32s(), tensor.Variance(mk(cb), false, 1).Float32s(), 1e-10); err != nil {
		t.Errorf("Variance over %d rows: %v", rows, err)
	}
}

// TestStagingPath runs the conformance cases and guard regions with direct
// host access disabled, so every upload, download and zero-fill goes
// through staging buffers and transfer commands (the path of discrete GPUs
// without host-visible device memory).
func TestStagingPath(t *testing.T) {
	b := freshBackend(t)
	b.mu.Lock()
	b.mem.direct = false
	b.mu.Unlock()
	var cases []backendtest.Case
	for _, c := range backendtest.Cases() {
		if !strings.HasSuffix(c.Name, "/large") {
			cases = append(cases, c)
		}
	}
	backendtest.RunCases(t, b, cpuBackend(t), cases)
	backendtest.RunGuards(t, b)
	if s := b.Stats(); s.Transfers == 0 {
		t.Error("no transfer commands were recorded")
	}
}

// TestValidationCatchesErrors proves that validation mode reports errors:
// it makes an invalid call and expects a message (then drains it).
func TestValidationCatchesErrors(t *testing.T) {
	b := testBackend(t)
	if !ValidationEnabled() {
		t.Skipf("%s is not set", EnvValidation)
	}
	bci := vk.BufferCreateInfo{SType: vk.StructureTypeBufferCreateInfo, Size: 0, Usage: vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit)}
	var buf vk.Buffer
	b.mu.Lock()
	r := vk.CreateBuffer(b.dev, &bci, nil, &buf) // size 0 is invalid usage
	if r == vk.Success {
		vk.DestroyBuffer(b.dev, buf, nil)
	}
	b.mu.Unlock()
	bci.Free()
	msgs := ValidationMessages()
	if len(msgs) == 0 {
		t.Fatal("the validation layer reported nothing for a zero-size buffer")
	}
	t.Logf("caught: %s", msgs[0])
}

// TestPipelineCreationWaitsOnLavapipe checks the guard against a lavapipe
// race: creating a compute pipeline while a submission executes crashed
// inside vkCreateComputePipelines (Mesa 22.3 compiles on the context its
// queue thread uses, unlocked). On llvmpipe a new pipeline must therefore
// find no submission in flight.
func TestPipelineCreationWaitsOnLavapipe(t *testing.T) {
	b := freshBackend(t)
	if !isLLVMpipe(b.info) {
		t.Skipf("%s is not llvmpipe; the guard only applies there", b.info.Name)
	}
	x := tensor.Ones(b, 256, 256)
	y := tensor.MatMul(x, x) // compiles the matmul pipeline, records work
	b.mu.Lock()
	if err := b.flush(); err != nil {
		b.mu.Unlock()
		t.Fatal(err)
	}
	inFlight := func() int {
		n := 0
		for _, f := range b.frames {
			if f.inFlight {
				n++
			}
		}
		return n
	}
	busy := inFlight()
	waits := b.stats.Waits
	_, err := b.kernel("probe_fma", map[int]uint32{0: 40})
	after, waited := inFlight(), b.stats.Waits-waits
	b.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if busy == 0 {
		t.Fatal("setup: no submission in flight")
	}
	if after != 0 || waited == 0 {
		t.Errorf("a pipeline was created with %d submissions in flight (%d waits)", after, waited)
	}
	// A cached pipeline does not wait.
	y2 := tensor.Add(y, y)
	b.mu.Lock()
	if err := b.flush(); err != nil {
		b.mu.Unlock()
		t.Fatal(err)
	}
	waits = b.stats.Waits
	_, err = b.kernel("probe_fma", map[int]uint32{0: 40})
	waited = b.stats.Waits - waits
	b.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if waited != 0 {
		t.Error("looking up a cached pipeline waited for the device")
	}
	y2.Release()
}
