package tensor

import "slices"

// ConvOutSize returns the output size of a convolution or pooling window.
func ConvOutSize(in, k, stride, pad int) int { return (in+2*pad-k)/stride + 1 }

// Conv2DParamsFor checks x [N,Cin,H,W] against w [Cout,Cin,KH,KW] and
// returns the op attributes.
func Conv2DParamsFor(op string, xs, ws []int, stride, pad int) Conv2DParams {
	if len(xs) != 4 || len(ws) != 4 {
		fail(op, [][]int{xs, ws}, "want x [N,C,H,W] and w [Cout,Cin,KH,KW]")
	}
	if xs[1] != ws[1] {
		fail(op, [][]int{xs, ws}, "input has %d channels, weights expect %d", xs[1], ws[1])
	}
	if stride < 1 || pad < 0 {
		fail(op, [][]int{xs, ws}, "invalid stride %d or padding %d", stride, pad)
	}
	p := Conv2DParams{N: xs[0], Cin: xs[1], H: xs[2], W: xs[3], Cout: ws[0], KH: ws[2], KW: ws[3],
		StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}
	p.OH, p.OW = ConvOutSize(p.H, p.KH, stride, pad), ConvOutSize(p.W, p.KW, stride, pad)
	if p.OH <= 0 || p.OW <= 0 {
		fail(op, [][]int{xs, ws}, "kernel %dx%d larger than padded input %dx%d", p.KH, p.KW, p.H+2*pad, p.W+2*pad)
	}
	return p
}

// Conv2D convolves x [N,Cin,H,W] with w [Cout,Cin,KH,KW] (cross-correlation,
// as PyTorch) and adds bias [Cout] when it is not nil.
func Conv2D(x, w, bias *Tensor, stride, pad int) *Tensor {
	const name = "Conv2D"
	sameBackend(name, x, w)
	wantFloat(name, x, w)
	p := Conv2DParamsFor(name, x.shape, w.shape, stride, pad)
	var bv View
	if bias != nil {
		sameBackend(name, x, bias)
		if bias.Rank() != 1 || bias.shape[0] != p.Cout {
			fail(name, shapesOf(x, w, bias), "bias must be [%d]", p.Cout)
		}
		bv = Contiguous(bias).View()
	}
	out := Zeros(x.b, p.N, p.Cout, p.OH, p.OW)
	check(name, shapesOf(x, w, bias), x.b.Conv2D(out.View(), Contiguous(x).View(), Contiguous(w).View(), bv, p))
	return out
}

// Conv2DBackwardData returns the gradient w.r.t. the input of Conv2D.
// xShape is the input shape [N,Cin,H,W].
func Conv2DBackwardData(dy, w *Tensor, xShape []int, stride, pad int) *Tensor {
	const name = "Conv2DBackwardData"
	sameBackend(name, dy, w)
	p := Conv2DParamsFor(name, xShape, w.shape, stride, pad)
	if !slices.Equal(dy.shape, []int{p.N, p.Cout, p.OH, p.OW}) {
		fail(name, shapesOf(dy, w), "dy must be [%d %d %d %d]", p.N, p.Cout, p.OH, p.OW)
	}
	dx := Zeros(dy.b, xShape...)
	check(name, shapesOf(dy, w), dy.b.Conv2DBackwardData(dx.View(), Contiguous(dy).View(), Contiguous(w).View(), p))
	return dx
}

// Conv2DBackwardWeight returns the gradient w.r.t. the weights of Conv2D.
func Conv2DBackwardWeight(x, dy *Tensor, wShape []int, stride, pad int) *Tensor {
	const name = "Conv2DBackwardWeight"
	sameBackend(name, x, dy)
	p := Conv2DParamsFor(name, x.shape, wShape, stride, pad)
	if !slices.Equal(dy.shape, []int{p.N, p.Cout, p.OH, p.OW}) {
		fail(name, shapesOf(x, dy), "dy must be [%d %d %d %d]", p.N, p.Cout, p.OH, p.OW)
	}
	dw := Zeros(x.b, wShape...)
	check(name, shapesOf(x, dy), x.b.Conv2DBackwardWeight(dw.View(), Contiguous(x).View(), Contiguous(dy).View(), p))
	return dw
}

