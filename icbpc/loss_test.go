package icbpc

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

func cpuBackend(t testing.TB) tensor.Backend {
	t.Helper()
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func normRows(rows [][]float64) []float32 {
	var out []float32
	for _, r := range rows {
		var s float64
		for _, v := range r {
			s += v * v
		}
		for _, v := range r {
			out = append(out, float32(v/math.Sqrt(s)))
		}
	}
	return out
}

// Case A and Case B of icbpc-reference.md §4.3 (values from the released
// mmd_rbf in float64).
func TestMMDReferenceCases(t *testing.T) {
	b := cpuBackend(t)
	t.Run("A_code_distance_value_and_gradient", func(t *testing.T) {
		x := autograd.Param(tensor.FromSlice(b, []float32{1, 0, 0, 1}, 2, 2))
		y := autograd.Const(tensor.FromSlice(b, []float32{1, 0, -1, 0}, 2, 2))
		m := MMD(x, y, DefaultMMD(DistanceConfig{Kind: Euclidean}, Biased))
		if got, want := float64(m.Item()), 1.4522723983719286; math.Abs(got-want) > 1e-5 {
			t.Fatalf("MMD = %.9f, want %.9f", got, want)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		want := []float64{0.26752, 0.61791, 0.61791, 3.32143}
		for i, g := range x.Grad.Float32s() {
			if math.Abs(float64(g)-want[i]) > 2e-4 {
				t.Errorf("dMMD/dX[%d] = %.5f, want %.5f", i, g, want[i])
			}
		}
	})
	xb := normRows([][]float64{{1, 2, 3}, {-1, 0.5, 2}, {0.3, -2, 1}})
	eye := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
	for _, tc := range []struct {
		name string
		dist DistanceConfig
		want float64
	}{
		{"B_code_distance", DistanceConfig{Kind: Euclidean}, 1.3017803320976435},
		{"B_composite", DistanceConfig{Kind: Composite, Alpha: 0.25, Eps: 1e-12}, 1.0659080436906907},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := autograd.Const(tensor.FromSlice(b, xb, 3, 3))
			y := autograd.Const(tensor.FromSlice(b, eye, 3, 3))
			got := float64(MMD(x, y, DefaultMMD(tc.dist, Biased)).Item())
			if math.Abs(got-tc.want) > 2e-5 {
				t.Fatalf("MMD = %.9f, want %.9f", got, tc.want)
			}
		})
	}
}

// The hand-checkable example of icbpc-reference.md §5.3.
func TestCompositeDistanceExample(t *testing.T) {
	b := cpuBackend(t)
	a := autograd.Const(tensor.FromSlice(b, []float32{1, 0}, 1, 2))
	c := autograd.Const(tensor.FromSlice(b, []float32{0.6, 0.8}, 1, 2))
	cases := []struct {
		kind Distance
		want float64
	}{{Euclidean, 0.8}, {Cosine, 0.4}, {Composite, 0.318114}}
	for _, tc := range cases {
		got := Rowwise(a, c, DistanceConfig{Kind: tc.kind, Alpha: 0.25, Eps: 1e-12}).Item()
		if math.Abs(float64(got)-tc.want) > 1e-5 {
			t.Errorf("%v distance = %.6f, want %.6f", tc.kind, got, tc.want)
		}
	}
	if got := L1Pair(a, c).Item(); math.Abs(float64(got)-0.6) > 1e-6 {
		t.Errorf("L1 = %v, want 0.6", got)
	}
}

func randUnit(b tensor.Backend, rng *rand.Rand, n, d int) *tensor.Tensor {
	return tensor.L2Normalize(tensor.RandNormal(b, rng, 0, 1, n, d), 1e-10)
}

