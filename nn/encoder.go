package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// L2Eps is the constant added under the square root of the latent's norm,
// as in the ICBPC authors' code: z = x / sqrt(sum x^2 + 1e-10).
const L2Eps = 1e-10

// EncoderConfig describes an encoder's input and output.
type EncoderConfig struct {
	// InChannels is the number of input channels (1 for grey images, 3 for
	// colour). Zero means 1 for the ICBPC encoders and 3 for the ResNets.
	InChannels int
	// InputSize is the side of the square input. Zero means 32 for the ICBPC
	// encoders (the authors pad MNIST to 32x32) and 224 for the ResNets.
	InputSize int
	// LatentDim is d, the size of the L2-normalised latent. Required.
	LatentDim int
	// Width multiplies every channel count (0 means 1; 0.5 is the
	// half-width variant). Counts are rounded and at least 1.
	Width float64
	// FlattenHead, for the Table 3 layout only, flattens the last feature
	// map into the linear head instead of global average pooling it.
	FlattenHead bool
}

func (c EncoderConfig) withDefaults(ch, size int) (EncoderConfig, error) {
	if c.InChannels == 0 {
		c.InChannels = ch
	}
	if c.InputSize == 0 {
		c.InputSize = size
	}
	if c.Width == 0 {
		c.Width = 1
	}
	switch {
	case c.LatentDim <= 0:
		return c, fmt.Errorf("%w: encoder latent dimension must be positive, got %d", ErrBadConfig, c.LatentDim)
	case c.InChannels < 0:
		return c, fmt.Errorf("%w: encoder input channels must be positive, got %d", ErrBadConfig, c.InChannels)
	case c.InputSize < 0:
		return c, fmt.Errorf("%w: encoder input size must be positive, got %d", ErrBadConfig, c.InputSize)
	case c.Width < 0 || math.IsNaN(c.Width) || math.IsInf(c.Width, 0):
		return c, fmt.Errorf("%w: encoder width multiplier must be positive, got %v", ErrBadConfig, c.Width)
	}
	return c, nil
}

// ch scales a channel count by the width multiplier.
func (c EncoderConfig) ch(n int) int {
	return max(1, int(math.Round(float64(n)*c.Width)))
}

// Encoder maps images [N, C, H, W] to L2-normalised latents [N, d]. It runs
// its stages in order (the last one is the linear head, Head) and then
// normalises each row: z = x / sqrt(sum x^2 + L2Eps). Stages are named as
// the corresponding PyTorch module's attributes, so parameter names match a
// PyTorch state dict.
type Encoder struct {
	layerPath
	// Kind names the architecture ("released", "table3", "resnet18", "resnet50").
	Kind string
	// Config is the configuration after defaults.
	Config EncoderConfig
	// Stages run in order; the last one is Head.
	Stages []NamedModule
	// Head is the final linear layer to LatentDim.
	Head *Linear
	// HeadName is the state-dict name of Head ("Linear_down" or "fc").
	HeadName string
	// InputShape is the expected [C, H, W] of one image.
	InputShape [3]int
}

func newEncoder(kind string, cfg EncoderConfig, stages []NamedModule, head *Linear, headName string) *Encoder {
	e := &Encoder{Kind: kind, Config: cfg, Stages: append(stages, NamedModule{headName, head}), Head: head, HeadName: headName,
		InputShape: [3]int{cfg.InChannels, cfg.InputSize, cfg.InputSize}}
	SetNames(e, "encoder")
	return e
}

// Forward returns the L2-normalised latent of x. It panics with a
// *tensor.OpError naming the first layer that rejects x's shape (e.g.
// "encoder.block1.0: input has 3 channels, layer expects 1"); see Encode.
func (e *Encoder) Forward(x *autograd.Var) *autograd.Var {
	for _, st := range e.Stages {
		x = st.Module.Forward(x)
	}
	return autograd.L2Normalize(x, L2Eps)
}

// Encode is Forward returning an error instead of panicking on a bad input
// shape.
func (e *Encoder) Encode(x *autograd.Var) (*autograd.Var, error) { return Apply(e, x) }

// Children returns the stages (head last).
func (e *Encoder) Children() []NamedModule { return e.Stages }

// Params returns every parameter under its PyTorch state-dict name.
func (e *Encoder) Params() []NamedParam { return childParams(e.Stages) }

// Buffers returns every batch-norm statistic under its PyTorch name.
func (e *Encoder) Buffers() []NamedBuffer { return childBuffers(e.Stages) }

