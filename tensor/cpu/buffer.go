package cpu

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// buffer is a CPU allocation: a Go slice of one dtype.
type buffer struct {
	dt       tensor.DType
	f        []float32
	i        []int32
	released bool
}

// Len returns the number of elements.
func (b *buffer) Len() int {
	if b.dt == tensor.Int32 {
		return len(b.i)
	}
	return len(b.f)
}

// DType returns the element type.
func (b *buffer) DType() tensor.DType { return b.dt }

// HeapManaged reports that the garbage collector reclaims the slice by
// itself (tensor.HeapBuffer), so tensors register no cleanup for it.
func (b *buffer) HeapManaged() bool { return true }

// Release drops the slice so the garbage collector can reclaim it; later
// use of the buffer is reported as an error.
func (b *buffer) Release() {
	b.released = true
	b.f, b.i = nil, nil
}

func asBuffer(op string, buf tensor.Buffer) (*buffer, error) {
	cb, ok := buf.(*buffer)
	if !ok || cb == nil {
		return nil, fmt.Errorf("cpu: %s: buffer %T does not belong to the cpu backend", op, buf)
	}
	if cb.released {
		return nil, fmt.Errorf("cpu: %s: use of a released buffer", op)
	}
	return cb, nil
}

func floats(op string, buf tensor.Buffer) ([]float32, error) {
	cb, err := asBuffer(op, buf)
	if err != nil {
		return nil, err
	}
	if cb.dt != tensor.Float32 {
		return nil, fmt.Errorf("cpu: %s: buffer is %s, want float32", op, cb.dt)
	}
	return cb.f, nil
}

func ints(op string, buf tensor.Buffer) ([]int32, error) {
	cb, err := asBuffer(op, buf)
	if err != nil {
		return nil, err
	}
	if cb.dt != tensor.Int32 {
		return nil, fmt.Errorf("cpu: %s: buffer is %s, want int32", op, cb.dt)
	}
	return cb.i, nil
}

// span returns the lowest and one past the highest element offset a strided
// view addresses.
func span(v tensor.View) (lo, hi int, err error) {
	if len(v.Shape) != len(v.Strides) {
		return 0, 0, fmt.Errorf("shape %v and strides %v differ in rank", v.Shape, v.Strides)
	}
	lo, hi = v.Offset, v.Offset
	for i, d := range v.Shape {
		if d <= 0 {
			return 0, 0, fmt.Errorf("shape %v has a non-positive dimension", v.Shape)
		}
		s := (d - 1) * v.Strides[i]
		if s < 0 {
			lo += s
		} else {
			hi += s
		}
	}
	return lo, hi + 1, nil
}

// checkSpan verifies that every element of view v lies inside a buffer of
// n elements.
func checkSpan(op, what string, v tensor.View, n int) error {
	lo, hi, err := span(v)
	if err != nil {
		return fmt.Errorf("cpu: %s: %s: %w", op, what, err)
	}
	if lo < 0 || hi > n {
		return fmt.Errorf("cpu: %s: %s view (offset %d, shape %v, strides %v) exceeds buffer of %d elements",
			op, what, v.Offset, v.Shape, v.Strides, n)
	}
	return nil
}

// stridedF returns the float32 data of a strided view after a bounds check.
func stridedF(op, what string, v tensor.View) ([]float32, error) {
	d, err := floats(op+" "+what, v.Buf)
	if err != nil {
		return nil, err
	}
	return d, checkSpan(op, what, v, len(d))
}

// denseF returns the n float32 elements of a dense view starting at its
// offset.
func denseF(op, what string, v tensor.View, n int) ([]float32, error) {
	d, err := floats(op+" "+what, v.Buf)
	if err != nil {
		return nil, err
	}
	if v.Offset < 0 || n < 0 || v.Offset+n > len(d) {
		return nil, fmt.Errorf("cpu: %s: %s needs %d elements at offset %d, buffer holds %d", op, what, n, v.Offset, len(d))
	}
	return d[v.Offset : v.Offset+n : v.Offset+n], nil
}

// denseI is denseF for int32 views.
func denseI(op, what string, v tensor.View, n int) ([]int32, error) {
	d, err := ints(op+" "+what, v.Buf)
	if err != nil {
		return nil, err
	}
	if v.Offset < 0 || n < 0 || v.Offset+n > len(d) {
		return nil, fmt.Errorf("cpu: %s: %s needs %d elements at offset %d, buffer holds %d", op, what, n, v.Offset, len(d))
	}
	return d[v.Offset : v.Offset+n : v.Offset+n], nil
}

// sameShape checks that every view has shape want.
func sameShape(op string, want []int, vs ...tensor.View) error {
	for _, v := range vs {
		if len(v.Shape) != len(want) {
			return fmt.Errorf("cpu: %s: shapes %v and %v differ", op, want, v.Shape)
		}
		for i := range want {
			if v.Shape[i] != want[i] {
				return fmt.Errorf("cpu: %s: shapes %v and %v differ", op, want, v.Shape)
			}
		}
	}
	return nil
}
