// Package nntest checks package nn against data produced offline by
// PyTorch (nn/testdata/gen_golden.py). It is an ordinary package so that
// every backend's tests can run the same checks: call RunGolden with the
// backend under test.
package nntest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// Tolerances of the golden comparison: |got - want| <= ATol*scale +
// RTol*|want| elementwise, where scale is the tensor's max |want|, and for
// gradients at least GradFloor times the largest gradient of the case (a
// gradient that is exactly zero in theory, such as that of a convolution
// bias followed by training-mode batch norm, is float32 rounding noise). The
// reference is computed in float64 by PyTorch; vkgrad computes in float32.
const (
	RTol      = 1e-3
	ATol      = 1e-4
	GradFloor = 1e-2
)

// Case is one golden model: the testdata file stem and how to build the
// matching vkgrad module (its weights are then loaded from the file).
type Case struct {
	Name  string                                    // file stem: golden_<Name>_{weights,io}.safetensors
	Build func(b tensor.Backend) (nn.Module, error) // the vkgrad module, any initial weights
}

// Cases lists the golden models: the released encoder and the Table 3
// encoder at width 1/8 with d = 8 on 2x1x32x32 inputs, the authors'
// BasicBlock (1x1 conv shortcut with bias), a BasicBlock with the identity
// shortcut and a ResNet-50 Bottleneck with a downsample projection.
func Cases() []Case {
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }
	return []Case{
		{"released", func(b tensor.Backend) (nn.Module, error) {
			return nn.NewReleasedEncoder(b, rng(), nn.EncoderConfig{LatentDim: 8, Width: 0.125})
		}},
		{"table3", func(b tensor.Backend) (nn.Module, error) {
			return nn.NewTable3Encoder(b, rng(), nn.EncoderConfig{LatentDim: 8, Width: 0.125})
		}},
		{"block", func(b tensor.Backend) (nn.Module, error) {
			return nn.NewBasicBlock(b, rng(), 4, 8, 2, nn.ShortcutConvBias), nil
		}},
		{"block_identity", func(b tensor.Backend) (nn.Module, error) {
			return nn.NewBasicBlock(b, rng(), 6, 6, 1, nn.ShortcutConvBN), nil
		}},
		{"bottleneck", func(b tensor.Backend) (nn.Module, error) {
			return nn.NewBottleneck(b, rng(), 8, 4, 2, nn.ShortcutConvBN), nil
		}},
	}
}

// TestdataDir returns the directory holding the golden files (nn/testdata
// in the source tree).
func TestdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// RunGolden runs every golden case on backend b as a subtest: it loads the
// PyTorch weights by name (strict), runs forward in training mode, the
// backward pass of loss = sum(out * R), and compares the output, the input
// gradient, every parameter gradient and the updated batch-norm buffers
// with PyTorch's.
func RunGolden(t *testing.T, b tensor.Backend) {
	t.Helper()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			if err := runCase(t, b, c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func runCase(t *testing.T, b tensor.Backend, c Case) error {
	dir := TestdataDir()
	m, err := c.Build(b)
	if err != nil {
		return err
	}
	wpath := filepath.Join(dir, "golden_"+c.Name+"_weights.safetensors")
	if _, err := nn.LoadStateDict(wpath, m, true); err != nil {
		return err
	}
	io, _, err := nn.ReadSafetensors(filepath.Join(dir, "golden_"+c.Name+"_io.safetensors"))
	if err != nil {
		return err
	}
	get := func(name string) (nn.HostTensor, error) {
		h, ok := io[name]
		if !ok {
			return h, fmt.Errorf("golden file for %s has no %q", c.Name, name)
		}
		return h, nil
	}
	in, err := get("input")
	if err != nil {
		return err
	}
	r, err := get("R")
	if err != nil {
		return err
	}
	m.SetTraining(true)
	nn.ZeroGrad(m)
	var x *autograd.Var
	var out *autograd.Var
	err = tensor.Try(func() {
		x = autograd.Param(tensor.FromSlice(b, in.Floats, in.Shape...))
		out = m.Forward(x)
		loss := autograd.Sum(autograd.Mul(out, autograd.Const(tensor.FromSlice(b, r.Floats, r.Shape...))), false)
		if err := loss.Backward(); err != nil {
			panic(&tensor.OpError{Op: "Backward", Err: err})
		}
	})
	if err != nil {
		return err
	}
	gradScale := 0.0
	for n, h := range io {
		if strings.HasPrefix(n, "grad.") {
			gradScale = math.Max(gradScale, maxAbs(h.Floats))
		}
	}
	check := func(name string, got *tensor.Tensor) {
		want, err := get(name)
		if err != nil {
			t.Error(err)
			return
		}
		if got == nil {
			t.Errorf("%s: no value (nil gradient?)", name)
			return
		}
		floor := 0.0
		if strings.HasPrefix(name, "grad.") {
			floor = GradFloor * gradScale
		}
		if msg := Compare(got.Shape(), got.Float32s(), want.Shape, want.Floats, floor); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
	check("out", out.Value)
	check("grad.input", x.Grad)
	for _, p := range m.Params() {
		check("grad."+p.Name, p.Var.Grad)
	}
	for _, bf := range m.Buffers() {
		if bf.Counter != nil {
			want, err := get("after." + bf.Name)
			if err != nil {
				t.Error(err)
				continue
			}
			if len(want.Ints) != 1 || want.Ints[0] != *bf.Counter {
				t.Errorf("after.%s: got %d, want %v", bf.Name, *bf.Counter, want.Ints)
			}
			continue
		}
		check("after."+bf.Name, bf.Tensor)
	}
	return nil
}

func maxAbs(xs []float32) float64 {
	m := 0.0
	for _, x := range xs {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// Compare checks got against want with the package tolerances, using
// max(max|want|, floor) as the absolute scale, and returns "" when they
// agree, or a description of the shape mismatch or the worst element.
func Compare(gotShape []int, got []float32, wantShape []int, want []float32, floor float64) string {
	if fmt.Sprint(gotShape) != fmt.Sprint(wantShape) || len(got) != len(want) {
		return fmt.Sprintf("shape %v, want %v", gotShape, wantShape)
	}
	scale := math.Max(maxAbs(want), floor)
	bad, worst, worstExcess := 0, -1, 0.0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		tol := ATol*scale + RTol*math.Abs(w)
		d := math.Abs(g - w)
		if d > tol || math.IsNaN(g) {
			bad++
			if ex := d / tol; worst < 0 || ex > worstExcess || math.IsNaN(g) {
				worst, worstExcess = i, ex
			}
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d elements off; worst at %d: got %g, want %g (scale %g)", bad, len(got), worst, got[worst], want[worst], scale)
}