// SetTraining sets the mode of every stage.
func (e *Encoder) SetTraining(t bool) { childTraining(e.Stages, t) }

// NewReleasedEncoder builds the encoder of the ICBPC authors' released code
// (icbpc-reference.md §3.1, `encoder_plus_add`): block1 = 3x3 convolution
// without padding but with bias, batch norm and ReLU (a Sequential, so its
// parameters are "block1.0.*" and "block1.1.*"); block2..block6 = stride-2
// BasicBlocks to 32, 64, 128, 256 and 512 channels whose shortcuts are 1x1
// convolutions with bias and no batch norm; then flatten and
// Linear_down(512*s*s, d). For 1x32x32 input the last map is 1x1 (d = 60:
// 4,929,820 parameters); for 1x128x128 (the COIL-20 variant) it is 4x4 and
// the head is Linear(8192, d).
//
// The names block1..block6 and Linear_down are the authors' attribute names;
// the names inside the blocks (conv1, bn1, conv2, bn2, shortcut) are vkgrad's
// choice, since only the layer structure of the released blocks is
// documented.
func NewReleasedEncoder(b tensor.Backend, rng *rand.Rand, cfg EncoderConfig) (*Encoder, error) {
	cfg, err := cfg.withDefaults(1, 32)
	if err != nil {
		return nil, err
	}
	s := cfg.InputSize - 2
	if s < 1 {
		return nil, fmt.Errorf("%w: released encoder needs inputs of at least 3x3, got %dx%d", ErrBadConfig, cfg.InputSize, cfg.InputSize)
	}
	c0 := cfg.ch(32)
	stages := []NamedModule{{"block1", NewSequential(NewConv2d(b, rng, cfg.InChannels, c0, 3, 1, 0, true), NewBatchNorm2d(b, c0), NewReLU())}}
	in := c0
	for i, w := range []int{32, 32, 64, 128, 256, 512}[1:] {
		out := cfg.ch(w)
		stages = append(stages, NamedModule{fmt.Sprintf("block%d", i+2), NewBasicBlock(b, rng, in, out, 2, ShortcutConvBias)})
		in = out
		s = tensor.ConvOutSize(s, 3, 2, 1)
	}
	stages = append(stages, NamedModule{"flatten", NewFlatten()})
	head := NewLinear(b, rng, in*s*s, cfg.LatentDim, true)
	return newEncoder("released", cfg, stages, head, "Linear_down"), nil
}

// NewTable3Encoder builds the layout of the paper's Table 3: conv1 3x3
// (32 channels, padding 1, no bias) -> bn1 -> relu -> maxpool 3x3 stride 2
// padding 1, then one BasicBlock per stage, layer1..layer4 with 64, 128, 256
// and 512 channels, then global average pooling (or flatten with
// cfg.FlattenHead) and fc to d. Choice where the paper is inconsistent: the
// table lists the max-pool output at the input size, which a stride-2 pool
// cannot give, and the stages at 16, 8, 4 and 2 pixels for a 32x32 input;
// vkgrad keeps the stride-2 pool and strides layer1 by 1 and layer2..4 by 2,
// which reproduces those stage sizes. Blocks use torchvision's shortcut
// (1x1 convolution without bias plus batch norm, "downsample.0/1") and
// torchvision-style names ("layer1.0.conv1.weight").
func NewTable3Encoder(b tensor.Backend, rng *rand.Rand, cfg EncoderConfig) (*Encoder, error) {
	cfg, err := cfg.withDefaults(1, 32)
	if err != nil {
		return nil, err
	}
	c0 := cfg.ch(32)
	s := tensor.ConvOutSize(cfg.InputSize, 3, 2, 1)
	if cfg.InputSize < 2 {
		return nil, fmt.Errorf("%w: Table 3 encoder needs inputs of at least 2x2, got %dx%d", ErrBadConfig, cfg.InputSize, cfg.InputSize)
	}
	stages := []NamedModule{
		{"conv1", NewConv2d(b, rng, cfg.InChannels, c0, 3, 1, 1, false)},
		{"bn1", NewBatchNorm2d(b, c0)},
		{"relu", NewReLU()},
		{"maxpool", NewMaxPool2d(3, 2, 1)},
	}
	in := c0
	for i, w := range []int{64, 128, 256, 512} {
		stride := 2
		if i == 0 {
			stride = 1
		}
		out := cfg.ch(w)
		stages = append(stages, NamedModule{fmt.Sprintf("layer%d", i+1), NewSequential(NewBasicBlock(b, rng, in, out, stride, ShortcutConvBN))})
		in = out
		s = tensor.ConvOutSize(s, 3, stride, 1)
	}
	feat := in
	if cfg.FlattenHead {
		stages = append(stages, NamedModule{"flatten", NewFlatten()})
		feat = in * s * s
	} else {
		stages = append(stages, NamedModule{"avgpool", NewGlobalAvgPool()})
	}
	head := NewLinear(b, rng, feat, cfg.LatentDim, true)
	return newEncoder("table3", cfg, stages, head, "fc"), nil
}

