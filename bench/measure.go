package bench

import (
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// Measure runs spec s on be through testing.Benchmark (the -test.benchtime
// flag, when registered with testing.Init and set, decides the run time)
// and returns its result; a failure is in Result.Error.
func Measure(be tensor.Backend, s Spec) Result {
	n := len(Results())
	testing.Benchmark(func(b *testing.B) { Run(b, be, s) })
	return lastResult(n, Result{Group: s.Group(), Backend: be.Name(), Device: be.Caps().Device, Name: s.Name, Source: s.Source})
}

// MeasureCeiling is RunCeiling through testing.Benchmark.
func MeasureCeiling(be tensor.Backend) Result {
	n := len(Results())
	testing.Benchmark(func(b *testing.B) { RunCeiling(b, be) })
	return lastResult(n, Result{Group: "ceiling", Backend: be.Name(), Device: be.Caps().Device, Name: "probes"})
}

// lastResult is the last result recorded after the first n, or base with
// an error when the benchmark recorded none.
func lastResult(n int, base Result) Result {
	rs := Results()
	if len(rs) > n {
		return rs[len(rs)-1]
	}
	base.Error = "benchmark recorded no result"
	return base
}
