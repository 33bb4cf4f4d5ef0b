package icbpc

import (
	"fmt"
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// PairScheme says which feature batches form positive pairs when several
// augmented views are used.
type PairScheme string

const (
	// PairStar pairs every augmented view with the original (the paper's
	// (x, augmented x) pairs).
	PairStar PairScheme = "star"
	// PairChain is the released code's chain over five views T1..T5 and the
	// original X: (T3,T4), (T2,T3), (T2,T1), (T4,X), (T5,T4). It needs 5 views.
	PairChain PairScheme = "chain"
)

// LossConfig holds every switch on which the paper and the released code
// differ (icbpc-reference.md §9), so both and the Table 6 ablations can run.
type LossConfig struct {
	// UseMMD and UseContrastive turn the two losses on (Table 6 "MMD only"
	// turns the contrastive loss off).
	UseMMD         bool `json:"use_mmd"`
	UseContrastive bool `json:"use_contrastive"`
	// MMDDistance and ContrastiveDistance pick the distance in each loss.
	MMDDistance         Distance `json:"mmd_distance"`
	ContrastiveDistance Distance `json:"contrastive_distance"`
	// Alpha weighs sqrt(d_theta) in the composite distance (0.25).
	Alpha float32 `json:"alpha"`
	// Estimator: Unbiased on the C centroids (paper) or Biased against the
	// centroids tiled to the batch (code).
	Estimator Estimator `json:"mmd_estimator"`
	// MMDOnViews feeds [Z; Z_aug] to the MMD (paper Eq. 2) instead of Z (code).
	MMDOnViews bool `json:"mmd_on_views"`
	// MMDWeight multiplies the MMD (1 in the paper, 2 in the code).
	MMDWeight float32 `json:"mmd_weight"`
	// Lambda multiplies the contrastive loss (Table 1: 8 or 9; 3 in the code).
	Lambda float32 `json:"lambda"`
	// Margin of the negative hinge (0.3).
	Margin float32 `json:"margin"`
	// Negatives enables negative pairs (paper) or not (code).
	Negatives bool `json:"negatives"`
	// L1Weight multiplies the code's L1 term on the same pairs (0 paper, 8 code).
	L1Weight float32 `json:"l1_weight"`
	// Pairs picks the pair scheme for several views.
	Pairs PairScheme `json:"pairs"`
	// Eps goes inside the square roots of the composite distance.
	Eps float32 `json:"eps"`
}

// PaperLoss returns the paper's loss with lambda, and the distance in the MMD
// kernel that learns (squared Euclidean; see icbpc-reference.md §12: the
// composite distance inside the Gaussian kernel is not positive definite and
// the MMD then goes negative away from the centroids). Set MMDDistance to
// Composite for the literal paper form.
func PaperLoss(lambda, alpha float32) LossConfig {
	return LossConfig{
		UseMMD: true, UseContrastive: true,
		MMDDistance: Euclidean, ContrastiveDistance: Composite, Alpha: alpha,
		Estimator: Unbiased, MMDOnViews: true, MMDWeight: 1,
		Lambda: lambda, Margin: 0.3, Negatives: true, Pairs: PairStar,
	}
}

// CodeLoss returns the released code's loss: 3 * sum of five chained
// positive-pair terms with 2 - 2cos, 8 * L1 on the same pairs, 2 * biased MMD
// of Z against the tiled centroids.
func CodeLoss() LossConfig {
	return LossConfig{
		UseMMD: true, UseContrastive: true,
		MMDDistance: Euclidean, ContrastiveDistance: Euclidean, Alpha: 0.25,
		Estimator: Biased, MMDOnViews: false, MMDWeight: 2,
		Lambda: 3, Margin: 0.3, Negatives: false, L1Weight: 8, Pairs: PairChain,
	}
}

// Validate reports a configuration that cannot run.
func (c LossConfig) Validate(views int) error {
	if !c.UseMMD && !c.UseContrastive && c.L1Weight == 0 {
		return fmt.Errorf("loss: every term is off (enable the MMD or the contrastive loss)")
	}
	if c.Pairs == PairChain && views != 5 {
		return fmt.Errorf("loss: pair scheme %q needs exactly 5 augmented views, the augmentation gives %d", c.Pairs, views)
	}
	if c.Pairs != PairChain && c.Pairs != PairStar && c.Pairs != "" {
		return fmt.Errorf("loss: unknown pair scheme %q (want star or chain)", c.Pairs)
	}
	if (c.UseContrastive || c.L1Weight != 0) && views < 1 {
		return fmt.Errorf("loss: the contrastive and L1 terms need at least one augmented view")
	}
	if c.Alpha < 0 || c.Margin < 0 || c.Lambda < 0 || c.MMDWeight < 0 || c.L1Weight < 0 {
		return fmt.Errorf("loss: alpha, margin, lambda and weights must be >= 0")
	}
	return nil
}

// LossParts are the terms of one loss evaluation (weighted terms sum to Total).
type LossParts struct {
	Total       *autograd.Var
	MMD         *autograd.Var // unweighted; nil when off
	Contrastive *autograd.Var // unweighted sum over pairs; nil when off
	L1          *autograd.Var // unweighted sum over pairs; nil when off
}

// pairs returns index pairs into feats (0 = original, 1..V = views).
func (c LossConfig) pairs(views int) [][2]int {
	if c.Pairs == PairChain {
		// T1..T5 are feats[1..5], X is feats[0].
		return [][2]int{{3, 4}, {2, 3}, {2, 1}, {4, 0}, {5, 4}}
	}
	p := make([][2]int, views)
	for v := 1; v <= views; v++ {
		p[v-1] = [2]int{0, v}
	}
	return p
}

// Loss evaluates the ICBPC loss. feats[0] is the batch of original-image
// features [n, d], feats[1:] those of the augmented views; centroids is the
// PEDCC matrix [C, d]; rng draws the negative pairs.
func (c LossConfig) Loss(feats []*autograd.Var, centroids *tensor.Tensor, rng *rand.Rand) LossParts {
	dist := func(k Distance) DistanceConfig { return DistanceConfig{Kind: k, Alpha: c.Alpha, Eps: c.Eps} }
	var parts LossParts
	var total *autograd.Var
	add := func(term *autograd.Var, w float32) {
		t := autograd.Scale(term, w)
		if total == nil {
			total = t
		} else {
			total = autograd.Add(total, t)
		}
	}
	z := feats[0]
	n := z.Value.Dim(0)
	if c.UseMMD {
		src := z
		if c.MMDOnViews && len(feats) > 1 {
			src = autograd.Concat(0, feats...)
		}
		var target *tensor.Tensor
		if c.Estimator == Biased {
			target = TileCentroids(centroids, src.Value.Dim(0))
		} else {
			target = centroids
		}
		parts.MMD = MMD(src, autograd.Const(target), DefaultMMD(dist(c.MMDDistance), c.Estimator))
		add(parts.MMD, c.MMDWeight)
	}
	pairs := c.pairs(len(feats) - 1)
	if c.UseContrastive {
		cc := ContrastiveConfig{Distance: dist(c.ContrastiveDistance), Margin: c.Margin, Negatives: c.Negatives}
		var perm *tensor.Tensor
		if c.Negatives {
			if n < 2 {
				panic(&tensor.OpError{Op: "icbpc.Loss", Msg: "negative pairs need a batch of at least 2"})
			}
			perm = tensor.FromInt32(z.Value.Backend(), Derangement(rng, n))
		}
		for _, p := range pairs {
			term := Contrastive(feats[p[0]], feats[p[1]], perm, cc)
			if parts.Contrastive == nil {
				parts.Contrastive = term
			} else {
				parts.Contrastive = autograd.Add(parts.Contrastive, term)
			}
		}
		add(parts.Contrastive, c.Lambda)
	}
	if c.L1Weight != 0 {
		for _, p := range pairs {
			term := L1Pair(feats[p[0]], feats[p[1]])
			if parts.L1 == nil {
				parts.L1 = term
			} else {
				parts.L1 = autograd.Add(parts.L1, term)
			}
		}
		add(parts.L1, c.L1Weight)
	}
	parts.Total = total
	return parts
}