// resnet builds a torchvision ResNet trunk (conv1 7x7/2, bn1, relu,
// maxpool 3x3/2, layer1..layer4, avgpool) with a new fc head to d.
func resnet(b tensor.Backend, rng *rand.Rand, cfg EncoderConfig, kind string, blocks [4]int, bottleneck bool) (*Encoder, error) {
	cfg, err := cfg.withDefaults(3, 224)
	if err != nil {
		return nil, err
	}
	c0 := cfg.ch(64)
	stages := []NamedModule{
		{"conv1", NewConv2d(b, rng, cfg.InChannels, c0, 7, 2, 3, false)},
		{"bn1", NewBatchNorm2d(b, c0)},
		{"relu", NewReLU()},
		{"maxpool", NewMaxPool2d(3, 2, 1)},
	}
	in := c0
	for i, n := range blocks {
		width := cfg.ch(64 << i)
		var layer []Module
		for j := 0; j < n; j++ {
			stride := 1
			if i > 0 && j == 0 {
				stride = 2
			}
			if bottleneck {
				layer = append(layer, NewBottleneck(b, rng, in, width, stride, ShortcutConvBN))
				in = width * BottleneckExpansion
			} else {
				layer = append(layer, NewBasicBlock(b, rng, in, width, stride, ShortcutConvBN))
				in = width
			}
		}
		stages = append(stages, NamedModule{fmt.Sprintf("layer%d", i+1), NewSequential(layer...)})
	}
	stages = append(stages, NamedModule{"avgpool", NewGlobalAvgPool()})
	head := NewLinear(b, rng, in, cfg.LatentDim, true)
	return newEncoder(kind, cfg, stages, head, "fc"), nil
}

// NewResNet18Encoder builds torchvision's ResNet-18 (names as in its state
// dict: "conv1.weight", "layer3.1.bn2.running_var", ...) with fc replaced by
// a new Linear(512, d). Initialisation is PyTorch's layer default
// (torchvision re-initialises convolutions with Kaiming-normal; load
// pretrained weights with LoadBackbone for the paper's pretrained path).
func NewResNet18Encoder(b tensor.Backend, rng *rand.Rand, cfg EncoderConfig) (*Encoder, error) {
	return resnet(b, rng, cfg, "resnet18", [4]int{2, 2, 2, 2}, false)
}

// NewResNet50Encoder builds torchvision's ResNet-50 (Bottleneck blocks,
// stride on the 3x3 convolution) with fc replaced by a new Linear(2048, d).
// The Barlow Twins ImageNet checkpoint uses these names.
func NewResNet50Encoder(b tensor.Backend, rng *rand.Rand, cfg EncoderConfig) (*Encoder, error) {
	return resnet(b, rng, cfg, "resnet50", [4]int{3, 4, 6, 3}, true)
}

// PretrainedTrainable lists the parameter prefixes left trainable on the
// paper's pretrained path (§3.3): the last two stages and the new head.
var PretrainedTrainable = []string{"layer3", "layer4", "fc"}

// LoadBackbone loads pretrained trunk weights by name from a safetensors
// state dict (e.g. torchvision's or Barlow Twins' ResNet converted with
// safetensors.torch.save_file), ignoring the file's "fc.*" entries, and then
// freezes everything except PretrainedTrainable. Every trunk parameter and
// buffer must be present with the right shape; entries the encoder does not
// have are reported as an error.
func (e *Encoder) LoadBackbone(path string) error {
	if e.HeadName != "fc" || (e.Kind != "resnet18" && e.Kind != "resnet50") {
		return fmt.Errorf("nn: LoadBackbone is for the ResNet encoders, not %q", e.Kind)
	}
	if _, err := LoadStateDict(path, e, true, "fc."); err != nil {
		return err
	}
	FreezeAllExcept(e, PretrainedTrainable...)
	return nil
}

// ErrBadConfig is wrapped by encoder constructors for invalid configurations.
var ErrBadConfig = errors.New("nn: invalid encoder configuration")
