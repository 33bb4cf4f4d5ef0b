//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// specials are the values every vec4 elementwise op is checked on, next
// to random ones.
var specials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 2.5, -3, 0.5,
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-30, -1e30}

// fastData is n values: the specials, then uniform values in [-4, 4].
func fastData(rng *rand.Rand, n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		if i < len(specials) {
			d[i] = specials[i]
		} else {
			d[i] = rng.Float32()*8 - 4
		}
	}
	return d
}

// sameBits compares element by element, treating every NaN as equal and
// allowing an error of relErr*max(|want|, 1) (transcendental ops, sums).
func sameBits(got, want []float32, relErr float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) && math.IsNaN(w) || g == w {
			continue
		}
		if math.IsNaN(g) || math.IsNaN(w) || math.IsInf(g, 0) || math.IsInf(w, 0) || math.Abs(g-w) > relErr*math.Max(math.Abs(w), 1) {
			return fmt.Errorf("element %d: got %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// TestFastPaths runs every unary and binary op and the sum, mean and max
// reductions through the vec4 kernels (dense views with offsets that are
// multiples of 4) and compares them with the CPU backend; the same ops on
// misaligned views take the strided kernels and must agree as well.
func TestFastPaths(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 1000
	for _, off := range []int{0, 4, 1} { // 1: misaligned, the strided kernels
		xd, yd := fastData(rng, n+off), fastData(rng, n+off)
		rng.Shuffle(len(yd), func(i, j int) { yd[i], yd[j] = yd[j], yd[i] })
		view := func(be tensor.Backend, d []float32) *tensor.Tensor {
			return tensor.Reshape(tensor.Slice(tensor.FromSlice(be, d, len(d)), 0, off, len(d)), 25, 40)
		}
		// strided is the same [25, 40] values as a transposed view, which
		// takes the strided kernels.
		strided := func(be tensor.Backend, d []float32) *tensor.Tensor {
			tr := make([]float32, 25*40)
			for i := 0; i < 25; i++ {
				for j := 0; j < 40; j++ {
					tr[j*25+i] = d[off+i*40+j]
				}
			}
			return tensor.Transpose(tensor.FromSlice(be, tr, 40, 25), 0, 1)
		}
		for op := tensor.OpNeg; op <= tensor.OpRecip; op++ {
			alpha, beta := float32(1.5), float32(-0.5)
			if op == tensor.OpPowScalar {
				alpha = 2
			}
			run := func(be tensor.Backend, mk func(tensor.Backend, []float32) *tensor.Tensor) []float32 {
				x := mk(be, xd)
				out := tensor.Zeros(be, 25, 40)
				if err := be.Unary(op, out.View(), x.View(), alpha, beta); err != nil {
					t.Fatal(err)
				}
				return out.Float32s()
			}
			tol := 0.0
			switch op {
			case tensor.OpExp, tensor.OpLog, tensor.OpPowScalar, tensor.OpSqrt, tensor.OpRsqrt:
				tol = 1e-5
			}
			got := run(b, view)
			if err := sameBits(got, run(b, strided), 0); err != nil {
				t.Errorf("offset %d, unary %s against the strided kernel: %v", off, op, err)
			}
			if err := sameBits(got, run(cb, view), tol); err != nil {
				t.Errorf("offset %d, unary %s against the CPU: %v", off, op, err)
			}
		}
		for op := tensor.OpAdd; op <= tensor.OpGe; op++ {
			run := func(be tensor.Backend, mk func(tensor.Backend, []float32) *tensor.Tensor) []float32 {
				x, y := mk(be, xd), mk(be, yd)
				out := tensor.Zeros(be, 25, 40)
				if err := be.Binary(op, out.View(), x.View(), y.View()); err != nil {
					t.Fatal(err)
				}
				return out.Float32s()
			}
			got := run(b, view)
			if err := sameBits(got, run(b, strided), 0); err != nil {
				t.Errorf("offset %d, binary %s against the strided kernel: %v", off, op, err)
			}
			if op == tensor.OpPow {
				// binary.comp's pow of the special values (infinities,
				// NaN, signed zeros) does not match the CPU backend's in
				// every case; the vec4 path must match binary.comp.
				continue
			}
			if err := sameBits(got, run(cb, view), 0); err != nil {
				t.Errorf("offset %d, binary %s against the CPU: %v", off, op, err)
			}
		}
	}
	// Reductions: rows long enough for red4_rows, a middle axis for
	// red4_cols, with and without a NaN, and offsets.
	type red struct{ outer, n, inner, off int }
	for _, r := range []red{{7, 1024, 1, 0}, {3, 4096, 1, 4}, {5, 600, 8, 0}, {2, 37, 12, 4}, {3, 1024, 1, 2}, {4, 100, 6, 0}} {
		for _, withNaN := range []bool{false, true} {
			d := make([]float32, r.outer*r.n*r.inner+r.off)
			for i := range d {
				d[i] = rng.Float32()*2 - 1
			}
			if withNaN {
				d[r.off+len(d)/3] = float32(math.NaN())
			}
			for _, op := range []tensor.ReduceOp{tensor.ReduceSum, tensor.ReduceMean, tensor.ReduceMax} {
				run := func(be tensor.Backend) []float32 {
					x := tensor.Slice(tensor.FromSlice(be, d, len(d)), 0, r.off, len(d))
					out := tensor.Zeros(be, r.outer, r.inner)
					if err := be.Reduce(op, out.View(), x.View(), r.outer, r.n, r.inner); err != nil {
						t.Fatal(err)
					}
					return out.Float32s()
				}
				got, want := run(b), run(cb)
				var err error
				if withNaN {
					err = sameBits(got, want, 1e-4)
				} else {
					err = backendtest.Compare(got, want, 1e-10)
				}
				if err != nil {
					t.Errorf("reduce %s %+v nan=%v: %v", op, r, withNaN, err)
				}
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, name := range []string{"ew4_unary", "ew4_binary", "red4_cols"} {
		found := false
		for key := range b.kernels {
			found = found || len(key) >= len(name) && key[:len(name)] == name
		}
		if !found {
			t.Errorf("kernel %s never ran: the fast path was not taken", name)
		}
	}
}

// TestRowReductionVariants runs the row reductions with the subgroup
// variant (when the device has it) and with the shared-memory tree (the
// device's ARITHMETIC bit hidden), both against the CPU.
func TestRowReductionVariants(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(8, 1))
	const outer, n = 5, 2048
	d := make([]float32, outer*n)
	for i := range d {
		d[i] = rng.Float32()*2 - 1
	}
	saved := b.info.Subgroup
	defer func() { b.info.Subgroup = saved }()
	for _, hide := range []bool{false, true} {
		if hide {
			b.info.Subgroup.Operations &^= SubgroupArithmetic
		}
		for _, op := range []tensor.ReduceOp{tensor.ReduceSum, tensor.ReduceMean, tensor.ReduceMax} {
			run := func(be tensor.Backend) []float32 {
				out := tensor.Zeros(be, outer)
				if err := be.Reduce(op, out.View(), tensor.FromSlice(be, d, outer, n).View(), outer, n, 1); err != nil {
					t.Fatal(err)
				}
				return out.Float32s()
			}
			if err := backendtest.Compare(run(b), run(cb), 1e-10); err != nil {
				t.Errorf("%s, arithmetic hidden=%v: %v", op, hide, err)
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for key := range b.kernels {
		if len(key) >= 10 && key[:10] == "red4_rows," {
			return
		}
	}
	t.Error("the shared-memory tree variant (red4_rows) never ran")
}
