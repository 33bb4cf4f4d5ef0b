package cpu

import (
	"fmt"
	"sync"

	"github.com/vkgrad/vkgrad/tensor"
)

// Convolutions are lowered to the blocked matmul through im2col. The output
// pixels of all images are the columns of one product, taken in chunks of
// whole images (or, for large maps, parts of one image) so that small maps,
// such as 2x2 or 1x1 maps at batch 200, still give the matmul wide operands.
// For a chunk of np columns, col [Cin·KH·KW, np] holds the input values each
// output pixel's window sees (zero in the padding):
//
//	forward:         Y [Cout, np] = W [Cout, CKK] · col, scattered to out (+ bias)
//	backward-data:   col = Wᵀ · dY, dY [Cout, np] gathered from dy; col2im adds col into dx
//	backward-weight: dW += dY · colᵀ
//
// A chunk inside one image multiplies straight into (or from) the NCHW
// tensor, without the gather or scatter. Chunks run in turn; every phase of a
// chunk (im2col, col2im, gather, scatter, the matmul) is split across the
// workers into parts that write disjoint outputs, so results do not depend on
// scheduling.

// convChunkElems bounds the elements of one im2col buffer and of one Y/dY
// buffer (a variable so that tests can force small chunks).
var convChunkElems = 1 << 20

// convItemElems is the least work (elements moved) per parallel im2col,
// col2im, gather or scatter item group.
const convItemElems = 1 << 14

type convPlan struct {
	p          tensor.Conv2DParams
	kk, ckk    int // KH·KW, rows of col
	ohw        int // output pixels per image
	ipc, qpc   int // images per chunk and pixels per chunk (qpc < ohw only when ipc = 1)
	xs, ys, ws int // elements per image of x and y, elements of w
}

// convChunk is images n0..n1, output pixels q0..q1 of each: the matmul
// columns (n-n0)·(q1-q0) + q-q0.
type convChunk struct{ n0, n1, q0, q1 int }

func (ch convChunk) imgs() int  { return ch.n1 - ch.n0 }
func (ch convChunk) width() int { return ch.q1 - ch.q0 }
func (ch convChunk) cols() int  { return ch.imgs() * ch.width() }

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
	c := convPlan{p: p, kk: p.KH * p.KW, ohw: oh * ow}
	c.ckk = p.Cin * c.kk
	c.xs, c.ys, c.ws = p.Cin*p.H*p.W, p.Cout*c.ohw, p.Cout*c.ckk
	maxCols := max(1, convChunkElems/max(c.ckk, p.Cout))
	if c.ohw <= maxCols {
		c.ipc, c.qpc = min(p.N, maxCols/c.ohw), c.ohw
	} else {
		parts := (c.ohw + maxCols - 1) / maxCols
		c.ipc, c.qpc = 1, (c.ohw+parts-1)/parts
	}
	return c, nil
}

// chunks yields the chunks covering every image and output pixel.
func (c *convPlan) chunks(yield func(convChunk) bool) {
	for n0 := 0; n0 < c.p.N; n0 += c.ipc {
		for q0 := 0; q0 < c.ohw; q0 += c.qpc {
			if !yield(convChunk{n0, min(n0+c.ipc, c.p.N), q0, min(q0+c.qpc, c.ohw)}) {
				return
			}
		}
	}
}

// maxCols is the widest chunk.
func (c *convPlan) maxCols() int { return c.ipc * c.qpc }

// forItems runs fn(n, ch) for every image n of chunk k and channel ch <
// channels, split across the workers; each item moves about per elements.
func (b *Backend) forItems(k convChunk, channels, per int, fn func(n, ch int)) {
	b.parallelFor(k.imgs()*channels, max(1, convItemElems/max(per, 1)), func(lo, hi int) {
		for it := lo; it < hi; it++ {
			fn(k.n0+it/channels, it%channels)
		}
	})
}

