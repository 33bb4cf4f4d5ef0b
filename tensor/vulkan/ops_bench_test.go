//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// BenchmarkMatMul times square fp32 matmuls (one submit per iteration).
func BenchmarkMatMul(bm *testing.B) {
	b := testBackend(bm)
	for _, n := range []int{256, 512, 1024} {
		bm.Run(fmt.Sprint(n), func(bm *testing.B) {
			x, y := tensor.Full(b, 0.5, n, n), tensor.Full(b, 0.25, n, n)
			want := float32(0.125 * float64(n))
			if got := tensor.MatMul(x, y).Float32s()[n*n-1]; got != want { // verifies and warms
				bm.Fatalf("got %v, want %v", got, want)
			}
			bm.ResetTimer()
			for range bm.N {
				out := tensor.MatMul(x, y)
				if err := b.Sync(); err != nil {
					bm.Fatal(err)
				}
				out.Release()
			}
			bm.ReportMetric(2*float64(n*n*n)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkConv2D times the three directions of a 3x3, 64->64 channel
// convolution on 16x16 images, batch 16.
func BenchmarkConv2D(bm *testing.B) {
	b := testBackend(bm)
	const n, c, hw = 16, 64, 16
	x, w, dy := tensor.Full(b, 0.5, n, c, hw, hw), tensor.Full(b, 0.01, c, c, 3, 3), tensor.Full(b, 0.1, n, c, hw, hw)
	flops := 2.0 * n * c * c * 9 * hw * hw
	dirs := map[string]func() *tensor.Tensor{
		"forward":     func() *tensor.Tensor { return tensor.Conv2D(x, w, nil, 1, 1) },
		"backData":    func() *tensor.Tensor { return tensor.Conv2DBackwardData(dy, w, []int{n, c, hw, hw}, 1, 1) },
		"backWeights": func() *tensor.Tensor { return tensor.Conv2DBackwardWeight(x, dy, []int{c, c, 3, 3}, 1, 1) },
	}
	for _, name := range []string{"forward", "backData", "backWeights"} {
		f := dirs[name]
		bm.Run(name, func(bm *testing.B) {
			f().Float32s()
			bm.ResetTimer()
			for range bm.N {
				out := f()
				if err := b.Sync(); err != nil {
					bm.Fatal(err)
				}
				out.Release()
			}
			bm.ReportMetric(flops*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSubmitOverhead is the cost of one tiny op plus a submit and a
// fence wait, and of one more dispatch recorded into the same submit.
func BenchmarkSubmitOverhead(bm *testing.B) {
	b := testBackend(bm)
	x := tensor.Ones(b, 64)
	for _, per := range []int{1, 100} {
		bm.Run(fmt.Sprintf("dispatches=%d", per), func(bm *testing.B) {
			tensor.AddScalar(x, 1).Float32s()
			bm.ResetTimer()
			for range bm.N {
				for range per {
					tensor.AddScalar(x, 1).Release()
				}
				if err := b.Sync(); err != nil {
					bm.Fatal(err)
				}
			}
			bm.ReportMetric(float64(bm.Elapsed().Microseconds())/float64(bm.N), "us/submit")
		})
	}
}
