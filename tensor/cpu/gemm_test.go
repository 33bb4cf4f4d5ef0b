package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// withKernel returns a backend that runs matmuls with kernel kn on workers
// goroutines.
func withKernel(kn *microKernel, workers int) *Backend {
	return &Backend{workers: workers, kern: kn}
}

// TestKernelsAvailable checks that the kernel list matches the CPU: on an
// amd64 build without the purego tag every kernel the CPU supports is
// offered, and the pure-Go kernel is always last.
func TestKernelsAvailable(t *testing.T) {
	ks := kernels()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	t.Logf("kernels on this CPU (%s): %v", runtime.GOARCH, names)
	if ks[len(ks)-1] != goKernel {
		t.Fatalf("pure-Go kernel is not last: %v", names)
	}
	for _, k := range ks {
		if nc%k.nr != 0 {
			t.Errorf("kernel %s: nc = %d is not a multiple of nr = %d (pre-packed B panels need it)", k.name, nc, k.nr)
		}
		if got, ok := kernelFor(k.name); !ok || got != k {
			t.Errorf("kernelFor(%q) = %v, %v", k.name, got.name, ok)
		}
	}
	if got, ok := kernelFor(""); !ok || got != ks[0] {
		t.Errorf("kernelFor(\"\") = %s, %v; want the fastest, %s", got.name, ok, ks[0].name)
	}
	if _, ok := kernelFor("no-such-kernel"); ok {
		t.Error("kernelFor accepts an unknown name")
	}
	for _, want := range wantArchKernels() {
		if !slices.Contains(names, want) {
			t.Errorf("this CPU supports the %s kernel but kernels() = %v", want, names)
		}
	}
}

// TestMicroKernels runs every kernel's register tile directly against
// float64 sums: depths around its unrolling, both store modes, a row stride
// wider than the tile, and the guard values around the tile untouched.
func TestMicroKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, kn := range kernels() {
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 255, 256} {
			for _, load := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/k%d/load=%v", kn.name, k, load), func(t *testing.T) {
					mr, nr := kn.mr, kn.nr
					ldc := nr + 3
					a, b := randSlice(rng, k*mr), randSlice(rng, k*nr)
					const guard = 5
					c := randSlice(rng, guard+mr*ldc+guard)
					orig := slices.Clone(c)
					kn.run(k, a, b, c[guard:], ldc, load)
					for i := range c {
						r, j := (i-guard)/ldc, (i-guard)%ldc
						inTile := i >= guard && r < mr && j < nr
						if !inTile {
							if c[i] != orig[i] {
								t.Fatalf("element %d outside the tile changed: %v -> %v", i, orig[i], c[i])
							}
							continue
						}
						var want float64
						if load {
							want = float64(orig[i])
						}
						for p := range k {
							want += float64(a[p*mr+r]) * float64(b[p*nr+j])
						}
						if d := math.Abs(float64(c[i]) - want); d > 1e-5*float64(k+1) {
							t.Fatalf("C[%d][%d] = %v, want %v", r, j, c[i], want)
						}
					}
				})
			}
		}
	}
}

// gemmRef returns C0 + op(A)·op(B) in float64 for one product.
func gemmRef(c0, ad, bd []float32, m, n, k int, transA, transB bool) []float64 {
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			if c0 != nil {
				s = float64(c0[i*n+j])
			}
			for p := range k {
				ai, bj := i*k+p, p*n+j
				if transA {
					ai = p*m + i
				}
				if transB {
					bj = j*k + p
				}
				s += float64(ad[ai]) * float64(bd[bj])
			}
			want[i*n+j] = s
		}
	}
	return want
}

