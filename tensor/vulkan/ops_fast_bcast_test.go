//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// guardValue fills the elements around a view; no kernel may change them.
const guardValue = float32(-7777)

// guarded places data at element offset off of a buffer with guard
// elements before and after it (off of them before, 9 after) and returns
// the buffer and the view of data with the given shape.
func guarded(be tensor.Backend, data []float32, off int, shape ...int) (*tensor.Tensor, *tensor.Tensor) {
	full := make([]float32, off+len(data)+9)
	for i := range full {
		full[i] = guardValue
	}
	copy(full[off:], data)
	buf := tensor.FromSlice(be, full, len(full))
	return buf, tensor.Reshape(tensor.Slice(buf, 0, off, off+len(data)), shape...)
}

// checkGuards reports an element outside [off, off+n) of buf that is no
// longer the guard value.
func checkGuards(buf *tensor.Tensor, off, n int) error {
	for i, v := range buf.Float32s() {
		if (i < off || i >= off+n) && v != guardValue {
			return fmt.Errorf("guard element %d changed to %v", i, v)
		}
	}
	return nil
}

// kernelRan reports whether a pipeline of the named kernel was created.
func kernelRan(b *Backend, name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for key := range b.kernels {
		if key == name || strings.HasPrefix(key, name+",") {
			return true
		}
	}
	return false
}

