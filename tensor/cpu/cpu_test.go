package cpu_test

import (
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
	"github.com/vkgrad/vkgrad/tensor/cpu"
)

func TestConformance(t *testing.T) {
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	// A second instance is an independent oracle object; the comparison
	// checks determinism, the paired strided-vs-dense outputs and the guard
	// regions.
	backendtest.RunAll(t, b, cpu.New())
}

func TestGolden(t *testing.T) {
	backendtest.RunGolden(t, cpu.New())
}
