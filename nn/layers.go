package nn

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// kaimingUniformBound is PyTorch's default bound for conv and linear
// weights: kaiming_uniform_(a=sqrt(5)) gives gain*sqrt(3/fan_in) with
// gain = sqrt(2/(1+a^2)) = sqrt(1/3), i.e. 1/sqrt(fan_in). Biases use the
// same bound.
func kaimingUniformBound(fanIn int) float32 {
	return float32(1 / math.Sqrt(float64(fanIn)))
}

// uniformParam returns a parameter drawn uniformly from +-bound, allocated
// in the backend's persistent pool.
func uniformParam(b tensor.Backend, rng *rand.Rand, bound float32, shape ...int) *autograd.Var {
	var t *tensor.Tensor
	tensor.Persistent(b, func() { t = tensor.RandUniform(b, rng, -bound, bound, shape...) })
	return autograd.Param(t)
}

// Conv2d is a 2-D convolution over [N, Cin, H, W] with square kernels.
// Parameters: "weight" [Cout, Cin, K, K] and, when enabled, "bias" [Cout].
type Conv2d struct {
	layerPath
	Weight *autograd.Var // [Cout, Cin, K, K]
	Bias   *autograd.Var // [Cout], nil without bias

	InChannels  int // Cin, checked against the input
	OutChannels int // Cout
	Kernel      int // square kernel side
	Stride      int // stride along both axes
	Padding     int // zero padding on every side
}

// NewConv2d returns a convolution initialised as PyTorch does: weights and
// bias uniform in +-1/sqrt(Cin*K*K), drawn from rng (weights first).
func NewConv2d(b tensor.Backend, rng *rand.Rand, in, out, kernel, stride, padding int, bias bool) *Conv2d {
	bound := kaimingUniformBound(in * kernel * kernel)
	c := &Conv2d{
		Weight:     uniformParam(b, rng, bound, out, in, kernel, kernel),
		InChannels: in, OutChannels: out, Kernel: kernel, Stride: stride, Padding: padding,
	}
	if bias {
		c.Bias = uniformParam(b, rng, bound, out)
	}
	return c
}

// Forward convolves x.
func (c *Conv2d) Forward(x *autograd.Var) *autograd.Var {
	checkInput4D("Conv2d", c.where("Conv2d"), x, c.InChannels)
	return autograd.Conv2D(x, c.Weight, c.Bias, c.Stride, c.Padding)
}

// Params returns "weight" and, when present, "bias".
func (c *Conv2d) Params() []NamedParam {
	ps := []NamedParam{{"weight", c.Weight}}
	if c.Bias != nil {
		ps = append(ps, NamedParam{"bias", c.Bias})
	}
	return ps
}

// Buffers returns nothing: a convolution has no state.
func (c *Conv2d) Buffers() []NamedBuffer { return nil }

// SetTraining does nothing for a convolution.
func (c *Conv2d) SetTraining(bool) {}

// BatchNorm2d normalises each channel of [N, C, H, W]. Parameters "weight"
// (gamma) and "bias" (beta); buffers "running_mean", "running_var" and
// "num_batches_tracked", as in PyTorch. In training mode it uses batch
// statistics and updates the running statistics in place
// (running = (1-momentum)*running + momentum*batch, unbiased variance).
type BatchNorm2d struct {
	layerPath
	Weight, Bias            *autograd.Var  // gamma, beta [C]
	RunningMean, RunningVar *tensor.Tensor // [C], updated in place in training
	NumBatchesTracked       int64          // training batches seen (saved as int64, as PyTorch)

	Channels int     // C, checked against the input
	Eps      float32 // added to the variance (1e-5)
	Momentum float32 // running-statistics momentum (0.1)
	training bool
}

