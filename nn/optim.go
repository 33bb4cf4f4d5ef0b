package nn

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
)

// Optimizer updates parameters from their gradients on the device that
// holds them. Parameters that are frozen (RequiresGrad false) or have no
// gradient are skipped, as in PyTorch.
type Optimizer interface {
	// Step applies one update to every parameter with a gradient.
	Step() error
	// ZeroGrad drops the gradients of the optimizer's parameters.
	ZeroGrad()
	// State lists the per-parameter state that exists so far, named
	// "<param>.<key>" (e.g. "layer1.0.conv1.weight.exp_avg"). Checkpoints
	// store it under "optimizer.state.".
	State() []NamedBuffer
	// SetState replaces the state with entries keyed like State's names.
	// It validates everything before changing anything; parameters without
	// entries start fresh.
	SetState(entries map[string]HostTensor) error
	// Hyperparams describes the configuration (saved as checkpoint metadata).
	Hyperparams() map[string]string
}

// AdamConfig holds Adam's hyper-parameters. Weight decay is PyTorch Adam's
// L2 term added to the gradient (not AdamW).
type AdamConfig struct {
	LR          float32 // learning rate
	Beta1       float32 // decay of the first-moment average
	Beta2       float32 // decay of the second-moment average
	Eps         float32 // added to the root of the second moment
	WeightDecay float32 // L2 coefficient added to the gradient
}

