package autograd

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// TestGradAccumulatesOverUses checks that a Var feeding several ops gets the
// sum of the gradients: d/dx sum(x*x + 3x) = 2x + 3.
func TestGradAccumulatesOverUses(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, -2, 0.5}))
	y := Sum(Add(Mul(x, x), Scale(x, 3)), false)
	if err := y.Backward(); err != nil {
		t.Fatal(err)
	}
	wantValues(t, "grad", x.Grad, []float32{5, -1, 4})
	wantValues(t, "loss", y.Value, []float32{(1 + 3) + (4 - 6) + (0.25 + 1.5)})
}

// TestGradIsDenseAndOwned checks that leaf gradients are dense copies even
// when the backward rule returns a broadcast view, and that two leaves never
// share a gradient buffer.
func TestGradIsDenseAndOwned(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, 2}, 2, 1))
	y := Param(tensor.FromSlice(b, []float32{3, 4}, 2, 1))
	z := Sum(Add(Expand(x, 2, 3), y), false)
	if err := z.Backward(); err != nil {
		t.Fatal(err)
	}
	if !x.Grad.IsContiguous() {
		t.Errorf("x.Grad strides %v, want dense", x.Grad.Strides())
	}
	wantValues(t, "x.Grad", x.Grad, []float32{3, 3})
	wantValues(t, "y.Grad", y.Grad, []float32{3, 3})
	if x.Grad.Buffer() == y.Grad.Buffer() {
		t.Error("x.Grad and y.Grad share a buffer")
	}
}

// TestNoGrad checks that ops inside NoGrad record nothing.
func TestNoGrad(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, 2}))
	var y *Var
	NoGrad(func() {
		if GradEnabled() {
			t.Error("GradEnabled inside NoGrad")
		}
		NoGrad(func() {}) // nesting keeps the scope
		y = Sum(Square(x), false)
	})
	if !GradEnabled() {
		t.Fatal("GradEnabled false after NoGrad returned")
	}
	if y.RequiresGrad() || !y.IsLeaf() {
		t.Fatalf("Var built under NoGrad: RequiresGrad=%v IsLeaf=%v, want false, true", y.RequiresGrad(), y.IsLeaf())
	}
	if err := y.Backward(); err == nil {
		t.Fatal("Backward from a NoGrad result: want an error")
	}
	wantValues(t, "value", y.Value, []float32{5})
}

// TestDetach checks that a detached Var stops the gradient:
// d/dx sum(detach(x) * x) = x, not 2x.
func TestDetach(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, -3}))
	d := x.Detach()
	if d.RequiresGrad() || !d.IsLeaf() || d.Value != x.Value {
		t.Fatalf("Detach: RequiresGrad=%v IsLeaf=%v sameValue=%v", d.RequiresGrad(), d.IsLeaf(), d.Value == x.Value)
	}
	if err := Sum(Mul(d, x), false).Backward(); err != nil {
		t.Fatal(err)
	}
	wantValues(t, "grad", x.Grad, []float32{1, -3})
}

// TestZeroGrad checks accumulation over Backward calls and ZeroGrad.
func TestZeroGrad(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{2, 5}))
	step := func() {
		t.Helper()
		if err := Sum(Scale(x, 3), false).Backward(); err != nil {
			t.Fatal(err)
		}
	}
	step()
	step()
	wantValues(t, "after two backward passes", x.Grad, []float32{6, 6})
	x.ZeroGrad()
	if x.Grad != nil {
		t.Fatalf("Grad after ZeroGrad = %v, want nil", x.Grad)
	}
	step()
	wantValues(t, "after ZeroGrad and one pass", x.Grad, []float32{3, 3})
}

// TestBackwardNonScalar checks the error for a non-scalar output.
func TestBackwardNonScalar(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, 2, 3, 4}, 2, 2))
	err := Square(x).Backward()
	if err == nil || !strings.Contains(err.Error(), "[2 2]") {
		t.Fatalf("Backward from [2 2]: err = %v, want an error naming the shape", err)
	}
	if x.Grad != nil {
		t.Fatal("a failed Backward wrote a gradient")
	}
	// BackwardWith takes an upstream gradient of the output's shape only.
	if err := Square(x).BackwardWith(tensor.Ones(b, 4)); err == nil {
		t.Fatal("BackwardWith a gradient of the wrong shape: want an error")
	}
	if err := Square(x).BackwardWith(tensor.FromSlice(b, []float32{1, 0, 0, 2}, 2, 2)); err != nil {
		t.Fatal(err)
	}
	wantValues(t, "grad", x.Grad, []float32{2, 0, 0, 16})
}

// TestBackwardTwice checks that a second Backward through a consumed graph
// fails with ErrGraphFreed, also from another output sharing the graph.
func TestBackwardTwice(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, 2}))
	h := Exp(x)
	y1, y2 := Sum(h, false), Mean(h, false)
	if err := y1.Backward(); err != nil {
		t.Fatal(err)
	}
	if err := y1.Backward(); !errors.Is(err, ErrGraphFreed) {
		t.Fatalf("second Backward: err = %v, want ErrGraphFreed", err)
	}
	if err := y2.Backward(); !errors.Is(err, ErrGraphFreed) {
		t.Fatalf("Backward through a shared, freed subgraph: err = %v, want ErrGraphFreed", err)
	}
}

