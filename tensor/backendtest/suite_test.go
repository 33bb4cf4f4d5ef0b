package backendtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/cpu"
)

// The suite must catch broken backends: each mutant below wraps the CPU
// backend with one deliberate bug, and the relevant cases have to fail.

type ignoreStrides struct{ tensor.Backend }

// Unary reads x as if it were dense.
func (m ignoreStrides) Unary(op tensor.UnaryOp, out, x tensor.View, a, b float32) error {
	x.Strides = tensor.ContiguousStrides(x.Shape)
	return m.Backend.Unary(op, out, x, a, b)
}

type ignoreTrans struct{ tensor.Backend }

func (m ignoreTrans) MatMul(out, a, b tensor.View, batch, mm, n, k int, ta, tb bool) error {
	return m.Backend.MatMul(out, a, b, batch, mm, n, k, false, tb)
}

type float32Sum struct{ tensor.Backend }

// Reduce sums a whole tensor in float32, one element after the other: on
// the 17M-element case the rounding error must be caught.
func (m float32Sum) Reduce(op tensor.ReduceOp, out, x tensor.View, outer, n, inner int) error {
	if op != tensor.ReduceSum || outer*inner != 1 {
		return m.Backend.Reduce(op, out, x, outer, n, inner)
	}
	d := make([]float32, n)
	if err := m.Read(x.Buf, x.Offset, d); err != nil {
		return err
	}
	var s float32
	for _, v := range d {
		s += v
	}
	return m.Write(out.Buf, out.Offset, []float32{s})
}

type overrun struct{ tensor.Backend }

// Binary also writes the element after the output.
func (m overrun) Binary(op tensor.BinaryOp, out, a, b tensor.View) error {
	if err := m.Backend.Binary(op, out, a, b); err != nil {
		return err
	}
	return m.Write(out.Buf, out.Offset+out.Numel(), []float32{1})
}

type accumulateDx struct{ tensor.Backend }

// Conv2DBackwardData adds to dx instead of overwriting it.
func (m accumulateDx) Conv2DBackwardData(dx, dy, w tensor.View, p tensor.Conv2DParams) error {
	old := make([]float32, dx.Numel())
	if err := m.Read(dx.Buf, dx.Offset, old); err != nil {
		return err
	}
	if err := m.Backend.Conv2DBackwardData(dx, dy, w, p); err != nil {
		return err
	}
	cur := make([]float32, len(old))
	if err := m.Read(dx.Buf, dx.Offset, cur); err != nil {
		return err
	}
	for i := range cur {
		cur[i] += old[i]
	}
	return m.Write(dx.Buf, dx.Offset, cur)
}

type lastMaxPool struct{ tensor.Backend }

// MaxPool2D breaks ties towards the last maximum.
func (m lastMaxPool) MaxPool2D(out, idx, x tensor.View, p tensor.Pool2DParams) error {
	neg := x
	d := make([]float32, x.Numel())
	if err := m.Read(x.Buf, x.Offset, d); err != nil {
		return err
	}
	// Mirror each plane horizontally, pool, and map indices back.
	mir := make([]float32, len(d))
	for pl := 0; pl < p.N*p.C; pl++ {
		for h := range p.H {
			for w := range p.W {
				mir[(pl*p.H+h)*p.W+w] = d[(pl*p.H+h)*p.W+p.W-1-w]
			}
		}
	}
	buf, err := m.Alloc(len(mir), tensor.Float32)
	if err != nil {
		return err
	}
	if err := m.Write(buf, 0, mir); err != nil {
		return err
	}
	neg.Buf, neg.Offset = buf, 0
	return m.Backend.MaxPool2D(out, idx, neg, p)
}

type recorder struct{ errs []string }

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Fatalf(f string, args ...any) { r.Errorf(f, args...); panic(r) }
func (r *recorder) Fatal(args ...any)            { r.Errorf("%s", fmt.Sprint(args...)); panic(r) }

func guardErrors(b tensor.Backend) (errs []string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		errs = r.errs
	}()
	runGuardsOn(r, b)
	return nil
}

func casesNamed(prefix string) []Case {
	var out []Case
	for _, c := range Cases() {
		if strings.HasPrefix(c.Name, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func TestSuiteCatchesMutants(t *testing.T) {
	ref := cpu.New()
	mutants := []struct {
		name   string
		b      tensor.Backend
		prefix string // cases that must fail
		guards bool   // whether the guard checks must fail too
	}{
		{"unary ignores strides", ignoreStrides{ref}, "Unary/Exp/views", false},
		{"matmul ignores transA", ignoreTrans{ref}, "MatMul/7x13x33", false},
		{"float32 sum", float32Sum{ref}, "Reduce/Sum/large", false},
		{"binary overruns", overrun{ref}, "", true},
		{"conv backward-data accumulates", accumulateDx{ref}, "", true},
		{"max-pool picks the last tie", lastMaxPool{ref}, "MaxPool2D/n2_c3_7x13", false},
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			if m.prefix != "" {
				cs := casesNamed(m.prefix)
				if len(cs) == 0 {
					t.Fatalf("no cases named %s", m.prefix)
				}
				failed := false
				for _, c := range cs {
					if len(checkCase(m.b, ref, c)) > 0 {
						failed = true
					}
				}
				if !failed {
					t.Errorf("cases %s passed on a broken backend", m.prefix)
				}
			}
			if m.guards && len(guardErrors(m.b)) == 0 {
				t.Error("guard checks passed on a broken backend")
			}
		})
	}
	if errs := guardErrors(ref); len(errs) > 0 {
		t.Errorf("guard checks fail on the reference: %v", errs)
	}
}

func TestCompare(t *testing.T) {
	inf := float32(1) / float32(zero)
	nan := inf - inf
	tests := []struct {
		name      string
		got, want []float32
		tol       float64
		ok        bool
	}{
		{"equal", []float32{1, 2}, []float32{1, 2}, 0, true},
		{"within", []float32{1, 2.0001}, []float32{1, 2}, 1e-8, true},
		{"outside", []float32{1, 2.01}, []float32{1, 2}, 1e-8, false},
		{"nan", []float32{nan, 2}, []float32{1, 2}, 1, false},
		{"inf match", []float32{inf, -inf}, []float32{inf, -inf}, 0, true},
		{"inf sign", []float32{inf}, []float32{-inf}, 1, false},
		{"inf missing", []float32{3e38}, []float32{inf}, 1, false},
		{"length", []float32{1}, []float32{1, 2}, 1, false},
		{"zero want", []float32{1e-5}, []float32{0}, 1e-9, true},
	}
	for _, tc := range tests {
		err := Compare(tc.got, tc.want, tc.tol)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Compare = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if CompareInt32([]int32{1, 2}, []int32{1, 3}) == nil || CompareInt32([]int32{4}, []int32{4}) != nil {
		t.Error("CompareInt32 wrong")
	}
}

var zero float32

func TestGoldenFilesLoad(t *testing.T) {
	all, err := loadGolden()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, cs := range all {
		for _, c := range cs {
			ops[c.Op] = true // unknown ops fail in RunGolden (cpu's TestGolden)
		}
	}
	for _, op := range []string{"unary", "binary", "where", "reduce", "argmax", "matmul", "conv2d", "conv2d_bwd_data",
		"conv2d_bwd_weight", "maxpool", "maxpool_bwd", "avgpool", "avgpool_bwd", "batchnorm", "batchnorm_bwd",
		"index_select", "index_add", "l2norm", "pad", "concat", "adam", "sgd"} {
		if !ops[op] {
			t.Errorf("no golden case for %s", op)
		}
	}
}