// Pool2DParamsFor checks x [N,C,H,W] and returns pooling attributes.
func Pool2DParamsFor(op string, xs []int, k, stride, pad int) Pool2DParams {
	if len(xs) != 4 {
		fail(op, [][]int{xs}, "want x [N,C,H,W]")
	}
	if k < 1 || stride < 1 || pad < 0 || pad > k/2 {
		fail(op, [][]int{xs}, "invalid kernel %d, stride %d or padding %d (padding at most half the kernel)", k, stride, pad)
	}
	p := Pool2DParams{N: xs[0], C: xs[1], H: xs[2], W: xs[3], KH: k, KW: k, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}
	p.OH, p.OW = ConvOutSize(p.H, k, stride, pad), ConvOutSize(p.W, k, stride, pad)
	if p.OH <= 0 || p.OW <= 0 {
		fail(op, [][]int{xs}, "window %d larger than padded input", k)
	}
	return p
}

// MaxPool2D returns the max over k x k windows and the int32 flat index
// (h*W + w within each plane) of each maximum.
func MaxPool2D(x *Tensor, k, stride, pad int) (out, idx *Tensor) {
	const name = "MaxPool2D"
	wantFloat(name, x)
	p := Pool2DParamsFor(name, x.shape, k, stride, pad)
	out = Zeros(x.b, p.N, p.C, p.OH, p.OW)
	idx = ZerosInt32(x.b, p.N, p.C, p.OH, p.OW)
	check(name, shapesOf(x), x.b.MaxPool2D(out.View(), idx.View(), Contiguous(x).View(), p))
	return out, idx
}

// MaxPool2DBackward routes dy to the positions recorded in idx.
func MaxPool2DBackward(dy, idx *Tensor, xShape []int, k, stride, pad int) *Tensor {
	const name = "MaxPool2DBackward"
	sameBackend(name, dy, idx)
	p := Pool2DParamsFor(name, xShape, k, stride, pad)
	if want := []int{p.N, p.C, p.OH, p.OW}; !slices.Equal(dy.shape, want) || !slices.Equal(idx.shape, want) || idx.dtype != Int32 {
		fail(name, shapesOf(dy, idx), "dy and int32 idx must be %v", want)
	}
	dx := Zeros(dy.b, xShape...)
	check(name, shapesOf(dy, idx), dy.b.MaxPool2DBackward(dx.View(), Contiguous(dy).View(), Contiguous(idx).View(), p))
	return dx
}

// AvgPool2D averages k x k windows (padding counted, as PyTorch's default).
func AvgPool2D(x *Tensor, k, stride, pad int) *Tensor {
	const name = "AvgPool2D"
	wantFloat(name, x)
	p := Pool2DParamsFor(name, x.shape, k, stride, pad)
	out := Zeros(x.b, p.N, p.C, p.OH, p.OW)
	check(name, shapesOf(x), x.b.AvgPool2D(out.View(), Contiguous(x).View(), p))
	return out
}

// AvgPool2DBackward spreads dy evenly over each window.
func AvgPool2DBackward(dy *Tensor, xShape []int, k, stride, pad int) *Tensor {
	const name = "AvgPool2DBackward"
	p := Pool2DParamsFor(name, xShape, k, stride, pad)
	if want := []int{p.N, p.C, p.OH, p.OW}; !slices.Equal(dy.shape, want) {
		fail(name, shapesOf(dy), "dy must be %v", want)
	}
	dx := Zeros(dy.b, xShape...)
	check(name, shapesOf(dy), dy.b.AvgPool2DBackward(dx.View(), Contiguous(dy).View(), p))
	return dx
}

// GlobalAvgPool averages each plane of x [N,C,H,W] to [N,C].
func GlobalAvgPool(x *Tensor) *Tensor {
	if x.Rank() != 4 {
		fail("GlobalAvgPool", shapesOf(x), "want x [N,C,H,W]")
	}
	return Mean(Reshape(x, x.shape[0], x.shape[1], -1), false, 2)
}

