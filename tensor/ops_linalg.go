package tensor

// MatMul multiplies a [.., M, K] by b [.., K, N]. Operands are rank 2 or 3;
// a rank-3 operand with batch 1 (or a rank-2 operand) broadcasts over the
// other's batch.
func MatMul(a, b *Tensor) *Tensor { return MatMulT(a, b, false, false) }

// MatMulT is MatMul with optional transposition of the last two axes of a
// and b (no copy is made for a transposed dense operand).
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	const name = "MatMul"
	sameBackend(name, a, b)
	wantFloat(name, a, b)
	if a.Rank() < 2 || a.Rank() > 3 || b.Rank() < 2 || b.Rank() > 3 {
		fail(name, shapesOf(a, b), "operands must have rank 2 or 3")
	}
	// A transposed view of a dense operand is handled by flipping the flag.
	a, transA = undoTranspose(a, transA)
	b, transB = undoTranspose(b, transB)
	ac, bc := Contiguous(a), Contiguous(b)
	ar, br := ac.shape[ac.Rank()-2:], bc.shape[bc.Rank()-2:]
	m, k := ar[0], ar[1]
	if transA {
		m, k = k, m
	}
	k2, n := br[0], br[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		fail(name, shapesOf(a, b), "inner dimensions %d and %d differ (transA=%v transB=%v)", k, k2, transA, transB)
	}
	ba, bb := 1, 1
	if ac.Rank() == 3 {
		ba = ac.shape[0]
	}
	if bc.Rank() == 3 {
		bb = bc.shape[0]
	}
	if ba != bb && ba != 1 && bb != 1 {
		fail(name, shapesOf(a, b), "batch sizes %d and %d do not broadcast", ba, bb)
	}
	batch := max(ba, bb)
	var out *Tensor
	if a.Rank() == 2 && b.Rank() == 2 {
		out = Zeros(a.b, m, n)
	} else {
		out = Zeros(a.b, batch, m, n)
	}
	av, bv := ac.View(), bc.View()
	if ac.Rank() == 2 {
		av.Shape, av.Strides = append([]int{1}, av.Shape...), append([]int{0}, av.Strides...)
	}
	if bc.Rank() == 2 {
		bv.Shape, bv.Strides = append([]int{1}, bv.Shape...), append([]int{0}, bv.Strides...)
	}
	check(name, shapesOf(a, b), a.b.MatMul(out.View(), av, bv, batch, m, n, k, transA, transB))
	return out
}

// undoTranspose turns a view whose last two axes are a transpose of a dense
// tensor back into the dense tensor with the flag flipped.
func undoTranspose(t *Tensor, trans bool) (*Tensor, bool) {
	r := t.Rank()
	if t.IsContiguous() || r < 2 {
		return t, trans
	}
	sw := Transpose(t, r-2, r-1)
	if sw.IsContiguous() {
		return sw, !trans
	}
	return t, trans
}
