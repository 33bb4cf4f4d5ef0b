package bench

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/vkgrad/vkgrad/tensor"
)

// Environment variables read by the suite.
const (
	EnvFull     = "VKGRAD_BENCH_FULL"
	EnvBackends = "VKGRAD_BENCH_BACKENDS"
)

// FullFromEnv reports whether VKGRAD_BENCH_FULL asks for the biggest shapes.
func FullFromEnv() bool {
	v := os.Getenv(EnvFull)
	return v != "" && v != "0" && v != "false"
}

// Encoders are the ICBPC encoders whose shapes the suite measures.
var Encoders = []string{"released", "table3"}

// Batches: the paper's batch of 100 images, and 200 (100 images and their
// augmented views, what the encoder sees in one ICBPC step).
const (
	BatchSmall = 100
	BatchStep  = 200
)

// TargetConv is the convolution of the issue-7 targets: 3x3, batch 100,
// 64 -> 64 channels, 16x16 (the Table 3 encoder's layer1.0.conv2).
var TargetConv = tensor.Conv2DParams{N: 100, Cin: 64, H: 16, W: 16, Cout: 64, KH: 3, KW: 3,
	StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OH: 16, OW: 16}

var traces struct {
	mu sync.Mutex
	m  map[string]*Trace
}

// CachedTrace is TraceEncoder, computed once per process.
func CachedTrace(name string, images int) (*Trace, error) {
	key := fmt.Sprint(name, "/", images)
	traces.mu.Lock()
	defer traces.mu.Unlock()
	if t, ok := traces.m[key]; ok {
		return t, nil
	}
	t, err := TraceEncoder(name, images)
	if err != nil {
		return nil, err
	}
	if traces.m == nil {
		traces.m = map[string]*Trace{}
	}
	traces.m[key] = t
	return t, nil
}

