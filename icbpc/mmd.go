package icbpc

import (
	"fmt"
	"strings"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// Estimator selects the MMD estimator.
type Estimator int

const (
	// Biased is the V-statistic of the released code: the mean over each
	// block of the kernel matrix, diagonals included.
	Biased Estimator = iota
	// Unbiased is the U-statistic of the paper's Eq. 3: diagonals of the
	// source and target blocks excluded.
	Unbiased
)

var estimatorNames = []string{"biased", "unbiased"}

// String returns "biased" or "unbiased".
func (e Estimator) String() string {
	if int(e) >= 0 && int(e) < len(estimatorNames) {
		return estimatorNames[e]
	}
	return fmt.Sprintf("Estimator(%d)", int(e))
}

// ParseEstimator parses the names String returns.
func ParseEstimator(s string) (Estimator, error) {
	for i, n := range estimatorNames {
		if strings.EqualFold(s, n) {
			return Estimator(i), nil
		}
	}
	return 0, fmt.Errorf("unknown MMD estimator %q (want biased or unbiased)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (e Estimator) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Estimator) UnmarshalText(b []byte) error {
	v, err := ParseEstimator(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// MMDConfig parameterises the multi-bandwidth Gaussian MMD.
type MMDConfig struct {
	Distance  DistanceConfig
	Estimator Estimator
	// KernelMul is the ratio between neighbouring bandwidths (2.0).
	KernelMul float32
	// KernelNum is the number of bandwidths (5), centred on the base
	// bandwidth: base * KernelMul^(k - KernelNum/2) for k = 0..KernelNum-1.
	KernelNum int
}

// DefaultMMD returns the released code's kernel settings with distance d.
func DefaultMMD(d DistanceConfig, e Estimator) MMDConfig {
	return MMDConfig{Distance: d, Estimator: e, KernelMul: 2, KernelNum: 5}
}

// MMD returns the squared maximum mean discrepancy between the rows of x
// [n, d] and y [m, d] under the kernel K = sum_k exp(-D / sigma_k), where D is
// the configured distance and the base bandwidth is the mean off-diagonal
// distance of the joint sample [x; y], taken without gradient (as the
// released code's mmd_rbf).
//
// With the composite distance the diagonal of the self blocks is held at its
// exact value 0 (the square root is singular there); the smooth distances
// keep the diagonal as computed, matching the reference implementation.
func MMD(x, y *autograd.Var, c MMDConfig) *autograd.Var {
	xs, ys := x.Value.Shape(), y.Value.Shape()
	if len(xs) != 2 || len(ys) != 2 || xs[1] != ys[1] {
		panic(&tensor.OpError{Op: "icbpc.MMD", Shapes: [][]int{xs, ys}, Msg: "want x [n,d] and y [m,d]"})
	}
	n, m := xs[0], ys[0]
	if c.Estimator == Unbiased && (n < 2 || m < 2) {
		panic(&tensor.OpError{Op: "icbpc.MMD", Shapes: [][]int{xs, ys}, Msg: "the unbiased estimator needs at least 2 rows on each side"})
	}
	if c.KernelNum < 1 || c.KernelMul <= 0 {
		panic(&tensor.OpError{Op: "icbpc.MMD", Msg: fmt.Sprintf("invalid kernel settings mul=%v num=%d", c.KernelMul, c.KernelNum)})
	}
	b := x.Value.Backend()
	t := autograd.Concat(0, x, y)
	d := Pairwise(t, t, c.Distance)
	total := n + m
	if c.Distance.Kind == Composite {
		d = autograd.Mul(d, autograd.Const(offDiagonal(b, total)))
	}
	// Base bandwidth: sum(D) / (N^2 - N), detached.
	var base *tensor.Tensor
	autograd.NoGrad(func() {
		base = tensor.Scale(tensor.Sum(d.Value, false), 1/float32(total*total-total))
	})
	inv := tensor.Recip(base)
	var k *autograd.Var
	for i := 0; i < c.KernelNum; i++ {
		// sigma_i = base * mul^(i - num/2); exp(-D/sigma_i).
		scale := -1 / pow32(c.KernelMul, i-c.KernelNum/2)
		term := autograd.Exp(autograd.Mul(d, autograd.Const(tensor.Scale(inv, scale))))
		if k == nil {
			k = term
		} else {
			k = autograd.Add(k, term)
		}
	}
	kxx := autograd.Slice(autograd.Slice(k, 0, 0, n), 1, 0, n)
	kyy := autograd.Slice(autograd.Slice(k, 0, n, total), 1, n, total)
	kxy := autograd.Slice(autograd.Slice(k, 0, 0, n), 1, n, total)
	kyx := autograd.Slice(autograd.Slice(k, 0, n, total), 1, 0, n)
	cross := autograd.Add(autograd.Mean(kxy, false), autograd.Mean(kyx, false))
	if c.Estimator == Biased {
		return autograd.Sub(autograd.Add(autograd.Mean(kxx, false), autograd.Mean(kyy, false)), cross)
	}
	sxx := autograd.Scale(autograd.Sum(autograd.Mul(kxx, autograd.Const(offDiagonal(b, n))), false), 1/float32(n*(n-1)))
	syy := autograd.Scale(autograd.Sum(autograd.Mul(kyy, autograd.Const(offDiagonal(b, m))), false), 1/float32(m*(m-1)))
	return autograd.Sub(autograd.Add(sxx, syy), cross)
}

// offDiagonal returns the n x n matrix with zeros on the diagonal and ones
// elsewhere.
func offDiagonal(b tensor.Backend, n int) *tensor.Tensor {
	data := make([]float32, n*n)
	for i := range data {
		data[i] = 1
	}
	for i := 0; i < n; i++ {
		data[i*n+i] = 0
	}
	return tensor.FromSlice(b, data, n, n)
}

func pow32(x float32, e int) float32 {
	r := float32(1)
	if e < 0 {
		x, e = 1/x, -e
	}
	for ; e > 0; e-- {
		r *= x
	}
	return r
}

// TileCentroids returns the released code's MMD target for a batch of n:
// floor(n/C) copies of the C centroids in class order, then the first n mod C
// rows.
func TileCentroids(centroids *tensor.Tensor, n int) *tensor.Tensor {
	c := centroids.Dim(0)
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i % c)
	}
	return tensor.IndexSelect(centroids, 0, tensor.FromInt32(centroids.Backend(), idx))
}