// TestGemmEveryKernel runs every kernel through the blocked driver on the
// same inputs, with sizes around every register tile (2×4, 6×16, 8×32) and
// block (kc 256, nc 512) boundary, 1 and primes, every transpose, storing
// and accumulating, on 1 and 3 goroutines (uneven tile splits), with B
// packed by the product or in advance, and checks each against float64 sums
// and against the pure-Go kernel.
func TestGemmEveryKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	sizes := [][3]int{ // m, n, k
		{1, 1, 1}, {2, 4, 1}, {1, 33, 2}, {13, 1, 5}, {6, 16, 4}, {8, 32, 256}, {9, 33, 257}, {12, 32, 257},
		{11, 31, 255}, {25, 65, 17}, {97, 89, 83}, {7, 1030, 3}, {37, 513, 31}, {129, 97, 300},
		{61, 2, 600}, {3, 45, 1},
	}
	if testing.Short() {
		sizes = sizes[:10]
	}
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, acc := range []bool{false, true} {
				ad, bd, c0 := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				var base []float32
				want := gemmRef(nil, ad, bd, m, n, k, tr[0], tr[1])
				if acc {
					want = gemmRef(c0, ad, bd, m, n, k, tr[0], tr[1])
				}
				for _, kn := range kernels() {
					for _, workers := range []int{1, 3} {
						packed := workers == 3 && acc
						name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_acc%v/%s/w%d/packedB=%v", m, n, k, tr[0], tr[1], acc, kn.name, workers, packed)
						t.Run(name, func(t *testing.T) {
							b := withKernel(kn, workers)
							// C sits inside a wider matrix (ldc = n+2) between guard values.
							ldc := n + 2
							c := make([]float32, 3+m*ldc)
							for i := range c {
								c[i] = 7
							}
							if acc {
								for i := range m {
									copy(c[3+i*ldc:], c0[i*n:(i+1)*n])
								}
							}
							bmat := mat{d: bd, ld: ldb, trans: tr[1]}
							if packed {
								// B packed in advance into the kernel's panels.
								pd := make([]float32, 5+(n+kn.nr-1)/kn.nr*kn.nr*k)
								packB(pd[5:], bmat, 0, k, 0, n, kn.nr)
								bmat = mat{d: pd, off: 5, ld: k, packed: true}
							}
							b.gemmBatch(c, 3, ldc, 0, mat{d: ad, ld: lda, trans: tr[0]}, bmat, 1, 0, 0, m, n, k, acc)
							got := make([]float32, m*n)
							for i := range m {
								copy(got[i*n:], c[3+i*ldc:3+i*ldc+n])
								for j := n; j < ldc && 3+i*ldc+j < len(c); j++ {
									if c[3+i*ldc+j] != 7 {
										t.Fatalf("wrote outside C at row %d column %d", i, j)
									}
								}
							}
							if c[0] != 7 || c[1] != 7 || c[2] != 7 {
								t.Fatal("wrote before C")
							}
							if e := nmse(got, want); e > 1e-11*float64(k) || math.IsNaN(e) {
								t.Errorf("NMSE against float64 %.3g", e)
							}
							if kn == goKernel && workers == 1 {
								base = got
								return
							}
							if base == nil {
								return
							}
							for i := range got {
								d := math.Abs(float64(got[i]) - float64(base[i]))
								if d > 1e-5*(1+math.Abs(float64(base[i])))*math.Sqrt(float64(k)) {
									t.Fatalf("C[%d] = %v, pure-Go kernel gives %v", i, got[i], base[i])
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestGemmSplit checks that the tile split covers the product with tiles of
// whole register tiles and yields work for every goroutine when it can.
func TestGemmSplit(t *testing.T) {
	for _, kn := range kernels() {
		for _, c := range []struct{ workers, batch, m, n, k int }{
			{2, 1, 1024, 1024, 1024}, {2, 1, 64, 6400, 576}, {2, 1, 512, 200, 4608},
			{2, 1, 576, 256, 64}, {4, 3, 100, 100, 100}, {2, 1, 1, 1, 1}, {2, 1, 1, 100000, 9},
			{3, 1, 4608, 1, 512}, {16, 1, 40, 40, 4000},
		} {
			tm, tn := gemmSplit(kn, c.workers, c.batch, c.m, c.n, c.k, false)
			if tm%kn.mr != 0 || tn%kn.nr != 0 || tm <= 0 || tn <= 0 {
				t.Errorf("%s %+v: tile %dx%d is not whole %dx%d register tiles", kn.name, c, tm, tn, kn.mr, kn.nr)
				continue
			}
			tiles := c.batch * ((c.m + tm - 1) / tm) * ((c.n + tn - 1) / tn)
			pm, pn := (c.m+kn.mr-1)/kn.mr, (c.n+kn.nr-1)/kn.nr
			big := c.batch*c.m*c.n*c.k >= parallelMinFMA
			switch {
			case !big && tiles != 1:
				t.Errorf("%s %+v: small product cut into %d tiles", kn.name, c, tiles)
			case big && tiles < c.workers && tiles < c.batch*pm*pn:
				t.Errorf("%s %+v: %d tiles of %dx%d for %d workers", kn.name, c, tiles, tm, tn, c.workers)
			}
		}
	}
}
