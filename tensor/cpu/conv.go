package cpu

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// Convolutions are lowered to the blocked matmul through im2col: for one
// image and a chunk of output pixels, col [Cin·KH·KW, P] holds the input
// values each pixel's window sees (zero in the padding), so that
//
//	forward:         out[n][:, chunk] = W [Cout, CKK] · col
//	backward-data:   col = Wᵀ · dy[n][:, chunk], scattered back (col2im)
//	backward-weight: dW += dy[n][:, chunk] · colᵀ
//
// Images run in parallel (one col buffer per goroutine) when there are at
// least as many as workers; otherwise images run in turn and each matmul is
// parallel.

// convChunkElems bounds the size of one im2col buffer.
const convChunkElems = 1 << 19

type convPlan struct {
	p          tensor.Conv2DParams
	ckk, ohw   int // rows of col, output pixels per image
	chunk      int // output pixels per im2col chunk
	xs, ys, ws int // elements per image of x and y, elements of w
}

func newConvPlan(op string, p tensor.Conv2DParams) (convPlan, error) {
	if p.N <= 0 || p.Cin <= 0 || p.H <= 0 || p.W <= 0 || p.Cout <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.StrideH <= 0 || p.StrideW <= 0 || p.PadH < 0 || p.PadW < 0 {
		return convPlan{}, fmt.Errorf("cpu: %s: invalid parameters %+v", op, p)
	}
	oh, ow := tensor.ConvOutSize(p.H, p.KH, p.StrideH, p.PadH), tensor.ConvOutSize(p.W, p.KW, p.StrideW, p.PadW)
	if p.OH != oh || p.OW != ow || oh <= 0 || ow <= 0 {
		return convPlan{}, fmt.Errorf("cpu: %s: output %dx%d does not match input %dx%d, kernel %dx%d, stride %d,%d, padding %d,%d",
			op, p.OH, p.OW, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW)
	}
	c := convPlan{p: p, ckk: p.Cin * p.KH * p.KW, ohw: oh * ow}
	c.chunk = min(c.ohw, max(64, convChunkElems/c.ckk))
	c.xs, c.ys, c.ws = p.Cin*p.H*p.W, p.Cout*oh*ow, p.Cout*c.ckk
	return c, nil
}

// im2col fills col [ckk, np] for output pixels q0..q0+np of image x (one
// image's [Cin, H, W] values).
func (c *convPlan) im2col(col, x []float32, q0, np int) {
	p := c.p
	r := 0
	for ci := range p.Cin {
		plane := x[ci*p.H*p.W : (ci+1)*p.H*p.W]
		for kh := range p.KH {
			for kw := range p.KW {
				dst := col[r*np : (r+1)*np]
				oh, ow := q0/p.OW, q0%p.OW
				for q := 0; q < np; oh, ow = oh+1, 0 {
					seg := dst[q : q+min(p.OW-ow, np-q)] // one output row
					q += len(seg)
					ih := oh*p.StrideH - p.PadH + kh
					if ih < 0 || ih >= p.H {
						clear(seg)
						continue
					}
					row := plane[ih*p.W : (ih+1)*p.W]
					iw := ow*p.StrideW - p.PadW + kw
					for i := range seg {
						if uint(iw) < uint(len(row)) {
							seg[i] = row[iw]
						} else {
							seg[i] = 0
						}
						iw += p.StrideW
					}
				}
				r++
			}
		}
	}
}

// col2im adds col [ckk, np] for output pixels q0..q0+np back into the
// image gradient dx ([Cin, H, W]).
func (c *convPlan) col2im(dx, col []float32, q0, np int) {
	p := c.p
	r := 0
	for ci := range p.Cin {
		plane := dx[ci*p.H*p.W : (ci+1)*p.H*p.W]
		for kh := range p.KH {
			for kw := range p.KW {
				src := col[r*np : (r+1)*np]
				oh, ow := q0/p.OW, q0%p.OW
				for q := 0; q < np; oh, ow = oh+1, 0 {
					seg := src[q : q+min(p.OW-ow, np-q)]
					q += len(seg)
					ih := oh*p.StrideH - p.PadH + kh
					if ih < 0 || ih >= p.H {
						continue
					}
					row := plane[ih*p.W : (ih+1)*p.W]
					iw := ow*p.StrideW - p.PadW + kw
					for _, v := range seg {
						if uint(iw) < uint(len(row)) {
							row[iw] += v
						}
						iw += p.StrideW
					}
				}
				r++
			}
		}
	}
}

// perImage runs fn for every image: in parallel with one col buffer and
// gemm workspace per goroutine (fn then multiplies serially), or in turn
// with parallel matmuls when there are fewer images than workers. fn gets
// the worker index for private accumulators.
func (b *Backend) perImage(c *convPlan, fn func(wk int, col []float32, gw *gemmWork, parallel bool, n int)) int {
	if c.p.N >= b.workers && b.workers > 1 {
		return b.parallelWorkers(c.p.N, func(wk, lo, hi int) {
			col := make([]float32, c.ckk*c.chunk)
			gw := b.kern.getWork()
			defer b.kern.putWork(gw)
			for n := lo; n < hi; n++ {
				fn(wk, col, gw, false, n)
			}
		})
	}
	col := make([]float32, c.ckk*c.chunk)
	gw := b.kern.getWork()
	defer b.kern.putWork(gw)
	for n := range c.p.N {
		fn(0, col, gw, b.workers > 1, n)
	}
	return 1
}

