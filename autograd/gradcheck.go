package autograd

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vkgrad/vkgrad/tensor"
)

// CheckOptions tune CheckGrad. The zero value gives the defaults.
type CheckOptions struct {
	// Eps is the finite-difference step (default 1e-2, suited to float32).
	Eps float64
	// Tol is the largest accepted error per element, measured as
	// |analytic - numeric| / max(1, |analytic|, |numeric|): an absolute
	// error for gradients below 1 and a relative one above (default 1e-2).
	Tol float64
	// FourPoint uses the 4-point stencil
	// (f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h instead of the central
	// difference (f(x+h) - f(x-h)) / 2h, for strongly curved ops.
	FourPoint bool
	// Seed seeds the random upstream gradient R and the point sampling
	// (0 means a fixed default seed).
	Seed uint64
	// Wrt lists the indices of the inputs to differentiate with respect to
	// (default: all). The others are passed as constants.
	Wrt []int
	// MaxPoints caps the number of elements checked per input; when an input
	// is larger, a seeded random subset is checked (0: check every element).
	MaxPoints int
	// SkipKinks skips elements where the function has a kink within the
	// stencil's reach that could move the finite difference by more than
	// KinkTol*max(1, |slope|). Kinks are found by comparing one-sided slopes
	// and central differences at the step and at half the step (smooth
	// functions agree to O(step^2)); this costs three more evaluations per
	// element (one with FourPoint). Use it for ReLU, Abs, Clamp, Max,
	// Maximum and max-pooling at random points, and for composites that
	// contain them.
	SkipKinks bool
	// KinkTol is the kink threshold for SkipKinks (default Tol/4).
	KinkTol float64
	// Skip, when set, skips element j (row-major) of input i whose value is
	// v, e.g. points known to be on a kink.
	Skip func(i, j int, v float32) bool
	// MaxSkipFrac is the largest fraction of checked elements that may be
	// skipped before CheckGrad fails, so that a check cannot pass vacuously
	// (default 0.5).
	MaxSkipFrac float64
}

func (o *CheckOptions) defaults() {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.Tol == 0 {
		o.Tol = 1e-2
	}
	if o.Seed == 0 {
		o.Seed = 0x9e3779b97f4a7c15
	}
	if o.KinkTol == 0 {
		o.KinkTol = o.Tol / 4
	}
	if o.MaxSkipFrac == 0 {
		o.MaxSkipFrac = 0.5
	}
}

// ErrGradMismatch is wrapped by the error CheckGrad returns when an analytic
// gradient disagrees with the finite differences.
var ErrGradMismatch = errors.New("autograd: analytic gradient differs from finite differences")

// CheckGrad compares the gradients that Backward computes for f with central
// finite differences.
//
// f builds an output from Vars wrapping the inputs (it must be
// deterministic and may not modify its inputs). The scalar checked is
// loss = sum(f(xs) * R) with R a fixed-seed random tensor of f's output
// shape, so the backward pass starts from a random upstream gradient and an
// op that ignores its incoming gradient fails. The loss is accumulated in
// float64 on the host. Inputs are copied densely to their backend (use
// views inside f to test strided operands); the check runs on the inputs'
// backend, which should be the CPU reference backend.
//
// It returns nil when every checked element is within opt.Tol, an error
// wrapping ErrGradMismatch that lists the worst elements otherwise, or
// another error when f or Backward fails (shape errors included).
func CheckGrad(f func(xs []*Var) *Var, inputs []*tensor.Tensor, opt CheckOptions) error {
	opt.defaults()
	if len(inputs) == 0 {
		return errors.New("autograd: CheckGrad needs at least one input")
	}
	wrt := opt.Wrt
	if wrt == nil {
		for i := range inputs {
			wrt = append(wrt, i)
		}
	}
	isWrt := make([]bool, len(inputs))
	for _, i := range wrt {
		if i < 0 || i >= len(inputs) {
			return fmt.Errorf("autograd: CheckGrad: Wrt index %d out of range for %d inputs", i, len(inputs))
		}
		isWrt[i] = true
	}
	var checkErr error
	if err := tensor.Try(func() { checkErr = checkGrad(f, inputs, isWrt, opt) }); err != nil {
		return fmt.Errorf("autograd: CheckGrad: %w", err)
	}
	return checkErr
}