// TestSetRequiresGrad checks that a frozen leaf receives no gradient while
// the others do, and that freezing a non-leaf panics.
func TestSetRequiresGrad(t *testing.T) {
	b := cpu(t)
	w := Param(tensor.FromSlice(b, []float32{2, 3}))
	x := Param(tensor.FromSlice(b, []float32{5, 7}))
	w.SetRequiresGrad(false)
	if err := Sum(Mul(w, x), false).Backward(); err != nil {
		t.Fatal(err)
	}
	if w.Grad != nil {
		t.Fatalf("frozen leaf got Grad %v", w.Grad)
	}
	wantValues(t, "x.Grad", x.Grad, []float32{2, 3})

	y := Mul(w, x)
	defer func() {
		if recover() == nil {
			t.Fatal("SetRequiresGrad on a non-leaf did not panic")
		}
	}()
	y.SetRequiresGrad(false)
}

// TestNeedsGradSkipsWork checks that a backward rule sees which parents need
// gradients and that a nil gradient for a constant parent is accepted.
func TestNeedsGradSkipsWork(t *testing.T) {
	b := cpu(t)
	x := Param(tensor.FromSlice(b, []float32{1, 2}))
	c := Const(tensor.FromSlice(b, []float32{3, 4}))
	var seen []bool
	y := Record("probe", tensor.Add(x.Value, c.Value), []*Var{x, c}, func(g *tensor.Tensor) []*tensor.Tensor {
		ps := []*Var{x, c}
		seen = []bool{NeedsGrad(ps, 0), NeedsGrad(ps, 1)}
		return []*tensor.Tensor{g, nil}
	})
	if err := Sum(y, false).Backward(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || !seen[0] || seen[1] {
		t.Fatalf("NeedsGrad = %v, want [true false]", seen)
	}
	if c.Grad != nil {
		t.Fatal("constant got a gradient")
	}
	// Conv2D, Linear and friends skip their input gradient for a constant
	// input; the parameter gradient must still be right.
	w := Param(tensor.FromSlice(b, []float32{1, -1, 2, 0.5}, 2, 2))
	in := Const(tensor.FromSlice(b, []float32{1, 2, 3, 4}, 2, 2))
	if err := Sum(Linear(in, w, nil), false).Backward(); err != nil {
		t.Fatal(err)
	}
	wantValues(t, "w.Grad", w.Grad, []float32{4, 6, 4, 6})
}

// TestBackwardRuleErrors checks that a backward rule returning the wrong
// number or shape of gradients is reported as an error naming the op.
func TestBackwardRuleErrors(t *testing.T) {
	b := cpu(t)
	for _, c := range []struct {
		name string
		rule BackwardFunc
	}{
		{"count", func(g *tensor.Tensor) []*tensor.Tensor { return nil }},
		{"shape", func(g *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{tensor.Ones(b, 3)} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := Param(tensor.FromSlice(b, []float32{1, 2}))
			a := Param(tensor.FromSlice(b, []float32{3, 4}))
			y := Record("broken", tensor.Clone(x.Value), []*Var{x}, c.rule)
			// a's gradient is computed before the broken rule runs.
			err := Sum(Add(y, Square(a)), false).Backward()
			var oe *tensor.OpError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), "broken") {
				t.Fatalf("err = %v, want an *tensor.OpError naming op broken", err)
			}
			if a.Grad != nil || x.Grad != nil {
				t.Fatalf("a failed Backward changed gradients: a.Grad=%v x.Grad=%v", a.Grad, x.Grad)
			}
		})
	}
}

