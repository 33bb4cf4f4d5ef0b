//go:build cgo && linux && !android

package vulkan

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/nn/nntest"
	"github.com/vkgrad/vkgrad/tensor"
)

// The PyTorch golden forward/backward cases of package nn (released
// encoder, Table 3 encoder, blocks) on Vulkan.
func TestNNGoldenVulkan(t *testing.T) {
	nntest.RunGolden(t, testBackend(t))
}

// The ICBPC losses (paper and released-code forms) and their gradients
// match the CPU oracle.
func TestICBPCLossParity(t *testing.T) {
	vb := testBackend(t)
	cb, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	const n, d, c = 20, 12, 5
	cent, err := icbpc.NewPEDCC(c, d, icbpc.PEDCCOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]float32, 6)
	for i := range raw {
		raw[i] = make([]float32, n*d)
		for j := range raw[i] {
			raw[i][j] = float32(rng.NormFloat64())
		}
	}
	composite := icbpc.PaperLoss(8, 0.25)
	composite.MMDDistance = icbpc.Composite
	for name, cfg := range map[string]icbpc.LossConfig{"paper": icbpc.PaperLoss(8, 0.25), "paper_composite_mmd": composite, "code": icbpc.CodeLoss()} {
		run := func(b tensor.Backend) (float32, [][]float32) {
			views := 1
			if cfg.Pairs == icbpc.PairChain {
				views = 5
			}
			var params []*autograd.Var
			var feats []*autograd.Var
			for v := 0; v <= views; v++ {
				p := autograd.Param(tensor.FromSlice(b, raw[v], n, d))
				params = append(params, p)
				feats = append(feats, autograd.L2Normalize(p, 1e-10))
			}
			parts := cfg.Loss(feats, tensor.FromSlice(b, cent.Float32(), c, d), rand.New(rand.NewPCG(5, 5)))
			if err := parts.Total.Backward(); err != nil {
				t.Fatal(err)
			}
			var grads [][]float32
			for _, p := range params {
				grads = append(grads, p.Grad.Float32s())
			}
			return parts.Total.Item(), grads
		}
		lc, gc := run(cb)
		lv, gv := run(vb)
		if math.Abs(float64(lc-lv)) > 1e-4*math.Max(1, math.Abs(float64(lc))) {
			t.Errorf("%s: loss cpu %v vulkan %v", name, lc, lv)
		}
		for i := range gc {
			var num, den float64
			for j := range gc[i] {
				e := float64(gc[i][j] - gv[i][j])
				num += e * e
				den += float64(gc[i][j]) * float64(gc[i][j])
			}
			if den > 0 && num/den > 1e-6 {
				t.Errorf("%s: gradient of input %d differs, NMSE %.3g", name, i, num/den)
			}
		}
	}
}
