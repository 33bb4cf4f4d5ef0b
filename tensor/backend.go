package tensor

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// ErrNotImplemented is returned by a backend for an op it does not support.
// Check Caps before calling when a fallback exists.
var ErrNotImplemented = errors.New("vkgrad: op not implemented by this backend")

// ErrUnavailable is returned (wrapped) by a backend factory when the backend
// cannot run on this machine, e.g. no Vulkan loader or no device.
var ErrUnavailable = errors.New("vkgrad: backend unavailable")

// Buffer is a flat allocation owned by a backend. Tensors are views into
// buffers. Release returns the memory to the backend; on device backends the
// memory is reused only after all recorded work that touches it has finished.
type Buffer interface {
	// Len is the number of elements.
	Len() int
	// DType is the element type.
	DType() DType
	// Release gives the memory back. Calling Release twice is a no-op.
	Release()
}

// HeapBuffer is implemented by buffers whose memory is ordinary Go memory
// that the garbage collector frees by itself (the CPU backend's slices).
// Tensors register no cleanup for them: a cleanup holds its buffer until
// it has run, one collection after the tensor became unreachable, which
// kept every step's activations alive for an extra cycle and let a training
// run's heap grow to several times its working set.
type HeapBuffer interface {
	Buffer
	// HeapManaged reports whether the garbage collector alone reclaims the
	// buffer, so that dropping it without Release loses nothing.
	HeapManaged() bool
}

// View describes how an op sees a buffer: an element offset, a shape and
// element strides (stride 0 broadcasts a dimension). Ops that need dense
// operands document it; the tensor layer makes operands contiguous first.
type View struct {
	Buf     Buffer
	Offset  int
	Shape   []int
	Strides []int
}

// Numel is the number of elements the view addresses.
func (v View) Numel() int { return Numel(v.Shape) }

// Contiguous reports whether the view is dense row-major.
func (v View) Contiguous() bool { return IsContiguous(v.Shape, v.Strides) }

// UnaryOp names an elementwise op of one input. Alpha and Beta parameters are
// documented per op.
type UnaryOp uint8

// Unary ops. out = f(x).
const (
	OpNeg       UnaryOp = iota // -x
	OpAbs                      // |x|
	OpExp                      // e^x
	OpLog                      // ln x
	OpSqrt                     // sqrt x
	OpRsqrt                    // 1/sqrt x
	OpSquare                   // x*x
	OpRelu                     // max(x, 0)
	OpSign                     // -1, 0 or 1
	OpPowScalar                // x^alpha
	OpClamp                    // min(max(x, alpha), beta)
	OpAffine                   // alpha*x + beta (scale, shift, fill when alpha=0)
	OpReluMask                 // 1 if x > 0 else 0 (ReLU derivative)
	OpRecip                    // 1/x
	numUnaryOps
)

var unaryNames = [...]string{"neg", "abs", "exp", "log", "sqrt", "rsqrt", "square", "relu", "sign", "pow", "clamp", "affine", "relumask", "recip"}

func (o UnaryOp) String() string {
	if int(o) < len(unaryNames) {
		return unaryNames[o]
	}
	return fmt.Sprintf("UnaryOp(%d)", uint8(o))
}

// BinaryOp names an elementwise op of two inputs. Comparisons yield 1 or 0.
type BinaryOp uint8

// Binary ops. out = f(a, b).
const (
	OpAdd BinaryOp = iota
	OpSub
	OpMul
	OpDiv
	OpPow     // a^b
	OpMaximum // max(a, b)
	OpMinimum // min(a, b)
	OpEq      // a == b
	OpNe      // a != b
	OpLt      // a < b
	OpLe      // a <= b
	OpGt      // a > b
	OpGe      // a >= b
	numBinaryOps
)

var binaryNames = [...]string{"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"}

func (o BinaryOp) String() string {
	if int(o) < len(binaryNames) {
		return binaryNames[o]
	}
	return fmt.Sprintf("BinaryOp(%d)", uint8(o))
}

// ReduceOp names a reduction along one axis.
type ReduceOp uint8

// Reductions. Accumulation is at least float32 with a tree or float64 sum.
const (
	ReduceSum ReduceOp = iota
	ReduceMean
	ReduceMax
	ReduceArgmax   // output is Int32: index of the first maximum
	ReduceVariance // population variance (divide by n)
	numReduceOps
)

var reduceNames = [...]string{"sum", "mean", "max", "argmax", "variance"}

func (o ReduceOp) String() string {
	if int(o) < len(reduceNames) {
		return reduceNames[o]
	}
	return fmt.Sprintf("ReduceOp(%d)", uint8(o))
}

