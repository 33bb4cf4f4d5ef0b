package cpu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTranspose8 checks transpose8 (the AVX kernel where the CPU has one)
// and transpose8Go against the definition, with strides wider than the
// blocks, elements between the written ones untouched, and the extent check.
func TestTranspose8(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, blocks := range []int{1, 2, 5} {
		for _, strides := range [][2]int{{8, 8 * blocks}, {11, 8*blocks + 3}, {32, 1000}} {
			ldd, lds := strides[0], strides[1]
			t.Run(fmt.Sprintf("b%d_ldd%d_lds%d", blocks, ldd, lds), func(t *testing.T) {
				src := randSlice(rng, 7*lds+8*blocks)
				want := randSlice(rng, (8*blocks-1)*ldd+8)
				got, gotGo := slices.Clone(want), slices.Clone(want)
				for i := range 8 {
					for p := range 8 * blocks {
						want[p*ldd+i] = src[i*lds+p]
					}
				}
				transpose8(got, ldd, src, lds, blocks)
				transpose8Go(gotGo, ldd, src, lds, blocks)
				if !slices.Equal(got, want) {
					t.Errorf("transpose8 differs at %d", firstDiff(got, want))
				}
				if !slices.Equal(gotGo, want) {
					t.Errorf("transpose8Go differs at %d", firstDiff(gotGo, want))
				}
			})
		}
	}
	for _, c := range []struct{ dst, ldd, src, lds int }{{63, 8, 64, 8}, {64, 8, 63, 8}, {64, 7, 64, 8}} {
		t.Run(fmt.Sprintf("range_%v", c), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			transpose8(make([]float32, c.dst), c.ldd, make([]float32, c.src), c.lds, 1)
		})
	}
}
