package cpu

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// checkIndices returns an error naming the first index outside [0, n).
func checkIndices(op string, idx []int32, n int) error {
	for j, v := range idx {
		if v < 0 || int(v) >= n {
			return fmt.Errorf("cpu: %s: index %d at position %d out of range [0, %d)", op, v, j, n)
		}
	}
	return nil
}

// IndexSelect gathers x [outer, n, inner] (float32 or int32) along the
// middle axis by idx [k] into out [outer, k, inner].
func (b *Backend) IndexSelect(out, x, idx tensor.View, outer, n, inner int) error {
	const name = "IndexSelect"
	if outer <= 0 || n <= 0 || inner <= 0 || len(idx.Shape) != 1 {
		return fmt.Errorf("cpu: %s: invalid sizes outer=%d n=%d inner=%d, index shape %v", name, outer, n, inner, idx.Shape)
	}
	k := idx.Shape[0]
	id, err := denseI(name, "idx", idx, k)
	if err != nil {
		return err
	}
	if err := checkIndices(name, id, n); err != nil {
		return err
	}
	xb, err := asBuffer(name+" x", x.Buf)
	if err != nil {
		return err
	}
	if xb.dt == tensor.Int32 {
		xd, err := denseI(name, "x", x, outer*n*inner)
		if err != nil {
			return err
		}
		od, err := denseI(name, "out", out, outer*k*inner)
		if err != nil {
			return err
		}
		gatherRows(b, od, xd, id, outer, n, inner)
		return nil
	}
	xd, err := denseF(name, "x", x, outer*n*inner)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, outer*k*inner)
	if err != nil {
		return err
	}
	gatherRows(b, od, xd, id, outer, n, inner)
	return nil
}

func gatherRows[T float32 | int32](b *Backend, od, xd []T, id []int32, outer, n, inner int) {
	k := len(id)
	b.parallelFor(outer*k, max(1, grainElems/inner), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, j := r/k, r%k
			src := (o*n + int(id[j])) * inner
			copy(od[r*inner:(r+1)*inner], xd[src:src+inner])
		}
	})
}

// IndexAdd adds src [outer, k, inner] into out [outer, n, inner] at the
// rows idx along the middle axis; repeated indices accumulate.
func (b *Backend) IndexAdd(out, src, idx tensor.View, outer, n, inner int) error {
	const name = "IndexAdd"
	if outer <= 0 || n <= 0 || inner <= 0 || len(idx.Shape) != 1 {
		return fmt.Errorf("cpu: %s: invalid sizes outer=%d n=%d inner=%d, index shape %v", name, outer, n, inner, idx.Shape)
	}
	k := idx.Shape[0]
	id, err := denseI(name, "idx", idx, k)
	if err != nil {
		return err
	}
	if err := checkIndices(name, id, n); err != nil {
		return err
	}
	od, err := denseF(name, "out", out, outer*n*inner)
	if err != nil {
		return err
	}
	sd, err := denseF(name, "src", src, outer*k*inner)
	if err != nil {
		return err
	}
	// Different outer rows never collide; within one, indices run in order.
	b.parallelFor(outer, max(1, grainElems/(k*inner)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j, ix := range id {
				dst := od[(o*n+int(ix))*inner : (o*n+int(ix)+1)*inner]
				s := sd[(o*k+j)*inner : (o*k+j+1)*inner]
				for i, v := range s {
					dst[i] += v
				}
			}
		}
	})
	return nil
}
