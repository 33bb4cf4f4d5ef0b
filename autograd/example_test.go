package autograd_test

import (
	"fmt"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

func cpuBackend() tensor.Backend {
	b, err := tensor.Open("cpu")
	if err != nil {
		panic(err)
	}
	return b
}

// Build a loss from parameters, call Backward, read the gradients.
func ExampleVar_Backward() {
	b := cpuBackend()
	x := autograd.Param(tensor.FromSlice(b, []float32{1, 2, 3}))
	w := autograd.Param(tensor.FromSlice(b, []float32{0.5, -1, 2}))
	// loss = sum(w * x^2)
	loss := autograd.Sum(autograd.Mul(w, autograd.Square(x)), false)
	if err := loss.Backward(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loss:", loss.Item())
	fmt.Println("dloss/dx:", x.Grad.Float32s()) // 2 w x
	fmt.Println("dloss/dw:", w.Grad.Float32s()) // x^2
	// Output:
	// loss: 14.5
	// dloss/dx: [1 -4 12]
	// dloss/dw: [1 4 9]
}

// A second Backward through the same graph is an error: the first one freed
// it. Build the graph again instead.
func ExampleErrGraphFreed() {
	b := cpuBackend()
	x := autograd.Param(tensor.FromSlice(b, []float32{3}))
	y := autograd.Square(x)
	fmt.Println(y.Backward())
	fmt.Println(y.Backward())
	// Output:
	// <nil>
	// autograd: backward through a graph that was already freed by an earlier Backward
}

// Linear layer plus mean squared error, the usual shape of a training step.
func ExampleLinear() {
	b := cpuBackend()
	x := autograd.Const(tensor.FromSlice(b, []float32{1, 2, 3, 4}, 2, 2))
	w := autograd.Param(tensor.FromSlice(b, []float32{1, 0, 0, 1}, 2, 2)) // [out, in]
	bias := autograd.Param(tensor.Zeros(b, 2))
	target := autograd.Const(tensor.FromSlice(b, []float32{1, 2, 3, 5}, 2, 2))
	loss := autograd.Mean(autograd.Square(autograd.Sub(autograd.Linear(x, w, bias), target)), false)
	if err := loss.Backward(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loss:", loss.Item())
	fmt.Println("dw:", w.Grad.Float32s())
	fmt.Println("dbias:", bias.Grad.Float32s())
	// Output:
	// loss: 0.25
	// dw: [0 0 -1.5 -2]
	// dbias: [0 -0.5]
}

// NoGrad evaluates without recording a graph, e.g. for validation.
func ExampleNoGrad() {
	b := cpuBackend()
	w := autograd.Param(tensor.FromSlice(b, []float32{2}))
	var y *autograd.Var
	autograd.NoGrad(func() {
		y = autograd.Scale(w, 3)
	})
	fmt.Println(y.Item(), y.RequiresGrad())
	// Output: 6 false
}

// Detach cuts the gradient: the detached value acts as a constant.
func ExampleVar_Detach() {
	b := cpuBackend()
	x := autograd.Param(tensor.FromSlice(b, []float32{4}))
	y := autograd.Mul(x.Detach(), x) // gradient x, not 2x
	if err := y.Backward(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(x.Grad.Float32s())
	// Output: [4]
}

// CheckGrad compares an op's backward rule with finite differences; tests
// of packages that define losses or layers use it the same way.
func ExampleCheckGrad() {
	b := cpuBackend()
	x := tensor.FromSlice(b, []float32{0.3, -1.2, 0.8, 2.0, -0.5, 1.1}, 2, 3)
	w := tensor.FromSlice(b, []float32{0.5, -0.25, 1.5}, 3)
	softplusDot := func(xs []*autograd.Var) *autograd.Var {
		// log(1 + exp(x)) * w, summed over the last axis.
		sp := autograd.Log(autograd.AddScalar(autograd.Exp(xs[0]), 1))
		return autograd.Sum(autograd.Mul(sp, xs[1]), false, 1)
	}
	err := autograd.CheckGrad(softplusDot, []*tensor.Tensor{x, w}, autograd.CheckOptions{FourPoint: true})
	fmt.Println("gradient check:", err)
	// Output: gradient check: <nil>
}

// Record defines a new op: the forward value plus a backward rule written
// with tensor ops, here softsign x/(1+|x|) with derivative 1/(1+|x|)^2.
func ExampleRecord() {
	b := cpuBackend()
	softsign := func(x *autograd.Var) *autograd.Var {
		den := tensor.AddScalar(tensor.Abs(x.Value), 1)
		return autograd.Record("Softsign", tensor.Div(x.Value, den), []*autograd.Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.Div(g, tensor.Square(den))}
		})
	}
	x := autograd.Param(tensor.FromSlice(b, []float32{-3, 0, 1}))
	if err := autograd.Sum(softsign(x), false).Backward(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(x.Grad.Float32s())
	// Output: [0.0625 1 0.25]
}
