package cpu

import (
	"fmt"
	"sync"

	"github.com/vkgrad/vkgrad/tensor"
)

// Convolutions are lowered to the blocked matmul (implicit im2col). The
// output pixels of all images are the columns of one product, taken in
// chunks of whole images (or, for large maps, parts of one image) so that
// small maps, such as 2x2 or 1x1 maps at batch 200, still give the matmul
// wide operands. Row r = (ci, kh, kw) of col [Cin·KH·KW, np] holds, for each
// pixel of the chunk, the input value its window sees at (ci, kh, kw) (zero in
// the padding). col is never stored as such: it is written straight into the
// micro-kernel's packed B panels from a zero-padded copy of the chunk's
// images, with row copies (runs of pixels of one output row within one
// panel):
//
//	forward:         Y [Cout, np] = W [Cout, CKK] · col, scattered to out (+ bias);
//	                 col packed as column panels [np/nr][CKK][nr]
//	backward-weight: dW += dY · colᵀ, dY [Cout, np] gathered from dy;
//	                 colᵀ packed as panels [CKK/nr][np][nr]
//	backward-data:   for stride 1, the forward convolution of dy with the
//	                 flipped, transposed kernel (padding KH-1-pad); otherwise
//	                 col = Wᵀ · dY, then col2im adds col into dx
//
// A chunk inside one image multiplies straight into (or from) the NCHW
// tensor, without the gather or scatter. Chunks run in turn; every phase of a
// chunk (padding, packing, col2im, gather, scatter, the matmul) is split
// across the workers into parts that write disjoint outputs, so results do
// not depend on scheduling.

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
	c.padded = p.PadH > 0 || p.PadW > 0
	c.hp, c.wp = p.H+2*p.PadH, p.W+2*p.PadW
	c.imgP = p.Cin * c.hp * c.wp
	c.rowOff = make([]int, 0, c.ckk)
	for ci := range p.Cin {
		for kh := range p.KH {
			for kw := range p.KW {
				c.rowOff = append(c.rowOff, ci*c.hp*c.wp+kh*c.wp+kw)
			}
		}
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

// convScratch holds one call's pooled buffers.
type convScratch struct {
	bufs []*[]float32
	runs []colRun
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
	p := c.p
	b.forItems(k, p.Cin, c.hp*c.wp, func(n, ci int) {
		src := x[n*c.xs+ci*p.H*p.W : n*c.xs+(ci+1)*p.H*p.W]
		dst := xp[(n-k.n0)*c.imgP+ci*c.hp*c.wp : (n-k.n0)*c.imgP+(ci+1)*c.hp*c.wp]
		clear(dst[:p.PadH*c.wp])
		clear(dst[(p.PadH+p.H)*c.wp:])
		for ih := range p.H {
			row := dst[(p.PadH+ih)*c.wp : (p.PadH+ih+1)*c.wp]
			clear(row[:p.PadW])
			copy(row[p.PadW:p.PadW+p.W], src[ih*p.W:(ih+1)*p.W])
			clear(row[p.PadW+p.W:])
		}
	})
	*have = -1
	if k.imgs() == 1 {
		*have = k.n0
	}
	return xp
}

// colRun is a run of columns j..j+n of col (pixels of one output row, within
// one nr-column panel): column j+i of row r reads src + rowOff[r] + i·StrideW
// of the (padded) input.
type colRun struct{ j, src, n int }

// colRuns splits the columns of chunk k into runs, none crossing a multiple
// of nr, and returns them with the index of the first run of every nr
// columns (starts has one entry per panel, plus the end).
func (c *convPlan) colRuns(runs []colRun, starts []int, k convChunk, nr int) ([]colRun, []int) {
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
			runs = append(runs, colRun{j: j, src: (n-k.n0)*c.imgP + oh*p.StrideH*c.wp + ow*p.StrideW, n: l})
			j += l
			q += l
		}
	}
	return runs, append(starts, len(runs))
}

// copyRun copies d from s with stride sw: d[i] = s[i·sw].
func copyRun(d, s []float32, sw int) {
	if sw == 1 {
		if len(d) >= 16 {
			copy(d, s)
			return
		}
		s = s[:len(d)]
		for i := range d {
			d[i] = s[i]
		}
		return
	}
	s = s[:(len(d)-1)*sw+1]
	for i := range d {
		d[i] = s[i*sw]
	}
}

// packCol writes column panel P ([ckk][nr]) of col from the input xp,
// reading the runs of its columns; lanes past the chunk's columns are zero.
func (c *convPlan) packCol(dst, xp []float32, runs []colRun, P, nr, np int) {
	panel := dst[P*c.ckk*nr : (P+1)*c.ckk*nr]
	if (P+1)*nr > np {
		clear(panel)
	}
	base, sw := P*nr, c.p.StrideW
	for r, off := range c.rowOff {
		row := panel[r*nr : r*nr+nr]
		for _, u := range runs {
			copyRun(row[u.j-base:u.j-base+u.n], xp[off+u.src:], sw)
		}
	}
}

