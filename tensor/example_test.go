package tensor_test

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu" // registers the "cpu" backend
)

func Example() {
	b, err := tensor.Open("cpu")
	if err != nil {
		panic(err)
	}
	x := tensor.FromSlice(b, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(x)
	fmt.Println(tensor.Transpose(x, 0, 1).Shape())
	// Output:
	// Tensor[2 3] float32 [1 2 3 4 5 6]
	// [3 2]
}

func ExampleAdd() {
	b, _ := tensor.Open("cpu")
	x := tensor.FromSlice(b, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	row := tensor.FromSlice(b, []float32{10, 20, 30}, 3)
	col := tensor.FromSlice(b, []float32{100, 200}, 2, 1)
	fmt.Println(tensor.Add(x, row).Float32s())
	fmt.Println(tensor.Add(x, col).Float32s())
	// Output:
	// [11 22 33 14 25 36]
	// [101 102 103 204 205 206]
}

func ExampleMatMul() {
	b, _ := tensor.Open("cpu")
	a := tensor.FromSlice(b, []float32{1, 2, 3, 4}, 2, 2)
	v := tensor.FromSlice(b, []float32{1, 1}, 2, 1)
	fmt.Println(tensor.MatMul(a, v))
	// A transposed view costs no copy: the backend reads it with a flag.
	fmt.Println(tensor.MatMul(tensor.Transpose(a, 0, 1), v))
	// Output:
	// Tensor[2 1] float32 [3 7]
	// Tensor[2 1] float32 [4 6]
}

func ExampleSum() {
	b, _ := tensor.Open("cpu")
	x := tensor.FromSlice(b, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(tensor.Sum(x, false).Item())
	fmt.Println(tensor.Sum(x, false, 0).Float32s())
	fmt.Println(tensor.Mean(x, true, 1))
	fmt.Println(tensor.Argmax(x, 1, false).Int32s())
	// Output:
	// 21
	// [5 7 9]
	// Tensor[2 1] float32 [2 5]
	// [2 2]
}

func ExampleTry() {
	b, _ := tensor.Open("cpu")
	x := tensor.Zeros(b, 2, 3)
	err := tensor.Try(func() {
		tensor.MatMul(x, x)
	})
	fmt.Println(err)
	// Output:
	// tensor.MatMul (shapes [2 3] [2 3]): inner dimensions 3 and 2 differ (transA=false transB=false)
}

func ExampleBest() {
	b, notices, err := tensor.Best()
	if err != nil {
		panic(err)
	}
	for _, n := range notices {
		fmt.Println("skipped:", n) // e.g. a Vulkan backend without a device
	}
	fmt.Println(tensor.Zeros(b, 2).Shape())
	// The lines printed depend on the backends available, so this example
	// is compiled but not run.
}
