package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// naiveConvBackward returns dx and dw of Conv2D for upstream gradient dy by
// direct float64 loops.
func naiveConvBackward(x, w, dy []float32, p tensor.Conv2DParams) (dx, dw []float64) {
	dx, dw = make([]float64, len(x)), make([]float64, len(w))
	for n := range p.N {
		for co := range p.Cout {
			for oh := range p.OH {
				for ow := range p.OW {
					g := float64(dy[((n*p.Cout+co)*p.OH+oh)*p.OW+ow])
					for ci := range p.Cin {
						for kh := range p.KH {
							for kw := range p.KW {
								ih, iw := oh*p.StrideH-p.PadH+kh, ow*p.StrideW-p.PadW+kw
								if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
									continue
								}
								xi := ((n*p.Cin+ci)*p.H+ih)*p.W + iw
								wi := ((co*p.Cin+ci)*p.KH+kh)*p.KW + kw
								dx[xi] += g * float64(w[wi])
								dw[wi] += g * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw
}

// TestConvChunksEveryKernel checks the three convolution directions against
// float64 loops with every micro-kernel on 3 goroutines (the first kernel
// also on 1), with the default chunk size and with chunk limits that force
// several whole images per chunk (with a shorter last chunk), one image per
// chunk, and images split into several chunks; the shapes reach every
// rewrite (cropped taps, subsampled 1x1, flipped backward-data, transposed
// backward-weight, col2im with and without padding).
func TestConvChunksEveryKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []tensor.Conv2DParams{
		{N: 7, Cin: 3, H: 9, W: 7, Cout: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 5, Cin: 4, H: 11, W: 10, Cout: 13, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{N: 6, Cin: 2, H: 2, W: 2, Cout: 33, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 9, Cin: 5, H: 1, W: 1, Cout: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{N: 3, Cin: 3, H: 8, W: 13, Cout: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 2},
		{N: 2, Cin: 1, H: 12, W: 35, Cout: 2, KH: 3, KW: 2, StrideH: 1, StrideW: 3, PadH: 0, PadW: 1},
		{N: 2, Cin: 2, H: 6, W: 5, Cout: 3, KH: 2, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 3},
		{N: 1, Cin: 3, H: 40, W: 37, Cout: 7, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2},
		// Cin >= 8 at stride 1: backward-data as the flipped-kernel forward.
		{N: 3, Cin: 9, H: 6, W: 7, Cout: 10, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 2, Cin: 8, H: 5, W: 4, Cout: 3, KH: 3, KW: 2, StrideH: 1, StrideW: 1, PadH: 0, PadW: 1},
		// Taps over padding only: 1x1 map (centre tap), 2x2 map at stride 2
		// (2x2 of the 3x3 taps), a 1x4 map (one kernel row), padding wider
		// than the kernel (nothing cropped: windows would leave the padding).
		{N: 5, Cin: 9, H: 1, W: 1, Cout: 11, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 4, Cin: 6, H: 2, W: 2, Cout: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{N: 3, Cin: 10, H: 1, W: 4, Cout: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 2, Cin: 9, H: 3, W: 3, Cout: 2, KH: 2, KW: 2, StrideH: 1, StrideW: 1, PadH: 3, PadW: 3},
		// 1x1 at stride 2 (run at stride 1 on every other input), 3 channels.
		{N: 4, Cin: 12, H: 7, W: 6, Cout: 9, KH: 1, KW: 1, StrideH: 2, StrideW: 2},
		// Cin >= 8 at stride > 1: backward-data by phases, some of them empty
		// (stride 3 with a 2x2 kernel), with mixed strides and paddings.
		{N: 3, Cin: 8, H: 9, W: 8, Cout: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{N: 2, Cin: 9, H: 10, W: 11, Cout: 4, KH: 2, KW: 2, StrideH: 3, StrideW: 3},
		{N: 2, Cin: 8, H: 9, W: 7, Cout: 3, KH: 3, KW: 4, StrideH: 2, StrideW: 1, PadH: 1, PadW: 2},
		// First layer: one input channel, CKK = 9 narrower than a panel.
		{N: 6, Cin: 1, H: 10, W: 9, Cout: 33, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	}
	defer func(v int) { convChunkElems = v }(convChunkElems)
	for _, p := range cases {
		p.OH, p.OW = tensor.ConvOutSize(p.H, p.KH, p.StrideH, p.PadH), tensor.ConvOutSize(p.W, p.KW, p.StrideW, p.PadW)
		xd, wd := randSlice(rng, p.N*p.Cin*p.H*p.W), randSlice(rng, p.Cout*p.Cin*p.KH*p.KW)
		bias := randSlice(rng, p.Cout)
		dyd := randSlice(rng, p.N*p.Cout*p.OH*p.OW)
		want := naiveConv(xd, wd, p)
		for i := range want {
			want[i] += float64(bias[i/(p.OH*p.OW)%p.Cout])
		}
		wantDx, wantDw := naiveConvBackward(xd, wd, dyd, p)
		ckk, ohw := p.Cin*p.KH*p.KW, p.OH*p.OW
		rows := max(ckk, p.Cout, p.Cout*p.Cin)
		limits := []int{1 << 20, rows * (2*ohw + ohw/2), rows * ohw, rows * (ohw/3 + 1), rows}
		for _, limit := range limits {
			for ki, kn := range kernels() {
				for _, workers := range []int{1, 3} {
					if workers == 1 && ki > 0 {
						continue // one serial run is enough; the splits are the kernels' concern
					}
					name := fmt.Sprintf("%dx%dx%dx%d_to_%d_k%dx%d_s%d,%d_p%d,%d/limit%d/%s/w%d", p.N, p.Cin, p.H, p.W, p.Cout,
						p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, limit, kn.name, workers)
					t.Run(name, func(t *testing.T) {
						convChunkElems = limit
						b := withKernel(kn, workers)
						x := viewOf(t, b, xd, p.N, p.Cin, p.H, p.W)
						w := viewOf(t, b, wd, p.Cout, p.Cin, p.KH, p.KW)
						bv := viewOf(t, b, bias, p.Cout)
						dy := viewOf(t, b, dyd, p.N, p.Cout, p.OH, p.OW)
						out := viewOf(t, b, randSlice(rng, len(dyd)), p.N, p.Cout, p.OH, p.OW)
						dx := viewOf(t, b, randSlice(rng, len(xd)), p.N, p.Cin, p.H, p.W)
						dw := viewOf(t, b, randSlice(rng, len(wd)), p.Cout, p.Cin, p.KH, p.KW)
						if err := b.Conv2D(out, x, w, bv, p); err != nil {
							t.Fatal(err)
						}
						if err := b.Conv2DBackwardData(dx, dy, w, p); err != nil {
							t.Fatal(err)
						}
						if err := b.Conv2DBackwardWeight(dw, x, dy, p); err != nil {
							t.Fatal(err)
						}
						for _, c := range []struct {
							what string
							got  []float32
							want []float64
						}{{"forward", data(out), want}, {"backward-data", data(dx), wantDx}, {"backward-weight", data(dw), wantDw}} {
							if e := nmse(c.got, c.want); e > 1e-10 || math.IsNaN(e) {
								t.Errorf("%s NMSE %.3g", c.what, e)
							}
						}
					})
				}
			}
		}
	}
}
