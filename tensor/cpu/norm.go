package cpu

import (
	"fmt"
	"math"

	"github.com/vkgrad/vkgrad/tensor"
)

// L2Normalize writes out = x / sqrt(Σ x² + eps) for each row of a dense
// x [rows, d]; the sum of squares accumulates in float64.
func (b *Backend) L2Normalize(out, x tensor.View, rows, d int, eps float32) error {
	const name = "L2Normalize"
	if rows <= 0 || d <= 0 {
		return fmt.Errorf("cpu: %s: invalid sizes rows=%d d=%d", name, rows, d)
	}
	xd, err := denseF(name, "x", x, rows*d)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, rows*d)
	if err != nil {
		return err
	}
	b.parallelFor(rows, max(1, grainElems/d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src, dst := xd[r*d:(r+1)*d], od[r*d:(r+1)*d]
			var s float64
			for _, v := range src {
				s += float64(v) * float64(v)
			}
			inv := 1 / math.Sqrt(s+float64(eps))
			for i, v := range src {
				dst[i] = float32(float64(v) * inv)
			}
		}
	})
	return nil
}
