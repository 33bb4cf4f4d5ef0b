package cpu

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// Run with: go test -run '^$' -bench . ./tensor/cpu/

func BenchmarkMatMul(bm *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		bm.Run(fmt.Sprint(n), func(bm *testing.B) {
			b := New()
			rng := rand.New(rand.NewPCG(1, 1))
			x := viewOf(bm, b, randSlice(rng, n*n), 1, n, n)
			y := viewOf(bm, b, randSlice(rng, n*n), 1, n, n)
			out := viewOf(bm, b, make([]float32, n*n), 1, n, n)
			for bm.Loop() {
				if err := b.MatMul(out, x, y, 1, n, n, n, false, false); err != nil {
					bm.Fatal(err)
				}
			}
			bm.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatMulKernel runs the square products with each micro-kernel
// this CPU supports (avx512, avx2, go), on GOMAXPROCS goroutines.
func BenchmarkMatMulKernel(bm *testing.B) {
	for _, kn := range kernels() {
		for _, n := range []int{256, 1024} {
			bm.Run(fmt.Sprintf("%s/%d", kn.name, n), func(bm *testing.B) {
				b := withKernel(kn, runtime.GOMAXPROCS(0))
				rng := rand.New(rand.NewPCG(1, 1))
				x := viewOf(bm, b, randSlice(rng, n*n), 1, n, n)
				y := viewOf(bm, b, randSlice(rng, n*n), 1, n, n)
				out := viewOf(bm, b, make([]float32, n*n), 1, n, n)
				for bm.Loop() {
					if err := b.MatMul(out, x, y, 1, n, n, n, false, false); err != nil {
						bm.Fatal(err)
					}
				}
				bm.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func convBenchParams() tensor.Conv2DParams {
	p := tensor.Conv2DParams{N: 100, Cin: 64, H: 16, W: 16, Cout: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	p.OH, p.OW = 16, 16
	return p
}

func convFlops(p tensor.Conv2DParams) float64 {
	return 2 * float64(p.N*p.Cout*p.OH*p.OW) * float64(p.Cin*p.KH*p.KW)
}

func BenchmarkConv2D(bm *testing.B) {
	benchConv(bm, convBenchParams())
}

// BenchmarkConv2DSmallMap is a convolution of the ICBPC encoders' small
// maps: 128->128 channels, 3x3, on 4x4 maps at batch 200, where one image
// gives a product only 16 columns wide.
func BenchmarkConv2DSmallMap(bm *testing.B) {
	p := tensor.Conv2DParams{N: 200, Cin: 128, H: 4, W: 4, Cout: 128, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	p.OH, p.OW = 4, 4
	benchConv(bm, p)
}

func benchConv(bm *testing.B, p tensor.Conv2DParams) {
	b := New()
	rng := rand.New(rand.NewPCG(2, 2))
	x := viewOf(bm, b, randSlice(rng, p.N*p.Cin*p.H*p.W), p.N, p.Cin, p.H, p.W)
	w := viewOf(bm, b, randSlice(rng, p.Cout*p.Cin*p.KH*p.KW), p.Cout, p.Cin, p.KH, p.KW)
	bias := viewOf(bm, b, randSlice(rng, p.Cout), p.Cout)
	y := viewOf(bm, b, randSlice(rng, p.N*p.Cout*p.OH*p.OW), p.N, p.Cout, p.OH, p.OW)
	bm.Run("forward", func(bm *testing.B) {
		for bm.Loop() {
			if err := b.Conv2D(y, x, w, bias, p); err != nil {
				bm.Fatal(err)
			}
		}
		bm.ReportMetric(convFlops(p)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	bm.Run("backward-data", func(bm *testing.B) {
		for bm.Loop() {
			if err := b.Conv2DBackwardData(x, y, w, p); err != nil {
				bm.Fatal(err)
			}
		}
		bm.ReportMetric(convFlops(p)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	bm.Run("backward-weight", func(bm *testing.B) {
		for bm.Loop() {
			if err := b.Conv2DBackwardWeight(w, x, y, p); err != nil {
				bm.Fatal(err)
			}
		}
		bm.ReportMetric(convFlops(p)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