// Suite returns every case, in the order the benchmarks run them; cases
// with Full set belong to the full mode only (see FullFromEnv). Encoder
// shapes are traced from nn's encoders, not typed in.
func Suite() ([]Spec, error) {
	var specs []Spec
	add := func(s Spec) { specs = append(specs, s) }

	// Matmul: square sizes.
	for _, n := range []int{256, 512, 1024, 2048} {
		add(Spec{Kind: KindMatMul, Name: matmulName(1, n, n, n, false, false), Source: "square",
			Batch: 1, M: n, N: n, K: n, Full: n > 1024})
	}
	// Matmul: the Linear heads of a training step (batch 200), forward and
	// backward, as autograd calls them.
	seen := map[string]bool{}
	for _, enc := range Encoders {
		tr, err := CachedTrace(enc, BatchStep)
		if err != nil {
			return nil, err
		}
		for _, c := range tr.MatMuls {
			name := matmulName(c.Batch, c.M, c.N, c.K, c.TransA, c.TransB)
			if seen[name] {
				continue
			}
			seen[name] = true
			add(Spec{Kind: KindMatMul, Name: name, Source: fmt.Sprintf("%s.%s %s (batch %d)", enc, c.Layer, c.Role, BatchStep),
				Batch: c.Batch, M: c.M, N: c.N, K: c.K, TransA: c.TransA, TransB: c.TransB})
		}
	}
	// Matmul: the GEMM an im2col convolution would run for each encoder
	// convolution at batch 100 (rows Cout, columns N*OH*OW, K Cin*KH*KW),
	// and for the target convolution also the GEMMs of both backward
	// directions: the matmul rate of the same FLOP count. The Table 3
	// encoder's GEMMs (other than the target's) belong to the full mode.
	convs, err := encoderConvs(BatchSmall)
	if err != nil {
		return nil, err
	}
	for _, c := range convs {
		p := c.Params
		m, n, k := p.Cout, p.N*p.OH*p.OW, p.Cin*p.KH*p.KW
		name := matmulName(1, m, n, k, false, false)
		if !seen[name] {
			seen[name] = true
			add(Spec{Kind: KindMatMul, Name: name, Source: "im2col forward GEMM of " + c.Layer, Batch: 1, M: m, N: n, K: k,
				Full: !strings.HasPrefix(c.Layer, "released.") && p != TargetConv})
		}
		if p == TargetConv {
			add(Spec{Kind: KindMatMul, Name: matmulName(1, k, n, m, true, false), Source: "im2col backward-data GEMM of " + c.Layer,
				Batch: 1, M: k, N: n, K: m, TransA: true})
			add(Spec{Kind: KindMatMul, Name: matmulName(1, m, k, n, false, true), Source: "im2col backward-weight GEMM of " + c.Layer,
				Batch: 1, M: m, N: k, K: n, TransB: true})
		}
	}
	// Convolutions: every distinct shape of both encoders at batch 100 and
	// (full mode) 200, in all three directions.
	for _, batch := range []int{BatchSmall, BatchStep} {
		convs, err := encoderConvs(batch)
		if err != nil {
			return nil, err
		}
		for _, c := range convs {
			for _, k := range []Kind{KindConvForward, KindConvBackData, KindConvBackWeight} {
				add(Spec{Kind: k, Name: convName(c.Params) + "/" + strings.TrimPrefix(string(k), "conv-"), Source: c.Layer,
					Conv: c.Params, Full: batch != BatchSmall})
			}
		}
	}
	// Reductions over 16M elements (64 MiB): the last axis and a middle
	// axis.
	for _, op := range []tensor.ReduceOp{tensor.ReduceSum, tensor.ReduceMean, tensor.ReduceMax} {
		add(Spec{Kind: KindReduce, Name: op.String() + "/last-4096x4096", Source: "rows of a 4096x4096 matrix",
			Reduce: op, Outer: 4096, Len: 4096, Inner: 1})
		add(Spec{Kind: KindReduce, Name: op.String() + "/middle-64x1024x256", Source: "axis 1 of 64x1024x256",
			Reduce: op, Outer: 64, Len: 1024, Inner: 256})
	}
	// Elementwise over 16M elements.
	sq := []int{4096, 4096}
	add(Spec{Kind: KindUnary, Name: "relu/4096x4096", Unary: tensor.OpRelu, Shape: sq})
	add(Spec{Kind: KindUnary, Name: "exp/4096x4096", Unary: tensor.OpExp, Shape: sq})
	add(Spec{Kind: KindBinary, Name: "add/4096x4096", Binary: tensor.OpAdd, Shape: sq, BShape: sq})
	add(Spec{Kind: KindBinary, Name: "mul/256x64x32x32-by-1x64x1x1", Source: "per-channel scale (broadcast)",
		Binary: tensor.OpMul, Shape: []int{256, 64, 32, 32}, BShape: []int{1, 64, 1, 1}})
	// The same per-channel scale over the released encoder's 15x15 maps
	// (a last dimension that is not a multiple of 4), at batch 200.
	add(Spec{Kind: KindBinary, Name: "mul/200x32x15x15-by-1x32x1x1", Source: "per-channel scale (broadcast), released encoder block2 maps",
		Binary: tensor.OpMul, Shape: []int{200, 32, 15, 15}, BShape: []int{1, 32, 1, 1}})
	add(Spec{Kind: KindCopy, Name: "transpose/4096x4096", Source: "dense copy of a transposed view", Shape: sq})
	// The [N,C,H,W] <-> [C,N,H,W] copies a training step makes (the shape
	// reported from a traced released-encoder step: 15x15 maps, 32
	// channels, batch 100): permuted outer axes, contiguous rows of 225.
	add(Spec{Kind: KindCopy, Name: "permute/32x100x15x15", Source: "[C,N,H,W] -> [N,C,H,W] copy of a released-encoder training step",
		Shape: []int{32, 100, 15, 15}, Perm: []int{1, 0, 2, 3}})
	// Batch norm forward + backward at two encoder shapes (batch 100).
	add(Spec{Kind: KindBatchNorm, Name: "n100-c32-30x30", Source: "released.block1.1",
		BN: tensor.BatchNormParams{N: 100, C: 32, HW: 900, Eps: 1e-5, Momentum: 0.1, Training: true}})
	add(Spec{Kind: KindBatchNorm, Name: "n100-c64-16x16", Source: "table3.layer1.0.bn2",
		BN: tensor.BatchNormParams{N: 100, C: 64, HW: 256, Eps: 1e-5, Momentum: 0.1, Training: true}})
	// Batch norm at the encoders' shapes whose feature maps are not a
	// multiple of 4 (15x15 in the released encoder on 32x32 inputs), traced
	// at batch 100; maps of fewer than 4 values are left out (tiny).
	seenBN := map[tensor.BatchNormParams]bool{}
	for _, enc := range Encoders {
		tr, err := CachedTrace(enc, BatchSmall)
		if err != nil {
			return nil, err
		}
		for _, p := range tr.BatchNorms {
			if p.HW%4 == 0 || p.HW < 4 || seenBN[p] {
				continue
			}
			seenBN[p] = true
			side := int(math.Sqrt(float64(p.HW)))
			add(Spec{Kind: KindBatchNorm, Name: fmt.Sprintf("n%d-c%d-%dx%d", p.N, p.C, side, p.HW/side), Source: enc + " encoder (traced)", BN: p})
		}
	}
	// Adam over as many values as the released encoder has parameters.
	rel, err := CachedTrace("released", BatchStep)
	if err != nil {
		return nil, err
	}
	add(Spec{Kind: KindAdam, Name: fmt.Sprint(rel.Params), Source: "parameters of the released encoder, one flat tensor", Elems: rel.Params})
	// The ICBPC training step at 200 encoder images, and the encoder's
	// own step (what PyTorch is compared on). Only the released encoder's
	// ICBPC step runs by default.
	for _, enc := range Encoders {
		tr, err := CachedTrace(enc, BatchStep)
		if err != nil {
			return nil, err
		}
		add(Spec{Kind: KindTrainStep, Name: fmt.Sprintf("icbpc-%s/%d", enc, BatchStep), Encoder: enc, Images: BatchStep,
			StepFlops: tr.Flops, Source: "icbpc.Trainer.TrainStep: paper-mnist loss, 100 images + 1 augmented view",
			Full: enc != "released"})
	}
	for _, enc := range Encoders {
		tr, err := CachedTrace(enc, BatchStep)
		if err != nil {
			return nil, err
		}
		add(Spec{Kind: KindEncoderStep, Name: fmt.Sprintf("encoder-%s/%d", enc, BatchStep), Encoder: enc, Images: BatchStep,
			StepFlops: tr.Flops, Source: "forward, backward of sum(z*R), Adam (nn.BenchmarkTrainStep's step)", Full: true})
	}
	return specs, nil
}

