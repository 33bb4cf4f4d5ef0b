package nn_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

// Example builds the ICBPC authors' encoder, takes one Adam step and saves
// and restores a checkpoint.
func Example() {
	b, err := tensor.Open("cpu")
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	enc, err := nn.NewReleasedEncoder(b, rng, nn.EncoderConfig{LatentDim: 60})
	if err != nil {
		panic(err)
	}
	fmt.Println("trainable parameters:", nn.CountParams(enc))

	opt, err := nn.NewAdam(enc.Params(), nn.DefaultAdamConfig())
	if err != nil {
		panic(err)
	}
	x := autograd.Const(tensor.RandUniform(b, rng, -1, 1, 4, 1, 32, 32))
	z, err := enc.Encode(x)
	if err != nil {
		panic(err)
	}
	fmt.Println("latent:", z.Shape())
	loss := autograd.Mean(autograd.Square(autograd.Sub(z, z.Detach())), false) // any scalar
	if err := loss.Backward(); err != nil {
		panic(err)
	}
	if err := opt.Step(); err != nil {
		panic(err)
	}

	dir, err := os.MkdirTemp("", "vkgrad-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := nn.SaveCheckpoint(path, enc, opt, nn.Meta{Step: 1, Epoch: 0}); err != nil {
		panic(err)
	}
	meta, err := nn.LoadCheckpoint(path, enc, opt)
	if err != nil {
		panic(err)
	}
	fmt.Println("restored step:", meta.Step, "optimizer:", meta.Optimizer["type"])

	_, err = enc.Encode(autograd.Const(tensor.Zeros(b, 1, 3, 32, 32)))
	fmt.Println(err)
	// Output:
	// trainable parameters: 4929820
	// latent: [4 60]
	// restored step: 1 optimizer: Adam
	// tensor.Conv2d (shapes [1 3 32 32]): encoder.block1.0: input has 3 channels, layer expects 1
}

// ExampleFreeze freezes a ResNet-18 encoder's early stages as on the
// paper's pretrained path.
func ExampleFreeze() {
	b, err := tensor.Open("cpu")
	if err != nil {
		panic(err)
	}
	enc, err := nn.NewResNet18Encoder(b, rand.New(rand.NewPCG(1, 2)), nn.EncoderConfig{LatentDim: 60})
	if err != nil {
		panic(err)
	}
	fmt.Println("all:", nn.CountParams(enc))
	nn.FreezeAllExcept(enc, nn.PretrainedTrainable...)
	fmt.Println("layer3, layer4 and fc:", nn.CountParams(enc))
	nn.Freeze(enc, "layer3")
	fmt.Println("layer4 and fc:", nn.CountParams(enc))
	// Output:
	// all: 11207292
	// layer3, layer4 and fc: 10524220
	// layer4 and fc: 8424508
}
