//go:build cgo && linux && !android

package vulkan

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// TestCopyTransposeFastPath copies transposed views (2-D, batched, with a
// tail of columns, misaligned or not blockable) into dense outputs placed
// between guard elements and compares them bitwise with the CPU backend;
// it checks which layouts take tr4 and that tr4 ran.
func TestCopyTransposeFastPath(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(51, 52))
	type tc struct {
		name      string
		src       []int // dense source shape
		narrow    int   // > 0: slice the last source axis to this length
		a0, a1    int   // axes swapped
		xoff, off int   // element offsets of source and output
		fast      bool
	}
	for _, c := range []tc{
		{"2d", []int{8, 12}, 0, 0, 1, 0, 0, true},
		{"2d-offsets", []int{16, 4}, 0, 0, 1, 4, 8, true},
		{"2d-big", []int{100, 60}, 0, 0, 1, 0, 4, true},
		{"batched", []int{3, 8, 16}, 0, 1, 2, 4, 0, true},
		{"batched-4d", []int{2, 3, 8, 12}, 0, 2, 3, 0, 4, true},
		{"column-tail", []int{12, 12}, 10, 0, 1, 0, 0, true},
		{"batched-tail", []int{2, 8, 12}, 9, 1, 2, 8, 4, true},
		{"rows-not-4", []int{4, 5}, 0, 0, 1, 0, 0, false},
		{"few-columns", []int{8, 3}, 0, 0, 1, 0, 0, false},
		{"source-misaligned", []int{8, 8}, 0, 0, 1, 2, 0, false},
		{"output-misaligned", []int{8, 8}, 0, 0, 1, 0, 1, false},
		{"permute-outer", []int{4, 8, 3, 3}, 0, 0, 1, 0, 0, false},
	} {
		n := tensor.Numel(c.src)
		data := make([]float32, n)
		for i := range data {
			data[i] = rng.Float32()*2 - 1
		}
		run := func(be tensor.Backend) ([]float32, bool) {
			xbuf, x := guarded(be, data, c.xoff, c.src...)
			if c.narrow > 0 {
				x = tensor.Slice(x, len(c.src)-1, 0, c.narrow)
			}
			xt := tensor.Transpose(x, c.a0, c.a1)
			m := xt.Numel()
			obuf, out := guarded(be, make([]float32, m), c.off, xt.Shape()...)
			_, fast := trMatch(out.View(), xt.View())
			if err := be.Copy(out.View(), xt.View()); err != nil {
				t.Fatalf("%s on %s: %v", c.name, be.Name(), err)
			}
			for _, g := range []struct {
				buf     *tensor.Tensor
				off, nn int
			}{{xbuf, c.xoff, n}, {obuf, c.off, m}} {
				if err := checkGuards(g.buf, g.off, g.nn); err != nil {
					t.Errorf("%s on %s: %v", c.name, be.Name(), err)
				}
			}
			return out.Float32s(), fast
		}
		got, fast := run(b)
		want, _ := run(cb)
		if fast != c.fast && kernelMode() != "generic" {
			t.Errorf("%s: tr4 taken = %v, want %v", c.name, fast, c.fast)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: vulkan copy differs from the CPU backend", c.name)
		}
	}
	if !kernelRan(b, "tr4") {
		t.Error("kernel tr4 never ran: the fast path was not taken")
	}
}
