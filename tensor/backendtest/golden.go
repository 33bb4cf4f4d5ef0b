package backendtest

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

//go:embed testdata/*.json
var goldenFS embed.FS

// GoldenTol is the NMSE bound against golden values, which are exact
// (float64) results rounded to float32.
const GoldenTol = 1e-9

type goldenTensor struct {
	Shape []int     `json:"shape"`
	F     []float32 `json:"f"`
	I     []int32   `json:"i"`
}

type goldenAttrs struct {
	Fn          string   `json:"fn"`
	Alpha       float32  `json:"alpha"`
	Beta        float32  `json:"beta"`
	Axes        []int    `json:"axes"`
	Keepdim     bool     `json:"keepdim"`
	Axis        int      `json:"axis"`
	TransA      bool     `json:"transA"`
	TransB      bool     `json:"transB"`
	Stride      int      `json:"stride"`
	Pad         int      `json:"pad"`
	K           int      `json:"k"`
	Shape       []int    `json:"shape"`
	Training    bool     `json:"training"`
	Momentum    float32  `json:"momentum"`
	Eps         float32  `json:"eps"`
	LR          float32  `json:"lr"`
	Beta1       float32  `json:"beta1"`
	Beta2       float32  `json:"beta2"`
	WeightDecay float32  `json:"weight_decay"`
	Step        int      `json:"step"`
	Nesterov    bool     `json:"nesterov"`
	Pads        [][2]int `json:"pads"`
	Value       float32  `json:"value"`
}

type goldenCase struct {
	Name  string                  `json:"name"`
	Op    string                  `json:"op"`
	Attrs goldenAttrs             `json:"attrs"`
	In    map[string]goldenTensor `json:"in"`
	Out   map[string]goldenTensor `json:"out"`
}