// packColT writes the depth steps (pixels) of column panels P of colᵀ
// (rows R·nr.. of col, [np][nr] per panel) for the columns of runs; lanes
// past ckk are zero.
func (c *convPlan) packColT(dst, xp []float32, runs []colRun, R, nr, np int) {
	panel := dst[R*np*nr : (R+1)*np*nr]
	sw := c.p.StrideW
	r0, r1 := R*nr, min((R+1)*nr, c.ckk)
	for r := r0; r < r1; r++ {
		off := c.rowOff[r]
		lane := panel[r-r0:]
		for _, u := range runs {
			s := xp[off+u.src:]
			s = s[:(u.n-1)*sw+1]
			d := lane[u.j*nr:]
			for i := range u.n {
				d[i*nr] = s[i*sw]
			}
		}
	}
	if r1-r0 < nr {
		for _, u := range runs {
			for j := u.j; j < u.j+u.n; j++ {
				clear(panel[j*nr+r1-r0 : j*nr+nr])
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
	b.convForward(&c, od, xd, wd, bd)
	return nil
}

// convForward computes od = xd * wd (+ bd when not nil).
func (b *Backend) convForward(c *convPlan, od, xd, wd, bd []float32) {
	p, nr := c.p, b.kern.nr
	var s convScratch
	defer s.release()
	panels := s.get(c.ckk * ((c.maxCols() + nr - 1) / nr * nr))
	y := s.get(p.Cout * c.maxCols())
	var xp []float32
	if c.padded {
		xp = s.get(c.ipc * c.imgP)
	}
	var starts []int
	have := -1
	for k := range c.chunks {
		np, wid := k.cols(), k.width()
		in := b.input(c, k, xd, xp, &have)
		s.runs, starts = c.colRuns(s.runs, starts, k, nr)
		npan := len(starts) - 1
		b.parallelFor(npan, max(1, convItemElems/(c.ckk*nr)), func(lo, hi int) {
			for P := lo; P < hi; P++ {
				c.packCol(panels, in, s.runs[starts[P]:starts[P+1]], P, nr, np)
			}
		})
		wm, cm := mat{d: wd, ld: c.ckk}, mat{d: panels, ld: c.ckk, packed: true}
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
	var s convScratch
	defer s.release()
	if p.StrideH == 1 && p.StrideW == 1 && p.PadH < p.KH && p.PadW < p.KW {
		// dx[n][ci][ih][iw] = Σ dy[n][co][ih+PadH-kh][iw+PadW-kw]·w[co][ci][kh][kw]:
		// a stride-1 convolution of dy with wf[ci][co][kh][kw] =
		// w[co][ci][KH-1-kh][KW-1-kw] and padding KH-1-PadH, KW-1-PadW.
		q := tensor.Conv2DParams{N: p.N, Cin: p.Cout, H: p.OH, W: p.OW, Cout: p.Cin, KH: p.KH, KW: p.KW,
			StrideH: 1, StrideW: 1, PadH: p.KH - 1 - p.PadH, PadW: p.KW - 1 - p.PadW, OH: p.H, OW: p.W}
		cf, err := newConvPlan(name, q)
		if err != nil {
			return err
		}
		wf := s.get(c.ws)
		for co := range p.Cout {
			for ci := range p.Cin {
				src := wd[(co*p.Cin+ci)*c.kk : (co*p.Cin+ci+1)*c.kk]
				dst := wf[(ci*p.Cout+co)*c.kk : (ci*p.Cout+co+1)*c.kk]
				for i, v := range src {
					dst[c.kk-1-i] = v
				}
			}
		}
		b.convForward(&cf, dxd, dyd, wf, nil)
		return nil
	}
	clear(dxd)
	col := s.get(c.ckk * c.maxCols())
	dyc := s.get(p.Cout * c.maxCols())
	for k := range c.chunks {
		np, wid := k.cols(), k.width()
		// col [ckk, np] = Wᵀ · dY
		b.gemmBatch(col, 0, np, 0, mat{d: wd, ld: c.ckk, trans: true}, b.dyOperand(&c, k, dyd, dyc), 1, 0, 0, c.ckk, np, p.Cout, false)
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
	nr := b.kern.nr
	var s convScratch
	defer s.release()
	npanR := (c.ckk + nr - 1) / nr
	panels := s.get(npanR * nr * c.maxCols())
	dyc := s.get(p.Cout * c.maxCols())
	var xp []float32
	if c.padded {
		xp = s.get(c.ipc * c.imgP)
	}
	var starts []int
	have := -1
	first := true
	for k := range c.chunks {
		np := k.cols()
		in := b.input(&c, k, xd, xp, &have)
		s.runs, starts = c.colRuns(s.runs, starts, k, nr)
		// Items: (row panel R, column panel P) pairs, P fastest.
		npanP := len(starts) - 1
		b.parallelFor(npanR*npanP, max(1, convItemElems/(nr*nr)), func(lo, hi int) {
			for it := lo; it < hi; {
				R, P0 := it/npanP, it%npanP
				P1 := min(npanP, P0+hi-it)
				c.packColT(panels, in, s.runs[starts[P0]:starts[P1]], R, nr, np)
				it += P1 - P0
			}
		})
		// dW [Cout, ckk] (+)= dY [Cout, np] · colᵀ
		b.gemmBatch(dwd, 0, c.ckk, 0, b.dyOperand(&c, k, dyd, dyc), mat{d: panels, ld: np, packed: true}, 1, 0, 0, p.Cout, c.ckk, np, !first)
		first = false
	}
	return nil
}
