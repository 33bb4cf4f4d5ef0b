package backendtest

import (
	"fmt"
	"math"
)

// DefaultTol is the NMSE bound of a case that does not set its own (as
// ggml's test-backend-ops).
const DefaultTol = 1e-7

// NMSE returns Σ(got−want)² / Σ want² over the finite elements of want, or
// the plain sum of squared differences when want is all zero.
func NMSE(got, want []float32) float64 {
	var num, den float64
	for i, w := range want {
		if math.IsInf(float64(w), 0) {
			continue
		}
		d := float64(got[i]) - float64(w)
		num += d * d
		den += float64(w) * float64(w)
	}
	if den == 0 {
		return num
	}
	return num / den
}

// Compare checks got against want: equal lengths, no NaN on either side,
// infinities at the same positions with the same sign, and NMSE at most tol.
func Compare(got, want []float32, tol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		switch {
		case math.IsNaN(g):
			return fmt.Errorf("NaN at %d (want %v)", i, want[i])
		case math.IsNaN(w):
			return fmt.Errorf("reference has NaN at %d (got %v)", i, got[i])
		case math.IsInf(g, 0) || math.IsInf(w, 0):
			if g != w {
				return fmt.Errorf("infinity mismatch at %d: got %v, want %v", i, got[i], want[i])
			}
		}
	}
	if e := NMSE(got, want); e > tol {
		at, worst := worstIndex(got, want)
		return fmt.Errorf("NMSE %.3g > %.3g (largest difference %.3g at %d: got %v, want %v)",
			e, tol, worst, at, got[at], want[at])
	}
	return nil
}

func worstIndex(got, want []float32) (int, float64) {
	at, worst := 0, -1.0
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst {
			at, worst = i, d
		}
	}
	return at, worst
}

// CompareInt32 checks that got equals want element by element.
func CompareInt32(got, want []int32) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			return fmt.Errorf("element %d: got %d, want %d", i, got[i], want[i])
		}
	}
	return nil
}
