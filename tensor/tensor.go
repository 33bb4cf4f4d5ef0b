package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
)

// storage owns a backend buffer shared by all views of it. A cleanup
// releases the buffer when no tensor refers to the storage any more.
type storage struct {
	buf Buffer
}

func newStorage(buf Buffer) *storage {
	s := &storage{buf: buf}
	if hb, ok := buf.(HeapBuffer); ok && hb.HeapManaged() {
		return s // the collector frees it with the storage
	}
	runtime.AddCleanup(s, func(b Buffer) { b.Release() }, buf)
	return s
}

// Tensor is an n-dimensional array on a backend: a view (shape, strides,
// element offset) into a buffer. Views made by Reshape, Transpose, Permute,
// Slice and Expand share the buffer. Tensors are immutable from the API's
// point of view except through the documented in-place ops (optimizer
// updates, batch-norm running statistics, Assign).
type Tensor struct {
	b       Backend
	st      *storage
	shape   []int
	strides []int
	offset  int
	dtype   DType
}

// Backend returns the backend that holds the tensor.
func (t *Tensor) Backend() Backend { return t.b }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return cloneInts(t.shape) }

// Strides returns a copy of the element strides.
func (t *Tensor) Strides() []int { return cloneInts(t.strides) }

// Offset returns the element offset into the buffer.
func (t *Tensor) Offset() int { return t.offset }

// Dim returns the size of axis i (negative counts from the end).
func (t *Tensor) Dim(i int) int { return t.shape[normAxis("Dim", t, i)] }

// Rank returns the number of dimensions (0 for a scalar).
func (t *Tensor) Rank() int { return len(t.shape) }

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return Numel(t.shape) }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// IsContiguous reports whether the tensor is dense row-major.
func (t *Tensor) IsContiguous() bool { return IsContiguous(t.shape, t.strides) }

// Buffer returns the underlying buffer (for backends and tests).
func (t *Tensor) Buffer() Buffer { return t.st.buf }

// View returns the op view of the tensor.
func (t *Tensor) View() View {
	return View{Buf: t.st.buf, Offset: t.offset, Shape: t.shape, Strides: t.strides}
}

// Release returns the tensor's buffer to its backend now rather than when the
// garbage collector finds it unreachable. Every view of the same buffer
// becomes invalid; use it only for tensors you own.
func (t *Tensor) Release() {
	if t != nil && t.st != nil {
		t.st.buf.Release()
	}
}

// String renders shape, dtype and (for small tensors) values.
func (t *Tensor) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Tensor%v %s", t.shape, t.dtype)
	if t.Numel() <= 64 {
		if t.dtype == Int32 {
			fmt.Fprintf(&sb, " %v", t.Int32s())
		} else {
			fmt.Fprintf(&sb, " %v", t.Float32s())
		}
	}
	return sb.String()
}

func validateShape(op string, shape []int) {
	for _, d := range shape {
		if d <= 0 {
			fail(op, [][]int{shape}, "zero-size or negative dimension")
		}
	}
}

// Empty allocates an uninitialised-looking (zero-filled) dense tensor.
func Empty(b Backend, dt DType, shape ...int) *Tensor {
	validateShape("Empty", shape)
	buf, err := b.Alloc(Numel(shape), dt)
	check("Empty", [][]int{shape}, err)
	return &Tensor{b: b, st: newStorage(buf), shape: cloneInts(shape), strides: ContiguousStrides(shape), dtype: dt}
}

// Zeros returns a float32 tensor of zeros.
func Zeros(b Backend, shape ...int) *Tensor { return Empty(b, Float32, shape...) }

// ZerosInt32 returns an int32 tensor of zeros.
func ZerosInt32(b Backend, shape ...int) *Tensor { return Empty(b, Int32, shape...) }

// Full returns a float32 tensor filled with v.
func Full(b Backend, v float32, shape ...int) *Tensor {
	t := Zeros(b, shape...)
	if v != 0 {
		check("Full", [][]int{shape}, b.Unary(OpAffine, t.View(), t.View(), 0, v))
	}
	return t
}

// Ones returns a float32 tensor of ones.
func Ones(b Backend, shape ...int) *Tensor { return Full(b, 1, shape...) }

// Scalar returns a rank-0 float32 tensor.
func Scalar(b Backend, v float32) *Tensor { return Reshape(FromSlice(b, []float32{v})) }

// FromSlice copies data into a new float32 tensor of the given shape (a
// 1-D tensor of len(data) when shape is omitted).
func FromSlice(b Backend, data []float32, shape ...int) *Tensor {
	if shape == nil {
		shape = []int{len(data)}
	}
	if Numel(shape) != len(data) {
		fail("FromSlice", [][]int{shape}, "shape holds %d elements, data has %d", Numel(shape), len(data))
	}
	t := Zeros(b, shape...)
	check("FromSlice", [][]int{shape}, b.Write(t.st.buf, 0, data))
	return t
}

