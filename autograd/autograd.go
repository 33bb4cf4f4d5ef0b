// Package autograd is vkgrad's reverse-mode automatic differentiation. A Var
// wraps a tensor; ops on Vars record a node holding the parents and a backward
// rule written with tensor ops, so gradients run on whichever backend holds
// the data. Backward from a scalar walks the recorded graph in reverse
// topological order, sums gradients of Vars used more than once, accumulates
// into leaf Vars' Grad, and frees the graph.
//
// Ops are package-level functions, one per file group: elementwise.go
// (broadcasting arithmetic, unary maps, Maximum/Minimum, Where), reduce.go
// (Sum, Mean, Max, Variance), linalg.go (MatMul, MatMulT, Linear), shape.go
// (views, Concat/Stack/Split, Pad, IndexSelect) and nn.go (Conv2D, pooling,
// BatchNorm2D, L2Normalize). Each op computes its forward value with tensor
// ops and passes Record a backward closure, also written with tensor ops.
// Bad shapes panic with a *tensor.OpError naming the op and the shapes, as
// the tensor package does; tensor.Try turns that into an error. At
// non-differentiable points the ops use documented subgradients (Relu and
// Abs: 0 at 0; Clamp: 1 on the closed interval; Max, Maximum, Minimum:
// ties share the gradient evenly; MaxPool2D: the first maximum).
//
// CheckGrad (gradcheck.go) compares backward rules with finite differences
// and is meant for the tests of any package that defines ops or losses.
package autograd

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/vkgrad/vkgrad/tensor"
)

// ErrGraphFreed is returned by Backward through a graph that an earlier
// Backward already consumed.
var ErrGraphFreed = errors.New("autograd: backward through a graph that was already freed by an earlier Backward")

// BackwardFunc maps the gradient of an op's output to one gradient per
// parent, in parent order. An entry may be nil when that parent needs no
// gradient (the rule may skip computing it; see NeedsGrad).
type BackwardFunc func(g *tensor.Tensor) []*tensor.Tensor

type node struct {
	op       string
	parents  []*Var
	backward BackwardFunc
	freed    bool
}

// Var is a tensor in the autograd graph.
type Var struct {
	// Value is the data. Treat it as read-only once ops have used it.
	Value *tensor.Tensor
	// Grad is the accumulated gradient of a leaf Var that requires gradients
	// (nil until the first Backward reaches it).
	Grad *tensor.Tensor
	// Name is an optional label used in error messages and by nn.
	Name string

	requiresGrad bool
	node         *node
}

// NewVar wraps t as a leaf. requiresGrad marks a trainable input.
func NewVar(t *tensor.Tensor, requiresGrad bool) *Var {
	return &Var{Value: t, requiresGrad: requiresGrad}
}

// Param wraps t as a leaf that requires gradients.
func Param(t *tensor.Tensor) *Var { return NewVar(t, true) }

// Const wraps t as a leaf that needs no gradient.
func Const(t *tensor.Tensor) *Var { return NewVar(t, false) }

// RequiresGrad reports whether gradients flow to this Var.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad changes whether a leaf Var receives gradients (used to
// freeze parameters). It panics on a non-leaf Var.
func (v *Var) SetRequiresGrad(b bool) {
	if v.node != nil {
		panic("autograd: SetRequiresGrad on a non-leaf Var (op " + v.node.op + ")")
	}
	v.requiresGrad = b
}

// IsLeaf reports whether v was created directly rather than by an op.
func (v *Var) IsLeaf() bool { return v.node == nil }

// Detach returns a leaf Var sharing v's value with no gradient history.
func (v *Var) Detach() *Var { return Const(v.Value) }

// ZeroGrad drops the accumulated gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// Shape returns the value's shape.
func (v *Var) Shape() []int { return v.Value.Shape() }

// Item returns the value of a one-element Var.
func (v *Var) Item() float32 { return v.Value.Item() }

var noGradDepth atomic.Int32

// NoGrad runs f without recording: ops inside produce Vars that require no
// gradient. Nesting is allowed. The scope is process-wide; do not record on
// other goroutines while it runs.
func NoGrad(f func()) {
	noGradDepth.Add(1)
	defer noGradDepth.Add(-1)
	f()
}

// GradEnabled reports whether ops currently record.
func GradEnabled() bool { return noGradDepth.Load() == 0 }

// Record creates the output Var of an op. When no parent requires gradients
// (or inside NoGrad) nothing is recorded. Op implementations call it after
// computing the forward value; the backward rule sits beside the forward.
func Record(op string, out *tensor.Tensor, parents []*Var, backward BackwardFunc) *Var {
	v := &Var{Value: out}
	if !GradEnabled() {
		return v
	}
	for _, p := range parents {
		if p != nil && p.requiresGrad {
			v.requiresGrad = true
			break
		}
	}
	if v.requiresGrad {
		v.node = &node{op: op, parents: parents, backward: backward}
	}
	return v
}

