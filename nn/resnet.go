package nn

import (
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// Shortcut selects the projection used by a residual block when its input
// and output shapes differ.
type Shortcut int

const (
	// ShortcutConvBias is a 1x1 convolution with bias and no batch norm,
	// named "shortcut" (the ICBPC authors' encoder).
	ShortcutConvBias Shortcut = iota
	// ShortcutConvBN is a 1x1 convolution without bias followed by batch
	// norm, named "downsample.0" and "downsample.1" (torchvision's ResNet).
	ShortcutConvBN
)

// newShortcut returns the projection module and its state-dict name, or
// (nil, "") when the identity suffices.
func newShortcut(b tensor.Backend, rng *rand.Rand, kind Shortcut, in, out, stride int) (Module, string) {
	if in == out && stride == 1 {
		return nil, ""
	}
	if kind == ShortcutConvBias {
		return NewConv2d(b, rng, in, out, 1, stride, 0, true), "shortcut"
	}
	return NewSequential(NewConv2d(b, rng, in, out, 1, stride, 0, false), NewBatchNorm2d(b, out)), "downsample"
}

// BasicBlock is the two-convolution residual block of ResNet-18:
// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with 3x3 convolutions
// without bias (the first one strided). The shortcut is the identity unless
// the channel count or the stride changes.
type BasicBlock struct {
	layerPath
	Conv1    *Conv2d      // 3x3, strided, no bias
	BN1      *BatchNorm2d // after Conv1
	Conv2    *Conv2d      // 3x3, stride 1, no bias
	BN2      *BatchNorm2d // after Conv2
	Shortcut Module       // projection, nil for the identity

	shortcutName string
}

// NewBasicBlock returns a BasicBlock from in to out channels. Parameters
// are drawn from rng in the order PyTorch creates them (conv1, conv2,
// shortcut).
func NewBasicBlock(b tensor.Backend, rng *rand.Rand, in, out, stride int, kind Shortcut) *BasicBlock {
	blk := &BasicBlock{
		Conv1: NewConv2d(b, rng, in, out, 3, stride, 1, false),
		BN1:   NewBatchNorm2d(b, out),
		Conv2: NewConv2d(b, rng, out, out, 3, 1, 1, false),
		BN2:   NewBatchNorm2d(b, out),
	}
	blk.Shortcut, blk.shortcutName = newShortcut(b, rng, kind, in, out, stride)
	SetNames(blk, "")
	return blk
}

// Forward runs the block.
func (k *BasicBlock) Forward(x *autograd.Var) *autograd.Var {
	out := autograd.Relu(k.BN1.Forward(k.Conv1.Forward(x)))
	out = k.BN2.Forward(k.Conv2.Forward(out))
	sc := x
	if k.Shortcut != nil {
		sc = k.Shortcut.Forward(x)
	}
	return autograd.Relu(autograd.Add(out, sc))
}

// Children returns conv1, bn1, conv2, bn2 and the shortcut if any.
func (k *BasicBlock) Children() []NamedModule {
	ch := []NamedModule{{"conv1", k.Conv1}, {"bn1", k.BN1}, {"conv2", k.Conv2}, {"bn2", k.BN2}}
	if k.Shortcut != nil {
		ch = append(ch, NamedModule{k.shortcutName, k.Shortcut})
	}
	return ch
}

// Params returns the block's parameters under PyTorch names.
func (k *BasicBlock) Params() []NamedParam { return childParams(k.Children()) }

// Buffers returns the batch-norm statistics.
func (k *BasicBlock) Buffers() []NamedBuffer { return childBuffers(k.Children()) }

// SetTraining sets the mode of the batch norms.
func (k *BasicBlock) SetTraining(t bool) { childTraining(k.Children(), t) }

// Bottleneck is ResNet-50's residual block as torchvision builds it (v1.5:
// the stride sits on the 3x3 convolution): conv1 1x1 -> bn1 -> relu ->
// conv2 3x3 -> bn2 -> relu -> conv3 1x1 (4x expansion) -> bn3, plus the
// shortcut, then relu.
type Bottleneck struct {
	layerPath
	Conv1    *Conv2d      // 1x1 reduction to the inner width
	Conv2    *Conv2d      // 3x3, strided
	Conv3    *Conv2d      // 1x1 expansion to 4x the inner width
	BN1      *BatchNorm2d // after Conv1
	BN2      *BatchNorm2d // after Conv2
	BN3      *BatchNorm2d // after Conv3
	Shortcut Module       // projection, nil for the identity

	shortcutName string
}

// BottleneckExpansion is the ratio of a Bottleneck's output channels to its
// inner width.
const BottleneckExpansion = 4

// NewBottleneck returns a Bottleneck taking in channels to
// width*BottleneckExpansion channels.
func NewBottleneck(b tensor.Backend, rng *rand.Rand, in, width, stride int, kind Shortcut) *Bottleneck {
	out := width * BottleneckExpansion
	blk := &Bottleneck{
		Conv1: NewConv2d(b, rng, in, width, 1, 1, 0, false),
		BN1:   NewBatchNorm2d(b, width),
		Conv2: NewConv2d(b, rng, width, width, 3, stride, 1, false),
		BN2:   NewBatchNorm2d(b, width),
		Conv3: NewConv2d(b, rng, width, out, 1, 1, 0, false),
		BN3:   NewBatchNorm2d(b, out),
	}
	blk.Shortcut, blk.shortcutName = newShortcut(b, rng, kind, in, out, stride)
	SetNames(blk, "")
	return blk
}

// Forward runs the block.
func (k *Bottleneck) Forward(x *autograd.Var) *autograd.Var {
	out := autograd.Relu(k.BN1.Forward(k.Conv1.Forward(x)))
	out = autograd.Relu(k.BN2.Forward(k.Conv2.Forward(out)))
	out = k.BN3.Forward(k.Conv3.Forward(out))
	sc := x
	if k.Shortcut != nil {
		sc = k.Shortcut.Forward(x)
	}
	return autograd.Relu(autograd.Add(out, sc))
}

// Children returns conv1, bn1, conv2, bn2, conv3, bn3 and the shortcut if any.
func (k *Bottleneck) Children() []NamedModule {
	ch := []NamedModule{{"conv1", k.Conv1}, {"bn1", k.BN1}, {"conv2", k.Conv2}, {"bn2", k.BN2}, {"conv3", k.Conv3}, {"bn3", k.BN3}}
	if k.Shortcut != nil {
		ch = append(ch, NamedModule{k.shortcutName, k.Shortcut})
	}
	return ch
}

// Params returns the block's parameters under PyTorch names.
func (k *Bottleneck) Params() []NamedParam { return childParams(k.Children()) }

// Buffers returns the batch-norm statistics.
func (k *Bottleneck) Buffers() []NamedBuffer { return childBuffers(k.Children()) }

// SetTraining sets the mode of the batch norms.
func (k *Bottleneck) SetTraining(t bool) { childTraining(k.Children(), t) }
