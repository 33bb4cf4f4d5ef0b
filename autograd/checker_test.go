package autograd

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// Deliberately broken ops: each has a backward bug the checker must catch.

// squareIgnoresUpstream returns 2x instead of 2x*g: right only when the
// upstream gradient is all ones.
func squareIgnoresUpstream(x *Var) *Var {
	return Record("bad", tensor.Square(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Scale(x.Value, 2)}
	})
}

// squareWrongFactor forgets the factor 2.
func squareWrongFactor(x *Var) *Var {
	return Record("bad", tensor.Square(x.Value), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, x.Value)}
	})
}

// mulDropsSecond returns no gradient for its second operand.
func mulDropsSecond(a, b *Var) *Var {
	return Record("bad", tensor.Mul(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, b.Value), nil}
	})
}

// matMulUntransposed uses g @ b instead of g @ b^T (shapes agree for square
// operands, values do not).
func matMulUntransposed(a, b *Var) *Var {
	return Record("bad", tensor.MatMul(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MatMul(g, b.Value), tensor.MatMulT(a.Value, g, true, false)}
	})
}

// sumBroadcastFirstRow routes the gradient of the first output row to every
// input row.
func sumBroadcastFirstRow(x *Var) *Var {
	return Record("bad", tensor.Sum(x.Value, false, 1), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		first := tensor.Slice(g, 0, 0, 1)
		return []*tensor.Tensor{tensor.Expand(tensor.Reshape(first, 1, 1), x.Value.Shape()...)}
	})
}

// TestCheckGradCatchesBrokenBackward proves the checker fails on wrong
// backward rules and passes on the correct ops they imitate.
func TestCheckGradCatchesBrokenBackward(t *testing.T) {
	b := cpu(t)
	one := func(f func(*Var) *Var) func([]*Var) *Var { return func(xs []*Var) *Var { return f(xs[0]) } }
	two := func(f func(a, c *Var) *Var) func([]*Var) *Var { return func(xs []*Var) *Var { return f(xs[0], xs[1]) } }
	cases := []struct {
		name      string
		shapes    [][]int
		broken    func([]*Var) *Var
		reference func([]*Var) *Var
	}{
		{"ignores-upstream", [][]int{{3, 4}}, one(squareIgnoresUpstream), one(Square)},
		{"wrong-factor", [][]int{{3, 4}}, one(squareWrongFactor), one(Square)},
		{"drops-second-parent", [][]int{{5}, {5}}, two(mulDropsSecond), two(Mul)},
		{"untransposed-matmul", [][]int{{3, 3}, {3, 3}}, two(matMulUntransposed), two(MatMul)},
		{"wrong-routing", [][]int{{3, 4}}, one(sumBroadcastFirstRow), one(func(x *Var) *Var { return Sum(x, false, 1) })},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs := make([]*tensor.Tensor, len(c.shapes))
			for i, s := range c.shapes {
				inputs[i] = uniform(b, uint64(10*ci+i+1), -1, 1, s...)
			}
			err := CheckGrad(c.broken, inputs, CheckOptions{})
			if !errors.Is(err, ErrGradMismatch) {
				t.Fatalf("broken op: err = %v, want ErrGradMismatch", err)
			}
			if err := CheckGrad(c.reference, inputs, CheckOptions{}); err != nil {
				t.Fatalf("correct op: %v", err)
			}
		})
	}
}

