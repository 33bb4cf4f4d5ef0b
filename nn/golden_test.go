package nn_test

import (
	"testing"

	"github.com/vkgrad/vkgrad/nn/nntest"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

// TestGoldenCPU compares forward and backward passes with PyTorch on the
// CPU backend.
func TestGoldenCPU(t *testing.T) {
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	nntest.RunGolden(t, b)
}