// TestBroadcastFastPath runs every binary op over broadcast shapes (row
// vector, column, per-channel, odd tails, offsets) through ew4b and checks
// the result against the strided kernel (bitwise) and the CPU backend, and
// that the elements around the output are untouched. Layouts the vec4
// kernel cannot take (a last dimension that is not a multiple of 4, a
// misaligned vec4 operand) must fall back and agree as well.
func TestBroadcastFastPath(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(11, 12))
	type tc struct {
		name               string
		out, as, bs        []int // output shape, the operands' own shapes (broadcast to out)
		aOff, bOff, outOff int
		kernel             string // "" when the strided kernel must run
	}
	cases := []tc{
		{"row", []int{6, 20}, []int{6, 20}, []int{20}, 0, 0, 0, "ew4b_vv"},
		{"row offsets", []int{5, 12}, []int{5, 12}, []int{1, 12}, 4, 8, 4, "ew4b_vv"},
		{"column", []int{6, 20}, []int{6, 20}, []int{6, 1}, 0, 0, 0, "ew4b_vs"},
		{"column scalar offset 3", []int{7, 8}, []int{7, 8}, []int{7, 1}, 4, 3, 8, "ew4b_vs"},
		{"per-channel first", []int{2, 3, 4, 4}, []int{1, 3, 1, 1}, []int{2, 3, 4, 4}, 1, 0, 0, "ew4b_sv"},
		{"per-channel 5x4", []int{2, 3, 5, 4}, []int{2, 3, 5, 4}, []int{1, 3, 1, 1}, 0, 2, 0, "ew4b_vs"},
		{"odd tail", []int{3, 7, 12}, []int{3, 7, 12}, []int{1, 7, 1}, 0, 0, 4, "ew4b_vs"},
		{"middle broadcast", []int{4, 3, 8}, []int{4, 3, 8}, []int{4, 1, 8}, 0, 4, 0, "ew4b_vv"},
		{"both broadcast", []int{5, 4}, []int{1, 4}, []int{5, 1}, 0, 0, 0, "ew4b_vs"},
		{"many workgroups", []int{300, 64}, []int{300, 64}, []int{64}, 0, 0, 0, "ew4b_vv"},
		{"last dim 6", []int{5, 6}, []int{5, 6}, []int{6}, 0, 0, 0, ""},
		{"misaligned vec4 operand", []int{6, 8}, []int{6, 8}, []int{8}, 2, 0, 0, ""},
		{"misaligned output", []int{6, 8}, []int{6, 8}, []int{8}, 0, 0, 1, ""},
		// Last dimension not a multiple of 4: flat vec4 stream.
		{"per-channel 15x15", []int{2, 4, 15, 15}, []int{2, 4, 15, 15}, []int{1, 4, 1, 1}, 0, 0, 0, "ew4b_flat_vs"},
		{"per-channel 7x7 first", []int{3, 8, 7, 7}, []int{1, 8, 1, 1}, []int{3, 8, 7, 7}, 1, 4, 8, "ew4b_flat_sv"},
		{"column 5", []int{8, 5}, []int{8, 5}, []int{8, 1}, 0, 3, 4, "ew4b_flat_vs"},
		{"column 17 offsets", []int{12, 17}, []int{12, 17}, []int{12, 1}, 8, 1, 4, "ew4b_flat_vs"},
		{"per-sample-channel 3x3", []int{2, 6, 3, 3}, []int{2, 6, 3, 3}, []int{2, 6, 1, 1}, 4, 0, 0, "ew4b_flat_vs"},
		{"flat odd count", []int{3, 5}, []int{3, 5}, []int{3, 1}, 0, 0, 0, ""},
		{"flat misaligned", []int{4, 5}, []int{4, 5}, []int{4, 1}, 2, 0, 0, ""},
		{"flat last dim 3", []int{4, 3}, []int{4, 3}, []int{4, 1}, 0, 0, 0, ""},
		{"flat row vector", []int{4, 5}, []int{4, 5}, []int{5}, 0, 0, 0, ""},
	}
	for _, c := range cases {
		n := tensor.Numel(c.out)
		if c.kernel == "" || strings.HasPrefix(c.kernel, "ew4b_flat") {
			shape, st := collapse(c.out, [][]int{tensor.ContiguousStrides(c.out), bcastStrides(c.as, c.out), bcastStrides(c.bs, c.out)})
			name, voff := flatChoice(shape, st, c.aOff, c.bOff)
			if name != "" && (voff%4 != 0 || n%4 != 0 || c.outOff%4 != 0) {
				name = ""
			}
			if name != c.kernel && !(c.kernel == "" && shape[len(shape)-1]%4 == 0) {
				t.Errorf("%s: flat variant %q, want %q", c.name, name, c.kernel)
			}
		}
		ad, bd := fastData(rng, tensor.Numel(c.as)), fastData(rng, tensor.Numel(c.bs))
		rng.Shuffle(len(bd), func(i, j int) { bd[i], bd[j] = bd[j], bd[i] })
		for op := tensor.OpAdd; op <= tensor.OpGe; op++ {
			run := func(be tensor.Backend, generic bool) []float32 {
				if generic {
					t.Setenv(EnvKernels, "generic")
					defer t.Setenv(EnvKernels, "")
				}
				_, a := guarded(be, ad, c.aOff, c.as...)
				_, bt := guarded(be, bd, c.bOff, c.bs...)
				obuf, out := guarded(be, make([]float32, n), c.outOff, c.out...)
				if err := be.Binary(op, out.View(), tensor.Expand(a, c.out...).View(), tensor.Expand(bt, c.out...).View()); err != nil {
					t.Fatalf("%s %s: %v", c.name, op, err)
				}
				if err := checkGuards(obuf, c.outOff, n); err != nil {
					t.Errorf("%s %s on %s: %v", c.name, op, be.Name(), err)
				}
				return out.Float32s()
			}
			got := run(b, false)
			if err := sameBits(got, run(b, true), 0); err != nil {
				t.Errorf("%s %s against the strided kernel: %v", c.name, op, err)
			}
			if op != tensor.OpPow { // see TestFastPaths
				if err := sameBits(got, run(cb, false), 0); err != nil {
					t.Errorf("%s %s against the CPU: %v", c.name, op, err)
				}
			}
		}
	}
	for _, k := range []string{"ew4b_vv", "ew4b_vs", "ew4b_sv", "ew4b_flat_vs", "ew4b_flat_sv"} {
		if !kernelRan(b, k) {
			t.Errorf("kernel %s never ran: the fast path was not taken", k)
		}
	}
}

// TestBroadcastFastPathChoice checks which kernel each layout takes.
func TestBroadcastFastPathChoice(t *testing.T) {
	for _, c := range []struct {
		st   []int
		off  int
		vec  bool
		okay bool
	}{
		{[]int{12, 1}, 0, true, true},
		{[]int{12, 1}, 2, false, false},
		{[]int{6, 1}, 0, false, false},
		{[]int{1, 0}, 3, false, true},
		{[]int{0, 2}, 0, false, false},
	} {
		vec, ok := bcastOperand(c.st, c.off)
		if vec != c.vec || ok != c.okay {
			t.Errorf("bcastOperand(%v, %d) = %v, %v; want %v, %v", c.st, c.off, vec, ok, c.vec, c.okay)
		}
	}
}

