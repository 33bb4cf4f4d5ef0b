//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"unsafe"

	"github.com/vkgrad/vkgrad/tensor"
)

// maxRank is the rank the strided kernels take in push constants.
const maxRank = 6

// anyDType accepts either dtype in view checks.
const anyDType = tensor.DType(255)

// view checks that v addresses elements of a live buffer of this backend
// with dtype dt (anyDType: either) and returns the buffer and the element
// span [lo, hi) the view touches.
func (b *Backend) view(op, what string, v tensor.View, dt tensor.DType) (*vkBuffer, int, int, error) {
	vb, ok := v.Buf.(*vkBuffer)
	if !ok || vb == nil {
		return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: buffer %T does not belong to the vulkan backend", op, what, v.Buf)
	}
	if vb.b != b {
		return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: buffer belongs to another vulkan backend", op, what)
	}
	if vb.isReleased() {
		return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: use of a released buffer", op, what)
	}
	if dt != anyDType && vb.dt != dt {
		return nil, 0, 0, fmt.Errorf("vulkan: %s: %s is %s, want %s", op, what, vb.dt, dt)
	}
	if len(v.Shape) != len(v.Strides) {
		return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: shape %v and strides %v differ in rank", op, what, v.Shape, v.Strides)
	}
	lo, hi := v.Offset, v.Offset+1
	for i, d := range v.Shape {
		if d <= 0 {
			return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: shape %v has a non-positive dimension", op, what, v.Shape)
		}
		if v.Strides[i] < 0 {
			return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: negative stride in %v", op, what, v.Strides)
		}
		hi += (d - 1) * v.Strides[i]
	}
	if lo < 0 || hi > vb.n {
		return nil, 0, 0, fmt.Errorf("vulkan: %s: %s: view spans elements [%d, %d) of a buffer of %d", op, what, lo, hi, vb.n)
	}
	return vb, lo, hi, nil
}

// dense is view plus a check that v is dense row-major with n elements.
func (b *Backend) dense(op, what string, v tensor.View, dt tensor.DType, n int) (*vkBuffer, error) {
	vb, _, _, err := b.view(op, what, v, dt)
	if err != nil {
		return nil, err
	}
	if !v.Contiguous() {
		return nil, fmt.Errorf("vulkan: %s: %s must be dense, got shape %v strides %v", op, what, v.Shape, v.Strides)
	}
	if v.Numel() != n {
		return nil, fmt.Errorf("vulkan: %s: %s has %d elements, want %d", op, what, v.Numel(), n)
	}
	return vb, nil
}

// denseArg is dense returning a dispatch argument over the view's range.
func (b *Backend) denseArg(op, what string, v tensor.View, dt tensor.DType, n int) (arg, error) {
	vb, err := b.dense(op, what, v, dt, n)
	if err != nil {
		return arg{}, err
	}
	return arg{buf: vb, lo: v.Offset, hi: v.Offset + n}, nil
}

// denseSpec names one dense operand for denseArgs.
type denseSpec struct {
	what string
	v    tensor.View
	dt   tensor.DType
	n    int
}

// denseArgs is denseArg for several operands, stopping at the first error.
func (b *Backend) denseArgs(op string, specs ...denseSpec) ([]arg, error) {
	args := make([]arg, len(specs))
	for i, s := range specs {
		a, err := b.denseArg(op, s.what, s.v, s.dt, s.n)
		if err != nil {
			return nil, err
		}
		args[i] = a
	}
	return args, nil
}

// collapse merges adjacent dimensions that are contiguous for every stride
// vector and drops dimensions of size 1. The result has rank >= 1.
func collapse(shape []int, strides [][]int) ([]int, [][]int) {
	var cs []int
	cst := make([][]int, len(strides))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 1 {
			continue
		}
		if last := len(cs) - 1; last >= 0 {
			merge := true
			for k := range strides {
				if strides[k][d] != cst[k][last]*cs[last] {
					merge = false
					break
				}
			}
			if merge {
				cs[last] *= shape[d]
				continue
			}
		}
		cs = append(cs, shape[d])
		for k := range strides {
			cst[k] = append(cst[k], strides[k][d])
		}
	}
	if len(cs) == 0 {
		cs = []int{1}
		for k := range cst {
			cst[k] = []int{0}
		}
	}
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
		for k := range cst {
			cst[k][i], cst[k][j] = cst[k][j], cst[k][i]
		}
	}
	return cs, cst
}

// chunks collapses a strided iteration space and calls fn once when the
// rank fits the kernels, else once per index of the leading dimensions.
func chunks(shape []int, strides [][]int, offs []int, fn func(shape []int, strides [][]int, offs []int) error) error {
	shape, strides = collapse(shape, strides)
	if len(shape) <= maxRank {
		return fn(shape, strides, offs)
	}
	lead := len(shape) - maxRank
	idx := make([]int, lead)
	sub := make([][]int, len(strides))
	for k := range strides {
		sub[k] = strides[k][lead:]
	}
	o := make([]int, len(offs))
	for {
		for k := range offs {
			o[k] = offs[k]
			for d := 0; d < lead; d++ {
				o[k] += idx[d] * strides[k][d]
			}
		}
		if err := fn(shape[lead:], sub, o); err != nil {
			return err
		}
		d := lead - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return nil
		}
	}
}

func arr(s []int) [maxRank]uint32 {
	var a [maxRank]uint32
	for i, v := range s {
		a[i] = uint32(v)
	}
	return a
}

func f32Bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}

func i32Bytes(s []int32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}