// Conv2DParams are the attributes of a 2-D convolution (NCHW, weights
// [Cout, Cin, KH, KW]). Groups and dilation are fixed at 1.
type Conv2DParams struct {
	N, Cin, H, W     int // input
	Cout, KH, KW     int // weights
	StrideH, StrideW int
	PadH, PadW       int
	OH, OW           int // output, filled by the tensor layer
}

// Pool2DParams are the attributes of max/average pooling (NCHW). Average
// pooling counts padded elements (PyTorch count_include_pad=true).
type Pool2DParams struct {
	N, C, H, W       int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	OH, OW           int
}

// BatchNormParams are the attributes of 2-D batch normalisation over a
// dense [N, C, HW] input.
type BatchNormParams struct {
	N, C, HW int
	Eps      float32
	Momentum float32 // running = (1-m)*running + m*batch; variance unbiased
	Training bool
}

// AdamParams are the hyper-parameters of one fused Adam step. Step is the
// 1-based step count used for bias correction.
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Step                               int
}

// SGDParams are the hyper-parameters of one fused SGD-with-momentum step
// (PyTorch semantics: buf = m*buf + g (+wd*p); p -= lr*buf).
type SGDParams struct {
	LR, Momentum, WeightDecay float32
	Nesterov                  bool
}

// Caps lists what a backend supports and the limits it runs under.
type Caps struct {
	// Device is a human-readable device description.
	Device string
	// Ops lists the op names supported (as used in ErrNotImplemented).
	Ops []string
	// MaxBufferElems is the largest single buffer in elements (0: no limit).
	MaxBufferElems int
	// SubgroupSize is the device subgroup size (0 when not applicable).
	SubgroupSize int
	// Async reports whether ops are recorded and run later (Sync flushes).
	Async bool
	// HostEmulated reports a device API implemented in software on the
	// host CPU, such as lavapipe (Mesa's CPU Vulkan driver). Best ranks such
	// a backend below the native CPU backend, which is faster on the same
	// cores; open it by name to use it anyway.
	HostEmulated bool
}

// Backend executes ops on one device. On an async backend ops are recorded
// and run at the next Sync or host read; errors surface there too. All views
// passed as out are dense row-major unless an op says otherwise; inputs may be
// strided where noted. Backends are safe for use by one goroutine at a time.
type Backend interface {
	Name() string
	Caps() Caps
	// Alloc returns a zero-filled buffer of n elements.
	Alloc(n int, dt DType) (Buffer, error)
	// Write copies src into buf starting at element offset off.
	Write(buf Buffer, off int, src []float32) error
	WriteInt32(buf Buffer, off int, src []int32) error
	// Read copies elements starting at off into dst (implies Sync).
	Read(buf Buffer, off int, dst []float32) error
	ReadInt32(buf Buffer, off int, dst []int32) error
	// Sync waits for all recorded work.
	Sync() error

	// Copy copies x into out elementwise; both may be strided (out must not
	// overlap itself). Shapes are equal. Works for both dtypes.
	Copy(out, x View) error
	// Unary: out dense, x strided (broadcast allowed), same shape.
	Unary(op UnaryOp, out, x View, alpha, beta float32) error
	// Binary: out dense, a and b strided with out's shape (broadcast by stride 0).
	Binary(op BinaryOp, out, a, b View) error
	// Where: out = cond != 0 ? a : b; all strided with out's shape.
	Where(out, cond, a, b View) error
	// Reduce reduces the middle axis of a dense x seen as [outer, n, inner]
	// into a dense out of [outer, inner]. Argmax writes Int32.
	Reduce(op ReduceOp, out, x View, outer, n, inner int) error
	// MatMul computes out[b] = op(a[b]) @ op(b[b]) for batch b, with a dense
	// [B, M, K] (or [B, K, M] when transA) and bm dense [B, K, N] (or [B, N, K]
	// when transB); out dense [B, M, N]. A batch of 1 on one side broadcasts.
	MatMul(out, a, bm View, batch, m, n, k int, transA, transB bool) error
	// Conv2D: out [N,Cout,OH,OW] = x [N,Cin,H,W] * w [Cout,Cin,KH,KW] + bias
	// (bias.Buf may be nil). All dense.
	Conv2D(out, x, w, bias View, p Conv2DParams) error
	// Conv2DBackwardData: dx [N,Cin,H,W] from dy and w (dx is overwritten).
	Conv2DBackwardData(dx, dy, w View, p Conv2DParams) error
	// Conv2DBackwardWeight: dw [Cout,Cin,KH,KW] from x and dy (overwritten).
	Conv2DBackwardWeight(dw, x, dy View, p Conv2DParams) error
	// MaxPool2D writes out and the Int32 flat (h*W+w) argmax per output.
	MaxPool2D(out, idx, x View, p Pool2DParams) error
	// MaxPool2DBackward scatters dy into dx (overwritten) using idx.
	MaxPool2DBackward(dx, dy, idx View, p Pool2DParams) error
	AvgPool2D(out, x View, p Pool2DParams) error
	AvgPool2DBackward(dx, dy View, p Pool2DParams) error
	// BatchNormForward normalises x [N,C,HW]. In training it uses batch
	// statistics, writes mean and invstd ([C]) and updates runMean/runVar in
	// place; in eval it uses runMean/runVar (mean/invstd still written).
	BatchNormForward(out, mean, invstd, x, gamma, beta, runMean, runVar View, p BatchNormParams) error
	// BatchNormBackward (training statistics) writes dx, dgamma, dbeta.
	BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd View, p BatchNormParams) error
	// IndexSelect: x dense seen as [outer, n, inner], idx Int32 [k] in [0,n);
	// out dense [outer, k, inner]. Out-of-range indices are an error.
	IndexSelect(out, x, idx View, outer, n, inner int) error
	// IndexAdd is the adjoint of IndexSelect: out[:, idx[j], :] += src[:, j, :]
	// (out dense [outer, n, inner], accumulated, not overwritten).
	IndexAdd(out, src, idx View, outer, n, inner int) error
	// L2Normalize: out = x / sqrt(sum(x^2 along last axis) + eps), x dense [rows, d].
	L2Normalize(out, x View, rows, d int, eps float32) error
	// AdamUpdate updates param, m and v in place from grad (all dense, same length).
	AdamUpdate(param, grad, m, v View, p AdamParams) error
	// SGDUpdate updates param and the momentum buffer in place.
	SGDUpdate(param, grad, mom View, p SGDParams) error
}