// BatchNormResult holds what a batch-norm forward pass produces.
type BatchNormResult struct {
	Out    *Tensor // normalised, scaled and shifted, shape of x
	Mean   *Tensor // [C] statistics used
	InvStd *Tensor // [C] 1/sqrt(var+eps) used
}

// BatchNorm2D normalises x [N,C,H,W] per channel. In training mode it uses
// batch statistics and updates runMean and runVar in place (momentum as in
// PyTorch, unbiased variance for the running estimate); otherwise it uses
// them.
func BatchNorm2D(x, gamma, beta, runMean, runVar *Tensor, training bool, momentum, eps float32) BatchNormResult {
	const name = "BatchNorm2D"
	sameBackend(name, x, gamma, beta, runMean, runVar)
	wantFloat(name, x, gamma, beta, runMean, runVar)
	if x.Rank() != 4 {
		fail(name, shapesOf(x), "want x [N,C,H,W]")
	}
	c := x.shape[1]
	for _, t := range []*Tensor{gamma, beta, runMean, runVar} {
		if t.Rank() != 1 || t.shape[0] != c || !t.IsContiguous() {
			fail(name, shapesOf(x, t), "per-channel tensors must be dense [%d]", c)
		}
	}
	p := BatchNormParams{N: x.shape[0], C: c, HW: x.shape[2] * x.shape[3], Eps: eps, Momentum: momentum, Training: training}
	if training && p.N*p.HW < 2 {
		fail(name, shapesOf(x), "training needs more than one value per channel")
	}
	r := BatchNormResult{Out: Zeros(x.b, x.shape...), Mean: Zeros(x.b, c), InvStd: Zeros(x.b, c)}
	check(name, shapesOf(x), x.b.BatchNormForward(r.Out.View(), r.Mean.View(), r.InvStd.View(), Contiguous(x).View(),
		gamma.View(), beta.View(), runMean.View(), runVar.View(), p))
	return r
}

// BatchNorm2DBackward returns dx, dgamma and dbeta for a training-mode
// forward pass that used mean and invstd.
func BatchNorm2DBackward(dy, x, gamma, mean, invstd *Tensor, eps float32) (dx, dgamma, dbeta *Tensor) {
	const name = "BatchNorm2DBackward"
	sameBackend(name, dy, x, gamma, mean, invstd)
	if x.Rank() != 4 || !slices.Equal(dy.shape, x.shape) {
		fail(name, shapesOf(dy, x), "want dy and x of the same shape [N,C,H,W]")
	}
	c := x.shape[1]
	for _, t := range []*Tensor{gamma, mean, invstd} {
		if t.Rank() != 1 || t.shape[0] != c {
			fail(name, shapesOf(x, t), "per-channel tensors must be [%d]", c)
		}
	}
	p := BatchNormParams{N: x.shape[0], C: c, HW: x.shape[2] * x.shape[3], Eps: eps, Training: true}
	dx, dgamma, dbeta = Zeros(x.b, x.shape...), Zeros(x.b, c), Zeros(x.b, c)
	check(name, shapesOf(dy, x), x.b.BatchNormBackward(dx.View(), dgamma.View(), dbeta.View(), Contiguous(dy).View(),
		Contiguous(x).View(), Contiguous(gamma).View(), Contiguous(mean).View(), Contiguous(invstd).View(), p))
	return dx, dgamma, dbeta
}

// L2Normalize divides each vector along the last axis by sqrt(sum x^2 + eps).
func L2Normalize(x *Tensor, eps float32) *Tensor {
	const name = "L2Normalize"
	wantFloat(name, x)
	if x.Rank() < 1 {
		fail(name, shapesOf(x), "want rank >= 1")
	}
	d := x.shape[x.Rank()-1]
	out := Zeros(x.b, x.shape...)
	check(name, shapesOf(x), x.b.L2Normalize(out.View(), Contiguous(x).View(), x.Numel()/d, d, eps))
	return out
}
