package cpu

import (
	"fmt"
	"math"

	"github.com/vkgrad/vkgrad/tensor"
)

func checkPool(op string, p tensor.Pool2DParams) error {
	if p.N <= 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.KH <= 0 || p.KW <= 0 || p.StrideH <= 0 || p.StrideW <= 0 ||
		p.PadH < 0 || p.PadW < 0 || 2*p.PadH > p.KH || 2*p.PadW > p.KW {
		return fmt.Errorf("cpu: %s: invalid parameters %+v", op, p)
	}
	oh, ow := tensor.ConvOutSize(p.H, p.KH, p.StrideH, p.PadH), tensor.ConvOutSize(p.W, p.KW, p.StrideW, p.PadW)
	if p.OH != oh || p.OW != ow || oh <= 0 || ow <= 0 {
		return fmt.Errorf("cpu: %s: output %dx%d does not match input %dx%d with window %dx%d, stride %d,%d, padding %d,%d",
			op, p.OH, p.OW, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW)
	}
	return nil
}

// planeGrain is the number of pooling planes worth a goroutine.
func planeGrain(p tensor.Pool2DParams) int { return max(1, grainElems/(p.OH*p.OW*p.KH*p.KW)) }

// MaxPool2D writes the maximum of each window to out and its flat index
// h*W+w within the plane to idx. Padding never wins; a NaN in a window wins
// (the first one).
func (b *Backend) MaxPool2D(out, idx, x tensor.View, p tensor.Pool2DParams) error {
	const name = "MaxPool2D"
	if err := checkPool(name, p); err != nil {
		return err
	}
	planes, in, on := p.N*p.C, p.H*p.W, p.OH*p.OW
	xd, err := denseF(name, "x", x, planes*in)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, planes*on)
	if err != nil {
		return err
	}
	id, err := denseI(name, "idx", idx, planes*on)
	if err != nil {
		return err
	}
	b.parallelFor(planes, planeGrain(p), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := xd[pl*in : (pl+1)*in]
			for oh := range p.OH {
				h0 := oh*p.StrideH - p.PadH
				for ow := range p.OW {
					w0 := ow*p.StrideW - p.PadW
					best, arg := float32(math.Inf(-1)), -1
					for h := max(h0, 0); h < min(h0+p.KH, p.H); h++ {
						for w := max(w0, 0); w < min(w0+p.KW, p.W); w++ {
							if v := src[h*p.W+w]; arg < 0 || better(v, best) {
								best, arg = v, h*p.W+w
							}
						}
					}
					od[pl*on+oh*p.OW+ow] = best
					id[pl*on+oh*p.OW+ow] = int32(arg)
				}
			}
		}
	})
	return nil
}

// MaxPool2DBackward overwrites dx with dy routed to the recorded maxima
// (overlapping windows accumulate). An index outside the plane is an error.
func (b *Backend) MaxPool2DBackward(dx, dy, idx tensor.View, p tensor.Pool2DParams) error {
	const name = "MaxPool2DBackward"
	if err := checkPool(name, p); err != nil {
		return err
	}
	planes, in, on := p.N*p.C, p.H*p.W, p.OH*p.OW
	dxd, err := denseF(name, "dx", dx, planes*in)
	if err != nil {
		return err
	}
	dyd, err := denseF(name, "dy", dy, planes*on)
	if err != nil {
		return err
	}
	id, err := denseI(name, "idx", idx, planes*on)
	if err != nil {
		return err
	}
	for i, v := range id {
		if v < 0 || int(v) >= in {
			return fmt.Errorf("cpu: %s: index %d at position %d out of range [0, %d)", name, v, i, in)
		}
	}
	b.parallelFor(planes, planeGrain(p), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := dxd[pl*in : (pl+1)*in]
			for i := range dst {
				dst[i] = 0
			}
			for o, g := range dyd[pl*on : (pl+1)*on] {
				dst[id[pl*on+o]] += g
			}
		}
	})
	return nil
}

// AvgPool2D averages each window, counting padded elements (the divisor is
// always KH*KW, as PyTorch's count_include_pad).
func (b *Backend) AvgPool2D(out, x tensor.View, p tensor.Pool2DParams) error {
	const name = "AvgPool2D"
	if err := checkPool(name, p); err != nil {
		return err
	}
	planes, in, on := p.N*p.C, p.H*p.W, p.OH*p.OW
	xd, err := denseF(name, "x", x, planes*in)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, planes*on)
	if err != nil {
		return err
	}
	inv := 1 / float64(p.KH*p.KW)
	b.parallelFor(planes, planeGrain(p), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := xd[pl*in : (pl+1)*in]
			for oh := range p.OH {
				h0 := oh*p.StrideH - p.PadH
				for ow := range p.OW {
					w0 := ow*p.StrideW - p.PadW
					var s float64
					for h := max(h0, 0); h < min(h0+p.KH, p.H); h++ {
						for w := max(w0, 0); w < min(w0+p.KW, p.W); w++ {
							s += float64(src[h*p.W+w])
						}
					}
					od[pl*on+oh*p.OW+ow] = float32(s * inv)
				}
			}
		}
	})
	return nil
}

// AvgPool2DBackward overwrites dx with each dy spread evenly over its
// window (padded positions absorb their share).
func (b *Backend) AvgPool2DBackward(dx, dy tensor.View, p tensor.Pool2DParams) error {
	const name = "AvgPool2DBackward"
	if err := checkPool(name, p); err != nil {
		return err
	}
	planes, in, on := p.N*p.C, p.H*p.W, p.OH*p.OW
	dxd, err := denseF(name, "dx", dx, planes*in)
	if err != nil {
		return err
	}
	dyd, err := denseF(name, "dy", dy, planes*on)
	if err != nil {
		return err
	}
	inv := 1 / float32(p.KH*p.KW)
	b.parallelFor(planes, planeGrain(p), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := dxd[pl*in : (pl+1)*in]
			for i := range dst {
				dst[i] = 0
			}
			for oh := range p.OH {
				h0 := oh*p.StrideH - p.PadH
				for ow := range p.OW {
					w0 := ow*p.StrideW - p.PadW
					g := dyd[pl*on+oh*p.OW+ow] * inv
					for h := max(h0, 0); h < min(h0+p.KH, p.H); h++ {
						for w := max(w0, 0); w < min(w0+p.KW, p.W); w++ {
							dst[h*p.W+w] += g
						}
					}
				}
			}
		}
	})
	return nil
}
