package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/vulkan" // measured when a device opens
)

// BenchmarkTrainStep measures one ICBPC-sized training step (forward,
// backward of sum(z * R), Adam update) at batch 200 (100 images and 100
// augmented copies) of 1x32x32 images, on every backend that opens. It
// reports images/s. Reference (icbpc issue 4): PyTorch 1.13 on the 2-core
// CI machine runs the Table 3 encoder at about 234 images/s and its
// half-width variant at about 714 images/s.
func BenchmarkTrainStep(b *testing.B) {
	const batch, d = 200, 60
	encoders := []struct {
		name  string
		build func(tensor.Backend, *rand.Rand) (*nn.Encoder, error)
	}{
		{"released", func(be tensor.Backend, r *rand.Rand) (*nn.Encoder, error) {
			return nn.NewReleasedEncoder(be, r, nn.EncoderConfig{LatentDim: d})
		}},
		{"released-half", func(be tensor.Backend, r *rand.Rand) (*nn.Encoder, error) {
			return nn.NewReleasedEncoder(be, r, nn.EncoderConfig{LatentDim: d, Width: 0.5})
		}},
		{"table3", func(be tensor.Backend, r *rand.Rand) (*nn.Encoder, error) {
			return nn.NewTable3Encoder(be, r, nn.EncoderConfig{LatentDim: d})
		}},
		{"table3-half", func(be tensor.Backend, r *rand.Rand) (*nn.Encoder, error) {
			return nn.NewTable3Encoder(be, r, nn.EncoderConfig{LatentDim: d, Width: 0.5})
		}},
	}
	for _, name := range tensor.Backends() {
		be, err := tensor.Open(name)
		if err != nil {
			b.Logf("backend %s skipped: %v", name, err)
			continue
		}
		for _, enc := range encoders {
			b.Run(name+"/"+enc.name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				e, err := enc.build(be, rng)
				if err != nil {
					b.Fatal(err)
				}
				opt, err := nn.NewAdam(e.Params(), nn.DefaultAdamConfig())
				if err != nil {
					b.Fatal(err)
				}
				x := autograd.Const(tensor.RandUniform(be, rng, -1, 1, batch, 1, 32, 32))
				r := autograd.Const(tensor.RandUniform(be, rng, -1, 1, batch, d))
				step := func() {
					opt.ZeroGrad()
					loss := autograd.Sum(autograd.Mul(e.Forward(x), r), false)
					if err := loss.Backward(); err != nil {
						b.Fatal(err)
					}
					if err := opt.Step(); err != nil {
						b.Fatal(err)
					}
					if err := be.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				step() // warm-up: allocations, pipelines
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					step()
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
