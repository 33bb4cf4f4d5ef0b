package cpu

import "fmt"

// run is a run of n elements: dst offset, src offset and length.
type run struct{ dst, src, n int }

// gridKernel is an assembly implementation of copyGrid and addGrid (without
// their range checks) for source (copy) or destination (add) strides up to
// maxStride.
type gridKernel struct {
	name      string
	maxStride int
	copy      func(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)
	add       func(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)
}

// gridKern is the fastest grid kernel of this CPU, nil for none.
var gridKern = func() *gridKernel {
	if ks := gridKernels(); len(ks) > 0 {
		return ks[0]
	}
	return nil
}()

// offs is a pair of dst and src offsets.
type offs struct{ dst, src int }

// extent bounds the offsets of a list: every dst offset o of the list's
// elements has minDst <= o < endDst, every src offset minSrc <= o < endSrc.
type extent struct{ minDst, endDst, minSrc, endSrc int }

// offsExtent returns the extent of the pairs of outer, each one element.
func offsExtent(outer []offs) extent {
	e := extent{minDst: outer[0].dst, endDst: outer[0].dst + 1, minSrc: outer[0].src, endSrc: outer[0].src + 1}
	for _, o := range outer[1:] {
		e.minDst, e.endDst = min(e.minDst, o.dst), max(e.endDst, o.dst+1)
		e.minSrc, e.endSrc = min(e.minSrc, o.src), max(e.endSrc, o.src+1)
	}
	return e
}

// runExtent returns the extent of the spans of inner read with src stride sw.
func runExtent(inner []run, sw int) extent {
	e := extent{minDst: inner[0].dst, endDst: inner[0].dst, minSrc: inner[0].src, endSrc: inner[0].src}
	for _, s := range inner {
		e.minDst, e.endDst = min(e.minDst, s.dst), max(e.endDst, s.dst+s.n)
		e.minSrc, e.endSrc = min(e.minSrc, s.src), max(e.endSrc, s.src+(s.n-1)*sw+1)
	}
	return e
}

// copyGrid copies, for every pair o of outer and every run s of inner (each
// of length s.n >= 1),
//
//	dst[bias + o.dst + s.dst + t] = src[o.src + s.src + t·sw]   for t < s.n.
//
// ox must be offsExtent(outer) or wider. The offsets are checked against
// dst and src before anything is copied; the copies use gridKern where it
// serves the stride.
func copyGrid(dst, src []float32, bias int, outer []offs, ox extent, inner []run, sw int) {
	if len(outer) == 0 || len(inner) == 0 {
		return
	}
	ix := runExtent(inner, sw)
	if bias+ox.minDst+ix.minDst < 0 || bias+(ox.endDst-1)+ix.endDst > len(dst) ||
		ox.minSrc+ix.minSrc < 0 || (ox.endSrc-1)+ix.endSrc > len(src) {
		panic(fmt.Sprintf("cpu: copyGrid out of range: dst %d+[%d,%d)+[%d,%d) of %d, src [%d,%d)+[%d,%d) of %d",
			bias, ox.minDst, ox.endDst, ix.minDst, ix.endDst, len(dst), ox.minSrc, ox.endSrc, ix.minSrc, ix.endSrc, len(src)))
	}
	if k := gridKern; k != nil && sw >= 1 && sw <= k.maxStride {
		k.copy(&dst[0], &src[0], bias, &outer[0], len(outer), &inner[0], len(inner), sw)
		return
	}
	copyGridGo(dst, src, bias, outer, inner, sw)
}

// copyGridGo is copyGrid in Go, without the range check.
func copyGridGo(dst, src []float32, bias int, outer []offs, inner []run, sw int) {
	for _, o := range outer {
		for _, s := range inner {
			d := dst[bias+o.dst+s.dst : bias+o.dst+s.dst+s.n]
			from := src[o.src+s.src : o.src+s.src+(s.n-1)*sw+1]
			if sw == 1 {
				if len(d) >= 16 {
					copy(d, from)
					continue
				}
				for t := range d {
					d[t] = from[t]
				}
				continue
			}
			for t := range d {
				d[t] = from[t*sw]
			}
		}
	}
}

// addGrid adds, for every pair o of outer and every run s of inner (each of
// length s.n >= 1),
//
//	dst[o.dst + s.dst + t·sw] += src[o.src + s.src + t]   for t < s.n,
//
// in order (outer, then inner, then t), so overlapping runs add up. ox
// must be offsExtent(outer) or wider. The offsets are checked before
// anything is added; gridKern serves the strides it can, runs of 8 elements
// or more on average.
func addGrid(dst, src []float32, outer []offs, ox extent, inner []run, sw int) {
	if len(outer) == 0 || len(inner) == 0 {
		return
	}
	// The extent of inner with dst and src swapped: runs are strided in dst.
	ix := extent{minDst: inner[0].dst, endDst: inner[0].dst, minSrc: inner[0].src, endSrc: inner[0].src}
	for _, s := range inner {
		ix.minDst, ix.endDst = min(ix.minDst, s.dst), max(ix.endDst, s.dst+(s.n-1)*sw+1)
		ix.minSrc, ix.endSrc = min(ix.minSrc, s.src), max(ix.endSrc, s.src+s.n)
	}
	if ox.minDst+ix.minDst < 0 || (ox.endDst-1)+ix.endDst > len(dst) ||
		ox.minSrc+ix.minSrc < 0 || (ox.endSrc-1)+ix.endSrc > len(src) {
		panic(fmt.Sprintf("cpu: addGrid out of range: dst [%d,%d)+[%d,%d) of %d, src [%d,%d)+[%d,%d) of %d",
			ox.minDst, ox.endDst, ix.minDst, ix.endDst, len(dst), ox.minSrc, ox.endSrc, ix.minSrc, ix.endSrc, len(src)))
	}
	// Short runs go to Go: the kernels' vector stores do not forward to the
	// vector loads of the next overlapping run, a stall per run.
	if k := gridKern; k != nil && sw >= 1 && sw <= k.maxStride && ix.endSrc-ix.minSrc >= 8*len(inner) {
		k.add(&dst[0], &src[0], &outer[0], len(outer), &inner[0], len(inner), sw)
		return
	}
	addGridGo(dst, src, outer, inner, sw)
}

// addGridGo is addGrid in Go, without the range check.
func addGridGo(dst, src []float32, outer []offs, inner []run, sw int) {
	for _, o := range outer {
		for _, s := range inner {
			d := dst[o.dst+s.dst : o.dst+s.dst+(s.n-1)*sw+1]
			from := src[o.src+s.src : o.src+s.src+s.n]
			if sw == 1 {
				for t, v := range from {
					d[t] += v
				}
				continue
			}
			for t, v := range from {
				d[t*sw] += v
			}
		}
	}
}
