// Package nn holds vkgrad's neural-network layers, the encoders ICBPC uses,
// optimizers and safetensors checkpoints.
//
// A model is a tree of Modules. Every Module reports its trainable
// parameters and its non-trainable state (batch-norm running statistics)
// under the names PyTorch's state_dict would give them ("layer1.0.conv1.weight",
// "block2.bn1.running_mean"), so checkpoints can be exchanged with PyTorch by
// name. Layers compute with package autograd, so they run on whichever
// tensor.Backend holds their parameters.
//
// Layers panic with a *tensor.OpError on an input of the wrong shape, like
// every tensor op; the message names the layer (e.g. "encoder.block1.0:
// input has 3 channels, layer expects 1"). Use Apply, or tensor.Try, to get
// an error instead.
package nn

import (
	"fmt"
	"strings"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// Module is a layer or a network of layers.
type Module interface {
	// Forward computes the module's output for a batch x.
	Forward(x *autograd.Var) *autograd.Var
	// Params lists the trainable parameters in a fixed order under their
	// state-dict names, relative to this module.
	Params() []NamedParam
	// Buffers lists the named non-trainable state (batch-norm running_mean,
	// running_var and num_batches_tracked), relative to this module.
	Buffers() []NamedBuffer
	// SetTraining switches between training mode (batch statistics, running
	// statistics updated) and evaluation mode, recursively.
	SetTraining(training bool)
}

// NamedParam is a parameter with its state-dict name.
type NamedParam struct {
	Name string        // state-dict name, e.g. "block2.conv1.weight"
	Var  *autograd.Var // the leaf Var holding the value and its Grad
}

// NamedBuffer is a piece of non-trainable state with its state-dict name.
// Exactly one of Tensor and Counter is set: Tensor holds float32 state
// (running statistics, updated in place), Counter an integer saved as a
// scalar int64 tensor (num_batches_tracked, as PyTorch stores it).
type NamedBuffer struct {
	Name    string         // state-dict name, e.g. "block2.bn1.running_mean"
	Tensor  *tensor.Tensor // float32 state, or nil
	Counter *int64         // integer state, or nil
}

// Shape returns the state-dict shape of the buffer ([] for a counter).
func (b NamedBuffer) Shape() []int {
	if b.Tensor != nil {
		return b.Tensor.Shape()
	}
	return []int{}
}

// NamedModule is a child module with the attribute name its parent gives it.
type NamedModule struct {
	Name   string // attribute name, the state-dict prefix of its entries
	Module Module // the child
}

// Container is a Module made of child modules. Params, Buffers,
// SetTraining and layer naming recurse through Children.
type Container interface {
	Module
	// Children lists the direct sub-modules in order.
	Children() []NamedModule
}

// pather is implemented by modules that report their path in error messages.
type pather interface {
	setPath(p string)
}

// layerPath holds the dotted path of a layer, used in error messages.
type layerPath struct {
	path string
}

func (l *layerPath) setPath(p string) { l.path = p }

// where returns the path of a layer for messages (the layer kind when the
// layer was never named).
func (l *layerPath) where(kind string) string {
	if l.path == "" {
		return kind
	}
	return l.path
}

// SetNames records the dotted path of m and of every module below it, used in
// error messages ("encoder.block1.0: ..."). Constructors of containers call
// it for their own subtree; call it on the root of a hand-built model to
// give it a prefix.
func SetNames(m Module, prefix string) {
	if p, ok := m.(pather); ok {
		p.setPath(prefix)
	}
	if c, ok := m.(Container); ok {
		for _, ch := range c.Children() {
			SetNames(ch.Module, join(prefix, ch.Name))
		}
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if name == "" {
		return prefix
	}
	return prefix + "." + name
}

// childParams gathers the parameters of children under prefixed names.
func childParams(children []NamedModule) []NamedParam {
	var out []NamedParam
	for _, c := range children {
		for _, p := range c.Module.Params() {
			out = append(out, NamedParam{Name: join(c.Name, p.Name), Var: p.Var})
		}
	}
	return out
}

// childBuffers gathers the buffers of children under prefixed names.
func childBuffers(children []NamedModule) []NamedBuffer {
	var out []NamedBuffer
	for _, c := range children {
		for _, b := range c.Module.Buffers() {
			b.Name = join(c.Name, b.Name)
			out = append(out, b)
		}
	}
	return out
}

func childTraining(children []NamedModule, training bool) {
	for _, c := range children {
		c.Module.SetTraining(training)
	}
}

// matchPrefix reports whether name lies under prefix at a component
// boundary: "layer1" matches "layer1.0.conv1.weight" but not "layer10.x".
func matchPrefix(name, prefix string) bool {
	if prefix == "" {
		return true
	}
	if strings.HasSuffix(prefix, ".") {
		return strings.HasPrefix(name, prefix)
	}
	return name == prefix || strings.HasPrefix(name, prefix+".")
}

// Freeze stops gradients to every parameter of m whose name lies under one
// of the prefixes (component-wise: "layer1" matches "layer1.0.conv1.weight").
// Frozen parameters get no Grad and optimizers leave them unchanged. It
// returns the number of parameters frozen.
func Freeze(m Module, prefixes ...string) int {
	return setRequiresGrad(m, false, func(name string) bool { return anyPrefix(name, prefixes) })
}

// Unfreeze makes every parameter under one of the prefixes trainable again.
func Unfreeze(m Module, prefixes ...string) int {
	return setRequiresGrad(m, true, func(name string) bool { return anyPrefix(name, prefixes) })
}

// FreezeAllExcept freezes every parameter of m except those under one of
// the prefixes, which are made trainable. It returns the number frozen.
func FreezeAllExcept(m Module, trainable ...string) int {
	Unfreeze(m, trainable...)
	return setRequiresGrad(m, false, func(name string) bool { return !anyPrefix(name, trainable) })
}

func anyPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if matchPrefix(name, p) {
			return true
		}
	}
	return false
}

