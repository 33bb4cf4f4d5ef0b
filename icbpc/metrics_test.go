package icbpc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func det1000() (yTrue, yPred []int) {
	for i := 0; i < 1000; i++ {
		y := i % 10
		p := (i*31 + i/7) % 10
		if (i*7919)%10 < 7 {
			p = (y + 3) % 10
		}
		yTrue = append(yTrue, y)
		yPred = append(yPred, p)
	}
	return yTrue, yPred
}

// TestMetricsGolden checks every row of clustering-anchors.md §3.3
// (scikit-learn 1.2.1 and SciPy). NaN marks a value the table leaves out.
func TestMetricsGolden(t *testing.T) {
	nan := math.NaN()
	dt, dp := det1000()
	cases := []struct {
		name                               string
		yTrue, yPred                       []int
		acc, ari, arith, geom, mn, mx, ami float64
	}{
		{"perfect permuted", []int{0, 0, 1, 1, 2, 2}, []int{2, 2, 0, 0, 1, 1}, 1, 1, 1, 1, 1, 1, 1},
		{"sklearn doc", []int{0, 0, 1, 1}, []int{0, 0, 1, 2}, 0.75, 0.5714285714, 0.8, 0.8164965809, 1.0, 0.6666666667, 0.5714285714},
		{"anti", []int{0, 0, 1, 1}, []int{0, 1, 0, 1}, 0.5, -0.5, 0, 0, 0, 0, -0.5},
		{"one cluster", []int{0, 0, 1, 1, 2, 2}, []int{0, 0, 0, 0, 0, 0}, 0.3333333333, 0, 0, 0, 0, 0, 0},
		{"mixed", []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}, []int{1, 1, 0, 0, 0, 2, 2, 2, 2, 1}, 0.7, 0.2045454545, 0.4427012833, 0.4427012833, 0.4427012833, 0.4427012833, 0.2372887777},
		{"unbalanced", []int{0, 0, 0, 0, 0, 0, 1, 1, 2, 2}, []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}, 0.7, 0.3478260870, 0.5574443473, 0.5587370062, 0.5981055024, 0.5219598229, 0.3869222715},
		{"det1000", dt, dp, 0.743, 0.6319949924, 0.7122411996, 0.7125079164, nan, nan, 0.7067159083},
	}
	const tol = 1e-9
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewConfusion(tc.yTrue, tc.yPred)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Scores()
			check := func(metric string, got, want float64) {
				t.Helper()
				if !math.IsNaN(want) && math.Abs(got-want) > tol {
					t.Errorf("%s = %.12f, want %.10f", metric, got, want)
				}
			}
			check("ACC", got.ACC, tc.acc)
			check("ARI", got.ARI, tc.ari)
			check("NMI arithmetic", got.NMI, tc.arith)
			check("NMI geometric", got.NMIGeometric, tc.geom)
			check("NMI min", got.NMIMin, tc.mn)
			check("NMI max", got.NMIMax, tc.mx)
			check("AMI", got.AMI, tc.ami)
			// Evaluate agrees with the table's Scores.
			ev, err := Evaluate(tc.yTrue, tc.yPred)
			if err != nil || ev != got {
				t.Errorf("Evaluate = %+v, %v; want %+v", ev, err, got)
			}
		})
	}
}

// TestMetricsInvariances checks properties that hold for any labelling:
// renaming clusters or classes changes nothing, the metrics are symmetric
// where they should be, and ACC equals the brute-force best relabelling.
func TestMetricsInvariances(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 100; trial++ {
		n := 5 + rng.IntN(60)
		kt, kp := 1+rng.IntN(5), 1+rng.IntN(5)
		yt, yp := make([]int, n), make([]int, n)
		for i := range yt {
			yt[i] = rng.IntN(kt)
			if rng.Float64() < 0.6 {
				yp[i] = yt[i] % kp
			} else {
				yp[i] = rng.IntN(kp)
			}
		}
		c, err := NewConfusion(yt, yp)
		if err != nil {
			t.Fatal(err)
		}
		s := c.Scores()

		// Brute-force ACC over all injective relabellings.
		size := max(len(c.PredLabels), len(c.TrueLabels))
		best := 0
		permutations(size, func(p []int) {
			m := 0
			for r := range c.PredLabels {
				if p[r] < len(c.TrueLabels) {
					m += c.Counts[r][p[r]]
				}
			}
			best = max(best, m)
		})
		if want := float64(best) / float64(n); math.Abs(s.ACC-want) > 1e-12 {
			t.Fatalf("trial %d: ACC %v, brute force %v", trial, s.ACC, want)
		}

		// Renamed labels (arbitrary, negative, sparse) give identical scores.
		rt, rp := make([]int, n), make([]int, n)
		for i := range yt {
			rt[i] = 1000 - 7*yt[i]
			rp[i] = -3 + 11*yp[i]
		}
		r, _ := Evaluate(rt, rp)
		if !closeScores(r, s) {
			t.Fatalf("trial %d: renamed labels changed the scores: %+v vs %+v", trial, r, s)
		}
		// NMI (arith/geom), ARI and AMI are symmetric; ACC too.
		sw, _ := Evaluate(yp, yt)
		if math.Abs(sw.NMI-s.NMI) > 1e-12 || math.Abs(sw.ARI-s.ARI) > 1e-12 ||
			math.Abs(sw.AMI-s.AMI) > 1e-9 || math.Abs(sw.ACC-s.ACC) > 1e-12 {
			t.Fatalf("trial %d: swapping arguments changed the scores: %+v vs %+v", trial, sw, s)
		}
		// Relabelled predictions reach ACC directly.
		hits := 0
		for i, p := range c.Relabel(yp) {
			if p == yt[i] {
				hits++
			}
		}
		if float64(hits)/float64(n) != s.ACC {
			t.Fatalf("trial %d: Relabel gives %d hits, ACC %v", trial, hits, s.ACC)
		}
		// Ordering of the normalisations: min-NMI >= geometric >= arithmetic >= max-NMI.
		if s.NMIMin+1e-12 < s.NMIGeometric || s.NMIGeometric+1e-12 < s.NMI || s.NMI+1e-12 < s.NMIMax {
			t.Fatalf("trial %d: NMI ordering violated: %+v", trial, s)
		}
	}
}

