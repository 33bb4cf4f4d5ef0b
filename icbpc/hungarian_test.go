package icbpc

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// permutations calls f with every permutation of 0..n-1.
func permutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(p)
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

func TestHungarianMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(7)
		cost := make([][]float64, n)
		for i := range cost {
			cost[i] = make([]float64, n)
			for j := range cost[i] {
				if trial%2 == 0 {
					cost[i][j] = float64(rng.IntN(5)) // many ties
				} else {
					cost[i][j] = rng.NormFloat64() * 100
				}
			}
		}
		best := math.Inf(1)
		permutations(n, func(p []int) {
			s := 0.0
			for i, j := range p {
				s += cost[i][j]
			}
			best = math.Min(best, s)
		})
		assign, total, err := Hungarian(cost)
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, n)
		sum := 0.0
		for i, j := range assign {
			if j < 0 || j >= n || seen[j] {
				t.Fatalf("trial %d: assignment %v is not a permutation", trial, assign)
			}
			seen[j] = true
			sum += cost[i][j]
		}
		if math.Abs(sum-total) > 1e-9 || math.Abs(total-best) > 1e-9 {
			t.Fatalf("trial %d (n=%d): Hungarian total %v (recomputed %v), brute force %v", trial, n, total, sum, best)
		}
	}
}

func TestMaxWeightMatchingRectangular(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		r, c := 1+rng.IntN(6), 1+rng.IntN(6)
		w := make([][]float64, r)
		for i := range w {
			w[i] = make([]float64, c)
			for j := range w[i] {
				w[i][j] = float64(rng.IntN(20))
			}
		}
		// Brute force over all injective maps of the smaller side into the larger.
		n := max(r, c)
		best := 0.0
		permutations(n, func(p []int) {
			s := 0.0
			for i := 0; i < r; i++ {
				if p[i] < c {
					s += w[i][p[i]]
				}
			}
			best = math.Max(best, s)
		})
		m, total, err := MaxWeightMatching(w)
		if err != nil {
			t.Fatal(err)
		}
		used := map[int]bool{}
		sum := 0.0
		for i, j := range m {
			if j == -1 {
				continue
			}
			if used[j] {
				t.Fatalf("column %d matched twice: %v", j, m)
			}
			used[j] = true
			sum += w[i][j]
		}
		if sum != total || total != best {
			t.Fatalf("trial %d (%dx%d): total %v (recomputed %v), brute force %v", trial, r, c, total, sum, best)
		}
		if matched := len(used); matched != min(r, c) {
			t.Fatalf("trial %d: %d pairs matched, want %d", trial, matched, min(r, c))
		}
	}
}

func TestHungarianBadInput(t *testing.T) {
	cases := []struct {
		name string
		cost [][]float64
		want string
	}{
		{"not square", [][]float64{{1, 2}, {3}}, "not square"},
		{"NaN", [][]float64{{1, math.NaN()}, {3, 4}}, "not finite"},
		{"Inf", [][]float64{{math.Inf(1)}}, "not finite"},
	}
	for _, tc := range cases {
		if _, _, err := Hungarian(tc.cost); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if a, total, err := Hungarian(nil); err != nil || len(a) != 0 || total != 0 {
		t.Errorf("empty matrix: %v %v %v", a, total, err)
	}
	if _, _, err := MaxWeightMatching([][]float64{{1, 2}, {3}}); err == nil {
		t.Error("ragged weights accepted")
	}
}
