package tensor

import "slices"

func wantDenseSame(op string, ts ...*Tensor) {
	sameBackend(op, ts...)
	wantFloat(op, ts...)
	for _, t := range ts {
		if !t.IsContiguous() || !slices.Equal(t.shape, ts[0].shape) {
			fail(op, shapesOf(ts...), "operands must be dense and of equal shape")
		}
	}
}

// AdamUpdate applies one Adam step in place to param, m and v (PyTorch's
// Adam; weight decay is L2 added to the gradient).
func AdamUpdate(param, grad, m, v *Tensor, p AdamParams) {
	wantDenseSame("AdamUpdate", param, grad, m, v)
	if p.Step < 1 {
		fail("AdamUpdate", shapesOf(param), "step must be >= 1, got %d", p.Step)
	}
	check("AdamUpdate", shapesOf(param), param.b.AdamUpdate(param.View(), grad.View(), m.View(), v.View(), p))
}

// SGDUpdate applies one SGD-with-momentum step in place to param and mom.
func SGDUpdate(param, grad, mom *Tensor, p SGDParams) {
	wantDenseSame("SGDUpdate", param, grad, mom)
	check("SGDUpdate", shapesOf(param), param.b.SGDUpdate(param.View(), grad.View(), mom.View(), p))
}
