package tensor_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

func backend(t testing.TB) tensor.Backend {
	t.Helper()
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seq returns 0, 1, ..., n-1 as float32.
func seq(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i)
	}
	return d
}

func equalF(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i])-float64(b[i])) > tol {
			return false
		}
	}
	return true
}

func wantValues(t *testing.T, what string, x *tensor.Tensor, shape []int, want []float32) {
	t.Helper()
	if !equalInts(x.Shape(), shape) {
		t.Fatalf("%s: shape %v, want %v", what, x.Shape(), shape)
	}
	if got := x.Float32s(); !equalF(got, want, 1e-5) {
		t.Fatalf("%s: values %v, want %v", what, got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wantOpError runs f and checks that it fails with an *OpError whose
// message contains every fragment.
func wantOpError(t *testing.T, f func(), fragments ...string) *tensor.OpError {
	t.Helper()
	err := tensor.Try(f)
	if err == nil {
		t.Fatalf("no error, want one containing %q", fragments)
	}
	var oe *tensor.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is %T, want *tensor.OpError", err, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
	return oe
}
