package cpu

import (
	"fmt"
	"sync"

	"github.com/vkgrad/vkgrad/tensor"
)

// convChunkElems bounds the elements of one im2col buffer and of one Y/dY
// buffer (a variable so that tests can force small chunks).
var convChunkElems = 1 << 20

// convItemElems is the least work (elements moved) per parallel item group.
const convItemElems = 1 << 14

type convPlan struct {
	p          tensor.Conv2DParams
	kk, ckk    int // KH·KW, rows of col
	ohw        int // output pixels per image
	ipc, qpc   int // images per chunk and pixels per chunk (qpc < ohw only when ipc = 1)
	xs, ys, ws int // elements per image of x and y, elements of w
	padded     bool
	hp, wp     int   // padded input plane (H+2·PadH, W+2·PadW)
	imgP       int   // elements per padded image
	rowOff     []int // per row r = (ci, kh, kw) of col: ci·hp·wp + kh·wp + kw
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
	return planOf(p), nil
}

// planOf returns the plan of p, whose output size p.OH×p.OW need not be the
// one of tensor.ConvOutSize (a cropped kernel, see cropTaps, or a phase of a
// strided backward-data): inputs past the bottom or right edge read zero.
func planOf(p tensor.Conv2DParams) convPlan {
	c := convPlan{p: p, kk: p.KH * p.KW, ohw: p.OH * p.OW}
	c.ckk = p.Cin * c.kk
	c.xs, c.ys, c.ws = p.Cin*p.H*p.W, p.Cout*c.ohw, p.Cout*c.ckk
	maxCols := max(1, convChunkElems/max(c.ckk, p.Cout))
	if c.ohw <= maxCols {
		c.ipc, c.qpc = min(p.N, maxCols/c.ohw), c.ohw
	} else {
		parts := (c.ohw + maxCols - 1) / maxCols
		c.ipc, c.qpc = 1, (c.ohw+parts-1)/parts
	}
	// The padded input spans every window: PadH rows above the input and as
	// many below as the last window reaches past it (at most PadH when the
	// output size is tensor.ConvOutSize's); likewise for columns.
	c.hp = p.PadH + max(p.H, (p.OH-1)*p.StrideH-p.PadH+p.KH)
	c.wp = p.PadW + max(p.W, (p.OW-1)*p.StrideW-p.PadW+p.KW)
	c.padded = c.hp > p.H || c.wp > p.W
	c.imgP = p.Cin * c.hp * c.wp
	c.rowOff = make([]int, 0, c.ckk)
	for ci := range p.Cin {
		for kh := range p.KH {
			for kw := range p.KW {
				c.rowOff = append(c.rowOff, ci*c.hp*c.wp+kh*c.wp+kw)
			}
		}
	}
	return c
}

// activeTaps returns the first and last kernel offsets (of k, along an axis
// of n inputs, out outputs, stride s, padding pad) whose windows read an
// input and not only padding for some output.
func activeTaps(k, n, out, s, pad int) (lo, hi int) {
	lo, hi = k, -1
	for t := range k {
		// Output o reads input o·s - pad + t; some o in [0, out) reads one in [0, n).
		for o := range out {
			if i := o*s - pad + t; i >= 0 && i < n {
				lo, hi = min(lo, t), max(hi, t)
				break
			}
		}
	}
	return lo, hi
}

// cropTaps returns the convolution p restricted to the kernel rows kh0.. and
// columns kw0.. whose windows read inputs (the others multiply padding
// only: a 3x3 kernel with padding 1 over a 1x1 map uses its centre alone),
// with the padding in front reduced to match (kh0 <= PadH: tap PadH reads
// input 0 for output 0). ok is false when no tap can be dropped.
func cropTaps(p tensor.Conv2DParams) (q tensor.Conv2DParams, kh0, kw0 int, ok bool) {
	h0, h1 := activeTaps(p.KH, p.H, p.OH, p.StrideH, p.PadH)
	w0, w1 := activeTaps(p.KW, p.W, p.OW, p.StrideW, p.PadW)
	if h1 < h0 || w1 < w0 || h1-h0+1 == p.KH && w1-w0+1 == p.KW {
		return p, 0, 0, false
	}
	q = p
	q.KH, q.KW, q.PadH, q.PadW = h1-h0+1, w1-w0+1, p.PadH-h0, p.PadW-w0
	return q, h0, w0, true
}

