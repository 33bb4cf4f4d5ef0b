package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// These tests check the blocked matmul and the im2col convolutions against
// direct float64 loops, over sizes that straddle every block boundary.

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func viewOf(t testing.TB, b *Backend, data []float32, shape ...int) tensor.View {
	t.Helper()
	buf, err := b.Alloc(len(data), tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(buf, 0, data); err != nil {
		t.Fatal(err)
	}
	return tensor.View{Buf: buf, Shape: shape, Strides: tensor.ContiguousStrides(shape)}
}

func data(v tensor.View) []float32 { return v.Buf.(*buffer).f }

// nmse returns Σ(got-want)² / Σ want².
func nmse(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	if den == 0 {
		return num
	}
	return num / den
}

func TestGemmAgainstNaive(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][4]int{ // batch, m, n, k
		{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 13, 33, 7}, {1, 4, 4, 4}, {1, 129, 5, 300},
		{3, 17, 513, 9}, {1, 200, 130, 257}, {1, 1, 700, 3}, {2, 65, 1, 520},
	}
	for _, s := range sizes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			batch, m, n, k := s[0], s[1], s[2], s[3]
			t.Run(fmt.Sprintf("b%d_m%d_n%d_k%d_tA%v_tB%v", batch, m, n, k, tr[0], tr[1]), func(t *testing.T) {
				ad, bd := randSlice(rng, batch*m*k), randSlice(rng, batch*k*n)
				av, bv := viewOf(t, b, ad, batch, m, k), viewOf(t, b, bd, batch, k, n)
				ov := viewOf(t, b, make([]float32, batch*m*n), batch, m, n)
				if err := b.MatMul(ov, av, bv, batch, m, n, k, tr[0], tr[1]); err != nil {
					t.Fatal(err)
				}
				want := make([]float64, batch*m*n)
				for bi := range batch {
					for i := range m {
						for j := range n {
							var s float64
							for p := range k {
								ai := bi*m*k + i*k + p
								if tr[0] {
									ai = bi*m*k + p*m + i
								}
								bj := bi*k*n + p*n + j
								if tr[1] {
									bj = bi*k*n + j*k + p
								}
								s += float64(ad[ai]) * float64(bd[bj])
							}
							want[bi*m*n+i*n+j] = s
						}
					}
				}
				if e := nmse(data(ov), want); e > 1e-11*float64(k) || math.IsNaN(e) {
					t.Errorf("NMSE %.3g", e)
				}
			})
		}
	}
}

func naiveConv(x, w []float32, p tensor.Conv2DParams) []float64 {
	out := make([]float64, p.N*p.Cout*p.OH*p.OW)
	for n := range p.N {
		for co := range p.Cout {
			for oh := range p.OH {
				for ow := range p.OW {
					var s float64
					for ci := range p.Cin {
						for kh := range p.KH {
							for kw := range p.KW {
								ih, iw := oh*p.StrideH-p.PadH+kh, ow*p.StrideW-p.PadW+kw
								if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
									continue
								}
								s += float64(x[((n*p.Cin+ci)*p.H+ih)*p.W+iw]) * float64(w[((co*p.Cin+ci)*p.KH+kh)*p.KW+kw])
							}
						}
					}
					out[((n*p.Cout+co)*p.OH+oh)*p.OW+ow] = s
				}
			}
		}
	}
	return out
}

func TestConvAgainstNaive(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []tensor.Conv2DParams{
		{N: 1, Cin: 1, H: 1, W: 1, Cout: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{N: 2, Cin: 3, H: 7, W: 5, Cout: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 3, Cin: 2, H: 13, W: 11, Cout: 5, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadH: 1, PadW: 0},
		{N: 1, Cin: 4, H: 9, W: 9, Cout: 3, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2},
		{N: 5, Cin: 3, H: 6, W: 6, Cout: 7, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{N: 1, Cin: 2, H: 40, W: 40, Cout: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
	}
	for _, p := range cases {
		p.OH, p.OW = tensor.ConvOutSize(p.H, p.KH, p.StrideH, p.PadH), tensor.ConvOutSize(p.W, p.KW, p.StrideW, p.PadW)
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			xd, wd := randSlice(rng, p.N*p.Cin*p.H*p.W), randSlice(rng, p.Cout*p.Cin*p.KH*p.KW)
			bias := randSlice(rng, p.Cout)
			dyd := randSlice(rng, p.N*p.Cout*p.OH*p.OW)
			x := viewOf(t, b, xd, p.N, p.Cin, p.H, p.W)
			w := viewOf(t, b, wd, p.Cout, p.Cin, p.KH, p.KW)
			bv := viewOf(t, b, bias, p.Cout)
			dy := viewOf(t, b, dyd, p.N, p.Cout, p.OH, p.OW)
			out := viewOf(t, b, make([]float32, len(dyd)), p.N, p.Cout, p.OH, p.OW)
			if err := b.Conv2D(out, x, w, bv, p); err != nil {
				t.Fatal(err)
			}
			want := naiveConv(xd, wd, p)
			for i := range want {
				want[i] += float64(bias[i/(p.OH*p.OW)%p.Cout])
			}
			if e := nmse(data(out), want); e > 1e-10 {
				t.Errorf("forward NMSE %.3g", e)
			}
			// Backward passes: accumulate dy through the same direct loops.
			dx := viewOf(t, b, make([]float32, len(xd)), p.N, p.Cin, p.H, p.W)
			if err := b.Conv2DBackwardData(dx, dy, w, p); err != nil {
				t.Fatal(err)
			}
			dw := viewOf(t, b, make([]float32, len(wd)), p.Cout, p.Cin, p.KH, p.KW)
			if err := b.Conv2DBackwardWeight(dw, x, dy, p); err != nil {
				t.Fatal(err)
			}
			wantDx := make([]float64, len(xd))
			wantDw := make([]float64, len(wd))
			for n := range p.N {
				for co := range p.Cout {
					for oh := range p.OH {
						for ow := range p.OW {
							g := float64(dyd[((n*p.Cout+co)*p.OH+oh)*p.OW+ow])
							for ci := range p.Cin {
								for kh := range p.KH {
									for kw := range p.KW {
										ih, iw := oh*p.StrideH-p.PadH+kh, ow*p.StrideW-p.PadW+kw
										if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
											continue
										}
										xi := ((n*p.Cin+ci)*p.H+ih)*p.W + iw
										wi := ((co*p.Cin+ci)*p.KH+kh)*p.KW + kw
										wantDx[xi] += g * float64(wd[wi])
										wantDw[wi] += g * float64(xd[xi])
									}
								}
							}
						}
					}
				}
			}
			if e := nmse(data(dx), wantDx); e > 1e-10 {
				t.Errorf("backward-data NMSE %.3g", e)
			}
			if e := nmse(data(dw), wantDw); e > 1e-10 {
				t.Errorf("backward-weight NMSE %.3g", e)
			}
		})
	}
}