// No NaN and bounded gradients for identical and near-identical vectors.
func TestCompositeNearIdenticalIsFinite(t *testing.T) {
	b := cpuBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	z := randUnit(b, rng, 4, 6)
	for _, delta := range []float32{0, 1e-7, 1e-4} {
		zv := autograd.Param(z)
		other := autograd.Const(tensor.Add(z, tensor.Scale(tensor.RandNormal(b, rng, 0, 1, 4, 6), delta)))
		d := autograd.Sum(Rowwise(autograd.L2Normalize(zv, 1e-10), autograd.L2Normalize(other, 1e-10), DistanceConfig{Kind: Composite, Alpha: 0.25}), false)
		if err := d.Backward(); err != nil {
			t.Fatal(err)
		}
		for _, g := range zv.Grad.Float32s() {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) || math.Abs(float64(g)) > 1e4 {
				t.Fatalf("delta %g: gradient %v not finite or unbounded", delta, g)
			}
		}
		m := MMD(autograd.L2Normalize(autograd.Param(z), 1e-10), autograd.Const(z), DefaultMMD(DistanceConfig{Kind: Composite, Alpha: 0.25}, Unbiased))
		if v := m.Item(); math.IsNaN(float64(v)) {
			t.Fatalf("MMD of identical sets is NaN")
		}
	}
}

func TestDistanceGradients(t *testing.T) {
	b := cpuBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	a := randUnit(b, rng, 5, 4)
	// c is close to a for the first rows (near-identical pairs), random after.
	c := tensor.Concat(0,
		tensor.L2Normalize(tensor.Add(tensor.Slice(a, 0, 0, 2), tensor.Scale(tensor.RandNormal(b, rng, 0, 1, 2, 4), 0.05)), 1e-10),
		randUnit(b, rng, 3, 4))
	for _, kind := range []Distance{Euclidean, Cosine, Composite} {
		cfg := DistanceConfig{Kind: kind, Alpha: 0.25}
		err := autograd.CheckGrad(func(xs []*autograd.Var) *autograd.Var {
			return Rowwise(autograd.L2Normalize(xs[0], 1e-10), autograd.L2Normalize(xs[1], 1e-10), cfg)
		}, []*tensor.Tensor{a, c}, autograd.CheckOptions{})
		if err != nil {
			t.Errorf("%v: %v", kind, err)
		}
	}
}

func TestLossGradients(t *testing.T) {
	b := cpuBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	cent := tensor.FromSlice(b, normRows([][]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}), 3, 4)
	z := tensor.RandNormal(b, rng, 0, 1, 6, 4)
	za := tensor.RandNormal(b, rng, 0, 1, 6, 4)
	for name, cfg := range map[string]LossConfig{"paper": PaperLoss(8, 0.25), "paper_composite_mmd": func() LossConfig {
		c := PaperLoss(8, 0.25)
		c.MMDDistance = Composite
		return c
	}()} {
		err := autograd.CheckGrad(func(xs []*autograd.Var) *autograd.Var {
			r := rand.New(rand.NewPCG(9, 9)) // the same negatives at every evaluation
			feats := []*autograd.Var{autograd.L2Normalize(xs[0], 1e-10), autograd.L2Normalize(xs[1], 1e-10)}
			return cfg.Loss(feats, cent, r).Total
		}, []*tensor.Tensor{z, za}, autograd.CheckOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDerangementHasNoFixedPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 2; n < 40; n++ {
		p := Derangement(rng, n)
		seen := make([]bool, n)
		for i, v := range p {
			if int(v) == i || seen[v] {
				t.Fatalf("n=%d: %v is not a derangement", n, p)
			}
			seen[v] = true
		}
	}
}

func TestUnbiasedMMDIsZeroMeanOnTarget(t *testing.T) {
	// Features exactly on balanced centroids: the biased estimate against the
	// tiled target is 0.
	b := cpuBackend(t)
	cent := tensor.FromSlice(b, normRows([][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}), 3, 3)
	z := TileCentroids(cent, 6)
	got := MMD(autograd.Const(z), autograd.Const(TileCentroids(cent, 6)), DefaultMMD(DistanceConfig{Kind: Euclidean}, Biased)).Item()
	if math.Abs(float64(got)) > 1e-6 {
		t.Fatalf("biased MMD on the target = %v, want 0", got)
	}
}