// NewBatchNorm2d returns batch normalisation with PyTorch's defaults: eps
// 1e-5, momentum 0.1, gamma 1, beta 0, running mean 0 and variance 1, in
// training mode. Parameters and running statistics live in the backend's
// persistent pool.
func NewBatchNorm2d(b tensor.Backend, channels int) *BatchNorm2d {
	n := &BatchNorm2d{Channels: channels, Eps: 1e-5, Momentum: 0.1, training: true}
	tensor.Persistent(b, func() {
		n.Weight = autograd.Param(tensor.Ones(b, channels))
		n.Bias = autograd.Param(tensor.Zeros(b, channels))
		n.RunningMean = tensor.Zeros(b, channels)
		n.RunningVar = tensor.Ones(b, channels)
	})
	return n
}

// Forward normalises x.
func (n *BatchNorm2d) Forward(x *autograd.Var) *autograd.Var {
	checkInput4D("BatchNorm2d", n.where("BatchNorm2d"), x, n.Channels)
	out := autograd.BatchNorm2D(x, n.Weight, n.Bias, n.RunningMean, n.RunningVar, n.training, n.Momentum, n.Eps)
	if n.training {
		n.NumBatchesTracked++
	}
	return out
}

// Params returns "weight" (gamma) and "bias" (beta).
func (n *BatchNorm2d) Params() []NamedParam {
	return []NamedParam{{"weight", n.Weight}, {"bias", n.Bias}}
}

// Buffers returns "running_mean", "running_var" and "num_batches_tracked".
func (n *BatchNorm2d) Buffers() []NamedBuffer {
	return []NamedBuffer{
		{Name: "running_mean", Tensor: n.RunningMean},
		{Name: "running_var", Tensor: n.RunningVar},
		{Name: "num_batches_tracked", Counter: &n.NumBatchesTracked},
	}
}

// SetTraining selects batch statistics (true) or running statistics.
func (n *BatchNorm2d) SetTraining(training bool) { n.training = training }

// Training reports the current mode.
func (n *BatchNorm2d) Training() bool { return n.training }

// Linear maps [N, in] to [N, out]: x @ weight^T + bias. Parameters "weight"
// [out, in] and, when enabled, "bias" [out].
type Linear struct {
	layerPath
	Weight *autograd.Var // [out, in]
	Bias   *autograd.Var // [out], nil without bias

	In  int // input features, checked against the input
	Out int // output features
}

// NewLinear returns a linear layer initialised as PyTorch does: weights
// and bias uniform in +-1/sqrt(in), drawn from rng (weights first).
func NewLinear(b tensor.Backend, rng *rand.Rand, in, out int, bias bool) *Linear {
	bound := kaimingUniformBound(in)
	l := &Linear{Weight: uniformParam(b, rng, bound, out, in), In: in, Out: out}
	if bias {
		l.Bias = uniformParam(b, rng, bound, out)
	}
	return l
}

// Forward applies the affine map.
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	s := x.Shape()
	if len(s) != 2 || s[1] != l.In {
		layerFail("Linear", l.where("Linear"), [][]int{s}, "input must be [N, %d] (flatten a %d-element feature map), got %v", l.In, l.In, s)
	}
	return autograd.Linear(x, l.Weight, l.Bias)
}

// Params returns "weight" and, when present, "bias".
func (l *Linear) Params() []NamedParam {
	ps := []NamedParam{{"weight", l.Weight}}
	if l.Bias != nil {
		ps = append(ps, NamedParam{"bias", l.Bias})
	}
	return ps
}

// Buffers returns nothing.
func (l *Linear) Buffers() []NamedBuffer { return nil }

// SetTraining does nothing for a linear layer.
func (l *Linear) SetTraining(bool) {}

// stateless provides the Module methods of a layer without parameters.
type stateless struct{ layerPath }

// Params returns nothing.
func (stateless) Params() []NamedParam { return nil }

// Buffers returns nothing.
func (stateless) Buffers() []NamedBuffer { return nil }

// SetTraining does nothing.
func (stateless) SetTraining(bool) {}

