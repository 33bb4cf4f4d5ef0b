package bench

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/tensor"
)

// instance is a spec set up on one backend with its inputs in place.
type instance struct {
	// run records (or, on a synchronous backend, runs) the op once.
	run func() error
	// outputs are the tensors verification compares after the first run.
	outputs func() map[string]*tensor.Tensor
	// tol is the largest normalised mean squared error accepted against
	// the CPU oracle.
	tol float64
	// release frees what the instance allocated.
	release func()
}

// defaultTol bounds the NMSE against the oracle: float32 rounding of sums
// of up to ~10^5 terms stays far below it, a wrong index or a missing term
// is far above.
const defaultTol = 1e-8

// specSeed derives the input seed of a spec from its name, so both
// backends of a verification get the same inputs.
func specSeed(s Spec) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, s.Kind, "/", s.Name)
	return h.Sum64()
}

func randData(rng *rand.Rand, n int, lo, hi float32) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = lo + (hi-lo)*rng.Float32()
	}
	return d
}

// newInstance allocates and fills the inputs of s on be.
func newInstance(be tensor.Backend, s Spec) (inst *instance, err error) {
	switch s.Kind {
	case KindTrainStep:
		return newTrainStep(be, s)
	case KindEncoderStep:
		return newEncoderStep(be, s)
	}
	rng := rand.New(rand.NewPCG(specSeed(s), 3))
	var owned []*tensor.Tensor
	t := func(shape ...int) *tensor.Tensor {
		x := tensor.FromSlice(be, randData(rng, tensor.Numel(shape), -1, 1), shape...)
		owned = append(owned, x)
		return x
	}
	zeros := func(shape ...int) *tensor.Tensor {
		x := tensor.Zeros(be, shape...)
		owned = append(owned, x)
		return x
	}
	inst = &instance{tol: defaultTol, release: func() {
		for _, x := range owned {
			x.Release()
		}
	}}
	err = tensor.Try(func() { inst.setup(be, s, rng, t, zeros) })
	if err != nil {
		inst.release()
		return nil, fmt.Errorf("bench: setting up %s %s on %s: %w", s.Kind, s.Name, be.Name(), err)
	}
	return inst, nil
}

