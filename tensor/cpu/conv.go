package cpu

import "github.com/vkgrad/vkgrad/tensor"

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
//	forward:         Y [Cout, np] = W [Cout, CKK] · col, col packed as column
//	                 panels [np/nr][CKK][nr]; Y is out itself when the chunk's
//	                 images are whole panels, else scattered to out (+ bias)
//	backward-weight: dW += dY · colᵀ, dY [Cout, np] gathered from dy; colᵀ
//	                 packed as panels [CKK/nr][np][nr] from a zero-padded
//	                 channels-last copy, with the rows of col ordered
//	                 (kh, kw, ci) so that a panel row is a few channel runs
//	                 (dWᵀ = col · dYᵀ when CKK is narrower than a panel)
//	backward-data:   for stride 1, the forward convolution of dy with the
//	                 flipped, transposed kernel (padding KH-1-pad); otherwise
//	                 col = Wᵀ · dY, then col2im adds col into dx
//
// Before that, kernel taps that only ever read padding are dropped (a 3x3
// kernel with padding 1 over a 1x1 map is its centre tap), and a 1x1
// convolution with stride s runs at stride 1 on every s-th input.
//
// Chunks run in turn; every phase of a chunk (padding, packing, col2im,
// gather, scatter, the matmul) is split across the workers into parts that
// write disjoint outputs, so results do not depend on scheduling.

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
	b.convForward(p, od, xd, wd, bd)
	return nil
}