type gradMismatch struct {
	input, index int
	x            float32
	analytic     float64
	numeric      float64
	err          float64
}

func checkGrad(f func(xs []*Var) *Var, inputs []*tensor.Tensor, isWrt []bool, opt CheckOptions) error {
	b := inputs[0].Backend()
	host := make([][]float32, len(inputs))
	vals := make([]*tensor.Tensor, len(inputs))
	for i, in := range inputs {
		if in.DType() != tensor.Float32 {
			return fmt.Errorf("autograd: CheckGrad: input %d is %s, want float32", i, in.DType())
		}
		host[i] = in.Float32s()
		vals[i] = tensor.FromSlice(b, host[i], in.Shape()...)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5851f42d4c957f2d))

	// Analytic pass.
	vars := make([]*Var, len(inputs))
	for i, v := range vals {
		vars[i] = NewVar(v, isWrt[i])
	}
	out := f(vars)
	if out == nil {
		return errors.New("autograd: CheckGrad: f returned nil")
	}
	rHost := make([]float32, out.Value.Numel())
	for i := range rHost {
		rHost[i] = float32(rng.Float64()*2 - 1)
	}
	// Reshape also covers a rank-0 output, which FromSlice would make [1].
	r := tensor.Reshape(tensor.FromSlice(b, rHost), out.Value.Shape()...)
	if err := out.BackwardWith(r); err != nil {
		return fmt.Errorf("autograd: CheckGrad: backward: %w", err)
	}
	analytic := make([][]float32, len(inputs))
	for i, v := range vars {
		if !isWrt[i] {
			continue
		}
		if v.Grad == nil {
			analytic[i] = make([]float32, len(host[i])) // no path: gradient 0
		} else {
			analytic[i] = v.Grad.Float32s()
		}
	}

	// loss evaluates sum(f * R) in float64 with input i element j set to x.
	consts := make([]*Var, len(inputs))
	for i, v := range vals {
		consts[i] = Const(v)
	}
	loss := func(i, j int, x float32) (float64, error) {
		saved := host[i][j]
		host[i][j] = x
		tensor.Write(vals[i], host[i])
		host[i][j] = saved
		defer tensor.Write(vals[i], host[i])
		o := f(consts).Value
		if !slices.Equal(o.Shape(), out.Value.Shape()) {
			return 0, fmt.Errorf("autograd: CheckGrad: f output shape changed from %v to %v", out.Value.Shape(), o.Shape())
		}
		s := 0.0
		for k, v := range o.Float32s() {
			s += float64(v) * float64(rHost[k])
		}
		return s, nil
	}

	var bad []gradMismatch
	worst := 0.0
	considered, checked, skipped := 0, 0, 0
	for i := range inputs {
		if !isWrt[i] {
			continue
		}
		for _, j := range samplePoints(len(host[i]), opt.MaxPoints, rng) {
			x := host[i][j]
			considered++
			if opt.Skip != nil && opt.Skip(i, j, x) {
				skipped++
				continue
			}
			num, kink, err := numericGrad(loss, i, j, x, opt)
			if err != nil {
				return err
			}
			if kink {
				skipped++
				continue
			}
			checked++
			a := float64(analytic[i][j])
			e := math.Abs(a-num) / math.Max(1, math.Max(math.Abs(a), math.Abs(num)))
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			worst = math.Max(worst, e)
			if e > opt.Tol {
				bad = append(bad, gradMismatch{i, j, x, a, num, e})
			}
		}
	}
	if considered == 0 {
		return errors.New("autograd: CheckGrad: no input element to check (empty Wrt?)")
	}
	if float64(skipped) > opt.MaxSkipFrac*float64(considered) {
		return fmt.Errorf("autograd: CheckGrad: %d of %d points skipped (kinks or Skip), more than %.0f%%: the check would say little", skipped, considered, 100*opt.MaxSkipFrac)
	}
	if len(bad) > 0 {
		var sb strings.Builder
		for k, m := range bad {
			if k == 8 {
				fmt.Fprintf(&sb, "\n  ... and %d more", len(bad)-k)
				break
			}
			fmt.Fprintf(&sb, "\n  input %d elem %d (x=%g): analytic %.6g numeric %.6g (err %.3g)", m.input, m.index, m.x, m.analytic, m.numeric, m.err)
		}
		return fmt.Errorf("%w: %d of %d points over tolerance %g (worst %.3g):%s", ErrGradMismatch, len(bad), checked, opt.Tol, worst, sb.String())
	}
	return nil
}