// cropWeights copies taps kh0..kh0+q.KH, kw0..kw0+q.KW of w (p's kernel) into
// wq (q's kernel), or back from wq into w with zeros at the other taps when
// back.
func cropWeights(w, wq []float32, p, q tensor.Conv2DParams, kh0, kw0 int, back bool) {
	if back {
		clear(w[:p.Cout*p.Cin*p.KH*p.KW])
	}
	for oc := range p.Cout * p.Cin {
		for kh := range q.KH {
			for kw := range q.KW {
				i := (oc*p.KH+kh0+kh)*p.KW + kw0 + kw
				j := (oc*q.KH+kh)*q.KW + kw
				if back {
					w[i] = wq[j]
				} else {
					wq[j] = w[i]
				}
			}
		}
	}
}

// subsampled reports whether p is a 1x1 convolution with stride > 1 and no
// padding, which reads only every stride-th input, and returns the
// equivalent stride-1 convolution over those inputs.
func subsampled(p tensor.Conv2DParams) (tensor.Conv2DParams, bool) {
	if p.KH != 1 || p.KW != 1 || p.PadH != 0 || p.PadW != 0 || p.StrideH == 1 && p.StrideW == 1 {
		return p, false
	}
	q := p
	q.H, q.W, q.StrideH, q.StrideW = p.OH, p.OW, 1, 1
	return q, true
}

