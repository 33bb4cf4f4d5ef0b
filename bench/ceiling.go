package bench

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/vulkan"
)

// Ceilings are what one device can do at best, measured in this process:
// the figures every benchmark is read against.
type Ceilings struct {
	Backend string `json:"backend"`
	Device  string `json:"device"`
	// FMAGFLOPS is the FMA probe's rate.
	FMAGFLOPS float64 `json:"fma_gflops"`
	// CopyGBps is the better of the scalar and vec4 copy probes (bytes
	// read plus bytes written per second).
	CopyGBps       float64 `json:"copy_gbps"`
	CopyScalarGBps float64 `json:"copy_scalar_gbps"`
	CopyVec4GBps   float64 `json:"copy_vec4_gbps,omitempty"`
	// DispatchUs is the cost of one empty dispatch among independent ones
	// in a submit; ChainedDispatchUs with a barrier before each (a chain
	// of dependent ops). On the CPU backend: one call of a one-element op.
	DispatchUs        float64 `json:"dispatch_us"`
	ChainedDispatchUs float64 `json:"chained_dispatch_us"`
	// SubmitUs is one submit and fence wait with one empty dispatch (on
	// the CPU backend: Sync).
	SubmitUs float64 `json:"submit_us"`
	// LoopLoadGFloats and LoopLoad4GFloats are the load probe's rates
	// (scalar and vec4 loads inside a loop, billions of floats per
	// second): what bounds a GEMM's inner loop on drivers that load lane
	// by lane (llvmpipe). Vulkan only.
	LoopLoadGFloats  float64 `json:"loop_load_gfloats,omitempty"`
	LoopLoad4GFloats float64 `json:"loop_load4_gfloats,omitempty"`
	// CPUBound reports a device that computes on this host's CPU (the cpu
	// backend, or a Vulkan device of type CPU such as lavapipe). Its
	// figures follow the cores the process gets, so on such devices the %
	// of ceiling compares rates per CPU-second of the process (the
	// ...PerCPU fields), which a busy machine does not distort.
	CPUBound        bool    `json:"cpu_bound"`
	FMAGFLOPSPerCPU float64 `json:"fma_gflops_per_cpu_second,omitempty"`
	CopyGBpsPerCPU  float64 `json:"copy_gbps_per_cpu_second,omitempty"`
	HostFMAGFLOPS   float64 `json:"host_fma_gflops,omitempty"`
	HostFMAPerCPU   float64 `json:"host_fma_gflops_per_cpu_second,omitempty"`
	HostFMAMethod   string  `json:"host_fma_method,omitempty"`
	// Method says how the figures were measured.
	Method string `json:"method"`
}

// prober is implemented by backends with device-side ceiling probes
// (*vulkan.Backend).
type prober interface {
	ProbeFMA(invocations, iters int) (vulkan.ProbeResult, error)
	ProbeCopy(n, reps int, vec4 bool) (vulkan.ProbeResult, error)
	ProbeDispatch(n int, chained bool) (vulkan.ProbeResult, error)
	ProbeSubmit(reps int) (vulkan.ProbeResult, error)
	ProbeLoad(invocations, iters int, vec4 bool) (vulkan.ProbeResult, error)
}

// probeTime is how long one calibrated probe runs.
const probeTime = 100 * time.Millisecond

// copyElems is the size of the copy probes: 16M float32 (64 MiB), well
// beyond the caches and within the 128 MiB every Vulkan device binds.
const copyElems = 16 << 20

var ceilCache struct {
	mu sync.Mutex
	m  map[tensor.Backend]Ceilings
}

// CeilingsFor returns the ceilings of a backend, measured on first use
// and cached for the process.
func CeilingsFor(be tensor.Backend) (Ceilings, error) {
	ceilCache.mu.Lock()
	defer ceilCache.mu.Unlock()
	if c, ok := ceilCache.m[be]; ok {
		return c, nil
	}
	c, err := MeasureCeilings(be)
	if err != nil {
		return c, err
	}
	if ceilCache.m == nil {
		ceilCache.m = map[tensor.Backend]Ceilings{}
	}
	ceilCache.m[be] = c
	return c, nil
}

// best runs f reps times and returns the highest rate.
func best(reps int, f func() (work float64, d time.Duration, err error)) (float64, error) {
	r, _, err := bestCPU(reps, f)
	return r, err
}

// bestCPU runs f reps times and returns the highest rate per wall second
// and the highest per CPU-second of this process (0 where CPU time is not
// measured).
func bestCPU(reps int, f func() (work float64, d time.Duration, err error)) (wall, perCPU float64, err error) {
	for range reps {
		c0 := processCPU()
		w, d, err := f()
		if err != nil {
			return 0, 0, err
		}
		if d > 0 {
			wall = max(wall, w/d.Seconds())
		}
		if c := processCPU() - c0; c > 0 {
			perCPU = max(perCPU, w/c.Seconds())
		}
	}
	return wall, perCPU, nil
}

