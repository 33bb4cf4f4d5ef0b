package cpu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCopyGrid checks copyGrid, copyGridGo and every grid kernel this CPU
// runs against an element-by-element reference, with run lengths
// around the 16-float vector width, strides 1 to 3, a negative bias, and
// every element outside the copied runs left alone.
func TestCopyGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, k := range gridKernels() {
		t.Logf("grid kernel %s (strides up to %d)", k.name, k.maxStride)
	}
	for _, sw := range []int{1, 2, 3} {
		for _, maxN := range []int{1, 7, 15, 16, 17, 31, 32, 33, 48} {
			t.Run(fmt.Sprintf("sw%d_n%d", sw, maxN), func(t *testing.T) {
				// Inner runs side by side in a 64-wide row, outer rows 70 apart.
				var inner []run
				col := 0
				for col < 64 {
					n := 1 + rng.IntN(maxN)
					inner = append(inner, run{dst: col, src: rng.IntN(50), n: n})
					col += n + rng.IntN(3)
				}
				outer := make([]offs, 1+rng.IntN(5))
				for i := range outer {
					outer[i] = offs{dst: 7 + i*150, src: rng.IntN(200)}
				}
				const bias = -7
				src := randSlice(rng, 200+50+48*sw+1)
				want := make([]float32, len(outer)*150+64)
				for i := range want {
					want[i] = -1000 - float32(i)
				}
				got, gotGo := slices.Clone(want), slices.Clone(want)
				gotK := make([][]float32, len(gridKernels()))
				for i := range gotK {
					gotK[i] = slices.Clone(want)
				}
				for _, o := range outer {
					for _, s := range inner {
						for k := range s.n {
							want[bias+o.dst+s.dst+k] = src[o.src+s.src+k*sw]
						}
					}
				}
				copyGrid(got, src, bias, outer, offsExtent(outer), inner, sw)
				copyGridGo(gotGo, src, bias, outer, inner, sw)
				if !slices.Equal(got, want) {
					t.Errorf("copyGrid differs from the reference at %d", firstDiff(got, want))
				}
				if !slices.Equal(gotGo, want) {
					t.Errorf("copyGridGo differs from the reference at %d", firstDiff(gotGo, want))
				}
				for i, k := range gridKernels() {
					if sw > k.maxStride {
						continue
					}
					k.copy(&gotK[i][0], &src[0], bias, &outer[0], len(outer), &inner[0], len(inner), sw)
					if !slices.Equal(gotK[i], want) {
						t.Errorf("the %s kernel differs from the reference at %d", k.name, firstDiff(gotK[i], want))
					}
				}
			})
		}
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestCopyGridRange checks that copyGrid refuses offsets outside dst or src
// before copying anything.
func TestCopyGridRange(t *testing.T) {
	dst, src := make([]float32, 10), make([]float32, 10)
	for _, c := range []struct {
		name  string
		bias  int
		outer []offs
		inner []run
		sw    int
	}{
		{"dst end", 0, []offs{{0, 0}}, []run{{dst: 5, src: 0, n: 6}}, 1},
		{"dst start", -1, []offs{{0, 0}}, []run{{dst: 0, src: 0, n: 1}}, 1},
		{"src end", 0, []offs{{0, 0}}, []run{{dst: 0, src: 6, n: 3}}, 2},
		{"src start", 0, []offs{{0, -2}}, []run{{dst: 0, src: 1, n: 1}}, 1},
		{"outer", 0, []offs{{0, 0}, {8, 0}}, []run{{dst: 0, src: 0, n: 3}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			copyGrid(dst, src, c.bias, c.outer, offsExtent(c.outer), c.inner, c.sw)
		})
	}
}

// TestAddGrid checks addGrid, addGridGo and every grid kernel this CPU runs
// against an element-by-element reference, with overlapping runs
// whose sums must add up, run lengths around the vector width and strides 1
// to 3; elements outside the runs keep their values.
func TestAddGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, sw := range []int{1, 2, 3} {
		for _, maxN := range []int{1, 7, 15, 16, 17, 31, 32, 33, 48} {
			t.Run(fmt.Sprintf("sw%d_n%d", sw, maxN), func(t *testing.T) {
				var inner []run
				for range 1 + rng.IntN(6) {
					n := 1 + rng.IntN(maxN)
					inner = append(inner, run{dst: rng.IntN(20), src: rng.IntN(40), n: n})
				}
				outer := make([]offs, 1+rng.IntN(4))
				for i := range outer {
					outer[i] = offs{dst: rng.IntN(30), src: i * 100}
				}
				src := randSlice(rng, len(outer)*100+40+48)
				want := randSlice(rng, 30+20+48*sw)
				got, gotGo := slices.Clone(want), slices.Clone(want)
				wantD := make([]float64, len(want))
				for i, v := range want {
					wantD[i] = float64(v)
				}
				for _, o := range outer {
					for _, s := range inner {
						for k := range s.n {
							wantD[o.dst+s.dst+k*sw] += float64(src[o.src+s.src+k])
						}
					}
				}
				addGrid(got, src, outer, offsExtent(outer), inner, sw)
				addGridGo(gotGo, src, outer, inner, sw)
				results := map[string][]float32{"addGrid": got, "addGridGo": gotGo}
				// addGrid may leave short runs to Go: run every kernel directly too.
				for _, k := range gridKernels() {
					if sw <= k.maxStride {
						g := slices.Clone(want)
						k.add(&g[0], &src[0], &outer[0], len(outer), &inner[0], len(inner), sw)
						results[k.name] = g
					}
				}
				for name, r := range results {
					for i := range wantD {
						if d := float64(r[i]) - wantD[i]; d > 1e-5 || d < -1e-5 {
							t.Fatalf("%s: element %d = %v, want %v", name, i, r[i], wantD[i])
						}
					}
				}
			})
		}
	}
	t.Run("range", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic for a run past dst")
			}
		}()
		addGrid(make([]float32, 10), make([]float32, 10), []offs{{0, 0}}, extent{0, 1, 0, 1}, []run{{dst: 4, src: 0, n: 3}}, 3)
	})
}
