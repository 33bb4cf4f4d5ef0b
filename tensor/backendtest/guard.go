package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// Guard regions: every operand of a direct Backend call is placed at an
// offset inside a larger buffer whose other elements hold a sentinel. After
// the call the sentinels must be intact and each output must equal the same
// op run through the tensor API.

const (
	guardPad = 257
	// SentinelF and SentinelI fill guard regions.
	SentinelF float32 = -7.25e27
	SentinelI int32   = -0x5a5a5a5
)

type guardBuf struct {
	buf   tensor.Buffer
	n     int // interior elements
	dt    tensor.DType
	want  *tensor.Tensor // expected interior, nil for inputs
	what  string
	input []float32 // interior of float inputs, which must not change
}

// reporter is the part of testing.TB the guard checks use.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
}

type guardEnv struct {
	t    reporter
	b    tensor.Backend
	rng  *rand.Rand
	bufs []*guardBuf
}

func (g *guardEnv) alloc(n int, dt tensor.DType, interior []float32, interiorI []int32) *guardBuf {
	buf, err := g.b.Alloc(n+2*guardPad, dt)
	if err != nil {
		g.t.Fatalf("alloc: %v", err)
	}
	gb := &guardBuf{buf: buf, n: n, dt: dt}
	if dt == tensor.Int32 {
		all := make([]int32, n+2*guardPad)
		for i := range all {
			all[i] = SentinelI
		}
		copy(all[guardPad:], interiorI)
		if err := g.b.WriteInt32(buf, 0, all); err != nil {
			g.t.Fatal(err)
		}
	} else {
		all := make([]float32, n+2*guardPad)
		for i := range all {
			all[i] = SentinelF
		}
		copy(all[guardPad:], interior)
		if err := g.b.Write(buf, 0, all); err != nil {
			g.t.Fatal(err)
		}
	}
	g.bufs = append(g.bufs, gb)
	return gb
}

func dense(buf tensor.Buffer, shape []int) tensor.View {
	return tensor.View{Buf: buf, Offset: guardPad, Shape: shape, Strides: tensor.ContiguousStrides(shape)}
}

// in places a float32 input in a guarded buffer and also returns it as a
// plain tensor for computing the expected result.
func (g *guardEnv) in(shape ...int) (tensor.View, *tensor.Tensor) {
	d := make([]float32, tensor.Numel(shape))
	for i := range d {
		d[i] = float32(g.rng.NormFloat64())
	}
	gb := g.alloc(len(d), tensor.Float32, d, nil)
	gb.what, gb.input = fmt.Sprintf("input %v", shape), d
	return dense(gb.buf, shape), tensor.FromSlice(g.b, d, shape...)
}

// inI places an int32 input in a guarded buffer.
func (g *guardEnv) inI(d []int32) (tensor.View, *tensor.Tensor) {
	gb := g.alloc(len(d), tensor.Int32, nil, d)
	gb.what = fmt.Sprintf("int32 input [%d]", len(d))
	return dense(gb.buf, []int{len(d)}), tensor.FromInt32(g.b, d)
}

// out returns a dense output view whose interior starts as sentinels (or
// as init, for outputs updated in place) and records the expected result.
func (g *guardEnv) out(want *tensor.Tensor, init []float32) tensor.View {
	interior := init
	if interior == nil {
		interior = make([]float32, want.Numel())
		for i := range interior {
			interior[i] = SentinelF
		}
	}
	gb := g.alloc(want.Numel(), want.DType(), interior, nil)
	if want.DType() == tensor.Int32 {
		fill := make([]int32, want.Numel())
		for i := range fill {
			fill[i] = SentinelI
		}
		if err := g.b.WriteInt32(gb.buf, guardPad, fill); err != nil {
			g.t.Fatal(err)
		}
	}
	gb.want, gb.what = want, fmt.Sprintf("output %v", want.Shape())
	return dense(gb.buf, want.Shape())
}

