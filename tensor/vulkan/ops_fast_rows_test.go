//go:build cgo && linux && !android

package vulkan

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// TestCopyRowsFastPath copies views that permute outer axes but keep
// contiguous rows (and dense views at odd offsets) into dense outputs
// between guard elements, compares them bitwise with the CPU backend and
// checks which layouts take rowcp4 / rowcp4_any and that both ran.
func TestCopyRowsFastPath(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(61, 62))
	type tc struct {
		name      string
		src       []int // dense source shape
		narrow    int   // > 0: slice the last source axis to this length
		perm      []int // nil: no permutation
		xoff, off int   // element offsets of source and output
		kernel    string
	}
	for _, c := range []tc{
		{"nchw-cnhw-15x15", []int{6, 10, 15, 15}, 0, []int{1, 0, 2, 3}, 0, 0, "rowcp4_any"},
		{"nchw-cnhw-15x15-offsets", []int{5, 3, 15, 15}, 0, []int{1, 0, 2, 3}, 3, 4, "rowcp4_any"},
		{"nchw-cnhw-8x8", []int{4, 6, 8, 8}, 0, []int{1, 0, 2, 3}, 0, 0, "rowcp4"},
		{"outer-3-axes", []int{2, 3, 4, 20}, 0, []int{2, 0, 1, 3}, 8, 4, "rowcp4"},
		{"outer-3-axes-odd", []int{2, 3, 4, 17}, 0, []int{2, 0, 1, 3}, 0, 8, "rowcp4_any"},
		{"row-tail-vec4s", []int{3, 5, 24}, 0, []int{1, 0, 2}, 4, 0, "rowcp4"},
		{"narrowed-rows", []int{6, 5, 20}, 18, []int{1, 0, 2}, 0, 0, "rowcp4_any"},
		{"narrowed-aligned", []int{3, 4, 20}, 12, []int{1, 0, 2}, 0, 0, "rowcp4"},
		{"x-misaligned", []int{4, 3, 16}, 0, []int{1, 0, 2}, 1, 0, "rowcp4_any"},
		{"dense-odd", []int{5, 7, 11}, 0, nil, 3, 0, "rowcp4_any"},
		{"dense-aligned", []int{8, 16}, 0, nil, 4, 4, "rowcp4"},
		{"output-misaligned", []int{4, 3, 16}, 0, []int{1, 0, 2}, 0, 1, ""},
		{"short-rows", []int{4, 8, 3, 3}, 0, []int{1, 0, 2, 3}, 0, 0, ""},
		{"strided-rows", []int{8, 12}, 0, []int{1, 0}, 0, 0, ""}, // tr4
	} {
		n := tensor.Numel(c.src)
		data := make([]float32, n)
		for i := range data {
			data[i] = rng.Float32()*2 - 1
		}
		run := func(be tensor.Backend) ([]float32, rowLayout, bool) {
			xbuf, x := guarded(be, data, c.xoff, c.src...)
			if c.narrow > 0 {
				x = tensor.Slice(x, len(c.src)-1, 0, c.narrow)
			}
			if c.perm != nil {
				x = tensor.Permute(x, c.perm...)
			}
			m := x.Numel()
			obuf, out := guarded(be, make([]float32, m), c.off, x.Shape()...)
			l, fast := rowMatch(out.View(), x.View())
			if err := be.Copy(out.View(), x.View()); err != nil {
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
			return out.Float32s(), l, fast
		}
		got, l, fast := run(b)
		want, _, _ := run(cb)
		if kernelMode() != "generic" && c.name != "strided-rows" {
			kern := ""
			if fast {
				kern = "rowcp4_any"
				if l.vec {
					kern = "rowcp4"
				}
			}
			if kern != c.kernel {
				t.Errorf("%s: kernel %q, want %q", c.name, kern, c.kernel)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: vulkan copy differs from the CPU backend", c.name)
		}
	}
	for _, k := range []string{"rowcp4", "rowcp4_any"} {
		if !kernelRan(b, k) {
			t.Errorf("kernel %s never ran: the fast path was not taken", k)
		}
	}
}
