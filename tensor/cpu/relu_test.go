package cpu

import (
	"math"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// TestReluBranchFree checks the branch-free ReLU and ReLU mask against their
// definitions (v <= 0 ? 0 : v, and v > 0 ? 1 : 0) on special values and on
// bit patterns spread over all 2^32, signs of zero included.
func TestReluBranchFree(t *testing.T) {
	var src []float32
	for _, u := range []uint32{0, 0x80000000, 1, 0x80000001, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
		0x7f800001, 0xff800001, 0x7fc00000, 0xffc00000, 0x7fffffff, 0xffffffff, 0x3f800000, 0xbf800000} {
		src = append(src, math.Float32frombits(u))
	}
	for u := uint64(0); u < 1<<32; u += 40009 {
		src = append(src, math.Float32frombits(uint32(u)))
	}
	relu, mask := make([]float32, len(src)), make([]float32, len(src))
	unaryKernel(tensor.OpRelu, relu, src, 0, 0)
	unaryKernel(tensor.OpReluMask, mask, src, 0, 0)
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
	}
	for i, v := range src {
		wantRelu, wantMask := v, float32(0)
		if v <= 0 {
			wantRelu = 0
		}
		if v > 0 {
			wantMask = 1
		}
		if !same(relu[i], wantRelu) {
			t.Fatalf("relu(%v [%#x]) = %v [%#x], want %v", v, math.Float32bits(v), relu[i], math.Float32bits(relu[i]), wantRelu)
		}
		if !same(mask[i], wantMask) {
			t.Fatalf("reluMask(%v [%#x]) = %v, want %v", v, math.Float32bits(v), mask[i], wantMask)
		}
	}
}
