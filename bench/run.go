package bench

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"    // the oracle
	_ "github.com/vkgrad/vkgrad/tensor/vulkan" // measured when a device opens
)

// Result is one finished benchmark, as the report command writes it.
type Result struct {
	Group   string             `json:"group"`
	Backend string             `json:"backend"`
	Device  string             `json:"device"`
	Name    string             `json:"name"`
	Source  string             `json:"source,omitempty"`
	Iters   int                `json:"iterations"`
	NsPerOp float64            `json:"ns_per_op"`
	Metrics map[string]float64 `json:"metrics"`
	Error   string             `json:"error,omitempty"`
}

var results struct {
	mu   sync.Mutex
	list []Result
}

func record(r Result) {
	results.mu.Lock()
	defer results.mu.Unlock()
	results.list = append(results.list, r)
}

// Results returns every result recorded in this process so far, in order.
func Results() []Result {
	results.mu.Lock()
	defer results.mu.Unlock()
	return append([]Result(nil), results.list...)
}

// OpenBackend opens a backend spec; a backend that does not open is
// skipped by the caller with the error as its log line.
func OpenBackend(spec string) (tensor.Backend, error) { return tensor.Open(spec) }

// metrics turns a spec's cost, its time per op and the process CPU time
// per op (0: not measured) into the reported figures. On CPU-bound
// devices the share of the ceiling compares rates per CPU-second, on
// others wall-clock rates.
func metrics(s Spec, perOp, cpuPerOp time.Duration, c Ceilings) map[string]float64 {
	m := map[string]float64{}
	sec := perOp.Seconds()
	if sec <= 0 {
		return m
	}
	cost := s.Cost()
	if cost.Flops > 0 {
		m["GFLOP/s"] = cost.Flops / sec / 1e9
	}
	if cost.Bytes > 0 {
		m["GB/s"] = cost.Bytes / sec / 1e9
	}
	if s.Kind == KindTrainStep || s.Kind == KindEncoderStep {
		m["images/s"] = float64(s.Images) / sec
	}
	den, fma, copyBW := sec, c.FMAGFLOPS, c.CopyGBps
	if c.CPUBound && cpuPerOp > 0 && c.FMAGFLOPSPerCPU > 0 && c.CopyGBpsPerCPU > 0 {
		den, fma, copyBW = cpuPerOp.Seconds(), c.FMAGFLOPSPerCPU, c.CopyGBpsPerCPU
	}
	switch {
	case cost.Bound == ComputeBound && fma > 0 && cost.Flops > 0:
		m["%FMA"] = 100 * cost.Flops / den / 1e9 / fma
	case cost.Bound == MemoryBound && copyBW > 0 && cost.Bytes > 0:
		m["%copy"] = 100 * cost.Bytes / den / 1e9 / copyBW
	}
	return m
}

// Run measures spec s on backend be under b: it sets the op up, runs it
// once on be and once on the CPU oracle and compares the outputs, then
// times one op plus Sync per iteration and reports GFLOP/s, GB/s,
// images/s and the share of the device's ceiling.
func Run(b *testing.B, be tensor.Backend, s Spec) {
	res := Result{Group: s.Group(), Backend: be.Name(), Device: be.Caps().Device, Name: s.Name, Source: s.Source}
	fail := func(err error) {
		res.Error = err.Error()
		record(res)
		b.Fatal(err)
	}
	ceil, err := CeilingsFor(be)
	if err != nil {
		fail(err)
	}
	oracle, err := tensor.Open("cpu")
	if err != nil {
		fail(err)
	}
	inst, err := newInstance(be, s)
	if err != nil {
		fail(err)
	}
	defer inst.release()
	if err := verify(be, oracle, s, inst); err != nil {
		fail(fmt.Errorf("verification: %w", err))
	}
	cpu0 := processCPU()
	for b.Loop() {
		if err := inst.run(); err != nil {
			fail(err)
		}
		if err := be.Sync(); err != nil {
			fail(err)
		}
	}
	cpu := processCPU() - cpu0
	res.Iters = b.N
	perOp := b.Elapsed() / time.Duration(max(b.N, 1))
	res.NsPerOp = float64(perOp.Nanoseconds())
	res.Metrics = metrics(s, perOp, cpu/time.Duration(max(b.N, 1)), ceil)
	if cpu > 0 && b.Elapsed() > 0 {
		// Busy cores of this process while timing: below the core count
		// on a shared machine, figures understate the device.
		res.Metrics["cpu-util"] = cpu.Seconds() / b.Elapsed().Seconds()
	}
	keys := make([]string, 0, len(res.Metrics))
	for k := range res.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.ReportMetric(res.Metrics[k], k)
	}
	record(res)
}

// RunCeiling measures a backend's ceilings under b (fresh, not the cached
// figures) and reports them: GFLOP/s of the FMA probe, GB/s of the best
// copy, and microseconds per dispatch, per chained dispatch and per submit.
func RunCeiling(b *testing.B, be tensor.Backend) {
	res := Result{Group: "ceiling", Backend: be.Name(), Device: be.Caps().Device, Name: "probes"}
	var c Ceilings
	var err error
	for b.Loop() {
		if c, err = MeasureCeilings(be); err != nil {
			res.Error = err.Error()
			record(res)
			b.Fatal(err)
		}
	}
	ceilCache.mu.Lock()
	if ceilCache.m == nil {
		ceilCache.m = map[tensor.Backend]Ceilings{}
	}
	if _, ok := ceilCache.m[be]; !ok {
		ceilCache.m[be] = c
	}
	ceilCache.mu.Unlock()
	res.Iters = b.N
	res.NsPerOp = float64(b.Elapsed().Nanoseconds()) / float64(max(b.N, 1))
	res.Metrics = map[string]float64{
		"GFLOP/s":             c.FMAGFLOPS,
		"GB/s":                c.CopyGBps,
		"scalar-copy-GB/s":    c.CopyScalarGBps,
		"us/dispatch":         c.DispatchUs,
		"us/chained-dispatch": c.ChainedDispatchUs,
		"us/submit":           c.SubmitUs,
	}
	if c.CopyVec4GBps > 0 {
		res.Metrics["vec4-copy-GB/s"] = c.CopyVec4GBps
	}
	if c.HostFMAGFLOPS > 0 {
		res.Metrics["host-FMA-GFLOP/s"] = c.HostFMAGFLOPS
	}
	if c.CPUBound {
		res.Metrics["GFLOP/cpu-s"] = c.FMAGFLOPSPerCPU
		res.Metrics["GB/cpu-s"] = c.CopyGBpsPerCPU
	}
	if c.LoopLoadGFloats > 0 {
		res.Metrics["loop-load-Gfloat/s"] = c.LoopLoadGFloats
		res.Metrics["loop-load4-Gfloat/s"] = c.LoopLoad4GFloats
	}
	for k, v := range res.Metrics {
		b.ReportMetric(v, k)
	}
	b.Logf("%s (%s): %s", c.Backend, c.Device, c.Method)
	record(res)
}
