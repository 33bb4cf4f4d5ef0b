package icbpc

import (
	"fmt"
	"strings"

	"github.com/vkgrad/vkgrad/autograd"
)

// Distance selects how the dissimilarity of two L2-normalised feature
// vectors is measured. Every variant is a function of cos = <a, b>.
type Distance int

const (
	// Euclidean is the squared Euclidean distance of unit vectors, 2 - 2cos
	// (the released code's distance in the MMD kernel).
	Euclidean Distance = iota
	// Cosine is the plain cosine distance d_theta = 1 - cos.
	Cosine
	// Composite is the paper's composite cosine distance
	// d_c^2 = d_theta^2 + alpha*sqrt(d_theta), with d_theta clamped at 0 and an
	// epsilon inside the root so identical vectors give no NaN.
	Composite
)

var distanceNames = []string{"euclidean", "cosine", "composite"}

// String returns "euclidean", "cosine" or "composite".
func (d Distance) String() string {
	if int(d) >= 0 && int(d) < len(distanceNames) {
		return distanceNames[d]
	}
	return fmt.Sprintf("Distance(%d)", int(d))
}

// ParseDistance parses the names String returns.
func ParseDistance(s string) (Distance, error) {
	for i, n := range distanceNames {
		if strings.EqualFold(s, n) {
			return Distance(i), nil
		}
	}
	return 0, fmt.Errorf("unknown distance %q (want one of %s)", s, strings.Join(distanceNames, ", "))
}

// MarshalText implements encoding.TextMarshaler (for config files).
func (d Distance) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Distance) UnmarshalText(b []byte) error {
	v, err := ParseDistance(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DistanceConfig parameterises a Distance.
type DistanceConfig struct {
	Kind Distance
	// Alpha weighs the sqrt(d_theta) term of the composite distance (0.25 in
	// the paper).
	Alpha float32
	// Eps is added inside the square roots (sqrt(d_theta + Eps) and
	// d_c = sqrt(d_c^2 + Eps)). It bounds the gradient of near-identical pairs
	// at about alpha/(2*sqrt(Eps)).
	Eps float32
}

// DefaultEps is the epsilon used inside square roots when a config leaves it 0.
const DefaultEps = 1e-8

func (c DistanceConfig) eps() float32 {
	if c.Eps > 0 {
		return c.Eps
	}
	return DefaultEps
}

// FromCos maps cosine similarities (any shape) to distances, elementwise.
// For Euclidean and Cosine this is the plain affine map (smooth everywhere);
// the composite distance clamps d_theta = 1 - cos at 0 first.
func FromCos(cos *autograd.Var, c DistanceConfig) *autograd.Var {
	switch c.Kind {
	case Euclidean:
		return autograd.AddScalar(autograd.Scale(cos, -2), 2)
	case Cosine:
		return autograd.AddScalar(autograd.Neg(cos), 1)
	case Composite:
		dt := autograd.Relu(autograd.AddScalar(autograd.Neg(cos), 1))
		return autograd.Add(autograd.Square(dt), autograd.Scale(autograd.Sqrt(autograd.AddScalar(dt, c.eps())), c.Alpha))
	}
	panic(fmt.Sprintf("icbpc: unknown distance %d", int(c.Kind)))
}

// Pairwise returns the [n, m] matrix of distances between the rows of a
// [n, d] and b [m, d] (both L2-normalised).
func Pairwise(a, b *autograd.Var, c DistanceConfig) *autograd.Var {
	return FromCos(autograd.MatMulT(a, b, false, true), c)
}

// Rowwise returns the [n] distances between a[i] and b[i].
func Rowwise(a, b *autograd.Var, c DistanceConfig) *autograd.Var {
	return FromCos(autograd.Sum(autograd.Mul(a, b), false, 1), c)
}