func closeScores(a, b Scores) bool {
	d := func(x, y float64) bool { return math.Abs(x-y) <= 1e-12 }
	return a.N == b.N && d(a.ACC, b.ACC) && d(a.NMI, b.NMI) && d(a.NMIGeometric, b.NMIGeometric) &&
		d(a.NMIMin, b.NMIMin) && d(a.NMIMax, b.NMIMax) && d(a.AMI, b.AMI) && d(a.ARI, b.ARI)
}

func TestConfusionTables(t *testing.T) {
	yt := []int{0, 0, 0, 1, 1, 2, 2, 2, 2}
	yp := []int{5, 5, 7, 7, 7, 9, 9, 9, 3}
	c, err := NewConfusion(yt, yp)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.PredLabels, c.TrueLabels, c.Counts) != "[3 5 7 9] [0 1 2] [[0 0 1] [2 0 0] [1 2 0] [0 0 3]]" {
		t.Fatalf("table: %v %v %v", c.PredLabels, c.TrueLabels, c.Counts)
	}
	if m := c.Mapping(); fmt.Sprint(m) != "map[5:0 7:1 9:2]" {
		t.Errorf("mapping %v", m)
	}
	counts, cols := c.Aligned()
	if fmt.Sprint(counts, cols) != "[[2 1 0 0] [0 2 0 0] [0 0 3 1]] [5 7 9 3]" {
		t.Errorf("aligned %v %v", counts, cols)
	}
	if c.Accuracy() != 7.0/9 {
		t.Errorf("ACC %v", c.Accuracy())
	}
	// The same table given as counts (with an empty row, dropped) scores the same.
	fc, err := ConfusionFromCounts([][]int{{0, 0, 1}, {2, 0, 0}, {0, 0, 0}, {1, 2, 0}, {0, 0, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if !closeScores(fc.Scores(), c.Scores()) {
		t.Errorf("from counts %+v, from labels %+v", fc.Scores(), c.Scores())
	}
}

func TestMetricsBadInput(t *testing.T) {
	if _, err := Evaluate([]int{0, 1}, []int{0}); err == nil || !strings.Contains(err.Error(), "2 true labels but 1 predictions") {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := Evaluate(nil, nil); err == nil {
		t.Error("empty input accepted")
	}
	for _, bad := range [][][]int{{}, {{1, -1}}, {{0, 0}}, {{1, 2}, {3}}} {
		if _, err := ConfusionFromCounts(bad); err == nil {
			t.Errorf("ConfusionFromCounts(%v) accepted", bad)
		}
	}
}

func BenchmarkEvaluate70k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	yt, yp := make([]int, 70000), make([]int, 70000)
	for i := range yt {
		yt[i] = rng.IntN(10)
		yp[i] = (yt[i] + rng.IntN(2)) % 10
	}
	for b.Loop() {
		if _, err := Evaluate(yt, yp); err != nil {
			b.Fatal(err)
		}
	}
}

// ExampleEvaluate scores a clustering of ten samples against their labels.
// Cluster ids are arbitrary: ACC matches clusters to classes with the
// Hungarian algorithm first.
func ExampleEvaluate() {
	yTrue := []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}
	yPred := []int{1, 1, 0, 0, 0, 2, 2, 2, 2, 1}
	s, err := Evaluate(yTrue, yPred)
	if err != nil {
		panic(err)
	}
	fmt.Printf("ACC %.3f  NMI %.4f  ARI %.4f\n", s.ACC, s.NMI, s.ARI)

	c, _ := NewConfusion(yTrue, yPred)
	fmt.Println("cluster -> class:", c.Mapping())
	// Output:
	// ACC 0.700  NMI 0.4427  ARI 0.2045
	// cluster -> class: map[0:1 1:0 2:2]
}
