package autograd

import "github.com/vkgrad/vkgrad/tensor"

// This file holds the neural-network ops on NCHW images: convolution,
// pooling, batch normalisation and L2 normalisation.

// Conv2D convolves x [N,Cin,H,W] with w [Cout,Cin,KH,KW] (cross-correlation,
// as PyTorch) with the given stride and zero padding on both spatial axes,
// and adds b [Cout] when b is not nil.
func Conv2D(x, w, b *Var, stride, pad int) *Var {
	var bv *tensor.Tensor
	if b != nil {
		bv = b.Value
	}
	xs, ws := x.Value.Shape(), w.Value.Shape()
	ps := []*Var{x, w, b}
	return Record("Conv2D", tensor.Conv2D(x.Value, w.Value, bv, stride, pad), ps, func(g *tensor.Tensor) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 3)
		if NeedsGrad(ps, 0) {
			res[0] = tensor.Conv2DBackwardData(g, w.Value, xs, stride, pad)
		}
		if NeedsGrad(ps, 1) {
			res[1] = tensor.Conv2DBackwardWeight(x.Value, g, ws, stride, pad)
		}
		if NeedsGrad(ps, 2) {
			res[2] = tensor.Sum(g, false, 0, 2, 3)
		}
		return res
	})
}

// MaxPool2D takes the maximum over k x k windows of x [N,C,H,W] with the
// given stride and padding (padded positions never win). The gradient goes to
// the position the forward pass selected (the first maximum of a window, as
// recorded by the backend's index tensor); overlapping windows accumulate.
func MaxPool2D(x *Var, k, stride, pad int) *Var {
	out, idx := tensor.MaxPool2D(x.Value, k, stride, pad)
	xs := x.Value.Shape()
	return Record("MaxPool2D", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MaxPool2DBackward(g, idx, xs, k, stride, pad)}
	})
}

// AvgPool2D averages k x k windows of x [N,C,H,W] (padded positions count as
// zeros in the divisor, PyTorch's default).
func AvgPool2D(x *Var, k, stride, pad int) *Var {
	xs := x.Value.Shape()
	return Record("AvgPool2D", tensor.AvgPool2D(x.Value, k, stride, pad), []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.AvgPool2DBackward(g, xs, k, stride, pad)}
	})
}

// GlobalAvgPool averages each plane of x [N,C,H,W] to [N,C].
func GlobalAvgPool(x *Var) *Var {
	out := tensor.GlobalAvgPool(x.Value)
	xs := x.Value.Shape()
	return Record("GlobalAvgPool", out, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		scaled := tensor.Scale(g, 1/float32(xs[2]*xs[3]))
		return []*tensor.Tensor{tensor.Expand(tensor.Reshape(scaled, xs[0], xs[1], 1, 1), xs...)}
	})
}

// BatchNorm2D normalises x [N,C,H,W] per channel and applies the affine map
// gamma*xhat + beta (gamma, beta [C]).
//
// In training mode it uses the batch statistics (biased variance), updates
// runMean and runVar in place (running = (1-momentum)*running +
// momentum*batch, unbiased variance, as PyTorch), and the gradient flows
// through the batch statistics. In eval mode it is the fixed affine map
// gamma*(x-runMean)/sqrt(runVar+eps) + beta; the running statistics are
// constants and are not modified. runMean and runVar are dense [C] tensors.
func BatchNorm2D(x, gamma, beta *Var, runMean, runVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	r := tensor.BatchNorm2D(x.Value, gamma.Value, beta.Value, runMean, runVar, training, momentum, eps)
	ps := []*Var{x, gamma, beta}
	if training {
		return Record("BatchNorm2D", r.Out, ps, func(g *tensor.Tensor) []*tensor.Tensor {
			dx, dgamma, dbeta := tensor.BatchNorm2DBackward(g, x.Value, gamma.Value, r.Mean, r.InvStd, eps)
			return bnGrads(ps, dx, dgamma, dbeta)
		})
	}
	return Record("BatchNorm2D", r.Out, ps, func(g *tensor.Tensor) []*tensor.Tensor {
		c := x.Value.Dim(1)
		chan4 := func(t *tensor.Tensor) *tensor.Tensor { return tensor.Reshape(t, 1, c, 1, 1) }
		var dx, dgamma, dbeta *tensor.Tensor
		if NeedsGrad(ps, 0) {
			dx = tensor.Mul(g, chan4(tensor.Mul(gamma.Value, r.InvStd)))
		}
		if NeedsGrad(ps, 1) {
			xhat := tensor.Mul(tensor.Sub(x.Value, chan4(r.Mean)), chan4(r.InvStd))
			dgamma = tensor.Sum(tensor.Mul(g, xhat), false, 0, 2, 3)
		}
		if NeedsGrad(ps, 2) {
			dbeta = tensor.Sum(g, false, 0, 2, 3)
		}
		return bnGrads(ps, dx, dgamma, dbeta)
	})
}

// bnGrads drops the gradients nobody needs.
func bnGrads(ps []*Var, gs ...*tensor.Tensor) []*tensor.Tensor {
	for i := range gs {
		if !NeedsGrad(ps, i) {
			gs[i] = nil
		}
	}
	return gs
}

// L2Normalize divides each vector along the last axis of x by
// n = sqrt(sum(x^2) + eps). Its gradient is g/n - y*sum(g*y)/n, with y the
// output and the sum along the last axis.
func L2Normalize(x *Var, eps float32) *Var {
	y := tensor.L2Normalize(x.Value, eps)
	return Record("L2Normalize", y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		n := tensor.Sqrt(tensor.AddScalar(tensor.Sum(tensor.Square(x.Value), true, -1), eps))
		gy := tensor.Sum(tensor.Mul(g, y), true, -1)
		return []*tensor.Tensor{tensor.Div(tensor.Sub(g, tensor.Mul(y, gy)), n)}
	})
}