// ReLU is max(x, 0) elementwise.
type ReLU struct{ stateless }

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU { return &ReLU{} }

// Forward applies max(x, 0).
func (*ReLU) Forward(x *autograd.Var) *autograd.Var { return autograd.Relu(x) }

// MaxPool2d takes the maximum over Kernel x Kernel windows of [N, C, H, W].
type MaxPool2d struct {
	stateless
	Kernel  int // window side
	Stride  int // window step
	Padding int // implicit -inf padding, at most Kernel/2
}

// NewMaxPool2d returns max pooling (padding at most half the kernel).
func NewMaxPool2d(kernel, stride, padding int) *MaxPool2d {
	return &MaxPool2d{Kernel: kernel, Stride: stride, Padding: padding}
}

// Forward pools x.
func (p *MaxPool2d) Forward(x *autograd.Var) *autograd.Var {
	checkInput4D("MaxPool2d", p.where("MaxPool2d"), x, 0)
	return autograd.MaxPool2D(x, p.Kernel, p.Stride, p.Padding)
}

// AvgPool2d averages Kernel x Kernel windows of [N, C, H, W], counting
// padded zeros (PyTorch's count_include_pad=True).
type AvgPool2d struct {
	stateless
	Kernel  int // window side
	Stride  int // window step
	Padding int // zero padding, counted in the average
}

// NewAvgPool2d returns average pooling.
func NewAvgPool2d(kernel, stride, padding int) *AvgPool2d {
	return &AvgPool2d{Kernel: kernel, Stride: stride, Padding: padding}
}

// Forward pools x.
func (p *AvgPool2d) Forward(x *autograd.Var) *autograd.Var {
	checkInput4D("AvgPool2d", p.where("AvgPool2d"), x, 0)
	return autograd.AvgPool2D(x, p.Kernel, p.Stride, p.Padding)
}

// GlobalAvgPool averages each channel plane: [N, C, H, W] -> [N, C] (PyTorch's
// AdaptiveAvgPool2d(1) followed by flatten).
type GlobalAvgPool struct{ stateless }

// NewGlobalAvgPool returns a global average pool.
func NewGlobalAvgPool() *GlobalAvgPool { return &GlobalAvgPool{} }

// Forward pools x.
func (p *GlobalAvgPool) Forward(x *autograd.Var) *autograd.Var {
	checkInput4D("GlobalAvgPool", p.where("GlobalAvgPool"), x, 0)
	return autograd.GlobalAvgPool(x)
}

// Flatten reshapes [N, ...] to [N, rest] in row-major order (as torch.flatten(x, 1)).
type Flatten struct{ stateless }

// NewFlatten returns a flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Forward flattens x.
func (*Flatten) Forward(x *autograd.Var) *autograd.Var { return autograd.Flatten(x) }

// Sequential runs its layers in order. Children are named "0", "1", ... as
// in PyTorch's nn.Sequential.
type Sequential struct {
	layerPath
	Layers []Module // run in order; modify only before training starts
}

// NewSequential returns the layers chained in order.
func NewSequential(layers ...Module) *Sequential {
	s := &Sequential{Layers: layers}
	SetNames(s, "")
	return s
}

// Forward applies every layer in turn.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// Children returns the layers named by index.
func (s *Sequential) Children() []NamedModule {
	out := make([]NamedModule, len(s.Layers))
	for i, l := range s.Layers {
		out[i] = NamedModule{Name: strconv.Itoa(i), Module: l}
	}
	return out
}

// Params returns the layers' parameters prefixed by the layer index.
func (s *Sequential) Params() []NamedParam { return childParams(s.Children()) }

// Buffers returns the layers' buffers prefixed by the layer index.
func (s *Sequential) Buffers() []NamedBuffer { return childBuffers(s.Children()) }

// SetTraining sets the mode of every layer.
func (s *Sequential) SetTraining(training bool) { childTraining(s.Children(), training) }