// encoderConvs lists the distinct convolution shapes of the encoders at a
// batch, each with the layers that have it.
func encoderConvs(batch int) ([]ConvLayer, error) {
	var out []ConvLayer
	idx := map[tensor.Conv2DParams]int{}
	for _, enc := range Encoders {
		tr, err := CachedTrace(enc, batch)
		if err != nil {
			return nil, err
		}
		for _, c := range tr.Convs {
			layer := enc + "." + c.Layer
			if i, ok := idx[c.Params]; ok {
				out[i].Layer += ", " + layer
				continue
			}
			idx[c.Params] = len(out)
			out = append(out, ConvLayer{Layer: layer, Params: c.Params})
		}
	}
	return out, nil
}

// Select returns the specs of a group (all groups when group is ""),
// without the full-mode ones unless full is set.
func Select(specs []Spec, group string, full bool) []Spec {
	var out []Spec
	for _, s := range specs {
		if (group == "" || s.Group() == group) && (full || !s.Full) {
			out = append(out, s)
		}
	}
	return out
}

// Groups lists the benchmark groups in suite order.
func Groups(specs []Spec) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range specs {
		if g := s.Group(); !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// BackendSpecs are the backends to measure: VKGRAD_BENCH_BACKENDS, else
// every registered backend.
func BackendSpecs() []string {
	if v := os.Getenv(EnvBackends); v != "" {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	names := tensor.Backends()
	sort.SliceStable(names, func(i, j int) bool { return names[i] == "cpu" && names[j] != "cpu" })
	return names
}
