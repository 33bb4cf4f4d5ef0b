package tensor

import "fmt"

// DType is the element type of a tensor. vkgrad computes in float32; int32
// tensors hold labels, indices and argmax results.
type DType uint8

const (
	// Float32 is IEEE-754 single precision, the type of all differentiable data.
	Float32 DType = iota
	// Int32 is a signed 32-bit integer, used for labels and indices.
	Int32
)

// Size returns the size of one element in bytes.
func (d DType) Size() int { return 4 }

// String returns "float32" or "int32".
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}
