package cpu

// Blocked, packed single-precision matrix multiply (Goto/BLIS style):
// C[m×n] (+)= op(A)[m×k] · op(B)[k×n]. A block of op(A) (mc×kc) is packed
// into row panels of mr rows and a block of op(B) (kc×nc) into column panels
// of nr columns, both zero-padded, so the register micro-kernel reads both
// operands sequentially. Within a kc block the micro-kernel accumulates in
// float32 registers; partial blocks are added to C.

//go:generate go run ./internal/genkernel -mr 2 -nr 4 -u 16 -o gen_kernel.go

const (
	kc = 256 // depth of a packed block (A panel mr×kc and B panel kc×nr stay in L1)
	mc = 128 // rows of a packed A block (stays in L2)
	nc = 512 // columns of a packed B block
)

// mat is a row-major matrix operand: element (i, j) of op(M) is
// d[off + i*ld + j], or d[off + j*ld + i] when trans.
type mat struct {
	d     []float32
	off   int
	ld    int
	trans bool
}

// gemmWork holds one goroutine's packing buffers.
type gemmWork struct {
	pa, pb []float32
}

func newGemmWork() *gemmWork {
	return &gemmWork{pa: make([]float32, mc*kc), pb: make([]float32, kc*nc)}
}

// packA packs rows i0..i0+m and depth p0..p0+k of op(A) into panels of mr
// rows: panel r holds [k][mr] values, rows past m are zero.
func packA(dst []float32, a mat, i0, m, p0, k int) {
	for r := 0; r < m; r += mr {
		panel := dst[r*k : (r+mr)*k]
		rows := min(mr, m-r)
		if a.trans {
			// op(A)(i, p) = d[p*ld + i]: rows of the panel are contiguous in memory.
			for p := range k {
				src := a.d[a.off+(p0+p)*a.ld+i0+r:]
				q := panel[p*mr : p*mr+mr : p*mr+mr]
				for ii := range rows {
					q[ii] = src[ii]
				}
				for ii := rows; ii < mr; ii++ {
					q[ii] = 0
				}
			}
			continue
		}
		for ii := range mr {
			if ii >= rows {
				for p := range k {
					panel[p*mr+ii] = 0
				}
				continue
			}
			src := a.d[a.off+(i0+r+ii)*a.ld+p0 : a.off+(i0+r+ii)*a.ld+p0+k]
			for p, v := range src {
				panel[p*mr+ii] = v
			}
		}
	}
}

// packB packs depth p0..p0+k and columns j0..j0+n of op(B) into panels of nr
// columns: panel c holds [k][nr] values, columns past n are zero.
func packB(dst []float32, b mat, p0, k, j0, n int) {
	for c := 0; c < n; c += nr {
		panel := dst[c*k : (c+nr)*k]
		cols := min(nr, n-c)
		if !b.trans {
			for p := range k {
				src := b.d[b.off+(p0+p)*b.ld+j0+c:]
				q := panel[p*nr : p*nr+nr : p*nr+nr]
				for jj := range cols {
					q[jj] = src[jj]
				}
				for jj := cols; jj < nr; jj++ {
					q[jj] = 0
				}
			}
			continue
		}
		for jj := range nr {
			if jj >= cols {
				for p := range k {
					panel[p*nr+jj] = 0
				}
				continue
			}
			src := b.d[b.off+(j0+c+jj)*b.ld+p0 : b.off+(j0+c+jj)*b.ld+p0+k]
			for p, v := range src {
				panel[p*nr+jj] = v
			}
		}
	}
}

// gemmTile computes rows i0..i1 and columns j0..j1 of C = op(A)·op(B) over
// the full depth k, overwriting C (or adding to it when accumulate).
func gemmTile(w *gemmWork, c []float32, coff, ldc int, a, b mat, i0, i1, j0, j1, k int, accumulate bool) {
	m, n := i1-i0, j1-j0
	if !accumulate {
		for i := i0; i < i1; i++ {
			row := c[coff+i*ldc+j0 : coff+i*ldc+j1]
			for j := range row {
				row[j] = 0
			}
		}
	}
	var edge [mr * nr]float32
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		packB(w.pb, b, p0, kb, j0, n)
		packA(w.pa, a, i0, m, p0, kb)
		for jc := 0; jc < n; jc += nr {
			pb := w.pb[jc*kb : (jc+nr)*kb]
			cols := min(nr, n-jc)
			for ic := 0; ic < m; ic += mr {
				pa := w.pa[ic*kb : (ic+mr)*kb]
				rows := min(mr, m-ic)
				at := coff + (i0+ic)*ldc + j0 + jc
				if rows == mr && cols == nr {
					kernel(pa, pb, c[at:], ldc)
					continue
				}
				edge = [mr * nr]float32{}
				kernel(pa, pb, edge[:], nr)
				for ii := range rows {
					for jj := range cols {
						c[at+ii*ldc+jj] += edge[ii*nr+jj]
					}
				}
			}
		}
	}
}
