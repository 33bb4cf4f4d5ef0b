//go:build cgo && linux && !android

package vulkan

import (
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// TestBatchNormFastPath runs batch-norm forward (training and eval) and
// backward through bn4 (HW a multiple of 4, offsets multiples of 4) and
// through bn_*.comp (other layouts) against the CPU backend, with every
// operand placed between guard elements, and data whose mean is far from
// zero (the single-pass statistics must stay accurate).
func TestBatchNormFastPath(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(41, 42))
	type tc struct {
		n, c, hw, off int
		shift         float32
		fast          bool
	}
	for _, c := range []tc{
		{4, 3, 16, 0, 0, true},
		{2, 5, 12, 4, 100, true},
		{1, 2, 8, 8, -50, true},
		{7, 1, 4, 0, 3, true},
		{3, 70, 20, 4, 1, true},
		// HW not a multiple of 4: the flat apply (V = 4 from HW >= 16,
		// else V = 1), channel boundaries inside vec4s.
		{3, 4, 225, 4, 0, true},
		{2, 8, 49, 0, 20, true},
		{3, 4, 17, 8, 0, true},
		{5, 4, 9, 4, -3, true},
		{2, 12, 5, 0, 0, true},
		{3, 3, 9, 0, 0, false},  // C*HW not a multiple of 4
		{4, 8, 2, 0, 0, false},  // HW < 4
		{2, 4, 49, 2, 0, false}, // misaligned offset
		{2, 4, 8, 2, 0, false},
	} {
		total := c.n * c.c * c.hw
		xd, dyd := make([]float32, total), make([]float32, total)
		for i := range xd {
			xd[i], dyd[i] = c.shift+rng.Float32()*2-1, rng.Float32()*2-1
		}
		gd, bd, rmd, rvd := make([]float32, c.c), make([]float32, c.c), make([]float32, c.c), make([]float32, c.c)
		for i := range gd {
			gd[i], bd[i], rmd[i], rvd[i] = 0.5+rng.Float32(), rng.Float32()-0.5, rng.Float32(), 0.5+rng.Float32()
		}
		for _, training := range []bool{true, false} {
			p := tensor.BatchNormParams{N: c.n, C: c.c, HW: c.hw, Eps: 1e-5, Momentum: 0.1, Training: training}
			if got := b.bn4OK(p, c.off, c.off, c.off); got != c.fast && kernelMode() != "generic" {
				t.Errorf("%+v: bn4OK = %v, want %v", c, got, c.fast)
			}
			run := func(be tensor.Backend) map[string][]float32 {
				type op struct {
					buf, v *tensor.Tensor
					n      int
				}
				var ops []op
				mk := func(d []float32, shape ...int) *tensor.Tensor {
					buf, v := guarded(be, d, c.off, shape...)
					ops = append(ops, op{buf, v, len(d)})
					return v
				}
				x, dy := mk(xd, c.n, c.c, c.hw), mk(dyd, c.n, c.c, c.hw)
				gamma, beta, rm, rv := mk(gd, c.c), mk(bd, c.c), mk(rmd, c.c), mk(rvd, c.c)
				out, dx := mk(make([]float32, total), c.n, c.c, c.hw), mk(make([]float32, total), c.n, c.c, c.hw)
				mean, istd, dg, db := mk(make([]float32, c.c), c.c), mk(make([]float32, c.c), c.c), mk(make([]float32, c.c), c.c), mk(make([]float32, c.c), c.c)
				if err := be.BatchNormForward(out.View(), mean.View(), istd.View(), x.View(), gamma.View(), beta.View(), rm.View(), rv.View(), p); err != nil {
					t.Fatal(err)
				}
				res := map[string][]float32{"out": out.Float32s(), "mean": mean.Float32s(), "invstd": istd.Float32s(), "runMean": rm.Float32s(), "runVar": rv.Float32s()}
				if training {
					if err := be.BatchNormBackward(dx.View(), dg.View(), db.View(), dy.View(), x.View(), gamma.View(), mean.View(), istd.View(), p); err != nil {
						t.Fatal(err)
					}
					res["dx"], res["dgamma"], res["dbeta"] = dx.Float32s(), dg.Float32s(), db.Float32s()
				}
				for i, o := range ops {
					if err := checkGuards(o.buf, c.off, o.n); err != nil {
						t.Errorf("%+v training=%v on %s, operand %d: %v", c, training, be.Name(), i, err)
					}
				}
				return res
			}
			got, want := run(b), run(cb)
			// Far from zero, float32 inputs alone lose digits of x - mean
			// (the strided kernels too); 1e-8 still fails a naive
			// sum-of-squares variance by orders of magnitude.
			tol := 1e-10
			if c.shift > 10 || c.shift < -10 {
				tol = 1e-8
			}
			for name, w := range want {
				if err := backendtest.Compare(got[name], w, tol); err != nil {
					t.Errorf("%+v training=%v: %s: %v", c, training, name, err)
				}
			}
		}
	}
	for _, k := range []string{"bn4_cols", "bn4_chan", "bn4_apply", "bn4_bwd_cols", "bn4_bwd_chan", "bn4_bwd_apply", "bn4_apply_flat", "bn4_bwd_apply_flat"} {
		if !kernelRan(b, k) {
			t.Errorf("kernel %s never ran: the fast path was not taken", k)
		}
	}
}