// numericGrad estimates d loss / d x for input i element j. With
// opt.SkipKinks it also reports whether a kink within the stencil's reach
// could move the estimate by more than opt.KinkTol (see kinkError).
func numericGrad(loss func(i, j int, x float32) (float64, error), i, j int, x float32, opt CheckOptions) (g float64, kink bool, err error) {
	// f(d) evaluates the loss at the float32 point nearest x+d and returns
	// it with the step actually taken.
	type sample struct{ f, h float64 }
	memo := map[float64]sample{}
	f := func(d float64) sample {
		if s, ok := memo[d]; ok || err != nil {
			return s
		}
		xp := float32(float64(x) + d)
		v, e := loss(i, j, xp)
		if e != nil {
			err = e
		}
		s := sample{v, float64(xp) - float64(x)}
		memo[d] = s
		return s
	}
	h := opt.Eps
	central := func(h float64) float64 {
		p, m := f(h), f(-h)
		return (p.f - m.f) / (p.h - m.h)
	}
	g = central(h)
	if opt.FourPoint {
		g = (f(-2*h).f - 8*f(-h).f + 8*f(h).f - f(2*h).f) / (12 * h)
	}
	if err != nil || !opt.SkipKinks {
		return g, false, err
	}
	// The kink test runs at the stencil's reach H and at H/2.
	reach := h
	if opt.FourPoint {
		reach = 2 * h
	}
	f0 := f(0)
	asym := func(h float64) float64 {
		p, m := f(h), f(-h)
		return (p.f-f0.f)/p.h - (f0.f-m.f)/-m.h
	}
	kinkErr := kinkError(asym(reach), asym(reach/2), central(reach), central(reach/2))
	if err != nil {
		return 0, false, err
	}
	return g, kinkErr > opt.KinkTol*math.Max(1, math.Abs(g)), nil
}

// kinkError estimates how far a kink (a jump J in the slope at distance d
// from x) moves a central difference with step H, from the one-sided slope
// asymmetry A and the central difference D at steps H and H/2. For a smooth
// function A(H) = 2A(H/2) and D(H) = D(H/2) up to O(H^2) terms; a kink
// breaks the first by J|3d-H|/H and the second by J*min(d, H-d)/2H, while it
// moves D(H) by J(H-d)/2H. The estimate below is at least half that error
// for every d in [0, H] (it overestimates near d = H), so with the default
// KinkTol = Tol/4 an unskipped kink moves the estimate by at most Tol/2.
func kinkError(aH, aHalf, dH, dHalf float64) float64 {
	return math.Max(math.Abs(aH-2*aHalf)/2, 2*math.Abs(dH-dHalf))
}

// samplePoints returns the element indices to check: all of them, or a
// seeded random subset of max when n exceeds it.
func samplePoints(n, max int, rng *rand.Rand) []int {
	if max <= 0 || n <= max {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:max]
}