// loadGolden returns the cases of every embedded golden file.
func loadGolden() (map[string][]goldenCase, error) {
	files, err := goldenFS.ReadDir("testdata")
	if err != nil {
		return nil, err
	}
	all := map[string][]goldenCase{}
	for _, f := range files {
		if path.Ext(f.Name()) != ".json" {
			continue
		}
		data, err := goldenFS.ReadFile("testdata/" + f.Name())
		if err != nil {
			return nil, err
		}
		var doc struct {
			Cases []goldenCase `json:"cases"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("golden file %s: %w", f.Name(), err)
		}
		all[f.Name()] = doc.Cases
	}
	return all, nil
}

// RunGolden replays every golden case on b and compares the outputs with
// the NumPy/PyTorch values (NMSE ≤ GoldenTol, int32 outputs exactly).
func RunGolden(t *testing.T, b tensor.Backend) {
	t.Helper()
	all, err := loadGolden()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no golden files embedded")
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, file := range names {
		for _, gc := range all[file] {
			t.Run(file+"/"+gc.Op+"/"+gc.Name, func(t *testing.T) {
				if err := checkGolden(b, gc); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func checkGolden(b tensor.Backend, gc goldenCase) error {
	var outs map[string]*tensor.Tensor
	err := tensor.Try(func() {
		in := map[string]*tensor.Tensor{}
		for k, v := range gc.In {
			if v.I != nil {
				in[k] = tensor.FromInt32(b, v.I, v.Shape...)
			} else {
				in[k] = tensor.FromSlice(b, v.F, v.Shape...)
			}
		}
		outs = runGolden(b, gc, in)
	})
	if err != nil {
		return err
	}
	if outs == nil {
		return fmt.Errorf("unknown golden op %q", gc.Op)
	}
	for name, want := range gc.Out {
		got, ok := outs[name]
		if !ok {
			return fmt.Errorf("op %s produced no output %q", gc.Op, name)
		}
		if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape) {
			return fmt.Errorf("output %s: shape %v, want %v", name, got.Shape(), want.Shape)
		}
		if want.I != nil {
			if err := CompareInt32(got.Int32s(), want.I); err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			continue
		}
		if err := Compare(got.Float32s(), want.F, GoldenTol); err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
	}
	return nil
}

var goldenUnary = map[string]func(x *tensor.Tensor, a, b float32) *tensor.Tensor{
	"Neg":       func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Neg(x) },
	"Abs":       func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Abs(x) },
	"Exp":       func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Exp(x) },
	"Log":       func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Log(x) },
	"Sqrt":      func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Sqrt(x) },
	"Rsqrt":     func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Rsqrt(x) },
	"Square":    func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Square(x) },
	"Relu":      func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Relu(x) },
	"Sign":      func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Sign(x) },
	"ReluMask":  func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.ReluMask(x) },
	"Recip":     func(x *tensor.Tensor, _, _ float32) *tensor.Tensor { return tensor.Recip(x) },
	"PowScalar": func(x *tensor.Tensor, a, _ float32) *tensor.Tensor { return tensor.PowScalar(x, a) },
	"Clamp":     func(x *tensor.Tensor, a, b float32) *tensor.Tensor { return tensor.Clamp(x, a, b) },
	"Affine":    func(x *tensor.Tensor, a, b float32) *tensor.Tensor { return tensor.Affine(x, a, b) },
}

var goldenBinary = map[string]func(a, b *tensor.Tensor) *tensor.Tensor{
	"Add": tensor.Add, "Sub": tensor.Sub, "Mul": tensor.Mul, "Div": tensor.Div, "Pow": tensor.Pow,
	"Maximum": tensor.Maximum, "Minimum": tensor.Minimum, "Eq": tensor.Eq, "Ne": tensor.Ne,
	"Lt": tensor.Lt, "Le": tensor.Le, "Gt": tensor.Gt, "Ge": tensor.Ge,
}

var goldenReduce = map[string]reduceFn{"Sum": tensor.Sum, "Mean": tensor.Mean, "Max": tensor.Max, "Variance": tensor.Variance}

type outs = map[string]*tensor.Tensor

// runGolden evaluates one golden case through the tensor API; nil means the
// op is unknown.
func runGolden(b tensor.Backend, gc goldenCase, in map[string]*tensor.Tensor) outs {
	a := gc.Attrs
	switch gc.Op {
	case "unary":
		if f, ok := goldenUnary[a.Fn]; ok {
			return outs{"out": f(in["x"], a.Alpha, a.Beta)}
		}
	case "binary":
		if f, ok := goldenBinary[a.Fn]; ok {
			return outs{"out": f(in["a"], in["b"])}
		}
	case "where":
		return outs{"out": tensor.Where(in["cond"], in["a"], in["b"])}
	case "reduce":
		if f, ok := goldenReduce[a.Fn]; ok {
			return outs{"out": f(in["x"], a.Keepdim, a.Axes...)}
		}
	case "argmax":
		return outs{"out": tensor.Argmax(in["x"], a.Axis, false)}
	case "matmul":
		return outs{"out": tensor.MatMulT(in["a"], in["b"], a.TransA, a.TransB)}
	case "conv2d":
		return outs{"out": tensor.Conv2D(in["x"], in["w"], in["bias"], a.Stride, a.Pad)}
	case "conv2d_bwd_data":
		return outs{"dx": tensor.Conv2DBackwardData(in["dy"], in["w"], a.Shape, a.Stride, a.Pad)}
	case "conv2d_bwd_weight":
		return outs{"dw": tensor.Conv2DBackwardWeight(in["x"], in["dy"], a.Shape, a.Stride, a.Pad)}
	case "maxpool":
		out, idx := tensor.MaxPool2D(in["x"], a.K, a.Stride, a.Pad)
		return outs{"out": out, "idx": idx}
	case "maxpool_bwd":
		_, idx := tensor.MaxPool2D(in["x"], a.K, a.Stride, a.Pad)
		return outs{"dx": tensor.MaxPool2DBackward(in["dy"], idx, in["x"].Shape(), a.K, a.Stride, a.Pad)}
	case "avgpool":
		return outs{"out": tensor.AvgPool2D(in["x"], a.K, a.Stride, a.Pad)}
	case "avgpool_bwd":
		return outs{"dx": tensor.AvgPool2DBackward(in["dy"], a.Shape, a.K, a.Stride, a.Pad)}
	case "batchnorm":
		rm, rv := in["run_mean"], in["run_var"]
		r := tensor.BatchNorm2D(in["x"], in["gamma"], in["beta"], rm, rv, a.Training, a.Momentum, a.Eps)
		return outs{"out": r.Out, "mean": r.Mean, "invstd": r.InvStd, "run_mean": rm, "run_var": rv}
	case "batchnorm_bwd":
		c := in["x"].Dim(1)
		r := tensor.BatchNorm2D(in["x"], in["gamma"], in["beta"], tensor.Zeros(b, c), tensor.Ones(b, c), true, a.Momentum, a.Eps)
		dx, dg, db := tensor.BatchNorm2DBackward(in["dy"], in["x"], in["gamma"], r.Mean, r.InvStd, a.Eps)
		return outs{"dx": dx, "dgamma": dg, "dbeta": db}
	case "index_select":
		return outs{"out": tensor.IndexSelect(in["x"], a.Axis, in["idx"])}
	case "index_add":
		return outs{"out": tensor.IndexAdd(a.Shape, a.Axis, in["idx"], in["src"])}
	case "l2norm":
		return outs{"out": tensor.L2Normalize(in["x"], a.Eps)}
	case "pad":
		return outs{"out": tensor.Pad(in["x"], a.Pads, a.Value)}
	case "concat":
		return outs{"out": tensor.Concat(a.Axis, in["a"], in["b"])}
	case "adam":
		p, m, v := in["param"], in["m"], in["v"]
		tensor.AdamUpdate(p, in["grad"], m, v, tensor.AdamParams{LR: a.LR, Beta1: a.Beta1, Beta2: a.Beta2,
			Eps: a.Eps, WeightDecay: a.WeightDecay, Step: a.Step})
		return outs{"param": p, "m": m, "v": v}
	case "sgd":
		p, mom := in["param"], in["mom"]
		tensor.SGDUpdate(p, in["grad"], mom, tensor.SGDParams{LR: a.LR, Momentum: a.Momentum,
			WeightDecay: a.WeightDecay, Nesterov: a.Nesterov})
		return outs{"param": p, "mom": mom}
	}
	return nil
}