// TestCheckGradOptions covers Wrt, MaxPoints, Skip, SkipKinks and the
// 4-point stencil.
func TestCheckGradOptions(t *testing.T) {
	b := cpu(t)
	a, c := uniform(b, 1, -1, 1, 6), uniform(b, 2, -1, 1, 6)
	broken := func(xs []*Var) *Var { return mulDropsSecond(xs[0], xs[1]) }

	t.Run("Wrt", func(t *testing.T) {
		if err := CheckGrad(broken, []*tensor.Tensor{a, c}, CheckOptions{Wrt: []int{0}}); err != nil {
			t.Fatalf("Wrt [0] (the correct gradient): %v", err)
		}
		if err := CheckGrad(broken, []*tensor.Tensor{a, c}, CheckOptions{Wrt: []int{1}}); !errors.Is(err, ErrGradMismatch) {
			t.Fatalf("Wrt [1] (the missing gradient): err = %v, want ErrGradMismatch", err)
		}
		if err := CheckGrad(broken, []*tensor.Tensor{a, c}, CheckOptions{Wrt: []int{2}}); err == nil {
			t.Fatal("Wrt out of range: want an error")
		}
	})

	t.Run("MaxPoints", func(t *testing.T) {
		big := uniform(b, 3, -1, 1, 40, 30)
		err := CheckGrad(func(xs []*Var) *Var { return squareWrongFactor(xs[0]) }, []*tensor.Tensor{big}, CheckOptions{MaxPoints: 10})
		if !errors.Is(err, ErrGradMismatch) || !strings.Contains(err.Error(), "of 10 points") {
			t.Fatalf("err = %v, want a mismatch over 10 sampled points", err)
		}
	})

	t.Run("Skip", func(t *testing.T) {
		skipSecond := func(i, j int, v float32) bool { return i == 1 }
		opt := CheckOptions{Skip: skipSecond, MaxSkipFrac: 0.6}
		if err := CheckGrad(broken, []*tensor.Tensor{a, c}, opt); err != nil {
			t.Fatalf("skipping input 1: %v", err)
		}
		opt.MaxSkipFrac = 0.4
		if err := CheckGrad(broken, []*tensor.Tensor{a, c}, opt); err == nil || errors.Is(err, ErrGradMismatch) {
			t.Fatalf("skipping half the points with MaxSkipFrac 0.4: err = %v, want a too-many-skipped error", err)
		}
	})

	t.Run("SkipKinks", func(t *testing.T) {
		// Relu exactly at its kink: every point is skipped, which must not
		// count as a pass.
		zeros := tensor.Zeros(b, 5)
		relu := func(xs []*Var) *Var { return Relu(xs[0]) }
		if err := CheckGrad(relu, []*tensor.Tensor{zeros}, CheckOptions{SkipKinks: true}); err == nil {
			t.Fatal("all points on a kink: want an error")
		}
		// Abs with points at the kink among smooth ones: without skipping
		// the central difference at 0 is 0, which matches the subgradient;
		// with points just beside the kink it does not.
		near := tensor.FromSlice(b, []float32{0.003, -0.5, 0.7, -0.9, 0.4, 0.8})
		abs := func(xs []*Var) *Var { return Abs(xs[0]) }
		if err := CheckGrad(abs, []*tensor.Tensor{near}, CheckOptions{}); !errors.Is(err, ErrGradMismatch) {
			t.Fatalf("Abs beside the kink without SkipKinks: err = %v, want a mismatch", err)
		}
		if err := CheckGrad(abs, []*tensor.Tensor{near}, CheckOptions{SkipKinks: true}); err != nil {
			t.Fatalf("Abs beside the kink with SkipKinks: %v", err)
		}
	})

	t.Run("FourPoint", func(t *testing.T) {
		// exp at x in [2, 3] with a coarse step: the central difference is
		// off by about h^2/6 (0.7%), the 4-point stencil by h^4/30.
		x := uniform(b, 4, 2, 3, 5)
		exp := func(xs []*Var) *Var { return Exp(xs[0]) }
		if err := CheckGrad(exp, []*tensor.Tensor{x}, CheckOptions{Eps: 0.2, Tol: 3e-3}); !errors.Is(err, ErrGradMismatch) {
			t.Fatalf("central difference with h=0.2: err = %v, want a mismatch", err)
		}
		if err := CheckGrad(exp, []*tensor.Tensor{x}, CheckOptions{Eps: 0.2, Tol: 3e-3, FourPoint: true}); err != nil {
			t.Fatalf("4-point stencil with h=0.2: %v", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if err := CheckGrad(func(xs []*Var) *Var { return xs[0] }, nil, CheckOptions{}); err == nil {
			t.Fatal("no inputs: want an error")
		}
		bad := func(xs []*Var) *Var { return Add(xs[0], Const(tensor.Zeros(b, 4))) }
		if err := CheckGrad(bad, []*tensor.Tensor{a}, CheckOptions{}); err == nil || errors.Is(err, ErrGradMismatch) {
			t.Fatalf("shape error inside f: err = %v, want the op's error", err)
		}
	})
}