// im2col fills the rows of input channel ci (ci·KK .. ci·KK+KK) of col
// [ckk, np] at columns off..off+(q1-q0) with the windows of output pixels
// q0..q1 over plane, channel ci of one image ([H, W]).
func (c *convPlan) im2col(col []float32, np, off int, plane []float32, ci, q0, q1 int) {
	p := c.p
	w := q1 - q0
	r := ci * c.kk
	for kh := range p.KH {
		for kw := range p.KW {
			dst := col[r*np+off : r*np+off+w]
			r++
			oh, ow := q0/p.OW, q0%p.OW
			for q := 0; q < w; oh, ow = oh+1, 0 {
				seg := dst[q : q+min(p.OW-ow, w-q)] // one output row
				q += len(seg)
				ih := oh*p.StrideH - p.PadH + kh
				if ih < 0 || ih >= p.H {
					clear(seg)
					continue
				}
				row := plane[ih*p.W : (ih+1)*p.W]
				iw := ow*p.StrideW - p.PadW + kw
				if p.StrideW == 1 && len(seg) >= 8 {
					lo, hi := max(0, -iw), min(len(seg), p.W-iw)
					if hi <= lo {
						clear(seg)
						continue
					}
					clear(seg[:lo])
					copy(seg[lo:hi], row[iw+lo:iw+hi])
					clear(seg[hi:])
					continue
				}
				for i := range seg {
					if uint(iw) < uint(len(row)) {
						seg[i] = row[iw]
					} else {
						seg[i] = 0
					}
					iw += p.StrideW
				}
			}
		}
	}
}

// col2im adds the rows of input channel ci of col [ckk, np] at columns
// off..off+(q1-q0) (output pixels q0..q1) back into plane, channel ci of one
// image's gradient ([H, W]).
func (c *convPlan) col2im(plane, col []float32, np, off, ci, q0, q1 int) {
	p := c.p
	w := q1 - q0
	r := ci * c.kk
	for kh := range p.KH {
		for kw := range p.KW {
			src := col[r*np+off : r*np+off+w]
			r++
			oh, ow := q0/p.OW, q0%p.OW
			for q := 0; q < w; oh, ow = oh+1, 0 {
				seg := src[q : q+min(p.OW-ow, w-q)]
				q += len(seg)
				ih := oh*p.StrideH - p.PadH + kh
				if ih < 0 || ih >= p.H {
					continue
				}
				row := plane[ih*p.W : (ih+1)*p.W]
				iw := ow*p.StrideW - p.PadW + kw
				if p.StrideW == 1 {
					lo, hi := max(0, -iw), min(len(seg), p.W-iw)
					if hi > lo {
						d := row[iw+lo : iw+hi]
						for i, v := range seg[lo:hi] {
							d[i] += v
						}
					}
					continue
				}
				for _, v := range seg {
					if uint(iw) < uint(len(row)) {
						row[iw] += v
					}
					iw += p.StrideW
				}
			}
		}
	}
}

// fillCol runs im2col for every image and channel of chunk k from x.
func (b *Backend) fillCol(c *convPlan, k convChunk, col, x []float32) {
	p := c.p
	np, w := k.cols(), k.width()
	b.forItems(k, p.Cin, c.kk*w, func(n, ci int) {
		plane := x[n*c.xs+ci*p.H*p.W : n*c.xs+(ci+1)*p.H*p.W]
		c.im2col(col, np, (n-k.n0)*w, plane, ci, k.q0, k.q1)
	})
}

// gatherDY copies dy of the images of chunk k into dY [Cout, np].
func (b *Backend) gatherDY(c *convPlan, k convChunk, dY, dy []float32) {
	np, w := k.cols(), k.width()
	b.forItems(k, c.p.Cout, w, func(n, co int) {
		copy(dY[co*np+(n-k.n0)*w:co*np+(n-k.n0+1)*w], dy[n*c.ys+co*c.ohw+k.q0:n*c.ys+co*c.ohw+k.q1])
	})
}

// floatPool recycles the convolution scratch buffers (*[]float32).
var floatPool sync.Pool