// convForward computes od = xd * wd (+ bd when not nil) for convolution p.
func (b *Backend) convForward(p tensor.Conv2DParams, od, xd, wd, bd []float32) {
	var s convScratch
	defer s.release()
	if q, kh0, kw0, ok := cropTaps(p); ok {
		wq := s.get(q.Cout * q.Cin * q.KH * q.KW)
		cropWeights(wd, wq, p, q, kh0, kw0, false)
		b.convForward(q, od, xd, wq, bd)
		return
	}
	if q, ok := subsampled(p); ok {
		xs := s.get(q.N * q.Cin * q.H * q.W)
		b.subsample(xd, xs, p, false)
		b.convForward(q, od, xs, wd, bd)
		return
	}
	c := planOf(p)
	nr := b.kern.nr
	panels := s.get(c.ckk * ((c.maxCols() + nr - 1) / nr * nr))
	var xp []float32
	if c.padded {
		xp = s.get(c.ipc * c.imgP)
	}
	var y []float32
	var starts []int
	have := -1
	rows, rx := c.colRows(nr)
	for k := range c.chunks {
		np, wid := k.cols(), k.width()
		in := b.input(&c, k, xd, xp, &have)
		s.runs, starts = c.colRuns(s.runs, starts, k, nr, c.imgP)
		npan := len(starts) - 1
		b.parallelFor(npan, max(1, convItemElems/(c.ckk*nr)), func(lo, hi int) {
			for P := lo; P < hi; P++ {
				c.packCol(panels, in, s.runs[starts[P]:starts[P+1]], rows, rx, P, nr, np, 0, c.ckk)
			}
		})
		wm, cm := mat{d: wd, ld: c.ckk}, mat{d: panels, ld: c.ckk, packed: true}
		if k.imgs() == 1 || wid%nr == 0 && c.ckk <= 2*wid {
			// Y is out itself: image n0+i's columns are panels from i·wid/nr
			// on (one product per image repacks W, worth it for wide images).
			b.gemmBatch(od, k.n0*c.ys+k.q0, c.ohw, c.ys, wm, cm, k.imgs(), 0, wid*c.ckk, p.Cout, wid, c.ckk, false)
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
		if y == nil {
			y = s.get(p.Cout * c.maxCols())
		}
		b.gemmBatch(y, 0, np, 0, wm, cm, 1, 0, 0, p.Cout, np, c.ckk, false)
		if bd == nil {
			// out[n][co][q0:q1] = Y[co][(n-n0)·wid:]: one run per (image, channel).
			planes := make([]offs, k.imgs()*p.Cout)
			for i := range planes {
				n, co := i/p.Cout, i%p.Cout
				planes[i] = offs{dst: (k.n0+n)*c.ys + co*c.ohw + k.q0, src: co*np + n*wid}
			}
			seg := []run{{n: wid}}
			b.parallelFor(len(planes), max(1, convItemElems/wid), func(lo, hi int) {
				copyGrid(od, y, 0, planes[lo:hi], offsExtent(planes[lo:hi]), seg, 1)
			})
			continue
		}
		b.forItems(k, p.Cout, wid, func(n, co int) {
			dst := od[n*c.ys+co*c.ohw+k.q0 : n*c.ys+co*c.ohw+k.q1]
			src := y[co*np+(n-k.n0)*wid : co*np+(n-k.n0+1)*wid]
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
	b.convBackwardData(p, dxd, dyd, wd)
	return nil
}

// convBackwardData overwrites dxd with the gradient of convolution p w.r.t.
// its input.
func (b *Backend) convBackwardData(p tensor.Conv2DParams, dxd, dyd, wd []float32) {
	var s convScratch
	defer s.release()
	if q, kh0, kw0, ok := cropTaps(p); ok {
		wq := s.get(q.Cout * q.Cin * q.KH * q.KW)
		cropWeights(wd, wq, p, q, kh0, kw0, false)
		b.convBackwardData(q, dxd, dyd, wq)
		return
	}
	if q, ok := subsampled(p); ok {
		dxs := s.get(q.N * q.Cin * q.H * q.W)
		b.convBackwardData(q, dxs, dyd, wd)
		b.subsample(dxd, dxs, p, true)
		return
	}
	c := planOf(p)
	if p.StrideH == 1 && p.StrideW == 1 && p.PadH < p.KH && p.PadW < p.KW && p.Cin >= 8 {
		// dx[n][ci][ih][iw] = Σ dy[n][co][ih+PadH-kh][iw+PadW-kw]·w[co][ci][kh][kw]:
		// a stride-1 convolution of dy with wf[ci][co][kh][kw] =
		// w[co][ci][KH-1-kh][KW-1-kw] and padding KH-1-PadH, KW-1-PadW
		// (when its output size formula gives back H×W).
		q := tensor.Conv2DParams{N: p.N, Cin: p.Cout, H: p.OH, W: p.OW, Cout: p.Cin, KH: p.KH, KW: p.KW,
			StrideH: 1, StrideW: 1, PadH: p.KH - 1 - p.PadH, PadW: p.KW - 1 - p.PadW, OH: p.H, OW: p.W}
		if _, err := newConvPlan("", q); err == nil {
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
			b.convForward(q, dxd, dyd, wf, nil)
			return
		}
	}
	// col [ckk, np] = Wᵀ · dY, then col2im: every row r = (ci, kh, kw) of
	// col adds its runs into the image gradient, zero-padded when the
	// convolution pads (the padding is dropped at the end), one input
	// channel of every image of the chunk per item.
	col := s.get(c.ckk * c.maxCols())
	dyc := s.get(p.Cout * c.maxCols())
	grad, img, plane := dxd, c.xs, p.H*p.W // where col2im adds
	if c.padded {
		grad, img, plane = s.get(c.ipc*c.imgP), c.imgP, c.hp*c.wp
	} else {
		clear(dxd[:p.N*c.xs])
	}
	var taps []offs // (image, kh, kw): offset in grad from the chunk's first plane, in col from row ci·KK
	var one []run   // the runs of one image: offset in its plane, column
	var planes, rows []offs
	for k := range c.chunks {
		np, wid := k.cols(), k.width()
		b.gemmBatch(col, 0, np, 0, mat{d: wd, ld: c.ckk, trans: true}, b.dyOperand(&c, k, dyd, dyc), 1, 0, 0, c.ckk, np, p.Cout, false)
		taps = taps[:0]
		for i := range k.imgs() {
			for r := range c.kk {
				taps = append(taps, offs{dst: i*img + c.rowOff[r], src: r*np + i*wid})
			}
		}
		tx := offsExtent(taps)
		one, _ = c.colRuns(one, nil, convChunk{0, 1, k.q0, k.q1}, np, 0)
		for i, u := range one {
			one[i] = run{dst: u.src, src: u.dst, n: u.n}
		}
		at := k.n0 * c.xs // grad offset of the chunk's first image
		if c.padded {
			at = 0
			if k.q0 == 0 {
				clear(grad[:k.imgs()*c.imgP])
			}
		}
		b.parallelFor(p.Cin, max(1, convItemElems/(c.kk*np)), func(lo, hi int) {
			for ci := lo; ci < hi; ci++ {
				addGrid(grad[at+ci*plane:], col[ci*c.kk*np:], taps, tx, one, p.StrideW)
			}
		})
		if !c.padded || k.q1 != c.ohw {
			continue
		}
		// dx[n][ci] = the interior of every padded plane of the chunk.
		planes = planes[:0]
		for i := range k.imgs() * p.Cin {
			planes = append(planes, offs{dst: (k.n0*p.Cin + i) * p.H * p.W, src: i*c.hp*c.wp + p.PadH*c.wp + p.PadW})
		}
		rows = rows[:0]
		for ih := range p.H {
			rows = append(rows, offs{dst: ih * p.W, src: ih * c.wp})
		}
		inner := make([]run, len(rows))
		for i, r := range rows {
			inner[i] = run{dst: r.dst, src: r.src, n: p.W}
		}
		b.parallelFor(len(planes), max(1, convItemElems/(p.H*p.W)), func(lo, hi int) {
			copyGrid(dxd, grad, 0, planes[lo:hi], offsExtent(planes[lo:hi]), inner, 1)
		})
	}
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
	b.convBackwardWeight(p, dwd, xd, dyd)
	return nil
}

// convBackwardWeight overwrites dwd with the gradient of convolution p
// w.r.t. its kernel.
func (b *Backend) convBackwardWeight(p tensor.Conv2DParams, dwd, xd, dyd []float32) {
	var s convScratch
	defer s.release()
	if q, kh0, kw0, ok := cropTaps(p); ok {
		dwq := s.get(q.Cout * q.Cin * q.KH * q.KW)
		b.convBackwardWeight(q, dwq, xd, dyd)
		cropWeights(dwd, dwq, p, q, kh0, kw0, true)
		return
	}
	if q, ok := subsampled(p); ok {
		xs := s.get(q.N * q.Cin * q.H * q.W)
		b.subsample(xd, xs, p, false)
		b.convBackwardWeight(q, dwd, xs, dyd)
		return
	}
	c := planOf(p)
	nr := b.kern.nr
	if c.ckk < nr && p.Cout > c.ckk {
		b.convBackwardWeightT(&c, &s, dwd, xd, dyd)
		return
	}
	// The product runs over rows r' = (kh·KW+kw)·Cin + ci of col, which read
	// channels contiguously from an NHWC copy of the input, into dWp
	// [Cout][KH·KW][Cin]; dw is its permutation.
	npanR := (c.ckk + nr - 1) / nr
	segs := make([][]run, npanR)
	for R := range segs {
		segs[R] = c.nhwcSegs(nil, R, nr)
	}
	panels := s.get(npanR * nr * c.maxCols())
	dyc := s.get(p.Cout * c.maxCols())
	xt := s.get(c.ipc * c.imgP)
	permute := p.Cin > 1 && c.kk > 1 // else r' = r
	dwp := dwd
	if permute {
		dwp = s.get(c.ws)
	}
	var starts []int
	first, have := true, -1
	for k := range c.chunks {
		np := k.cols()
		if k.imgs() > 1 || have != k.n0 {
			b.inputNHWC(&c, k, xd, xt)
			have = -1 // the image a chunk of one image leaves in xt
			if k.imgs() == 1 {
				have = k.n0
			}
		}
		s.runs, starts = c.colRuns(s.runs, starts, k, nr, c.hp*c.wp)
		var px extent
		s.pix, px = c.nhwcPixels(s.pix, s.runs, nr)
		// Items: (row panel R, column panel P) pairs, P fastest.
		npanP := len(starts) - 1
		b.parallelFor(npanR*npanP, max(1, convItemElems/(nr*nr)), func(lo, hi int) {
			for it := lo; it < hi; {
				R, P0 := it/npanP, it%npanP
				P1 := min(npanP, P0+hi-it)
				c.packColT(panels, xt, s.pix[P0*nr:min(P1*nr, np)], px, segs[R], R, nr, np)
				it += P1 - P0
			}
		})
		// dWp [Cout, ckk] (+)= dY [Cout, np] · colᵀ
		b.gemmBatch(dwp, 0, c.ckk, 0, b.dyOperand(&c, k, dyd, dyc), mat{d: panels, ld: np, packed: true}, 1, 0, 0, p.Cout, c.ckk, np, !first)
		first = false
	}
	if permute {
		b.parallelFor(p.Cout, max(1, convItemElems/c.ckk), func(lo, hi int) {
			for co := lo; co < hi; co++ {
				src, dst := dwp[co*c.ckk:(co+1)*c.ckk], dwd[co*c.ckk:(co+1)*c.ckk]
				for g := range c.kk {
					for ci := range p.Cin {
						dst[ci*c.kk+g] = src[g*p.Cin+ci]
					}
				}
			}
		})
	}
}

// convBackwardWeightT computes dw as dWᵀ [ckk, Cout] = col · dYᵀ, for
// kernels with fewer rows of col (ckk) than a B panel has columns, such as a
// first layer over one input channel: ckk then spans register tiles of mr
// rows instead of one mostly empty nr-column panel.
func (b *Backend) convBackwardWeightT(c *convPlan, s *convScratch, dwd, xd, dyd []float32) {
	p := c.p
	col := s.get(c.ckk * c.maxCols())
	dyc := s.get(p.Cout * c.maxCols())
	dwt := s.get(c.ws)
	var xp []float32
	if c.padded {
		xp = s.get(c.ipc * c.imgP)
	}
	var starts []int
	first, have := true, -1
	for k := range c.chunks {
		np := k.cols()
		in := b.input(c, k, xd, xp, &have)
		// col [ckk, np]: packCol with one panel as wide as the chunk.
		s.runs, starts = c.colRuns(s.runs, starts, k, np, c.imgP)
		rows, rx := c.colRows(np)
		b.parallelFor(c.ckk, max(1, convItemElems/np), func(lo, hi int) {
			c.packCol(col, in, s.runs, rows, rx, 0, np, np, lo, hi)
		})
		dym := b.dyOperand(c, k, dyd, dyc)
		dym.trans = true
		b.gemmBatch(dwt, 0, p.Cout, 0, mat{d: col, ld: np}, dym, 1, 0, 0, c.ckk, p.Cout, np, !first)
		first = false
	}
	for co := range p.Cout {
		for r := range c.ckk {
			dwd[co*c.ckk+r] = dwt[r*p.Cout+co]
		}
	}
}