// verify checks every guard region and every output, then forgets them.
func (g *guardEnv) verify(op string, err error) {
	g.t.Helper()
	if err != nil {
		g.t.Errorf("%s: %v", op, err)
		g.bufs = nil
		return
	}
	for _, gb := range g.bufs {
		total := gb.n + 2*guardPad
		if gb.dt == tensor.Int32 {
			all := make([]int32, total)
			if err := g.b.ReadInt32(gb.buf, 0, all); err != nil {
				g.t.Fatal(err)
			}
			for i, v := range all {
				if (i < guardPad || i >= guardPad+gb.n) && v != SentinelI {
					g.t.Errorf("%s: %s: guard element %d overwritten with %d", op, gb.what, i-guardPad, v)
					break
				}
			}
			if gb.want != nil {
				if err := CompareInt32(all[guardPad:guardPad+gb.n], gb.want.Int32s()); err != nil {
					g.t.Errorf("%s: %s: %v", op, gb.what, err)
				}
			}
			gb.buf.Release()
			continue
		}
		all := make([]float32, total)
		if err := g.b.Read(gb.buf, 0, all); err != nil {
			g.t.Fatal(err)
		}
		for i, v := range all {
			if (i < guardPad || i >= guardPad+gb.n) && v != SentinelF {
				g.t.Errorf("%s: %s: guard element %d overwritten with %v", op, gb.what, i-guardPad, v)
				break
			}
		}
		interior := all[guardPad : guardPad+gb.n]
		switch {
		case gb.want != nil:
			if err := Compare(interior, gb.want.Float32s(), 1e-6); err != nil {
				g.t.Errorf("%s: %s: %v", op, gb.what, err)
			}
		case gb.input != nil:
			for i := range interior {
				if interior[i] != gb.input[i] && !(math.IsNaN(float64(interior[i])) && math.IsNaN(float64(gb.input[i]))) {
					g.t.Errorf("%s: %s modified at %d", op, gb.what, i)
					break
				}
			}
		}
		gb.buf.Release()
	}
	g.bufs = nil
}

// RunGuards runs every Backend op directly on operands placed inside
// sentinel-filled buffers.
func RunGuards(t *testing.T, b tensor.Backend) {
	t.Helper()
	runGuardsOn(t, b)
}

func runGuardsOn(t reporter, b tensor.Backend) {
	t.Helper()
	g := &guardEnv{t: t, b: b, rng: rand.New(rand.NewPCG(7, 7))}
	err := tensor.Try(func() { runGuards(g) })
	if err != nil {
		t.Fatal(err)
	}
}