// FromInt32 copies data into a new int32 tensor.
func FromInt32(b Backend, data []int32, shape ...int) *Tensor {
	if shape == nil {
		shape = []int{len(data)}
	}
	if Numel(shape) != len(data) {
		fail("FromInt32", [][]int{shape}, "shape holds %d elements, data has %d", Numel(shape), len(data))
	}
	t := ZerosInt32(b, shape...)
	check("FromInt32", [][]int{shape}, b.WriteInt32(t.st.buf, 0, data))
	return t
}

// Arange returns the float32 values start, start+step, ... below stop.
func Arange(b Backend, start, stop, step float32) *Tensor {
	if step == 0 || (stop-start)/step <= 0 {
		fail("Arange", nil, "empty range start=%v stop=%v step=%v", start, stop, step)
	}
	var data []float32
	for v := start; (step > 0 && v < stop) || (step < 0 && v > stop); v += step {
		data = append(data, v)
	}
	return FromSlice(b, data)
}

// RandUniform returns values drawn uniformly from [lo, hi) with rng.
func RandUniform(b Backend, rng *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	validateShape("RandUniform", shape)
	data := make([]float32, Numel(shape))
	for i := range data {
		data[i] = lo + (hi-lo)*rng.Float32()
	}
	return FromSlice(b, data, shape...)
}

// RandNormal returns values drawn from N(mean, std^2) with rng.
func RandNormal(b Backend, rng *rand.Rand, mean, std float32, shape ...int) *Tensor {
	validateShape("RandNormal", shape)
	data := make([]float32, Numel(shape))
	for i := range data {
		data[i] = mean + std*float32(rng.NormFloat64())
	}
	return FromSlice(b, data, shape...)
}

// Float32s copies the tensor's values to the host in row-major order.
// On an async backend this waits for pending work.
func (t *Tensor) Float32s() []float32 {
	if t.dtype != Float32 {
		fail("Float32s", shapesOf(t), "tensor is %s", t.dtype)
	}
	c := Contiguous(t)
	out := make([]float32, c.Numel())
	check("Float32s", shapesOf(t), c.b.Read(c.st.buf, c.offset, out))
	return out
}

// Int32s copies an int32 tensor's values to the host in row-major order.
func (t *Tensor) Int32s() []int32 {
	if t.dtype != Int32 {
		fail("Int32s", shapesOf(t), "tensor is %s", t.dtype)
	}
	c := Contiguous(t)
	out := make([]int32, c.Numel())
	check("Int32s", shapesOf(t), c.b.ReadInt32(c.st.buf, c.offset, out))
	return out
}

// Item returns the single value of a one-element float32 tensor.
func (t *Tensor) Item() float32 {
	if t.Numel() != 1 {
		fail("Item", shapesOf(t), "tensor has %d elements, want 1", t.Numel())
	}
	return t.Float32s()[0]
}

// To copies the tensor to another backend (a no-op when already there).
func To(t *Tensor, b Backend) *Tensor {
	if t.b == b {
		return t
	}
	if t.dtype == Int32 {
		return FromInt32(b, t.Int32s(), t.shape...)
	}
	return FromSlice(b, t.Float32s(), t.shape...)
}

// Assign copies src into dst in place (same shape and dtype; dst may be a
// strided view, e.g. a slice of a larger tensor).
func Assign(dst, src *Tensor) {
	sameBackend("Assign", dst, src)
	if !slices.Equal(dst.shape, src.shape) || dst.dtype != src.dtype {
		fail("Assign", shapesOf(dst, src), "shape or dtype mismatch (%s, %s)", dst.dtype, src.dtype)
	}
	check("Assign", shapesOf(dst, src), dst.b.Copy(dst.View(), src.View()))
}

// Write copies host data into a dense float32 tensor in place.
func Write(dst *Tensor, data []float32) {
	if !dst.IsContiguous() || dst.dtype != Float32 || len(data) != dst.Numel() {
		fail("Write", shapesOf(dst), "want a dense float32 tensor of %d elements, got %d values", dst.Numel(), len(data))
	}
	check("Write", shapesOf(dst), dst.b.Write(dst.st.buf, dst.offset, data))
}

func sameBackend(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t == nil {
			fail(op, nil, "nil tensor")
		}
	}
	for _, t := range ts[1:] {
		if t.b != ts[0].b {
			fail(op, shapesOf(ts...), "operands live on different backends (%s, %s)", ts[0].b.Name(), t.b.Name())
		}
	}
}

func wantFloat(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t.dtype != Float32 {
			fail(op, shapesOf(ts...), "operand is %s, want float32", t.dtype)
		}
	}
}
