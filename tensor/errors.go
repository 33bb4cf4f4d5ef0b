package tensor

import (
	"fmt"
	"strings"
)

// OpError describes a failed tensor op: which op, the shapes involved and why.
//
// Tensor functions panic with an *OpError when called with operands that do
// not fit (shape or dtype mismatch, an index out of range, a zero-size
// tensor), the way gonum's mat package panics on dimension mismatch: these
// are programming errors. A failure of the device itself (out of memory,
// device lost) is also raised as an *OpError wrapping the backend error. Use
// Try at API boundaries to turn these panics into ordinary errors.
type OpError struct {
	Op     string  // the tensor function, e.g. "MatMul"
	Shapes [][]int // the operand shapes, in argument order
	Msg    string  // what was wrong
	Err    error   // the backend error, if any
}

func (e *OpError) Error() string {
	var sb strings.Builder
	sb.WriteString("tensor.")
	sb.WriteString(e.Op)
	if len(e.Shapes) > 0 {
		sb.WriteString(" (shapes")
		for _, s := range e.Shapes {
			sb.WriteString(" ")
			sb.WriteString(FormatShape(s))
		}
		sb.WriteString(")")
	}
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			sb.WriteString(": ")
		}
		sb.WriteString(e.Err.Error())
	}
	return sb.String()
}

// Unwrap returns the backend error.
func (e *OpError) Unwrap() error { return e.Err }

// FormatShape renders a shape as [2 3 4]; a scalar is [].
func FormatShape(s []int) string { return fmt.Sprint(s) }

func shapesOf(ts ...*Tensor) [][]int {
	out := make([][]int, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			out = append(out, t.shape)
		}
	}
	return out
}

// fail panics with an *OpError.
func fail(op string, shapes [][]int, format string, args ...any) {
	panic(&OpError{Op: op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)})
}

// check panics with an *OpError wrapping a backend error.
func check(op string, shapes [][]int, err error) {
	if err != nil {
		panic(&OpError{Op: op, Shapes: shapes, Err: err})
	}
}

// Try runs f and returns the *OpError it panicked with, if any. Other panics
// propagate unchanged.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if oe, ok := r.(*OpError); ok {
				err = oe
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}