// TestBadShapesPanicWithOpError checks that ops reject mismatched operands
// with a *tensor.OpError naming the op and the shapes.
func TestBadShapesPanicWithOpError(t *testing.T) {
	b := cpu(t)
	v := func(shape ...int) *Var { return Param(tensor.Zeros(b, shape...)) }
	cases := []struct {
		name, op string
		f        func()
	}{
		{"Add", "Add", func() { Add(v(2, 3), v(4)) }},
		{"MatMul", "MatMul", func() { MatMul(v(2, 3), v(4, 5)) }},
		{"Linear", "Linear", func() { Linear(v(2, 3), v(4, 5), nil) }},
		{"Linear/bias", "Linear", func() { Linear(v(2, 3), v(4, 3), v(5)) }},
		{"Conv2D", "Conv2D", func() { Conv2D(v(1, 2, 5, 5), v(3, 4, 3, 3), nil, 1, 0) }},
		{"Sum/axis", "Sum", func() { Sum(v(2, 3), false, 2) }},
		{"Concat", "Concat", func() { Concat(0, v(2, 3), v(2, 4)) }},
		{"Stack", "Stack", func() { Stack(0, v(2, 3), v(3, 2)) }},
		{"Split", "Split", func() { Split(v(2, 5), 1, 2, 2) }},
		{"Reshape", "Reshape", func() { Reshape(v(2, 3), 4, 2) }},
		{"IndexSelect/out-of-range", "IndexSelect", func() { IndexSelect(v(3, 2), 0, tensor.FromInt32(b, []int32{0, 3})) }},
		{"Pad/rank", "Pad", func() { Pad(v(2, 3), [][2]int{{1, 1}}, 0) }},
		{"BatchNorm2D", "BatchNorm2D", func() {
			BatchNorm2D(v(2, 3, 2, 2), v(2), v(2), tensor.Zeros(b, 2), tensor.Ones(b, 2), true, 0.1, 1e-5)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := tensor.Try(c.f)
			var oe *tensor.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *tensor.OpError", err)
			}
			if oe.Op != c.op || len(oe.Shapes) == 0 {
				t.Fatalf("OpError %q: op %q shapes %v, want op %q and the shapes", err, oe.Op, oe.Shapes, c.op)
			}
		})
	}
}

// TestKinkSubgradients pins the documented choices at kinks and ties.
func TestKinkSubgradients(t *testing.T) {
	b := cpu(t)
	grad := func(f func(x *Var) *Var, xs []float32, shape ...int) *tensor.Tensor {
		t.Helper()
		x := Param(tensor.FromSlice(b, xs, shape...))
		if err := Sum(f(x), false).Backward(); err != nil {
			t.Fatal(err)
		}
		return x.Grad
	}
	wantValues(t, "Relu at 0", grad(Relu, []float32{-1, 0, 2}), []float32{0, 0, 1})
	wantValues(t, "Abs at 0", grad(Abs, []float32{-1, 0, 2}), []float32{-1, 0, 1})
	wantValues(t, "Clamp at bounds", grad(func(x *Var) *Var { return Clamp(x, -1, 1) }, []float32{-2, -1, 0, 1, 2}), []float32{0, 1, 1, 1, 0})
	wantValues(t, "Max with a tie", grad(func(x *Var) *Var { return Max(x, false, 1) }, []float32{1, 3, 3, 2, 5, 4}, 2, 3), []float32{0, 0.5, 0.5, 0, 1, 0})
	wantValues(t, "Max all, three-way tie", grad(func(x *Var) *Var { return Max(x, false) }, []float32{7, 7, 1, 7}), []float32{1. / 3, 1. / 3, 0, 1. / 3})

	a := Param(tensor.FromSlice(b, []float32{1, 2, 3}))
	c := Param(tensor.FromSlice(b, []float32{1, 5, 0}))
	if err := Sum(Maximum(a, c), false).Backward(); err != nil {
		t.Fatal(err)
	}
	wantValues(t, "Maximum a", a.Grad, []float32{0.5, 0, 1})
	wantValues(t, "Maximum b", c.Grad, []float32{0.5, 1, 0})

	// MaxPool2D routes to the position the backend's index recorded (the
	// first maximum of the window).
	wantValues(t, "MaxPool2D tie", grad(func(x *Var) *Var { return MaxPool2D(x, 2, 2, 0) }, []float32{4, 4, 1, 2}, 1, 1, 2, 2), []float32{1, 0, 0, 0})
}

// TestBatchNormUpdatesRunningStats checks that training mode updates the
// running statistics and that eval mode uses them without modifying them.
func TestBatchNormUpdatesRunningStats(t *testing.T) {
	b := cpu(t)
	// One channel, values 1..4: mean 2.5, biased var 1.25, unbiased 5/3.
	x := Param(tensor.FromSlice(b, []float32{1, 2, 3, 4}, 2, 1, 1, 2))
	gamma, beta := Param(tensor.Ones(b, 1)), Param(tensor.Zeros(b, 1))
	rm, rv := tensor.Zeros(b, 1), tensor.Ones(b, 1)
	BatchNorm2D(x, gamma, beta, rm, rv, true, 0.1, 0)
	wantValues(t, "running mean", rm, []float32{0.25})
	wantValues(t, "running var", rv, []float32{0.9 + 0.1*5.0/3})

	rm2, rv2 := tensor.FromSlice(b, []float32{1}), tensor.FromSlice(b, []float32{4})
	y := BatchNorm2D(x, Param(tensor.FromSlice(b, []float32{2})), Param(tensor.FromSlice(b, []float32{1})), rm2, rv2, false, 0.1, 0)
	wantValues(t, "eval output", y.Value, []float32{1, 2, 3, 4})
	wantValues(t, "eval leaves running mean", rm2, []float32{1})
	wantValues(t, "eval leaves running var", rv2, []float32{4})
	if err := Sum(y, false).Backward(); err != nil {
		t.Fatal(err)
	}
	wantValues(t, "eval dx = gamma/std", x.Grad, []float32{1, 1, 1, 1})
}
