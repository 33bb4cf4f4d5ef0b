package icbpc

import (
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// ContrastiveConfig parameterises the contrastive loss (paper Eq. 5).
type ContrastiveConfig struct {
	Distance DistanceConfig
	// Margin of the negative hinge max(margin - d, 0)^2 (0.3 in the paper).
	Margin float32
	// Negatives enables the negative pairs. The released code uses positive
	// pairs only.
	Negatives bool
}

// Contrastive returns the paper's contrastive loss for features z [n, d] and
// their augmented views zAug [n, d]:
//
//	(1/(2n)) * ( sum_i d^2(z_i, zAug_i) + sum_i max(margin - d(z_i, z_perm(i)), 0)^2 )
//
// where d^2 is the configured distance and perm pairs each sample with
// another sample of the batch (perm[i] != i, see Derangement). With
// Negatives off it is the mean positive distance (the released code's
// variant, without its constant 0.1 offset).
func Contrastive(z, zAug *autograd.Var, perm *tensor.Tensor, c ContrastiveConfig) *autograd.Var {
	pos := Rowwise(z, zAug, c.Distance)
	if !c.Negatives {
		return autograd.Mean(pos, false)
	}
	neg := Rowwise(z, autograd.IndexSelect(z, 0, perm), c.Distance)
	// d = sqrt(d^2 + eps): the hinge needs the distance itself.
	dn := autograd.Sqrt(autograd.AddScalar(neg, c.Distance.eps()))
	hinge := autograd.Square(autograd.Relu(autograd.AddScalar(autograd.Neg(dn), c.Margin)))
	n := float32(z.Value.Dim(0))
	return autograd.Scale(autograd.Add(autograd.Sum(pos, false), autograd.Sum(hinge, false)), 1/(2*n))
}

// Derangement returns a permutation of 0..n-1 with no fixed point, drawn
// uniformly by rejection from rng (n >= 2). It pairs each sample with a
// different sample of the batch as its negative.
func Derangement(rng *rand.Rand, n int) []int32 {
	if n < 2 {
		panic("icbpc: Derangement needs n >= 2")
	}
	p := make([]int32, n)
	for {
		for i := range p {
			p[i] = int32(i)
		}
		ok := true
		for i := n - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			p[i], p[j] = p[j], p[i]
		}
		for i := range p {
			if int(p[i]) == i {
				ok = false
				break
			}
		}
		if ok {
			return p
		}
	}
}

// L1Pair is the released code's unreported L1 term: the mean absolute
// difference between paired features (nn.L1Loss).
func L1Pair(a, b *autograd.Var) *autograd.Var {
	return autograd.Mean(autograd.Abs(autograd.Sub(a, b)), false)
}
