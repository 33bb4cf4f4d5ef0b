package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// stepTol bounds the NMSE of the first step's loss against the oracle
// (the loss sums exponentials of many dot products).
const stepTol = 1e-8

// syntheticDataset is n random 1x32x32 images in 10 classes.
func syntheticDataset(n int, seed uint64) *icbpc.Dataset {
	rng := rand.New(rand.NewPCG(seed, 5))
	d := &icbpc.Dataset{Name: "bench/synthetic", Pixels: make([]uint8, n*32*32), Labels: make([]int, n), Classes: 10, C: 1, H: 32, W: 32}
	for i := range d.Pixels {
		d.Pixels[i] = uint8(rng.IntN(256))
	}
	for i := range d.Labels {
		d.Labels[i] = i % d.Classes
	}
	return d
}

// newTrainStep sets up an icbpc.Trainer with the paper's MNIST settings
// (loss, d = 60, Adam 1e-3, one geometric augmented view per image) on a
// synthetic dataset, with the spec's encoder and Images/2 originals per
// step. One run is one TrainStep: augmentation on the host, forward,
// loss, backward and the Adam update.
func newTrainStep(be tensor.Backend, s Spec) (*instance, error) {
	rc, err := icbpc.Preset("paper-mnist")
	if err != nil {
		return nil, err
	}
	rc.Views = 1
	cfg := rc.Train
	cfg.Encoder = s.Encoder
	cfg.LatentDim = LatentDim
	cfg.BatchSize = s.Images / (rc.Views + 1)
	if cfg.BatchSize*(rc.Views+1) != s.Images {
		return nil, fmt.Errorf("bench: train step of %d images is not a whole number of batches with %d view(s)", s.Images, rc.Views)
	}
	data := syntheticDataset(cfg.BatchSize, 11)
	vm, err := rc.NewViewMaker(data.Shape())
	if err != nil {
		return nil, err
	}
	tr, err := icbpc.NewTrainer(cfg, be, data, vm)
	if err != nil {
		return nil, err
	}
	idx := make([]int, cfg.BatchSize)
	for i := range idx {
		idx[i] = i
	}
	var first float32
	ran := false
	inst := &instance{tol: stepTol, release: func() {}}
	inst.run = func() error {
		info, err := tr.TrainStep(idx)
		if err != nil {
			return err
		}
		if !ran {
			first, ran = float32(info.Loss), true
		}
		return nil
	}
	inst.outputs = func() map[string]*tensor.Tensor {
		cpu, err := tensor.Open("cpu")
		if err != nil {
			panic(&tensor.OpError{Op: "bench", Err: err})
		}
		return map[string]*tensor.Tensor{"loss": tensor.FromSlice(cpu, []float32{first}, 1)}
	}
	return inst, nil
}

// newEncoderStep sets up the encoder alone: one run is forward of Images
// random 1x32x32 images, backward of sum(z * R) for a fixed random R, and
// an Adam step (nn.BenchmarkTrainStep's step; PyTorch runs the same).
func newEncoderStep(be tensor.Backend, s Spec) (*instance, error) {
	rng := rand.New(rand.NewPCG(specSeed(s), 4))
	e, err := NewEncoder(be, rng, s.Encoder)
	if err != nil {
		return nil, err
	}
	opt, err := nn.NewAdam(e.Params(), nn.DefaultAdamConfig())
	if err != nil {
		return nil, err
	}
	var x, r *autograd.Var
	if err := tensor.Try(func() {
		x = autograd.Const(tensor.FromSlice(be, randData(rng, s.Images*32*32, -1, 1), s.Images, 1, 32, 32))
		r = autograd.Const(tensor.FromSlice(be, randData(rng, s.Images*LatentDim, -1, 1), s.Images, LatentDim))
	}); err != nil {
		return nil, err
	}
	var first *tensor.Tensor
	inst := &instance{tol: stepTol, release: func() {}}
	inst.run = func() error {
		return tensor.Try(func() {
			opt.ZeroGrad()
			loss := autograd.Sum(autograd.Mul(e.Forward(x), r), false)
			if err := loss.Backward(); err != nil {
				panic(&tensor.OpError{Op: "bench.EncoderStep", Err: err})
			}
			if err := opt.Step(); err != nil {
				panic(&tensor.OpError{Op: "bench.EncoderStep", Err: err})
			}
			if first == nil {
				first = loss.Value
			}
		})
	}
	inst.outputs = func() map[string]*tensor.Tensor { return map[string]*tensor.Tensor{"loss": first} }
	return inst, nil
}
