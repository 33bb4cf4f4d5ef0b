package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

// cpu opens the CPU reference backend.
func cpu(t testing.TB) tensor.Backend {
	t.Helper()
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatalf("open cpu backend: %v", err)
	}
	return b
}

// uniform returns a seeded tensor with values in [lo, hi).
func uniform(b tensor.Backend, seed uint64, lo, hi float32, shape ...int) *tensor.Tensor {
	return tensor.RandUniform(b, rand.New(rand.NewPCG(seed, 7)), lo, hi, shape...)
}

// close reports whether got and want agree to tol (absolute below 1,
// relative above).
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// wantValues fails unless t holds want (within 1e-5).
func wantValues(t *testing.T, what string, got *tensor.Tensor, want []float32) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil tensor, want %v", what, want)
	}
	g := got.Float32s()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values %v, want %d values %v", what, len(g), g, len(want), want)
	}
	for i := range g {
		if !closeTo(float64(g[i]), float64(want[i]), 1e-5) {
			t.Fatalf("%s = %v, want %v", what, g, want)
		}
	}
}