func setRequiresGrad(m Module, rg bool, match func(string) bool) int {
	n := 0
	for _, p := range m.Params() {
		if match(p.Name) {
			p.Var.SetRequiresGrad(rg)
			if !rg {
				p.Var.ZeroGrad()
			}
			n++
		}
	}
	return n
}

// CountParams returns the number of trainable (not frozen) parameter
// elements of m.
func CountParams(m Module) int {
	n := 0
	for _, p := range m.Params() {
		if p.Var.RequiresGrad() {
			n += p.Var.Value.Numel()
		}
	}
	return n
}

// ZeroGrad drops the accumulated gradients of every parameter of m.
func ZeroGrad(m Module) {
	for _, p := range m.Params() {
		p.Var.ZeroGrad()
	}
}

// Apply runs m.Forward(x) and converts a shape panic (*tensor.OpError,
// e.g. a wrong channel count for a layer) into an error.
func Apply(m Module, x *autograd.Var) (out *autograd.Var, err error) {
	err = tensor.Try(func() { out = m.Forward(x) })
	return out, err
}

// layerFail panics with an *tensor.OpError naming the layer.
func layerFail(op, where string, shapes [][]int, format string, args ...any) {
	panic(&tensor.OpError{Op: op, Shapes: shapes, Msg: where + ": " + fmt.Sprintf(format, args...)})
}

// checkInput4D verifies that x is [N, C, H, W] with the expected channel
// count (want <= 0 skips the channel check).
func checkInput4D(op, where string, x *autograd.Var, want int) []int {
	s := x.Shape()
	if len(s) != 4 {
		layerFail(op, where, [][]int{s}, "input has rank %d, layer expects [N, C, H, W]", len(s))
	}
	if want > 0 && s[1] != want {
		layerFail(op, where, [][]int{s}, "input has %d channels, layer expects %d", s[1], want)
	}
	return s
}