// getFloats returns a scratch slice of n elements with unspecified values.
func getFloats(n int) *[]float32 {
	if s, ok := floatPool.Get().(*[]float32); ok && cap(*s) >= n {
		*s = (*s)[:n]
		return s
	}
	s := make([]float32, n)
	return &s
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
	colBuf, yBuf := getFloats(c.ckk*c.maxCols()), getFloats(p.Cout*c.maxCols())
	defer floatPool.Put(colBuf)
	defer floatPool.Put(yBuf)
	for k := range c.chunks {
		np, wid := k.cols(), k.width()
		col := (*colBuf)[:c.ckk*np]
		b.fillCol(&c, k, col, xd)
		wm, cm := mat{d: wd, ld: c.ckk}, mat{d: col, ld: np}
		if k.imgs() == 1 {
			// Y is the chunk's columns of out itself.
			b.gemmBatch(od, k.n0*c.ys+k.q0, c.ohw, 0, wm, cm, 1, 0, 0, p.Cout, np, c.ckk, false)
			if bd != nil {
				b.forItems(k, p.Cout, wid, func(n, co int) {
					row := od[n*c.ys+co*c.ohw+k.q0 : n*c.ys+co*c.ohw+k.q1]
					for i := range row {
						row[i] += bd[co]
					}
				})
			}
			continue
		}
		y := (*yBuf)[:p.Cout*np]
		b.gemmBatch(y, 0, np, 0, wm, cm, 1, 0, 0, p.Cout, np, c.ckk, false)
		b.forItems(k, p.Cout, wid, func(n, co int) {
			dst := od[n*c.ys+co*c.ohw+k.q0 : n*c.ys+co*c.ohw+k.q1]
			src := y[co*np+(n-k.n0)*wid : co*np+(n-k.n0+1)*wid]
			if bd == nil {
				copy(dst, src)
				return
			}
			bv := bd[co]
			for i, v := range src {
				dst[i] = v + bv
			}
		})
	}
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
	clear(dxd)
	colBuf, yBuf := getFloats(c.ckk*c.maxCols()), getFloats(p.Cout*c.maxCols())
	defer floatPool.Put(colBuf)
	defer floatPool.Put(yBuf)
	for k := range c.chunks {
		np, wid := k.cols(), k.width()
		dym := mat{d: dyd, off: k.n0*c.ys + k.q0, ld: c.ohw}
		if k.imgs() > 1 {
			y := (*yBuf)[:p.Cout*np]
			b.gatherDY(&c, k, y, dyd)
			dym = mat{d: y, ld: np}
		}
		// col [ckk, np] = Wᵀ · dY
		col := (*colBuf)[:c.ckk*np]
		b.gemmBatch(col, 0, np, 0, mat{d: wd, ld: c.ckk, trans: true}, dym, 1, 0, 0, c.ckk, np, p.Cout, false)
		b.forItems(k, p.Cin, c.kk*wid, func(n, ci int) {
			plane := dxd[n*c.xs+ci*p.H*p.W : n*c.xs+(ci+1)*p.H*p.W]
			c.col2im(plane, col, np, (n-k.n0)*wid, ci, k.q0, k.q1)
		})
	}
	return nil
}

// Conv2DBackwardWeight overwrites dw with the gradient of Conv2D w.r.t. w.
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
	colBuf, yBuf := getFloats(c.ckk*c.maxCols()), getFloats(p.Cout*c.maxCols())
	defer floatPool.Put(colBuf)
	defer floatPool.Put(yBuf)
	first := true
	for k := range c.chunks {
		np := k.cols()
		col := (*colBuf)[:c.ckk*np]
		b.fillCol(&c, k, col, xd)
		dym := mat{d: dyd, off: k.n0*c.ys + k.q0, ld: c.ohw}
		if k.imgs() > 1 {
			y := (*yBuf)[:p.Cout*np]
			b.gatherDY(&c, k, y, dyd)
			dym = mat{d: y, ld: np}
		}
		// dW [Cout, ckk] (+)= dY [Cout, np] · colᵀ
		b.gemmBatch(dwd, 0, c.ckk, 0, dym, mat{d: col, ld: np, trans: true}, 1, 0, 0, p.Cout, c.ckk, np, !first)
		first = false
	}
	return nil
}