// Factory opens a backend. The config string is what follows the colon in a
// backend spec such as "vulkan:0" (device index or name), possibly empty.
type Factory func(config string) (Backend, error)

type registration struct {
	name     string
	priority int
	factory  Factory
}

var (
	regMu    sync.Mutex
	registry = map[string]registration{}
	opened   = map[string]Backend{}
)

// Register makes a backend available by name. Backends register themselves
// in init; higher priority wins in Best. Register panics on a duplicate name
// (a programming error).
func Register(name string, priority int, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("tensor: backend registered twice: " + name)
	}
	registry[name] = registration{name, priority, f}
}

// Backends lists registered backend names, best first.
func Backends() []string {
	regMu.Lock()
	defer regMu.Unlock()
	regs := make([]registration, 0, len(registry))
	for _, r := range registry {
		regs = append(regs, r)
	}
	sort.Slice(regs, func(i, j int) bool {
		if regs[i].priority != regs[j].priority {
			return regs[i].priority > regs[j].priority
		}
		return regs[i].name < regs[j].name
	})
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = r.name
	}
	return names
}

// Open returns the backend named by spec ("cpu", "vulkan", "vulkan:1",
// "vulkan:llvmpipe"). The same spec returns the same backend instance.
func Open(spec string) (Backend, error) {
	name, config, _ := strings.Cut(spec, ":")
	regMu.Lock()
	if b, ok := opened[spec]; ok {
		regMu.Unlock()
		return b, nil
	}
	r, ok := registry[name]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("tensor: unknown backend %q (registered: %s)", name, strings.Join(Backends(), ", "))
	}
	b, err := r.factory(config)
	if err != nil {
		return nil, fmt.Errorf("tensor: open backend %q: %w", spec, err)
	}
	regMu.Lock()
	if prev, ok := opened[spec]; ok {
		regMu.Unlock()
		return prev, nil
	}
	opened[spec] = b
	regMu.Unlock()
	return b, nil
}

// EnvBackend is the environment variable that selects a backend spec.
const EnvBackend = "VKGRAD_BACKEND"

// Best opens the backend named by VKGRAD_BACKEND if set, otherwise the
// registered backend with the highest priority that opens successfully,
// except that a backend whose device is emulated on the host CPU
// (Caps.HostEmulated, e.g. Vulkan on lavapipe) is taken only when no other
// backend opens. The notices slice says which backends were skipped and why
// (one line each).
func Best() (b Backend, notices []string, err error) {
	if spec := os.Getenv(EnvBackend); spec != "" {
		b, err := Open(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("%s=%s: %w", EnvBackend, spec, err)
		}
		return b, nil, nil
	}
	var emulated Backend
	for _, name := range Backends() {
		b, err := Open(name)
		if err != nil {
			notices = append(notices, fmt.Sprintf("backend %s unavailable: %v", name, err))
			continue
		}
		if b.Caps().HostEmulated {
			if emulated == nil {
				emulated = b
				notices = append(notices, fmt.Sprintf("backend %s runs on the host CPU (%s), so a native backend is preferred; select %q by name to use it", name, b.Caps().Device, name))
			}
			continue
		}
		return b, notices, nil
	}
	if emulated != nil {
		return emulated, notices, nil
	}
	return nil, notices, errors.New("tensor: no backend could be opened")
}
