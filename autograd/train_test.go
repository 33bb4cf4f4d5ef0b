package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// orientationData generates n noisy 8x8 images, each holding a short bar of
// length 3 in one of four orientations (the class: horizontal, vertical,
// diagonal, anti-diagonal) at a random position. Global average pooling
// discards position, so the network must detect the orientation with its
// convolution. It returns images [n,1,8,8] and one-hot labels [n,4].
func orientationData(b tensor.Backend, rng *rand.Rand, n int) (x, onehot *tensor.Tensor, labels []int) {
	const s = 8
	steps := [4][2]int{{0, 1}, {1, 0}, {1, 1}, {1, -1}}
	img := make([]float32, n*s*s)
	hot := make([]float32, n*4)
	labels = make([]int, n)
	for i := 0; i < n; i++ {
		c := i % 4
		labels[i] = c
		hot[i*4+c] = 1
		p := img[i*s*s : (i+1)*s*s]
		for k := range p {
			p[k] = float32(rng.NormFloat64() * 0.1)
		}
		dr, dc := steps[c][0], steps[c][1]
		r0 := rng.IntN(s - 2*dr)
		c0 := 2 + rng.IntN(s-4) // room for dc = -1 or +1 over two steps
		for t := 0; t < 3; t++ {
			p[(r0+t*dr)*s+c0+t*dc] += 1
		}
	}
	return tensor.FromSlice(b, img, n, 1, s, s), tensor.FromSlice(b, hot, n, 4), labels
}

// crossEntropy returns the mean softmax cross-entropy of logits [N,K]
// against one-hot targets, built from autograd ops.
func crossEntropy(logits *Var, onehot *tensor.Tensor) *Var {
	shifted := Sub(logits, Const(tensor.Max(logits.Value, true, 1)))
	logp := Sub(shifted, Log(Sum(Exp(shifted), true, 1)))
	return Neg(Mean(Sum(Mul(logp, Const(onehot)), false, 1), false))
}

// TestTinyNetworkTrains is the end-to-end check of issue 2: conv ->
// batch-norm -> relu -> global average pool -> linear, trained with Adam on
// the CPU backend, must cut its loss by at least 10x.
func TestTinyNetworkTrains(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(42, 1))
	x, onehot, labels := orientationData(b, rng, 64)

	const ch, classes = 8, 4
	convW := Param(tensor.RandNormal(b, rng, 0, float32(math.Sqrt(2.0/9)), ch, 1, 3, 3))
	convB := Param(tensor.Zeros(b, ch))
	gamma, beta := Param(tensor.Ones(b, ch)), Param(tensor.Zeros(b, ch))
	runMean, runVar := tensor.Zeros(b, ch), tensor.Ones(b, ch)
	linW := Param(tensor.RandNormal(b, rng, 0, float32(math.Sqrt(1.0/ch)), classes, ch))
	linB := Param(tensor.Zeros(b, classes))
	params := []*Var{convW, convB, gamma, beta, linW, linB}
	moments := make([][2]*tensor.Tensor, len(params))
	for i, p := range params {
		moments[i] = [2]*tensor.Tensor{tensor.Zeros(b, p.Shape()...), tensor.Zeros(b, p.Shape()...)}
	}

	forward := func(training bool) *Var {
		h := Conv2D(Const(x), convW, convB, 1, 1)
		h = BatchNorm2D(h, gamma, beta, runMean, runVar, training, 0.1, 1e-5)
		return Linear(GlobalAvgPool(Relu(h)), linW, linB)
	}

	const steps = 150
	var first, last float32
	for step := 1; step <= steps; step++ {
		loss := crossEntropy(forward(true), onehot)
		l := loss.Item()
		if math.IsNaN(float64(l)) {
			t.Fatalf("step %d: loss is NaN", step)
		}
		if step == 1 {
			first = l
		}
		last = l
		if err := loss.Backward(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for i, p := range params {
			if p.Grad == nil {
				t.Fatalf("step %d: parameter %d got no gradient", step, i)
			}
			tensor.AdamUpdate(p.Value, p.Grad, moments[i][0], moments[i][1], tensor.AdamParams{
				LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: step})
			p.ZeroGrad()
		}
	}
	t.Logf("training loss %.4f -> %.4f (%.1fx) in %d Adam steps", first, last, first/last, steps)
	if first/last < 10 {
		t.Fatalf("loss fell from %.4f to %.4f, a factor %.2f; want at least 10", first, last, first/last)
	}

	// The trained network also classifies its training set in eval mode
	// (running statistics), which checks the running-stat updates.
	var pred *Var
	NoGrad(func() { pred = forward(false) })
	am := tensor.Argmax(pred.Value, 1, false).Int32s()
	correct := 0
	for i, c := range am {
		if int(c) == labels[i] {
			correct++
		}
	}
	if correct < len(labels)*9/10 {
		t.Fatalf("eval-mode accuracy %d/%d, want at least 90%%", correct, len(labels))
	}
}