// cpuDevice reports whether a backend computes on this host's CPU.
func cpuDevice(be tensor.Backend) bool {
	if be.Name() == "cpu" {
		return true
	}
	if vb, ok := be.(interface{ Info() vulkan.DeviceInfo }); ok {
		return vb.Info().Type == "CPU"
	}
	return false
}

// measureHostFMA measures the host's FMA peak on GOMAXPROCS goroutines.
func measureHostFMA(c *Ceilings) {
	name, perTrip, run := hostFMA()
	procs := runtime.GOMAXPROCS(0)
	var mu sync.Mutex
	exec := func(iters int) time.Duration {
		return parallel(func(i, _ int) {
			v := run(iters)
			mu.Lock()
			sink += float64(v)
			mu.Unlock()
		})
	}
	iters, _ := calibrate(1<<12, 1<<30, func(n int) (time.Duration, error) { return exec(n), nil })
	wall, perCPU, _ := bestCPU(3, func() (float64, time.Duration, error) {
		return float64(perTrip) * float64(iters) * float64(procs), exec(iters), nil
	})
	c.HostFMAGFLOPS, c.HostFMAPerCPU, c.HostFMAMethod = wall/1e9, perCPU/1e9, name+" on GOMAXPROCS goroutines"
}

// calibrate doubles n from n0 until f(n) takes at least probeTime (or n
// reaches limit) and returns that n.
func calibrate(n0, limit int, f func(n int) (time.Duration, error)) (int, error) {
	n := n0
	for {
		d, err := f(n)
		if err != nil {
			return 0, err
		}
		if d >= probeTime || 2*n > limit {
			return n, nil
		}
		n *= 2
	}
}

// MeasureCeilings measures a backend's ceilings now (about a second).
func MeasureCeilings(be tensor.Backend) (Ceilings, error) {
	c := Ceilings{Backend: be.Name(), Device: be.Caps().Device, CPUBound: cpuDevice(be)}
	var err error
	if p, ok := be.(prober); ok {
		err = measureProbes(p, &c)
	} else {
		err = measureHost(be, &c)
	}
	if c.CPUBound && c.HostFMAGFLOPS == 0 {
		measureHostFMA(&c)
	}
	if err != nil {
		return c, fmt.Errorf("bench: ceilings of %s (%s): %w", c.Backend, c.Device, err)
	}
	c.CopyGBps = max(c.CopyScalarGBps, c.CopyVec4GBps)
	return c, nil
}

func measureProbes(p prober, c *Ceilings) error {
	c.Method = "vulkan probe shaders (probe_fma, probe_copy[4], probe_load[4], probe_empty), wall clock per submit, best of 3"
	// Warm every pipeline (llvmpipe compiles at the first dispatch).
	if _, err := p.ProbeFMA(64, 1); err != nil {
		return err
	}
	for _, v4 := range []bool{false, true} {
		if _, err := p.ProbeCopy(4096, 1, v4); err != nil {
			return err
		}
	}
	if _, err := p.ProbeSubmit(2); err != nil {
		return err
	}
	// Grow the invocations first (up to 4M, 64 MiB of output), then the
	// loop trips, which drivers may bound (llvmpipe stops an invocation
	// after 65535 loop iterations; ProbeFMA refuses more).
	iters := 4096
	inv, err := calibrate(1<<12, 1<<22, func(n int) (time.Duration, error) {
		r, err := p.ProbeFMA(n, iters)
		return r.Elapsed, err
	})
	if err != nil {
		return err
	}
	for {
		r, err := p.ProbeFMA(inv, 2*iters)
		if err != nil || r.Elapsed >= probeTime {
			if err == nil {
				iters *= 2
			}
			break
		}
		iters *= 2
	}
	fma := func() (float64, time.Duration, error) {
		r, err := p.ProbeFMA(inv, iters)
		return r.Work, r.Elapsed, err
	}
	gf, gfCPU, err := bestCPU(3, fma)
	if err != nil {
		return err
	}
	c.FMAGFLOPS, c.FMAGFLOPSPerCPU = gf/1e9, gfCPU/1e9
	for _, v4 := range []bool{false, true} {
		r, rc, err := bestCPU(3, func() (float64, time.Duration, error) {
			r, err := p.ProbeCopy(copyElems, 4, v4)
			return r.Work, r.Elapsed, err
		})
		if err != nil {
			return err
		}
		if v4 {
			c.CopyVec4GBps = r / 1e9
		} else {
			c.CopyScalarGBps = r / 1e9
		}
		c.CopyGBpsPerCPU = max(c.CopyGBpsPerCPU, rc/1e9)
	}
	for _, v4 := range []bool{false, true} {
		if _, err := p.ProbeLoad(64, 1, v4); err != nil {
			return err
		}
		n, err := calibrate(1<<10, 1<<22, func(n int) (time.Duration, error) {
			r, err := p.ProbeLoad(n, 1024, v4)
			return r.Elapsed, err
		})
		if err != nil {
			return err
		}
		r, err := best(3, func() (float64, time.Duration, error) {
			r, err := p.ProbeLoad(n, 1024, v4)
			return r.Work, r.Elapsed, err
		})
		if err != nil {
			return err
		}
		if v4 {
			c.LoopLoad4GFloats = r / 1e9
		} else {
			c.LoopLoadGFloats = r / 1e9
		}
	}
	sub, err := best(3, func() (float64, time.Duration, error) {
		r, err := p.ProbeSubmit(50)
		return r.Work, r.Elapsed, err
	})
	if err != nil {
		return err
	}
	c.SubmitUs = 1e6 / sub
	// Per-dispatch cost: the time of n dispatches in one submit, less the
	// submit itself, over n.
	const n = 256
	for _, chained := range []bool{false, true} {
		rate, err := best(3, func() (float64, time.Duration, error) {
			r, err := p.ProbeDispatch(n, chained)
			return r.Work, max(r.Elapsed-time.Duration(c.SubmitUs*1e3), time.Microsecond), err
		})
		if err != nil {
			return err
		}
		if chained {
			c.ChainedDispatchUs = 1e6 / rate
		} else {
			c.DispatchUs = 1e6 / rate
		}
	}
	return nil
}