func runGuards(g *guardEnv) {
	b := g.b

	// Copy between transposed layouts: out[i,j] at i+7j, x[i,j] at i+7j, so
	// the output interior equals x's.
	xv, x := g.in(13, 7)
	gb := g.alloc(7*13, tensor.Float32, nil, nil)
	gb.want, gb.what = tensor.Contiguous(x), "transposed output [13 7]"
	fill := make([]float32, 7*13)
	for i := range fill {
		fill[i] = SentinelF
	}
	check(g, b.Write(gb.buf, guardPad, fill))
	dst := tensor.View{Buf: gb.buf, Offset: guardPad, Shape: []int{7, 13}, Strides: []int{1, 7}}
	g.verify("Copy strided", b.Copy(dst, tensor.View{Buf: xv.Buf, Offset: xv.Offset, Shape: []int{7, 13}, Strides: []int{1, 7}}))

	iv, it := g.inI([]int32{5, -3, 9, 1, 0, 7, 2})
	g.verify("Copy int32", b.Copy(g.out(tensor.Clone(it), nil), iv))

	xv, x = g.in(7, 13)
	g.verify("Unary", b.Unary(tensor.OpExp, g.out(tensor.Exp(x), nil), xv, 0, 0))

	av, a := g.in(7, 13)
	rv, r := g.in(13)
	rowB := tensor.View{Buf: rv.Buf, Offset: rv.Offset, Shape: []int{7, 13}, Strides: []int{0, 1}}
	g.verify("Binary", b.Binary(tensor.OpSub, g.out(tensor.Sub(a, r), nil), av, rowB))

	_, c := g.in(7, 13)
	cv, c := g.inCopy(tensor.Gt(c, tensor.Scalar(b, 0)))
	av, a = g.in(7, 13)
	xv, x = g.in(7, 13)
	g.verify("Where", b.Where(g.out(tensor.Where(c, a, x), nil), cv, av, xv))

	xv, x = g.in(3, 33, 5)
	g.verify("Reduce sum", b.Reduce(tensor.ReduceSum, g.out(tensor.Sum(x, false, 1), nil), xv, 3, 33, 5))
	xv, x = g.in(3, 33, 5)
	g.verify("Reduce argmax", b.Reduce(tensor.ReduceArgmax, g.out(tensor.Argmax(x, 1, false), nil), xv, 3, 33, 5))

	av, a = g.in(2, 13, 7) // transA: [B, K, M]
	bv, bm := g.in(2, 9, 13)
	g.verify("MatMul", b.MatMul(g.out(tensor.MatMulT(a, bm, true, true), nil), av, bv, 2, 7, 9, 13, true, true))

	p := tensor.Conv2DParamsFor("guard", []int{2, 3, 7, 6}, []int{5, 3, 3, 3}, 2, 1)
	xv, x = g.in(2, 3, 7, 6)
	wv, w := g.in(5, 3, 3, 3)
	biasv, bias := g.in(5)
	g.verify("Conv2D", b.Conv2D(g.out(tensor.Conv2D(x, w, bias, 2, 1), nil), xv, wv, biasv, p))
	dyv, dy := g.in(2, 5, p.OH, p.OW)
	wv, w = g.in(5, 3, 3, 3)
	g.verify("Conv2DBackwardData", b.Conv2DBackwardData(g.out(tensor.Conv2DBackwardData(dy, w, []int{2, 3, 7, 6}, 2, 1), nil), dyv, wv, p))
	dyv, dy = g.in(2, 5, p.OH, p.OW)
	xv, x = g.in(2, 3, 7, 6)
	g.verify("Conv2DBackwardWeight", b.Conv2DBackwardWeight(g.out(tensor.Conv2DBackwardWeight(x, dy, []int{5, 3, 3, 3}, 2, 1), nil), xv, dyv, p))

	pp := tensor.Pool2DParamsFor("guard", []int{2, 3, 7, 9}, 3, 2, 1)
	xv, x = g.in(2, 3, 7, 9)
	mo, mi := tensor.MaxPool2D(x, 3, 2, 1)
	g.verify("MaxPool2D", b.MaxPool2D(g.out(mo, nil), g.out(mi, nil), xv, pp))
	dyv, dy = g.in(2, 3, pp.OH, pp.OW)
	idv, _ := g.inI(mi.Int32s())
	g.verify("MaxPool2DBackward", b.MaxPool2DBackward(g.out(tensor.MaxPool2DBackward(dy, mi, []int{2, 3, 7, 9}, 3, 2, 1), nil),
		dyv, tensor.View{Buf: idv.Buf, Offset: idv.Offset, Shape: mi.Shape(), Strides: mi.Strides()}, pp))
	xv, x = g.in(2, 3, 7, 9)
	g.verify("AvgPool2D", b.AvgPool2D(g.out(tensor.AvgPool2D(x, 3, 2, 1), nil), xv, pp))
	dyv, dy = g.in(2, 3, pp.OH, pp.OW)
	g.verify("AvgPool2DBackward", b.AvgPool2DBackward(g.out(tensor.AvgPool2DBackward(dy, []int{2, 3, 7, 9}, 3, 2, 1), nil), dyv, pp))

	bnp := tensor.BatchNormParams{N: 3, C: 4, HW: 10, Eps: 1e-5, Momentum: 0.1, Training: true}
	xv, x = g.in(3, 4, 2, 5)
	gv, gamma := g.in(4)
	bev, beta := g.in(4)
	rmInit, rvInit := []float32{0.1, -0.2, 0.3, 0}, []float32{1, 2, 0.5, 1.5}
	rm, rvar := tensor.FromSlice(b, rmInit, 4), tensor.FromSlice(b, rvInit, 4)
	res := tensor.BatchNorm2D(x, gamma, beta, rm, rvar, true, 0.1, 1e-5)
	xr := tensor.View{Buf: xv.Buf, Offset: xv.Offset, Shape: []int{3, 4, 10}, Strides: []int{40, 10, 1}}
	outV := g.out(res.Out, nil)
	outV.Shape, outV.Strides = []int{3, 4, 10}, []int{40, 10, 1}
	g.verify("BatchNormForward", b.BatchNormForward(outV, g.out(res.Mean, nil), g.out(res.InvStd, nil), xr, gv, bev,
		g.out(rm, rmInit), g.out(rvar, rvInit), bnp))

	dyv, dy = g.in(3, 4, 2, 5)
	xv, x = g.in(3, 4, 2, 5)
	gv, gamma = g.in(4)
	st := tensor.BatchNorm2D(x, gamma, tensor.Zeros(b, 4), tensor.Zeros(b, 4), tensor.Ones(b, 4), true, 0.1, 1e-5)
	dx, dg, db := tensor.BatchNorm2DBackward(dy, x, gamma, st.Mean, st.InvStd, 1e-5)
	mv, _ := g.inCopy(st.Mean)
	isv, _ := g.inCopy(st.InvStd)
	dxV := g.out(dx, nil)
	dxV.Shape, dxV.Strides = []int{3, 4, 10}, []int{40, 10, 1}
	flat := func(v tensor.View) tensor.View {
		v.Shape, v.Strides = []int{3, 4, 10}, []int{40, 10, 1}
		return v
	}
	g.verify("BatchNormBackward", b.BatchNormBackward(dxV, g.out(dg, nil), g.out(db, nil), flat(dyv), flat(xv), gv, mv, isv, bnp))

	xv, x = g.in(7, 13)
	idxData := []int32{6, 0, 6, 2}
	idv, idx := g.inI(idxData)
	g.verify("IndexSelect", b.IndexSelect(g.out(tensor.IndexSelect(x, 0, idx), nil), xv, idv, 1, 7, 13))
	sv, src := g.in(4, 13)
	idv, idx = g.inI(idxData)
	g.verify("IndexAdd", b.IndexAdd(g.out(tensor.IndexAdd([]int{7, 13}, 0, idx, src), make([]float32, 7*13)), sv, idv, 1, 7, 13))

	xv, x = g.in(5, 33)
	g.verify("L2Normalize", b.L2Normalize(g.out(tensor.L2Normalize(x, 1e-10), nil), xv, 5, 33, 1e-10))

	ap := tensor.AdamParams{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-3, Step: 3}
	pInit, mInit, vInit := g.host(33), g.host(33), g.host(33)
	for i := range vInit {
		vInit[i] *= vInit[i]
	}
	gv, grad := g.in(33)
	param, m, v := tensor.FromSlice(b, pInit), tensor.FromSlice(b, mInit), tensor.FromSlice(b, vInit)
	tensor.AdamUpdate(param, grad, m, v, ap)
	g.verify("AdamUpdate", b.AdamUpdate(g.out(param, pInit), gv, g.out(m, mInit), g.out(v, vInit), ap))

	sp := tensor.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-3, Nesterov: true}
	pInit, mInit = g.host(33), g.host(33)
	gv, grad = g.in(33)
	param, m = tensor.FromSlice(b, pInit), tensor.FromSlice(b, mInit)
	tensor.SGDUpdate(param, grad, m, sp)
	g.verify("SGDUpdate", b.SGDUpdate(g.out(param, pInit), gv, g.out(m, mInit), sp))
}

// host returns n normal values.
func (g *guardEnv) host(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(g.rng.NormFloat64())
	}
	return d
}

// inCopy places a copy of a float32 tensor's values in a guarded buffer.
func (g *guardEnv) inCopy(t *tensor.Tensor) (tensor.View, *tensor.Tensor) {
	d := t.Float32s()
	gb := g.alloc(len(d), tensor.Float32, d, nil)
	gb.what, gb.input = fmt.Sprintf("input %v", t.Shape()), d
	return dense(gb.buf, t.Shape()), t
}

func check(g *guardEnv, err error) {
	if err != nil {
		g.t.Fatal(err)
	}
}