// subsample copies x[n][c][oh·sh][ow·sw] (p's input) into xs [N][C][OH][OW],
// or, when back, xs into those elements of x, zeroing the others.
func (b *Backend) subsample(x, xs []float32, p tensor.Conv2DParams, back bool) {
	b.parallelFor(p.N*p.Cin, max(1, convItemElems/(p.H*p.W)), func(lo, hi int) {
		for it := lo; it < hi; it++ {
			plane := x[it*p.H*p.W : (it+1)*p.H*p.W]
			sub := xs[it*p.OH*p.OW : (it+1)*p.OH*p.OW]
			if back {
				clear(plane)
			}
			for oh := range p.OH {
				row := plane[oh*p.StrideH*p.W:]
				srow := sub[oh*p.OW : (oh+1)*p.OW]
				for ow := range srow {
					if back {
						row[ow*p.StrideW] = srow[ow]
					} else {
						srow[ow] = row[ow*p.StrideW]
					}
				}
			}
		}
	})
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

// convScratch holds one call's pooled buffers.
type convScratch struct {
	bufs []*[]float32
	runs []run
	pix  []offs
}

// get returns a scratch slice of n elements with unspecified values.
func (s *convScratch) get(n int) []float32 {
	p := getFloats(n)
	s.bufs = append(s.bufs, p)
	return *p
}

func (s *convScratch) release() {
	for _, p := range s.bufs {
		floatPool.Put(p)
	}
}

// input returns the images of chunk k as the packing reads them, from
// image n0 on: x itself, or a zero-padded copy ([imgs][Cin][hp][wp]) in xp.
// have is the image xp holds already (-1 for none), so that the chunks of
// one large image pad it once.
func (b *Backend) input(c *convPlan, k convChunk, x, xp []float32, have *int) []float32 {
	if !c.padded {
		return x[k.n0*c.xs:]
	}
	if k.imgs() == 1 && *have == k.n0 {
		return xp
	}
	// Zeros, then the rows of every (image, channel) plane inside them.
	p := c.p
	planes, rows := make([]offs, k.imgs()*p.Cin), make([]run, p.H)
	for i := range planes {
		planes[i] = offs{dst: i*c.hp*c.wp + p.PadH*c.wp + p.PadW, src: (k.n0*p.Cin + i) * p.H * p.W}
	}
	for ih := range rows {
		rows[ih] = run{dst: ih * c.wp, src: ih * p.W, n: p.W}
	}
	b.parallelFor(len(planes), max(1, convItemElems/(c.hp*c.wp)), func(lo, hi int) {
		clear(xp[lo*c.hp*c.wp : hi*c.hp*c.wp])
		copyGrid(xp, x, 0, planes[lo:hi], offsExtent(planes[lo:hi]), rows, 1)
	})
	*have = -1
	if k.imgs() == 1 {
		*have = k.n0
	}
	return xp
}

// colRuns splits the columns of chunk k into runs of pixels of one output
// row, none crossing a multiple of nr, and returns them with the index of
// the first run of every nr columns (starts has one entry per panel, plus the
// end). Run u covers columns u.dst..u.dst+u.n; column u.dst+i reads the
// input at u.src + i·StrideW, in elements of the padded NCHW input (plus the
// offset of a row of col) or in pixels of the padded NHWC input. img is the
// distance between images of the input the runs address.
func (c *convPlan) colRuns(runs []run, starts []int, k convChunk, nr, img int) ([]run, []int) {
	p := c.p
	runs, starts = runs[:0], starts[:0]
	j := 0
	for n := k.n0; n < k.n1; n++ {
		for q := k.q0; q < k.q1; {
			oh, ow := q/p.OW, q%p.OW
			l := min(p.OW-ow, k.q1-q, nr-j%nr)
			if j%nr == 0 {
				starts = append(starts, len(runs))
			}
			runs = append(runs, run{dst: j, src: (n-k.n0)*img + oh*p.StrideH*c.wp + ow*p.StrideW, n: l})
			j += l
			q += l
		}
	}
	return runs, append(starts, len(runs))
}

// colRows returns, for every row r of col, the offset of its lanes in a
// column panel of nr columns (r·nr) and of its window tap in the padded NCHW
// input (rowOff[r]), with their extent.
func (c *convPlan) colRows(nr int) ([]offs, extent) {
	rows := make([]offs, c.ckk)
	for r, off := range c.rowOff {
		rows[r] = offs{dst: r * nr, src: off}
	}
	return rows, offsExtent(rows)
}

// packCol writes rows r0..r1 of column panel P ([ckk][nr]) of col from the
// input xp, reading the runs of its columns; rows and rx are colRows(nr).
// Lanes past the chunk's np columns are zero.
func (c *convPlan) packCol(dst, xp []float32, runs []run, rows []offs, rx extent, P, nr, np, r0, r1 int) {
	panel := dst[P*c.ckk*nr : (P+1)*c.ckk*nr]
	copyGrid(panel, xp, -P*nr, rows[r0:r1], rx, runs, c.p.StrideW)
	if used := np - P*nr; used < nr {
		for r := r0; r < r1; r++ {
			clear(panel[r*nr+used : r*nr+nr])
		}
	}
}

// nhwcSegs returns the lane runs of colᵀ panel R when the rows of col are
// ordered r' = (kh·KW + kw)·Cin + ci (channels fastest): lanes s.dst..
// s.dst+s.n of a pixel read consecutive channels of the NHWC input from
// s.src on, relative to the pixel's first channel.
func (c *convPlan) nhwcSegs(segs []run, R, nr int) []run {
	p := c.p
	segs = segs[:0]
	for r, end := R*nr, min((R+1)*nr, c.ckk); r < end; {
		g, ci := r/p.Cin, r%p.Cin
		l := min(p.Cin-ci, end-r)
		segs = append(segs, run{dst: r - R*nr, src: ((g/p.KW)*c.wp+g%p.KW)*p.Cin + ci, n: l})
		r += l
	}
	return segs
}

// nhwcPixels returns, for every column j of the chunk whose runs are given,
// the offset of its row in a colᵀ panel (j·nr) and of its first channel in
// the NHWC input, with their extent.
func (c *convPlan) nhwcPixels(pix []offs, runs []run, nr int) ([]offs, extent) {
	pix = pix[:0]
	for _, u := range runs {
		for i := range u.n {
			pix = append(pix, offs{dst: (u.dst + i) * nr, src: (u.src + i*c.p.StrideW) * c.p.Cin})
		}
	}
	return pix, offsExtent(pix)
}

// inputNHWC writes the images of chunk k zero-padded and channels last
// ([imgs][hp][wp][Cin]) into xt.
func (b *Backend) inputNHWC(c *convPlan, k convChunk, x, xt []float32) {
	p := c.p
	b.forItems(k, c.hp, c.wp*p.Cin, func(n, ih int) {
		dst := xt[((n-k.n0)*c.hp+ih)*c.wp*p.Cin : ((n-k.n0)*c.hp+ih+1)*c.wp*p.Cin]
		if ih < p.PadH || ih >= p.PadH+p.H {
			clear(dst)
			return
		}
		clear(dst[:p.PadW*p.Cin])
		clear(dst[(p.PadW+p.W)*p.Cin:])
		src := x[n*c.xs+(ih-p.PadH)*p.W:]
		d := dst[p.PadW*p.Cin : (p.PadW+p.W)*p.Cin]
		hw := p.H * p.W
		// Groups of 8 channels by 8 columns are 8x8 transposes.
		wd, cd := p.W/8*8, p.Cin/8*8
		if wd > 0 {
			for ci := 0; ci < cd; ci += 8 {
				transpose8(d[ci:], p.Cin, src[ci*hw:], hw, wd/8)
			}
		}
		for iw := range p.W {
			row := d[iw*p.Cin : (iw+1)*p.Cin]
			s := src[iw:]
			from := 0
			if iw < wd {
				from = cd
			}
			for ci := from; ci < len(row); ci++ {
				row[ci] = s[ci*hw]
			}
		}
	})
}

// packColT writes the rows (pixels) pix of column panel R of colᵀ ([np][nr],
// rows r' of col in NHWC order) from the NHWC input xt; px is the extent of
// nhwcPixels, segs is nhwcSegs(R). Lanes past ckk are zero.
func (c *convPlan) packColT(dst, xt []float32, pix []offs, px extent, segs []run, R, nr, np int) {
	panel := dst[R*np*nr : (R+1)*np*nr]
	copyGrid(panel, xt, 0, pix, px, segs, 1)
	if used := c.ckk - R*nr; used < nr {
		for _, o := range pix {
			clear(panel[o.dst+used : o.dst+nr])
		}
	}
}

// gatherDY copies dy of the images of chunk k into dY [Cout, np].
func (b *Backend) gatherDY(c *convPlan, k convChunk, dY, dy []float32) {
	np, w := k.cols(), k.width()
	b.forItems(k, c.p.Cout, w, func(n, co int) {
		copy(dY[co*np+(n-k.n0)*w:co*np+(n-k.n0+1)*w], dy[n*c.ys+co*c.ohw+k.q0:n*c.ys+co*c.ohw+k.q1])
	})
}

// dyOperand returns dY of chunk k as a matmul operand [Cout, np]: dy itself
// for a chunk inside one image, else gathered into scratch.
func (b *Backend) dyOperand(c *convPlan, k convChunk, dy, scratch []float32) mat {
	if k.imgs() == 1 {
		return mat{d: dy, off: k.n0*c.ys + k.q0, ld: c.ohw}
	}
	np := k.cols()
	b.gatherDY(c, k, scratch[:c.p.Cout*np], dy)
	return mat{d: scratch, ld: np}
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