// mulAddTile is the CPU backend's inner loop without its memory traffic:
// a 2x4 register tile of float32 accumulators updated with a
// multiply and an add per element (Go on amd64 below GOAMD64=v3 does not
// fuse them, and math.FMA there spills around its fallback call), fed from
// 64 values that stay in L1. 16 FLOPs per trip.
func mulAddTile(iters int, ab *[64]float32) float32 {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	for i := range iters {
		o := (i * 6) & 63 &^ 7
		a0, a1 := ab[o], ab[o+1]
		b0, b1, b2, b3 := ab[o+2], ab[o+3], ab[o+4], ab[o+5]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	return c00 + c01 + c02 + c03 + c10 + c11 + c12 + c13
}

// goFMA is the portable host FMA loop: the Go multiply-add tile.
func goFMA() (name string, flopsPerTrip int, run func(iters int) float32) {
	return "Go float32 2x4 multiply-add tile", 16, func(iters int) float32 {
		var ab [64]float32
		for j := range ab {
			ab[j] = float32(j) * 1e-3
		}
		return mulAddTile(iters, &ab)
	}
}

// sink keeps the FMA results alive.
var sink float64

// parallel runs f(i) on GOMAXPROCS goroutines and returns the wall time.
func parallel(f func(i, n int)) time.Duration {
	n := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, n)
		}()
	}
	wg.Wait()
	return time.Since(t0)
}

func measureHost(be tensor.Backend, c *Ceilings) error {
	c.Method = "Go: the host FMA loop (assembly on amd64) and copy() on GOMAXPROCS goroutines, best of 3; op-call and Sync cost"
	measureHostFMA(c)
	c.FMAGFLOPS, c.FMAGFLOPSPerCPU = c.HostFMAGFLOPS, c.HostFMAPerCPU
	src, dst := make([]float32, copyElems), make([]float32, copyElems)
	for i := range src {
		src[i] = float32(i)
	}
	bw, bwCPU, _ := bestCPU(3, func() (float64, time.Duration, error) {
		d := parallel(func(i, n int) {
			lo, hi := i*len(src)/n, (i+1)*len(src)/n
			copy(dst[lo:hi], src[lo:hi])
		})
		return 8 * copyElems, d, nil
	})
	c.CopyScalarGBps, c.CopyGBpsPerCPU = bw/1e9, bwCPU/1e9
	// Op-call overhead: a one-element ReLU through the backend interface.
	var x, out *tensor.Tensor
	if err := tensor.Try(func() { x, out = tensor.Ones(be, 1), tensor.Zeros(be, 1) }); err != nil {
		return err
	}
	defer x.Release()
	defer out.Release()
	const calls = 2000
	rate, err := best(3, func() (float64, time.Duration, error) {
		t0 := time.Now()
		for range calls {
			if err := be.Unary(tensor.OpRelu, out.View(), x.View(), 0, 0); err != nil {
				return 0, 0, err
			}
		}
		return calls, time.Since(t0), nil
	})
	if err != nil {
		return err
	}
	c.DispatchUs = 1e6 / rate
	c.ChainedDispatchUs = c.DispatchUs
	rate, err = best(3, func() (float64, time.Duration, error) {
		t0 := time.Now()
		for range calls {
			if err := be.Sync(); err != nil {
				return 0, 0, err
			}
		}
		return calls, time.Since(t0), nil
	})
	if err != nil {
		return err
	}
	c.SubmitUs = 1e6 / rate
	return nil
}