// DefaultAdamConfig returns PyTorch's defaults: lr 1e-3, betas (0.9, 0.999),
// eps 1e-8, no weight decay.
func DefaultAdamConfig() AdamConfig {
	return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

type adamState struct {
	step int64
	m, v *tensor.Tensor
}

// Adam is the Adam optimizer, updating with the fused tensor.AdamUpdate.
// Per-parameter state: "exp_avg", "exp_avg_sq" and "step" (PyTorch's names).
type Adam struct {
	// Config may be changed between steps (e.g. a learning-rate schedule).
	Config AdamConfig
	params []NamedParam
	state  []*adamState
}

// NewAdam returns an Adam optimizer over params (typically m.Params()).
func NewAdam(params []NamedParam, cfg AdamConfig) (*Adam, error) {
	switch {
	case cfg.LR < 0:
		return nil, fmt.Errorf("nn: Adam learning rate must be >= 0, got %v", cfg.LR)
	case cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1:
		return nil, fmt.Errorf("nn: Adam betas must lie in [0, 1), got (%v, %v)", cfg.Beta1, cfg.Beta2)
	case cfg.Eps <= 0:
		return nil, fmt.Errorf("nn: Adam eps must be > 0, got %v", cfg.Eps)
	case cfg.WeightDecay < 0:
		return nil, fmt.Errorf("nn: Adam weight decay must be >= 0, got %v", cfg.WeightDecay)
	}
	if err := checkParamNames(params); err != nil {
		return nil, err
	}
	return &Adam{Config: cfg, params: params, state: make([]*adamState, len(params))}, nil
}

// Step applies one Adam update to every trainable parameter with a gradient.
func (a *Adam) Step() error {
	return tensor.Try(func() {
		for i, p := range a.params {
			g := gradOf(p.Var)
			if g == nil {
				continue
			}
			st := a.state[i]
			if st == nil {
				st = &adamState{m: zerosLike(p.Var.Value), v: zerosLike(p.Var.Value)}
				a.state[i] = st
			}
			st.step++
			tensor.AdamUpdate(p.Var.Value, g, st.m, st.v, tensor.AdamParams{
				LR: a.Config.LR, Beta1: a.Config.Beta1, Beta2: a.Config.Beta2, Eps: a.Config.Eps,
				WeightDecay: a.Config.WeightDecay, Step: int(st.step),
			})
		}
	})
}

// ZeroGrad drops the parameters' gradients.
func (a *Adam) ZeroGrad() { zeroGrads(a.params) }

// State returns exp_avg, exp_avg_sq and step for each parameter updated so far.
func (a *Adam) State() []NamedBuffer {
	var out []NamedBuffer
	for i, st := range a.state {
		if st == nil {
			continue
		}
		n := a.params[i].Name
		out = append(out,
			NamedBuffer{Name: n + ".exp_avg", Tensor: st.m},
			NamedBuffer{Name: n + ".exp_avg_sq", Tensor: st.v},
			NamedBuffer{Name: n + ".step", Counter: &st.step})
	}
	return out
}

// SetState replaces the state (see Optimizer).
func (a *Adam) SetState(entries map[string]HostTensor) error {
	groups, err := groupState(a.params, entries, []string{"exp_avg", "exp_avg_sq", "step"})
	if err != nil {
		return err
	}
	next := make([]*adamState, len(a.params))
	err = tensor.Try(func() {
		for i, g := range groups {
			if g == nil {
				continue
			}
			st := &adamState{m: zerosLike(a.params[i].Var.Value), v: zerosLike(a.params[i].Var.Value)}
			tensor.Write(st.m, g["exp_avg"].Floats)
			tensor.Write(st.v, g["exp_avg_sq"].Floats)
			st.step = g["step"].Ints[0]
			next[i] = st
		}
	})
	if err != nil {
		return fmt.Errorf("nn: Adam state: %w", err)
	}
	a.state = next
	return nil
}

// Hyperparams returns the configuration as strings.
func (a *Adam) Hyperparams() map[string]string {
	return map[string]string{
		"type": "Adam", "lr": fmtF(a.Config.LR), "beta1": fmtF(a.Config.Beta1), "beta2": fmtF(a.Config.Beta2),
		"eps": fmtF(a.Config.Eps), "weight_decay": fmtF(a.Config.WeightDecay),
	}
}

// SGDConfig holds the hyper-parameters of SGD with momentum (PyTorch
// semantics, no dampening: buf = momentum*buf + g + wd*p; p -= lr*buf, or
// the Nesterov form).
type SGDConfig struct {
	LR          float32 // learning rate
	Momentum    float32 // momentum factor (0: plain SGD)
	WeightDecay float32 // L2 coefficient added to the gradient
	Nesterov    bool    // use Nesterov momentum
}

// SGD is stochastic gradient descent with momentum, updating with the fused
// tensor.SGDUpdate. Per-parameter state: "momentum_buffer".
type SGD struct {
	// Config may be changed between steps.
	Config SGDConfig
	params []NamedParam
	bufs   []*tensor.Tensor
}

// NewSGD returns an SGD optimizer over params.
func NewSGD(params []NamedParam, cfg SGDConfig) (*SGD, error) {
	switch {
	case cfg.LR < 0:
		return nil, fmt.Errorf("nn: SGD learning rate must be >= 0, got %v", cfg.LR)
	case cfg.Momentum < 0:
		return nil, fmt.Errorf("nn: SGD momentum must be >= 0, got %v", cfg.Momentum)
	case cfg.WeightDecay < 0:
		return nil, fmt.Errorf("nn: SGD weight decay must be >= 0, got %v", cfg.WeightDecay)
	case cfg.Nesterov && cfg.Momentum == 0:
		return nil, fmt.Errorf("nn: SGD Nesterov momentum needs momentum > 0")
	}
	if err := checkParamNames(params); err != nil {
		return nil, err
	}
	return &SGD{Config: cfg, params: params, bufs: make([]*tensor.Tensor, len(params))}, nil
}

// Step applies one SGD update to every trainable parameter with a gradient.
func (s *SGD) Step() error {
	return tensor.Try(func() {
		for i, p := range s.params {
			g := gradOf(p.Var)
			if g == nil {
				continue
			}
			if s.bufs[i] == nil {
				s.bufs[i] = zerosLike(p.Var.Value)
			}
			tensor.SGDUpdate(p.Var.Value, g, s.bufs[i], tensor.SGDParams{
				LR: s.Config.LR, Momentum: s.Config.Momentum, WeightDecay: s.Config.WeightDecay, Nesterov: s.Config.Nesterov,
			})
		}
	})
}

// ZeroGrad drops the parameters' gradients.
func (s *SGD) ZeroGrad() { zeroGrads(s.params) }

// State returns the momentum buffer of each parameter updated so far.
func (s *SGD) State() []NamedBuffer {
	var out []NamedBuffer
	for i, b := range s.bufs {
		if b != nil {
			out = append(out, NamedBuffer{Name: s.params[i].Name + ".momentum_buffer", Tensor: b})
		}
	}
	return out
}

// SetState replaces the momentum buffers (see Optimizer).
func (s *SGD) SetState(entries map[string]HostTensor) error {
	groups, err := groupState(s.params, entries, []string{"momentum_buffer"})
	if err != nil {
		return err
	}
	next := make([]*tensor.Tensor, len(s.params))
	err = tensor.Try(func() {
		for i, g := range groups {
			if g != nil {
				next[i] = zerosLike(s.params[i].Var.Value)
				tensor.Write(next[i], g["momentum_buffer"].Floats)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("nn: SGD state: %w", err)
	}
	s.bufs = next
	return nil
}

// Hyperparams returns the configuration as strings.
func (s *SGD) Hyperparams() map[string]string {
	return map[string]string{
		"type": "SGD", "lr": fmtF(s.Config.LR), "momentum": fmtF(s.Config.Momentum),
		"weight_decay": fmtF(s.Config.WeightDecay), "nesterov": strconv.FormatBool(s.Config.Nesterov),
	}
}

func fmtF(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// gradOf returns the dense gradient of a trainable parameter, or nil.
func gradOf(v *autograd.Var) *tensor.Tensor {
	if !v.RequiresGrad() || v.Grad == nil {
		return nil
	}
	return tensor.Contiguous(v.Grad)
}

// zerosLike returns optimizer state shaped like t, allocated in the
// backend's persistent pool.
func zerosLike(t *tensor.Tensor) *tensor.Tensor {
	var z *tensor.Tensor
	tensor.Persistent(t.Backend(), func() { z = tensor.Zeros(t.Backend(), t.Shape()...) })
	return z
}

func zeroGrads(ps []NamedParam) {
	for _, p := range ps {
		p.Var.ZeroGrad()
	}
}

func checkParamNames(ps []NamedParam) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Var == nil {
			return fmt.Errorf("nn: optimizer parameter %q is nil", p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("nn: optimizer parameter name %q repeated", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// groupState checks optimizer state entries ("<param>.<key>") against the
// parameters: every key must belong to a known parameter, a parameter with
// any key must have all of them, tensors must match the parameter's shape
// and counters must be integer scalars. It returns the entries per
// parameter index (nil where a parameter has no state).
func groupState(params []NamedParam, entries map[string]HostTensor, keys []string) ([]map[string]HostTensor, error) {
	index := map[string]int{}
	for i, p := range params {
		index[p.Name] = i
	}
	groups := make([]map[string]HostTensor, len(params))
	e := &StateDictError{}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cut := strings.LastIndexByte(n, '.')
		if cut < 0 {
			e.Unexpected = append(e.Unexpected, n)
			continue
		}
		pname, key := n[:cut], n[cut+1:]
		i, ok := index[pname]
		if !ok || !contains(keys, key) {
			e.Unexpected = append(e.Unexpected, n)
			continue
		}
		h := entries[n]
		var want NamedBuffer
		if key == "step" {
			var c int64
			want = NamedBuffer{Name: n, Counter: &c}
		} else {
			want = NamedBuffer{Name: n, Tensor: params[i].Var.Value}
		}
		if msg := mismatch(want, h); msg != "" {
			e.Mismatched = append(e.Mismatched, n+": "+msg)
			continue
		}
		if groups[i] == nil {
			groups[i] = map[string]HostTensor{}
		}
		groups[i][key] = toWanted(want, h)
	}
	for i, g := range groups {
		if g == nil {
			continue
		}
		for _, k := range keys {
			if _, ok := g[k]; !ok {
				e.Missing = append(e.Missing, params[i].Name+"."+k)
			}
		}
	}
	if e.any() {
		return nil, e
	}
	return groups, nil
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
