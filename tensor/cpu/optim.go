package cpu

import (
	"fmt"
	"math"

	"github.com/vkgrad/vkgrad/tensor"
)

// optimOperands returns the dense float32 data of equally long views.
func optimOperands(op string, names []string, vs ...tensor.View) ([][]float32, error) {
	n := vs[0].Numel()
	out := make([][]float32, len(vs))
	for i, v := range vs {
		if v.Numel() != n {
			return nil, fmt.Errorf("cpu: %s: %s has %d elements, %s has %d", op, names[i], v.Numel(), names[0], n)
		}
		d, err := denseF(op, names[i], v, n)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// AdamUpdate applies one step of PyTorch's Adam (L2 weight decay added to
// the gradient, bias-corrected moments) in place:
//
//	g = grad + wd·p;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	p -= lr/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + eps)
//
// The update is evaluated in float64 and rounded once per stored value.
func (b *Backend) AdamUpdate(param, grad, m, v tensor.View, p tensor.AdamParams) error {
	const name = "AdamUpdate"
	if p.Step < 1 {
		return fmt.Errorf("cpu: %s: step must be >= 1, got %d", name, p.Step)
	}
	ds, err := optimOperands(name, []string{"param", "grad", "m", "v"}, param, grad, m, v)
	if err != nil {
		return err
	}
	pd, gd, md, vd := ds[0], ds[1], ds[2], ds[3]
	b1, b2 := float64(p.Beta1), float64(p.Beta2)
	step := float64(p.LR) / (1 - math.Pow(b1, float64(p.Step)))
	bc2 := math.Sqrt(1 - math.Pow(b2, float64(p.Step)))
	wd, eps := float64(p.WeightDecay), float64(p.Eps)
	b.parallelFor(len(pd), grainElems, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := float64(gd[i]) + wd*float64(pd[i])
			mi := b1*float64(md[i]) + (1-b1)*g
			vi := b2*float64(vd[i]) + (1-b2)*g*g
			md[i], vd[i] = float32(mi), float32(vi)
			pd[i] = float32(float64(pd[i]) - step*mi/(math.Sqrt(vi)/bc2+eps))
		}
	})
	return nil
}

// SGDUpdate applies one step of PyTorch's SGD in place:
//
//	g = grad + wd·p;  buf = μ·buf + g;  p -= lr·(nesterov ? g + μ·buf : buf)
//
// With momentum 0 the buffer is left untouched and p -= lr·g.
func (b *Backend) SGDUpdate(param, grad, mom tensor.View, p tensor.SGDParams) error {
	const name = "SGDUpdate"
	ds, err := optimOperands(name, []string{"param", "grad", "mom"}, param, grad, mom)
	if err != nil {
		return err
	}
	pd, gd, bd := ds[0], ds[1], ds[2]
	mu, lr, wd := p.Momentum, p.LR, p.WeightDecay
	b.parallelFor(len(pd), grainElems, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := gd[i] + wd*pd[i]
			if mu != 0 {
				buf := mu*bd[i] + g
				bd[i] = buf
				if p.Nesterov {
					g += mu * buf
				} else {
					g = buf
				}
			}
			pd[i] -= lr * g
		}
	})
	return nil
}