// TestAdamFastPath runs Adam through adam4 (with a scalar tail when n is
// not a multiple of 4) and through adam alone (misaligned offsets), over
// two steps, against the CPU backend, with guard elements around every
// operand.
func TestAdamFastPath(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct{ n, off int }{{1000, 0}, {1001, 4}, {1003, 8}, {4, 0}, {3, 0}, {130, 1}, {517, 2}} {
		pd, gd, md, vd := make([]float32, c.n), make([]float32, c.n), make([]float32, c.n), make([]float32, c.n)
		for i := range pd {
			pd[i], gd[i], md[i], vd[i] = rng.Float32()*2-1, rng.Float32()*2-1, rng.Float32()*0.1, rng.Float32()*1e-3
		}
		run := func(be tensor.Backend) [][]float32 {
			var bufs, views []*tensor.Tensor
			for _, d := range [][]float32{pd, gd, md, vd} {
				buf, v := guarded(be, d, c.off, c.n)
				bufs, views = append(bufs, buf), append(views, v)
			}
			for step := 1; step <= 2; step++ {
				p := tensor.AdamParams{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: step}
				if err := be.AdamUpdate(views[0].View(), views[1].View(), views[2].View(), views[3].View(), p); err != nil {
					t.Fatal(err)
				}
			}
			var res [][]float32
			for i, buf := range bufs {
				if err := checkGuards(buf, c.off, c.n); err != nil {
					t.Errorf("n=%d off=%d on %s, operand %d: %v", c.n, c.off, be.Name(), i, err)
				}
				res = append(res, views[i].Float32s())
			}
			return res
		}
		got, want := run(b), run(cb)
		for i, name := range []string{"param", "grad", "m", "v"} {
			if err := backendtest.Compare(got[i], want[i], 1e-12); err != nil {
				t.Errorf("n=%d off=%d: %s: %v", c.n, c.off, name, err)
			}
		}
	}
	if !kernelRan(b, "adam4") {
		t.Error("adam4 never ran: the fast path was not taken")
	}
}

// TestColumnReductionShapes runs sum, mean and max along a middle axis
// through red4_cols for column counts around its V vec4s per invocation
// (fewer, a multiple, a remainder), row counts with and without a tail
// of its 4-row unrolling, and offsets, against the CPU backend, with
// guard elements around the output.
func TestColumnReductionShapes(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(31, 32))
	type red struct{ outer, n, inner, xOff, outOff int }
	for _, r := range []red{{3, 37, 20, 4, 0}, {2, 4096, 4, 0, 4}, {5, 1, 16, 0, 1}, {1, 2, 36, 8, 3}, {4, 101, 64, 0, 0}, {65, 7, 68, 4, 2}} {
		d := make([]float32, r.outer*r.n*r.inner)
		for i := range d {
			d[i] = rng.Float32()*2 - 1
		}
		for _, op := range []tensor.ReduceOp{tensor.ReduceSum, tensor.ReduceMean, tensor.ReduceMax} {
			run := func(be tensor.Backend) []float32 {
				_, x := guarded(be, d, r.xOff, len(d))
				obuf, out := guarded(be, make([]float32, r.outer*r.inner), r.outOff, r.outer, r.inner)
				if err := be.Reduce(op, out.View(), x.View(), r.outer, r.n, r.inner); err != nil {
					t.Fatal(err)
				}
				if err := checkGuards(obuf, r.outOff, r.outer*r.inner); err != nil {
					t.Errorf("reduce %s %+v on %s: %v", op, r, be.Name(), err)
				}
				return out.Float32s()
			}
			if err := backendtest.Compare(run(b), run(cb), 1e-10); err != nil {
				t.Errorf("reduce %s %+v: %v", op, r, err)
			}
		}
	}
	if !kernelRan(b, "red4_cols") {
		t.Error("red4_cols never ran: the fast path was not taken")
	}
}

// bcastStrides is the strides of a dense tensor of shape own expanded to out.
func bcastStrides(own, out []int) []int {
	st := make([]int, len(out))
	cs := tensor.ContiguousStrides(own)
	lead := len(out) - len(own)
	for d := range own {
		if own[d] != 1 {
			st[lead+d] = cs[d]
		}
	}
	return st
}
