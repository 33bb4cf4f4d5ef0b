package bench

import (
	"fmt"
	"strings"

	"github.com/vkgrad/vkgrad/tensor"
)

// Kind names the operation a Spec measures.
type Kind string

// The kinds of benchmark.
const (
	KindMatMul         Kind = "matmul"
	KindConvForward    Kind = "conv-fwd"
	KindConvBackData   Kind = "conv-bwd-data"
	KindConvBackWeight Kind = "conv-bwd-weight"
	KindReduce         Kind = "reduce"
	KindUnary          Kind = "unary"
	KindBinary         Kind = "binary"
	KindCopy           Kind = "copy"
	KindBatchNorm      Kind = "batchnorm"
	KindAdam           Kind = "adam"
	KindTrainStep      Kind = "trainstep"
	KindEncoderStep    Kind = "encoderstep"
)

// Bound says which ceiling an op is measured against.
type Bound string

// The two ceilings.
const (
	ComputeBound Bound = "compute" // % of the FMA probe
	MemoryBound  Bound = "memory"  // % of the copy probe
)

// Spec is one benchmark case: an op and its sizes. Only the fields of its
// Kind are set.
type Spec struct {
	Kind Kind
	// Name is the sub-benchmark name (unique within Group()).
	Name string
	// Source says where the shape comes from (layers, "square", ...).
	Source string
	// Full marks cases that run only with VKGRAD_BENCH_FULL=1.
	Full bool

	// MatMul: out[Batch, M, N] = op(a) @ op(b).
	Batch, M, N, K int
	TransA, TransB bool

	// Conv directions.
	Conv tensor.Conv2DParams

	// Reduce: x [Outer, Len, Inner] reduced over the middle axis.
	Reduce            tensor.ReduceOp
	Outer, Len, Inner int

	// Unary, Binary, Copy: Shape is the output shape; BShape the second
	// operand's (broadcast) shape for Binary; Copy reads a transposed view
	// of a [Shape[1], Shape[0]] matrix, or with Perm set the view
	// Permute(x, Perm...) of a dense x whose permuted shape is Shape.
	Unary  tensor.UnaryOp
	Binary tensor.BinaryOp
	Shape  []int
	BShape []int
	Perm   []int

	// BatchNorm: forward then backward over x [N, C, HW] in training mode.
	BN tensor.BatchNormParams

	// Adam: one fused update of Elems parameters.
	Elems int

	// TrainStep: one ICBPC training step of Encoder ("released", "table3")
	// at Images encoder images per step (originals plus augmented views).
	// EncoderStep: the encoder alone (forward, backward of sum(z*R), Adam),
	// the step PyTorch is compared on.
	Encoder string
	Images  int
	// StepFlops are the FLOPs of the step's matmuls and convolutions
	// (traced; set by the suite).
	StepFlops float64
}

// Group is the benchmark family of a spec (the top-level benchmark).
func (s Spec) Group() string {
	switch s.Kind {
	case KindConvForward, KindConvBackData, KindConvBackWeight:
		return "conv"
	case KindUnary, KindBinary, KindCopy:
		return "elementwise"
	case KindEncoderStep:
		return string(KindTrainStep)
	}
	return string(s.Kind)
}

// Cost is the work of one run of an op.
type Cost struct {
	Flops float64 // floating-point operations (an FMA counts 2)
	Bytes float64 // compulsory traffic: each operand read once, each output written once
	Bound Bound
}

// Cost is the one table of FLOPs and bytes per op. Matmul and convolution
// count 2 FLOPs per multiply-add of the direct algorithm; elementwise,
// reduction, batch-norm and optimizer ops count their compulsory memory
// traffic (float32 = 4 bytes) and are measured against the copy ceiling.
func (s Spec) Cost() Cost {
	const f = 4.0 // bytes per float32
	switch s.Kind {
	case KindMatMul:
		b, m, n, k := float64(s.Batch), float64(s.M), float64(s.N), float64(s.K)
		return Cost{Flops: 2 * b * m * n * k, Bytes: f * b * (m*k + k*n + m*n), Bound: ComputeBound}
	case KindConvForward, KindConvBackData, KindConvBackWeight:
		p := s.Conv
		x := float64(p.N * p.Cin * p.H * p.W)
		w := float64(p.Cout * p.Cin * p.KH * p.KW)
		y := float64(p.N * p.Cout * p.OH * p.OW)
		// Every direction does the same multiply-adds: one per (output
		// pixel, output channel, input channel, kernel tap).
		macs := y * float64(p.Cin*p.KH*p.KW)
		return Cost{Flops: 2 * macs, Bytes: f * (x + w + y), Bound: ComputeBound}
	case KindReduce:
		n := float64(s.Outer * s.Len * s.Inner)
		out := float64(s.Outer * s.Inner)
		flops := n
		if s.Reduce == tensor.ReduceVariance {
			flops = 3 * n
		}
		return Cost{Flops: flops, Bytes: f * (n + out), Bound: MemoryBound}
	case KindUnary:
		n := float64(tensor.Numel(s.Shape))
		return Cost{Flops: n, Bytes: f * 2 * n, Bound: MemoryBound}
	case KindBinary:
		n := float64(tensor.Numel(s.Shape))
		return Cost{Flops: n, Bytes: f * (2*n + float64(tensor.Numel(s.BShape))), Bound: MemoryBound}
	case KindCopy:
		n := float64(tensor.Numel(s.Shape))
		return Cost{Bytes: f * 2 * n, Bound: MemoryBound}
	case KindBatchNorm:
		n := float64(s.BN.N * s.BN.C * s.BN.HW)
		// Forward reads x, writes out; backward reads dy and x, writes dx
		// (per-channel vectors are negligible). About 10 FLOPs per element
		// for statistics, normalisation and the two backward sums.
		return Cost{Flops: 10 * n, Bytes: f * 5 * n, Bound: MemoryBound}
	case KindAdam:
		n := float64(s.Elems)
		// Reads param, grad, m, v; writes param, m, v. About 12 FLOPs per
		// element (moments, bias correction, sqrt, divide, update).
		return Cost{Flops: 12 * n, Bytes: f * 7 * n, Bound: MemoryBound}
	case KindTrainStep, KindEncoderStep:
		// The traced matmul and convolution FLOPs of the step.
		return Cost{Flops: s.StepFlops, Bound: ComputeBound}
	}
	return Cost{}
}

// matmulName is the name of a matmul case: b1-1024x1024x1024 (M x N x K),
// with -tA / -tB for transposed operands.
func matmulName(batch, m, n, k int, ta, tb bool) string {
	s := fmt.Sprintf("b%d-%dx%dx%d", batch, m, n, k)
	if ta {
		s += "-tA"
	}
	if tb {
		s += "-tB"
	}
	return s
}

// convName names a convolution shape: n100-c64x16x16-o64-k3s1p1.
func convName(p tensor.Conv2DParams) string {
	return fmt.Sprintf("n%d-c%dx%dx%d-o%d-k%ds%dp%d", p.N, p.Cin, p.H, p.W, p.Cout, p.KH, p.StrideH, p.PadH)
}

func shapeName(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "x")
}