// gemm runs one product either on this goroutine or across all workers.
func (b *Backend) gemm(parallel bool, gw *gemmWork, cd []float32, coff, ldc int, a, bm mat, m, n, k int, accumulate bool) {
	if parallel {
		b.gemmBatch(cd, coff, ldc, 0, a, bm, 1, 0, 0, m, n, k, accumulate)
		return
	}
	gemmSerial(b.kern, gw, cd, coff, ldc, a, bm, m, n, k, accumulate)
}

// Conv2D computes out = x * w (+ bias) for dense NCHW x and [Cout,Cin,KH,KW]
// w; bias.Buf may be nil.
func (b *Backend) Conv2D(out, x, w, bias tensor.View, p tensor.Conv2DParams) error {
	const name = "Conv2D"
	c, err := newConvPlan(name, p)
	if err != nil {
		return err
	}
	xd, err := denseF(name, "x", x, p.N*c.xs)
	if err != nil {
		return err
	}
	wd, err := denseF(name, "w", w, c.ws)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, p.N*c.ys)
	if err != nil {
		return err
	}
	var bd []float32
	if bias.Buf != nil {
		if bd, err = denseF(name, "bias", bias, p.Cout); err != nil {
			return err
		}
	}
	b.perImage(&c, func(_ int, col []float32, gw *gemmWork, par bool, n int) {
		img := xd[n*c.xs : (n+1)*c.xs]
		for q0 := 0; q0 < c.ohw; q0 += c.chunk {
			np := min(c.chunk, c.ohw-q0)
			c.im2col(col, img, q0, np)
			b.gemm(par, gw, od, n*c.ys+q0, c.ohw, mat{d: wd, ld: c.ckk}, mat{d: col, ld: np}, p.Cout, np, c.ckk, false)
		}
		if bd != nil {
			for co, bv := range bd {
				row := od[n*c.ys+co*c.ohw : n*c.ys+(co+1)*c.ohw]
				for i := range row {
					row[i] += bv
				}
			}
		}
	})
	return nil
}

// Conv2DBackwardData overwrites dx with the gradient of Conv2D w.r.t. x.
func (b *Backend) Conv2DBackwardData(dx, dy, w tensor.View, p tensor.Conv2DParams) error {
	const name = "Conv2DBackwardData"
	c, err := newConvPlan(name, p)
	if err != nil {
		return err
	}
	dxd, err := denseF(name, "dx", dx, p.N*c.xs)
	if err != nil {
		return err
	}
	dyd, err := denseF(name, "dy", dy, p.N*c.ys)
	if err != nil {
		return err
	}
	wd, err := denseF(name, "w", w, c.ws)
	if err != nil {
		return err
	}
	b.perImage(&c, func(_ int, col []float32, gw *gemmWork, par bool, n int) {
		img := dxd[n*c.xs : (n+1)*c.xs]
		for i := range img {
			img[i] = 0
		}
		for q0 := 0; q0 < c.ohw; q0 += c.chunk {
			np := min(c.chunk, c.ohw-q0)
			// col [ckk, np] = Wᵀ · dy[n][:, q0:q0+np]
			b.gemm(par, gw, col, 0, np, mat{d: wd, ld: c.ckk, trans: true},
				mat{d: dyd, off: n*c.ys + q0, ld: c.ohw}, c.ckk, np, p.Cout, false)
			c.col2im(img, col, q0, np)
		}
	})
	return nil
}

// Conv2DBackwardWeight overwrites dw with the gradient of Conv2D w.r.t. w.
// Each goroutine accumulates its images into a private gradient; the
// partial gradients are summed at the end.
func (b *Backend) Conv2DBackwardWeight(dw, x, dy tensor.View, p tensor.Conv2DParams) error {
	const name = "Conv2DBackwardWeight"
	c, err := newConvPlan(name, p)
	if err != nil {
		return err
	}
	dwd, err := denseF(name, "dw", dw, c.ws)
	if err != nil {
		return err
	}
	xd, err := denseF(name, "x", x, p.N*c.xs)
	if err != nil {
		return err
	}
	dyd, err := denseF(name, "dy", dy, p.N*c.ys)
	if err != nil {
		return err
	}
	parts := make([][]float32, b.workers)
	parts[0] = dwd
	for i := range dwd {
		dwd[i] = 0
	}
	for i := 1; i < len(parts); i++ {
		parts[i] = make([]float32, c.ws)
	}
	used := b.perImage(&c, func(wk int, col []float32, gw *gemmWork, par bool, n int) {
		img := xd[n*c.xs : (n+1)*c.xs]
		for q0 := 0; q0 < c.ohw; q0 += c.chunk {
			np := min(c.chunk, c.ohw-q0)
			c.im2col(col, img, q0, np)
			// dW [Cout, ckk] += dy[n][:, q0:q0+np] · colᵀ
			b.gemm(par, gw, parts[wk], 0, c.ckk, mat{d: dyd, off: n*c.ys + q0, ld: c.ohw},
				mat{d: col, ld: np, trans: true}, p.Cout, c.ckk, np, true)
		}
	})
	for _, part := range parts[1:used] {
		for i, v := range part {
			dwd[i] += v
		}
	}
	return nil
}