func (inst *instance) setup(be tensor.Backend, s Spec, rng *rand.Rand, t, zeros func(...int) *tensor.Tensor) {
	one := func(name string, x *tensor.Tensor) func() map[string]*tensor.Tensor {
		return func() map[string]*tensor.Tensor { return map[string]*tensor.Tensor{name: x} }
	}
	switch s.Kind {
	case KindMatMul:
		ashape, bshape := []int{s.Batch, s.M, s.K}, []int{s.Batch, s.K, s.N}
		if s.TransA {
			ashape = []int{s.Batch, s.K, s.M}
		}
		if s.TransB {
			bshape = []int{s.Batch, s.N, s.K}
		}
		a, b, out := t(ashape...), t(bshape...), zeros(s.Batch, s.M, s.N)
		inst.run = func() error {
			return be.MatMul(out.View(), a.View(), b.View(), s.Batch, s.M, s.N, s.K, s.TransA, s.TransB)
		}
		inst.outputs = one("out", out)
	case KindConvForward, KindConvBackData, KindConvBackWeight:
		p := s.Conv
		x, w, y := []int{p.N, p.Cin, p.H, p.W}, []int{p.Cout, p.Cin, p.KH, p.KW}, []int{p.N, p.Cout, p.OH, p.OW}
		switch s.Kind {
		case KindConvForward:
			xt, wt, out := t(x...), t(w...), zeros(y...)
			inst.run = func() error { return be.Conv2D(out.View(), xt.View(), wt.View(), tensor.View{}, p) }
			inst.outputs = one("out", out)
		case KindConvBackData:
			dy, wt, dx := t(y...), t(w...), zeros(x...)
			inst.run = func() error { return be.Conv2DBackwardData(dx.View(), dy.View(), wt.View(), p) }
			inst.outputs = one("dx", dx)
		default:
			xt, dy, dw := t(x...), t(y...), zeros(w...)
			inst.run = func() error { return be.Conv2DBackwardWeight(dw.View(), xt.View(), dy.View(), p) }
			inst.outputs = one("dw", dw)
		}
	case KindReduce:
		x, out := t(s.Outer, s.Len, s.Inner), zeros(s.Outer, s.Inner)
		inst.run = func() error { return be.Reduce(s.Reduce, out.View(), x.View(), s.Outer, s.Len, s.Inner) }
		inst.outputs = one("out", out)
	case KindUnary:
		x, out := t(s.Shape...), zeros(s.Shape...)
		inst.run = func() error { return be.Unary(s.Unary, out.View(), x.View(), 0, 0) }
		inst.outputs = one("out", out)
	case KindBinary:
		a, b, out := t(s.Shape...), t(s.BShape...), zeros(s.Shape...)
		bv := tensor.Expand(b, s.Shape...)
		inst.run = func() error { return be.Binary(s.Binary, out.View(), a.View(), bv.View()) }
		inst.outputs = one("out", out)
	case KindCopy:
		var src *tensor.Tensor
		if s.Perm != nil {
			xs := make([]int, len(s.Shape))
			for i, a := range s.Perm {
				xs[a] = s.Shape[i]
			}
			src = tensor.Permute(t(xs...), s.Perm...)
		} else {
			src = tensor.Transpose(t(s.Shape[1], s.Shape[0]), 0, 1)
		}
		out := zeros(s.Shape...)
		inst.run = func() error { return be.Copy(out.View(), src.View()) }
		inst.outputs = one("out", out)
	case KindBatchNorm:
		p := s.BN
		x, dy, gamma, beta := t(p.N, p.C, p.HW), t(p.N, p.C, p.HW), t(p.C), t(p.C)
		rm, rv := zeros(p.C), tensor.Ones(be, p.C)
		out, mean, istd := zeros(p.N, p.C, p.HW), zeros(p.C), zeros(p.C)
		dx, dg, db := zeros(p.N, p.C, p.HW), zeros(p.C), zeros(p.C)
		inst.run = func() error {
			if err := be.BatchNormForward(out.View(), mean.View(), istd.View(), x.View(), gamma.View(), beta.View(), rm.View(), rv.View(), p); err != nil {
				return err
			}
			return be.BatchNormBackward(dx.View(), dg.View(), db.View(), dy.View(), x.View(), gamma.View(), mean.View(), istd.View(), p)
		}
		inst.outputs = func() map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"out": out, "mean": mean, "invstd": istd, "dx": dx, "dgamma": dg, "dbeta": db}
		}
	case KindAdam:
		n := s.Elems
		param, grad, m := t(n), t(n), zeros(n)
		v := tensor.FromSlice(be, randData(rng, n, 0, 1e-3), n)
		ap := tensor.AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1}
		inst.run = func() error { return be.AdamUpdate(param.View(), grad.View(), m.View(), v.View(), ap) }
		inst.outputs = func() map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"param": param, "m": m, "v": v}
		}
	default:
		panic(&tensor.OpError{Op: "bench", Err: fmt.Errorf("unknown kind %q", s.Kind)})
	}
}

// nmse is sum((got-want)^2) / sum(want^2) in float64 (the plain squared
// error when want is all zeros). A NaN or Inf in got that want does not
// have makes it +Inf.
func nmse(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || (math.IsInf(g, 0) && g != w) {
			return math.Inf(1)
		}
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		num += (g - w) * (g - w)
		den += w * w
	}
	if den == 0 {
		return num
	}
	return num / den
}

// verify runs s once on be and once on the oracle from the same inputs
// and compares every output (the run on be also warms its pipelines). The
// oracle itself is not verified, and not run.
func verify(be, oracle tensor.Backend, s Spec, inst *instance) error {
	if be == oracle {
		return nil
	}
	if err := inst.run(); err != nil {
		return err
	}
	if err := be.Sync(); err != nil {
		return err
	}
	ref, err := newInstance(oracle, s)
	if err != nil {
		return err
	}
	defer ref.release()
	if err := ref.run(); err != nil {
		return fmt.Errorf("oracle %s: %w", oracle.Name(), err)
	}
	want := ref.outputs()
	got := inst.outputs()
	for name, w := range want {
		var gv, wv []float32
		if err := tensor.Try(func() { gv, wv = got[name].Float32s(), w.Float32s() }); err != nil {
			return err
		}
		if e := nmse(gv, wv); !(e <= inst.tol) {
			return fmt.Errorf("%s %s: output %s differs from the %s backend: NMSE %.3g > %.3g", s.Kind, s.Name, name, oracle.Name(), e, inst.tol)
		}
	}
	return nil
}
