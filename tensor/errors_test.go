package tensor_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/cpu"
)

func TestOpErrors(t *testing.T) {
	b := backend(t)
	x := tensor.Zeros(b, 2, 3)
	labels := tensor.FromInt32(b, []int32{1, 2})
	tests := []struct {
		name string
		f    func()
		frag []string
	}{
		{"broadcast", func() { tensor.Add(x, tensor.Zeros(b, 4)) }, []string{"tensor.Add", "[2 3]", "[4]", "do not broadcast"}},
		{"where broadcast", func() { tensor.Where(x, x, tensor.Zeros(b, 3, 3)) }, []string{"Where", "[3 3]"}},
		{"matmul inner", func() { tensor.MatMul(x, tensor.Zeros(b, 4, 5)) }, []string{"MatMul", "[2 3]", "[4 5]", "inner dimensions 3 and 4"}},
		{"matmul rank", func() { tensor.MatMul(tensor.Zeros(b, 3), x) }, []string{"MatMul", "rank 2 or 3"}},
		{"matmul batch", func() { tensor.MatMul(tensor.Zeros(b, 2, 2, 3), tensor.Zeros(b, 3, 3, 1)) }, []string{"MatMul", "batch sizes 2 and 3"}},
		{"zero size", func() { tensor.Zeros(b, 0, 3) }, []string{"Empty", "[0 3]", "zero-size"}},
		{"empty slice", func() { tensor.FromSlice(b, nil) }, []string{"zero-size"}},
		{"from slice count", func() { tensor.FromSlice(b, seq(5), 2, 3) }, []string{"FromSlice", "[2 3]", "6 elements, data has 5"}},
		{"reshape zero", func() { tensor.Reshape(x, 0, 6) }, []string{"Reshape", "invalid dimension 0"}},
		{"dtype add", func() { tensor.Add(labels, tensor.Zeros(b, 2)) }, []string{"Add", "int32", "want float32"}},
		{"dtype exp", func() { tensor.Exp(labels) }, []string{"Exp", "int32"}},
		{"dtype read", func() { labels.Float32s() }, []string{"Float32s", "int32"}},
		{"dtype read int", func() { x.Int32s() }, []string{"Int32s", "float32"}},
		{"index dtype", func() { tensor.IndexSelect(x, 0, tensor.Zeros(b, 1)) }, []string{"IndexSelect", "int32"}},
		{"index range", func() { tensor.IndexSelect(x, 1, tensor.FromInt32(b, []int32{0, 5})) }, []string{"IndexSelect", "[2 3]", "index 5", "position 1"}},
		{"index negative", func() { tensor.IndexSelect(x, 0, tensor.FromInt32(b, []int32{-1})) }, []string{"IndexSelect", "index -1"}},
		{"index add range", func() { tensor.IndexAdd([]int{2, 3}, 0, tensor.FromInt32(b, []int32{2}), tensor.Zeros(b, 1, 3)) }, []string{"IndexAdd", "index 2"}},
		{"conv channels", func() { tensor.Conv2D(tensor.Zeros(b, 1, 3, 5, 5), tensor.Zeros(b, 4, 2, 3, 3), nil, 1, 0) }, []string{"Conv2D", "[1 3 5 5]", "[4 2 3 3]", "3 channels"}},
		{"conv kernel", func() { tensor.Conv2D(tensor.Zeros(b, 1, 1, 2, 2), tensor.Zeros(b, 1, 1, 3, 3), nil, 1, 0) }, []string{"Conv2D", "larger than padded input"}},
		{"conv bias", func() {
			tensor.Conv2D(tensor.Zeros(b, 1, 1, 3, 3), tensor.Zeros(b, 2, 1, 3, 3), tensor.Zeros(b, 3), 1, 0)
		}, []string{"Conv2D", "bias must be [2]"}},
		{"pool padding", func() { tensor.MaxPool2D(tensor.Zeros(b, 1, 1, 4, 4), 2, 1, 2) }, []string{"MaxPool2D", "padding"}},
		{"pool rank", func() { tensor.AvgPool2D(x, 2, 2, 0) }, []string{"AvgPool2D", "[2 3]"}},
		{"batchnorm channels", func() {
			c := tensor.Zeros(b, 3)
			tensor.BatchNorm2D(tensor.Zeros(b, 2, 4, 3, 3), c, c, c, c, true, 0.1, 1e-5)
		}, []string{"BatchNorm2D", "[2 4 3 3]", "dense [4]"}},
		{"batchnorm single value", func() {
			c := tensor.Zeros(b, 2)
			tensor.BatchNorm2D(tensor.Zeros(b, 1, 2, 1, 1), c, c, c, c, true, 0.1, 1e-5)
		}, []string{"BatchNorm2D", "more than one value"}},
		{"index add src", func() { tensor.IndexAdd([]int{2, 3}, 0, tensor.FromInt32(b, []int32{1}), tensor.Zeros(b, 1, 4)) }, []string{"IndexAdd", "[1 4]", "dimension 1 is 4, want 3"}},
		{"maxpool backward dy", func() {
			_, idx := tensor.MaxPool2D(tensor.Zeros(b, 1, 1, 4, 4), 2, 2, 0)
			tensor.MaxPool2DBackward(tensor.Zeros(b, 1, 1, 3, 3), idx, []int{1, 1, 4, 4}, 2, 2, 0)
		}, []string{"MaxPool2DBackward", "[1 1 3 3]", "[1 1 2 2]"}},
		{"avgpool backward dy", func() { tensor.AvgPool2DBackward(tensor.Zeros(b, 1, 2, 2, 2), []int{1, 1, 4, 4}, 2, 2, 0) }, []string{"AvgPool2DBackward", "[1 2 2 2]"}},
		{"batchnorm backward rank", func() {
			c := tensor.Zeros(b, 3)
			tensor.BatchNorm2DBackward(x, x, c, c, c, 1e-5)
		}, []string{"BatchNorm2DBackward", "[N,C,H,W]"}},
		{"batchnorm backward dy", func() {
			c := tensor.Zeros(b, 2)
			tensor.BatchNorm2DBackward(tensor.Zeros(b, 2, 2, 2, 1), tensor.Zeros(b, 2, 2, 1, 2), c, c, c, 1e-5)
		}, []string{"BatchNorm2DBackward", "[2 2 2 1]", "[2 2 1 2]"}},
		{"item", func() { x.Item() }, []string{"Item", "6 elements"}},
		{"clamp", func() { tensor.Clamp(x, 1, 0) }, []string{"Clamp", "lo 1 > hi 0"}},
		{"arange", func() { tensor.Arange(b, 0, 1, -1) }, []string{"Arange", "empty range"}},
		{"other backend", func() { tensor.Add(x, tensor.Zeros(cpu.New(), 2, 3)) }, []string{"Add", "different backends"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantOpError(t, tc.f, tc.frag...) })
	}
}

func TestTry(t *testing.T) {
	b := backend(t)
	if err := tensor.Try(func() { tensor.Add(tensor.Ones(b, 2), tensor.Ones(b, 2)) }); err != nil {
		t.Errorf("Try of a valid op: %v", err)
	}
	// A backend error is wrapped: the OpError names the op and unwraps to it.
	err := tensor.Try(func() { tensor.IndexSelect(tensor.Ones(b, 3), 0, tensor.FromInt32(b, []int32{3})) })
	var oe *tensor.OpError
	if !errors.As(err, &oe) || oe.Op != "IndexSelect" || oe.Err == nil || errors.Unwrap(err) != oe.Err {
		t.Fatalf("error %#v does not wrap the backend error", err)
	}
	if len(oe.Shapes) != 2 || !equalInts(oe.Shapes[0], []int{3}) {
		t.Errorf("shapes %v", oe.Shapes)
	}
	// Other panics are not errors of the tensor API and propagate.
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "not an OpError") {
			t.Errorf("recovered %v", r)
		}
	}()
	_ = tensor.Try(func() { panic("not an OpError") })
	t.Error("Try swallowed a foreign panic")
}
