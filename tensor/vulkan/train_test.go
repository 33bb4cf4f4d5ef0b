//go:build cgo && linux && !android

package vulkan

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// convNet is a small conv net: conv3x3 -> batch-norm -> relu -> maxpool ->
// conv3x3 (stride 2, bias) -> relu -> global average pool -> linear, trained with
// Adam on softmax cross-entropy.
type convNet struct {
	b                      tensor.Backend
	w1, b1, g1, be1, w2, l *autograd.Var
	rm, rv                 *tensor.Tensor
	params                 []*autograd.Var
	m, v                   []*tensor.Tensor
	step                   int
}

func newConvNet(b tensor.Backend, seed uint64) *convNet {
	rng := rand.New(rand.NewPCG(seed, 7))
	randn := func(std float64, shape ...int) *tensor.Tensor {
		d := make([]float32, tensor.Numel(shape))
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
		return tensor.FromSlice(b, d, shape...)
	}
	n := &convNet{b: b}
	n.w1 = autograd.Param(randn(math.Sqrt(2.0/9), 6, 1, 3, 3))
	n.b1 = autograd.Param(randn(0.1, 8))
	n.g1 = autograd.Param(tensor.Ones(b, 6))
	n.be1 = autograd.Param(tensor.Zeros(b, 6))
	n.w2 = autograd.Param(randn(math.Sqrt(2.0/54), 8, 6, 3, 3))
	n.l = autograd.Param(randn(0.3, 4, 8))
	n.rm, n.rv = tensor.Zeros(b, 6), tensor.Ones(b, 6)
	n.params = []*autograd.Var{n.w1, n.b1, n.g1, n.be1, n.w2, n.l}
	for _, p := range n.params {
		n.m = append(n.m, tensor.Zeros(b, p.Shape()...))
		n.v = append(n.v, tensor.Zeros(b, p.Shape()...))
	}
	return n
}

func (n *convNet) loss(x, onehot *tensor.Tensor) *autograd.Var {
	h := autograd.Conv2D(autograd.Const(x), n.w1, nil, 1, 1)
	h = autograd.BatchNorm2D(h, n.g1, n.be1, n.rm, n.rv, true, 0.1, 1e-5)
	h = autograd.MaxPool2D(autograd.Relu(h), 2, 2, 0)
	h = autograd.Relu(autograd.Conv2D(h, n.w2, n.b1, 2, 1))
	logits := autograd.Linear(autograd.GlobalAvgPool(h), n.l, nil)
	shifted := autograd.Sub(logits, autograd.Const(tensor.Max(logits.Value, true, 1)))
	logp := autograd.Sub(shifted, autograd.Log(autograd.Sum(autograd.Exp(shifted), true, 1)))
	return autograd.Neg(autograd.Mean(autograd.Sum(autograd.Mul(logp, autograd.Const(onehot)), false, 1), false))
}

// trainStep runs forward, backward and the Adam update; it returns the loss
// tensor without reading it.
func (n *convNet) trainStep(t *testing.T, x, onehot *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	for _, p := range n.params {
		p.ZeroGrad()
	}
	l := n.loss(x, onehot)
	if err := l.Backward(); err != nil {
		t.Fatal(err)
	}
	n.step++
	for i, p := range n.params {
		tensor.AdamUpdate(p.Value, p.Grad, n.m[i], n.v[i], tensor.AdamParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: n.step})
	}
	return l.Value
}

func batch(b tensor.Backend, seed uint64, n int) (x, onehot *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 3))
	img := make([]float32, n*12*12)
	hot := make([]float32, n*4)
	for i := range img {
		img[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		c := i % 4
		hot[i*4+c] = 1
		for k := 0; k < 12; k++ { // a class-dependent stripe
			img[i*144+(3*c)*12+k] += 2
		}
	}
	return tensor.FromSlice(b, img, n, 1, 12, 12), tensor.FromSlice(b, hot, n, 4)
}

// TestTrainingStepOneSubmit checks the requirement: one training
// step of a small conv net (forward, backward, optimizer, loss read) is
// exactly one queue submission and one fence wait.
func TestTrainingStepOneSubmit(t *testing.T) {
	b := testBackend(t)
	net := newConvNet(b, 1)
	x, onehot := batch(b, 2, 16)
	first := net.trainStep(t, x, onehot).Item() // warms the pipelines
	var last float32
	for i := 0; i < 3; i++ {
		x, onehot := batch(b, uint64(10+i), 16)
		before := b.Stats()
		last = net.trainStep(t, x, onehot).Item()
		after := b.Stats()
		if d := after.Submits - before.Submits; d != 1 {
			t.Errorf("step %d: %d submits, want 1 (%+v -> %+v)", i, d, before, after)
		}
		if d := after.Waits - before.Waits; d != 1 {
			t.Errorf("step %d: %d fence waits, want 1", i, d)
		}
		t.Logf("step %d: loss %.4f, %d dispatches, %d barriers in one submit", i, last,
			after.Dispatches-before.Dispatches, after.Barriers-before.Barriers)
	}
	if !(last < first) || math.IsNaN(float64(last)) {
		t.Errorf("loss did not decrease: %v -> %v", first, last)
	}
}

// TestGradientParity runs forward and backward of the conv net on the CPU
// and on Vulkan from the same initial values and compares the loss, every
// gradient, the batch-norm running statistics and a few Adam steps.
func TestGradientParity(t *testing.T) {
	vb := testBackend(t)
	cb := cpuBackend(t)
	nets := []*convNet{newConvNet(cb, 5), newConvNet(vb, 5)}
	for step := 0; step < 3; step++ {
		var losses [2]float32
		grads := make([][][]float32, 2)
		for i, n := range nets {
			x, onehot := batch(n.b, uint64(20+step), 8)
			for _, p := range n.params {
				p.ZeroGrad()
			}
			l := n.loss(x, onehot)
			if err := l.Backward(); err != nil {
				t.Fatal(err)
			}
			losses[i] = l.Item()
			for _, p := range n.params {
				grads[i] = append(grads[i], p.Grad.Float32s())
			}
			n.step++
			for j, p := range n.params {
				tensor.AdamUpdate(p.Value, p.Grad, n.m[j], n.v[j], tensor.AdamParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: n.step})
			}
		}
		if d := math.Abs(float64(losses[0] - losses[1])); d > 1e-4*math.Abs(float64(losses[0]))+1e-6 {
			t.Errorf("step %d: loss cpu %v, vulkan %v", step, losses[0], losses[1])
		}
		for j := range grads[0] {
			if err := backendtest.Compare(grads[1][j], grads[0][j], 1e-7); err != nil {
				t.Errorf("step %d: gradient of parameter %d: %v", step, j, err)
			}
		}
	}
	for j := range nets[0].params {
		if err := backendtest.Compare(nets[1].params[j].Value.Float32s(), nets[0].params[j].Value.Float32s(), 1e-8); err != nil {
			t.Errorf("parameter %d after 3 Adam steps: %v", j, err)
		}
	}
	for _, pair := range [][2]*tensor.Tensor{{nets[1].rm, nets[0].rm}, {nets[1].rv, nets[0].rv}} {
		if err := backendtest.Compare(pair[0].Float32s(), pair[1].Float32s(), 1e-8); err != nil {
			t.Errorf("batch-norm running statistics: %v", err)
		}
	}
}
