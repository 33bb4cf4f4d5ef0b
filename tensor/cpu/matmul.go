package cpu

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// batchStride returns the element stride between batch entries of a
// matmul operand of mat elements: 0 when the operand has a batch of 1.
func batchStride(v tensor.View, elems int) int {
	if len(v.Shape) == 3 && v.Shape[0] == 1 || len(v.Shape) < 3 {
		return 0
	}
	return elems
}

// MatMul computes out[b] = op(a[b]) · op(bm[b]) for every batch entry with
// the blocked kernel, parallel over batch entries and output tiles.
func (b *Backend) MatMul(out, a, bm tensor.View, batch, m, n, k int, transA, transB bool) error {
	const name = "MatMul"
	if batch <= 0 || m <= 0 || n <= 0 || k <= 0 {
		return fmt.Errorf("cpu: %s: invalid sizes batch=%d m=%d n=%d k=%d", name, batch, m, n, k)
	}
	sa, sb := batchStride(a, m*k), batchStride(bm, k*n)
	if len(a.Shape) == 3 && a.Shape[0] != 1 && a.Shape[0] != batch || len(bm.Shape) == 3 && bm.Shape[0] != 1 && bm.Shape[0] != batch {
		return fmt.Errorf("cpu: %s: operand batches %v and %v do not match batch %d", name, a.Shape, bm.Shape, batch)
	}
	ad, err := denseF(name, "a", a, (batch-1)*sa+m*k)
	if err != nil {
		return err
	}
	bd, err := denseF(name, "b", bm, (batch-1)*sb+k*n)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, batch*m*n)
	if err != nil {
		return err
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	b.gemmBatch(od, 0, n, m*n, mat{d: ad, ld: lda, trans: transA}, mat{d: bd, ld: ldb, trans: transB}, batch, sa, sb, m, n, k, false)
	return nil
}

// gemmBatch runs batch products C[i] = op(A[i])·op(B[i]) (added to C when
// accumulate), parallel over output tiles. C[i] starts at coff+i*cs with row
// stride ldc; A entries are sa elements apart and B entries sb apart.
func (b *Backend) gemmBatch(c []float32, coff, ldc, cs int, a, bm mat, batch, sa, sb, m, n, k int, accumulate bool) {
	kn := b.kern
	tm, tn := gemmSplit(kn, b.workers, batch, m, n, k, bm.packed)
	rt, ct := (m+tm-1)/tm, (n+tn-1)/tn
	b.parallelFor(batch*rt*ct, 1, func(lo, hi int) {
		w := kn.getWork()
		defer kn.putWork(w)
		for t := lo; t < hi; t++ {
			bi, r := t/(rt*ct), t%(rt*ct)
			i0, j0 := (r/ct)*tm, (r%ct)*tn
			aa, bb := a, bm
			aa.off += bi * sa
			bb.off += bi * sb
			gemmTile(kn, w, c, coff+bi*cs, ldc, aa, bb, i0, min(i0+tm, m), j0, min(j0+tn, n), k, accumulate)
		}
	})
}