// NeedsGrad reports whether parent i of an op needs a gradient, so backward
// rules can skip work (e.g. the input gradient of a first layer).
func NeedsGrad(parents []*Var, i int) bool {
	return parents[i] != nil && parents[i].requiresGrad
}

// Backward computes gradients of the scalar v with respect to every leaf
// that requires them, adding into their Grad (a dense tensor owned by the
// leaf). The graph is freed afterwards, also when Backward fails; on
// failure no Grad is changed. The error wraps the *tensor.OpError of a
// failing backward rule.
func (v *Var) Backward() error {
	if v.Value.Numel() != 1 {
		return fmt.Errorf("autograd: Backward from a non-scalar Var of shape %v; reduce it to one element first (e.g. Sum or Mean)", v.Value.Shape())
	}
	return v.BackwardWith(tensor.Ones(v.Value.Backend(), v.Value.Shape()...))
}

// BackwardWith is Backward with an explicit upstream gradient of v's shape.
func (v *Var) BackwardWith(g *tensor.Tensor) (err error) {
	if !v.requiresGrad {
		return errors.New("autograd: Backward from a Var that does not require gradients (no parameter in its graph, or built under NoGrad)")
	}
	if v.node != nil && v.node.freed {
		return ErrGraphFreed
	}
	if g == nil || !slices.Equal(g.Shape(), v.Value.Shape()) {
		var gs []int
		if g != nil {
			gs = g.Shape()
		}
		return fmt.Errorf("autograd: BackwardWith: upstream gradient of shape %v for a Var of shape %v", gs, v.Value.Shape())
	}
	order := topo(v)
	for _, n := range order {
		if n.node != nil && n.node.freed {
			return ErrGraphFreed
		}
	}
	// Leaf gradients are applied only once the whole pass succeeded, so a
	// failing backward rule leaves every Grad as it was.
	type leafGrad struct {
		leaf *Var
		g    *tensor.Tensor
	}
	var leaves []leafGrad
	err = tensor.Try(func() {
		grads := map[*Var]*tensor.Tensor{v: g}
		for i := len(order) - 1; i >= 0; i-- {
			n := order[i]
			gn := grads[n]
			delete(grads, n)
			if gn == nil {
				continue
			}
			if n.node == nil {
				if n.requiresGrad {
					if n.Grad == nil {
						// Own a dense copy: gradients may be views (of an
						// expanded or sliced tensor) or shared between
						// leaves, and optimizers want dense grads.
						gn = tensor.Clone(gn)
					} else {
						gn = tensor.Add(n.Grad, gn)
					}
					leaves = append(leaves, leafGrad{n, gn})
				}
				continue
			}
			pg := n.node.backward(gn)
			if len(pg) != len(n.node.parents) {
				panic(&tensor.OpError{Op: n.node.op, Msg: fmt.Sprintf("backward returned %d gradients for %d inputs", len(pg), len(n.node.parents))})
			}
			for j, p := range n.node.parents {
				if p == nil || !p.requiresGrad || pg[j] == nil {
					continue
				}
				if !slices.Equal(pg[j].Shape(), p.Value.Shape()) {
					panic(&tensor.OpError{Op: n.node.op, Shapes: [][]int{pg[j].Shape(), p.Value.Shape()}, Msg: fmt.Sprintf("backward produced a gradient of the wrong shape for input %d", j)})
				}
				if prev := grads[p]; prev != nil {
					grads[p] = tensor.Add(prev, pg[j])
				} else {
					grads[p] = pg[j]
				}
			}
		}
	})
	if err == nil {
		for _, l := range leaves {
			l.leaf.Grad = l.g
		}
	}
	for _, n := range order {
		if n.node != nil {
			n.node.freed = true
			n.node.backward = nil
			n.node.parents = nil
		}
	}
	return err
}

// topo returns the Vars reachable from v that require gradients, parents
// before children.
func topo(v *Var) []*Var {
	var order []*Var
	seen := map[*Var]bool{}
	type frame struct {
		v    *Var
		next int
	}
	stack := []frame{{v, 0}}
	seen[v] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		var parents []*Var
		if top.v.node != nil {
			parents = top.v.node.parents
		}
		if top.next < len(parents) {
			p := parents[top.next]
			top.next++
			if p != nil && p.requiresGrad && !seen[p] {
				seen[p] = true
				stack = append(stack, frame{p, 0})
			}
			continue
		}
		order = append(order, top.v)
		stack = stack[:len(stack)-1]
	}
	return order
}
