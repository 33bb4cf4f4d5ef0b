package bench

import (
	"sync"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

var suiteOnce struct {
	sync.Once
	specs []Spec
	err   error
}

func suite(tb testing.TB) []Spec {
	tb.Helper()
	suiteOnce.Do(func() { suiteOnce.specs, suiteOnce.err = Suite() })
	if suiteOnce.err != nil {
		tb.Fatal(suiteOnce.err)
	}
	return suiteOnce.specs
}

// forBackends runs f under b.Run(backend) for every backend that opens;
// the others are skipped with one log line.
func forBackends(b *testing.B, f func(b *testing.B, be tensor.Backend)) {
	for _, spec := range BackendSpecs() {
		be, err := OpenBackend(spec)
		if err != nil {
			b.Logf("backend %s skipped: %v", spec, err)
			continue
		}
		b.Run(spec, func(b *testing.B) { f(b, be) })
	}
}

func runGroup(b *testing.B, group string) {
	specs := Select(suite(b), group, FullFromEnv())
	forBackends(b, func(b *testing.B, be tensor.Backend) {
		for _, s := range specs {
			b.Run(s.Name, func(b *testing.B) { Run(b, be, s) })
		}
	})
}

// BenchmarkCeiling measures the FMA, copy, dispatch and submit ceilings of
// every backend.
func BenchmarkCeiling(b *testing.B) {
	forBackends(b, func(b *testing.B, be tensor.Backend) { RunCeiling(b, be) })
}

// BenchmarkMatMul: square sizes, the encoders' Linear heads and the
// im2col-equivalent GEMMs of their convolutions.
func BenchmarkMatMul(b *testing.B) { runGroup(b, "matmul") }

// BenchmarkConv: every convolution shape of the released and Table 3
// encoders, forward, backward-data and backward-weight.
func BenchmarkConv(b *testing.B) { runGroup(b, "conv") }

// BenchmarkReduce: sum, mean and max along the last and a middle axis.
func BenchmarkReduce(b *testing.B) { runGroup(b, "reduce") }

// BenchmarkElementwise: unary, binary (also broadcast) and strided copy.
func BenchmarkElementwise(b *testing.B) { runGroup(b, "elementwise") }

// BenchmarkBatchNorm: forward plus backward in training mode.
func BenchmarkBatchNorm(b *testing.B) { runGroup(b, "batchnorm") }

// BenchmarkAdam: one fused Adam update.
func BenchmarkAdam(b *testing.B) { runGroup(b, "adam") }

// BenchmarkTrainStep: the whole ICBPC training step, in images/s.
func BenchmarkTrainStep(b *testing.B) { runGroup(b, "trainstep") }
