package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// LatentDim is the latent size of the traced encoders (the paper's MNIST
// setting, d = 60).
const LatentDim = 60

// ConvLayer is one convolution of an encoder as a training step runs it.
type ConvLayer struct {
	Layer  string // state-dict prefix, e.g. "block2.conv1"
	Params tensor.Conv2DParams
}

// MatMulCall is one matmul of a training step (the Linear head, forward
// and backward).
type MatMulCall struct {
	Layer          string // e.g. "Linear_down"
	Role           string // "forward", "backward-data" or "backward-weight"
	Batch, M, N, K int
	TransA, TransB bool
}

// Trace is what one training step (forward, backward of a scalar loss) of
// an encoder asks of the heavy ops.
type Trace struct {
	Encoder string
	Images  int
	Convs   []ConvLayer  // forward calls, in order
	MatMuls []MatMulCall // forward and backward calls, in order
	// BatchNorms are the batch-norm forward calls, in order.
	BatchNorms []tensor.BatchNormParams
	// Flops are the FLOPs of every matmul and convolution of the step
	// (forward, backward data and backward weight).
	Flops float64
	// Params is the encoder's parameter count.
	Params int
}

// recorder is a tensor.Backend that runs every op on an inner backend
// except matmul and the three convolutions, which it records and skips:
// tracing a step at batch 200 costs only the cheap ops.
type recorder struct {
	tensor.Backend
	names map[tensor.Buffer]string // weight buffer -> layer
	tr    *Trace
}

func (r *recorder) layer(v tensor.View) string {
	if n, ok := r.names[v.Buf]; ok {
		return n
	}
	return "?"
}

func (r *recorder) Conv2D(out, x, w, bias tensor.View, p tensor.Conv2DParams) error {
	r.tr.Convs = append(r.tr.Convs, ConvLayer{Layer: r.layer(w), Params: p})
	r.tr.Flops += Spec{Kind: KindConvForward, Conv: p}.Cost().Flops
	return nil
}

func (r *recorder) BatchNormForward(out, mean, invstd, x, gamma, beta, runMean, runVar tensor.View, p tensor.BatchNormParams) error {
	r.tr.BatchNorms = append(r.tr.BatchNorms, p)
	return r.Backend.BatchNormForward(out, mean, invstd, x, gamma, beta, runMean, runVar, p)
}

func (r *recorder) Conv2DBackwardData(dx, dy, w tensor.View, p tensor.Conv2DParams) error {
	r.tr.Flops += Spec{Kind: KindConvBackData, Conv: p}.Cost().Flops
	return nil
}

func (r *recorder) Conv2DBackwardWeight(dw, x, dy tensor.View, p tensor.Conv2DParams) error {
	r.tr.Flops += Spec{Kind: KindConvBackWeight, Conv: p}.Cost().Flops
	return nil
}

func (r *recorder) MatMul(out, a, bm tensor.View, batch, m, n, k int, transA, transB bool) error {
	// A Linear layer computes x @ w^T forward, dy @ w for the input
	// gradient and dy^T @ x for the weight gradient.
	layer, role := r.layer(bm), "backward-weight"
	switch {
	case layer != "?" && transB:
		role = "forward"
	case layer != "?":
		role = "backward-data"
	}
	r.tr.MatMuls = append(r.tr.MatMuls, MatMulCall{Layer: layer, Role: role, Batch: batch, M: m, N: n, K: k, TransA: transA, TransB: transB})
	r.tr.Flops += Spec{Kind: KindMatMul, Batch: batch, M: m, N: n, K: k}.Cost().Flops
	return nil
}

// NewEncoder builds one of the ICBPC encoders for 1x32x32 images with
// d = LatentDim: "released" (nn.NewReleasedEncoder) or "table3"
// (nn.NewTable3Encoder).
func NewEncoder(b tensor.Backend, rng *rand.Rand, name string) (*nn.Encoder, error) {
	cfg := nn.EncoderConfig{LatentDim: LatentDim}
	switch name {
	case "released":
		return nn.NewReleasedEncoder(b, rng, cfg)
	case "table3":
		return nn.NewTable3Encoder(b, rng, cfg)
	}
	return nil, fmt.Errorf("bench: unknown encoder %q (want released or table3)", name)
}

// TraceEncoder runs one training step (forward of images 1x32x32 images,
// backward of sum(z * R)) of the named encoder on the CPU backend with the
// heavy ops recorded instead of computed, and returns its convolution and
// matmul shapes with the layers they belong to.
func TraceEncoder(name string, images int) (*Trace, error) {
	cpu, err := tensor.Open("cpu")
	if err != nil {
		return nil, err
	}
	tr := &Trace{Encoder: name, Images: images}
	rec := &recorder{Backend: cpu, names: map[tensor.Buffer]string{}, tr: tr}
	rng := rand.New(rand.NewPCG(1, 2))
	e, err := NewEncoder(rec, rng, name)
	if err != nil {
		return nil, err
	}
	tr.Params = nn.CountParams(e)
	for _, p := range e.Params() {
		if layer, ok := strings.CutSuffix(p.Name, ".weight"); ok {
			rec.names[p.Var.Value.Buffer()] = layer
		}
	}
	err = tensor.Try(func() {
		x := autograd.Const(tensor.RandUniform(rec, rng, -1, 1, images, 1, 32, 32))
		r := autograd.Const(tensor.RandUniform(rec, rng, -1, 1, images, LatentDim))
		loss := autograd.Sum(autograd.Mul(e.Forward(x), r), false)
		if err := loss.Backward(); err != nil {
			panic(&tensor.OpError{Op: "bench.TraceEncoder", Err: err})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bench: tracing %s at batch %d: %w", name, images, err)
	}
	for i := range tr.MatMuls {
		if tr.MatMuls[i].Layer == "?" {
			tr.MatMuls[i].Layer = e.HeadName // the only matmul layer of these encoders
		}
	}
	return tr, nil
}
