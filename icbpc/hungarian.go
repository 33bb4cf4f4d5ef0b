package icbpc

import (
	"fmt"
	"math"
)

// Hungarian solves the square linear assignment problem: it returns the
// permutation assign (row i is assigned column assign[i]) that minimises
// Σ_i cost[i][assign[i]], and that minimum. It is the O(n³) Kuhn-Munkres
// algorithm with row and column potentials (shortest augmenting paths).
// cost must be n x n with finite entries; n = 0 gives an empty assignment.
func Hungarian(cost [][]float64) (assign []int, total float64, err error) {
	n := len(cost)
	for i, row := range cost {
		if len(row) != n {
			return nil, 0, fmt.Errorf("hungarian: cost matrix is not square: row %d has %d entries, want %d", i, len(row), n)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, 0, fmt.Errorf("hungarian: cost[%d][%d] = %v is not finite", i, j, v)
			}
		}
	}
	if n == 0 {
		return []int{}, 0, nil
	}
	// 1-based arrays; column 0 is a virtual column holding the row being
	// inserted.
	u := make([]float64, n+1) // row potentials
	v := make([]float64, n+1) // column potentials
	p := make([]int, n+1)     // p[j]: row matched to column j (0 = none)
	way := make([]int, n+1)   // previous column on the augmenting path
	minv := make([]float64, n+1)
	used := make([]bool, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0 := p[j0]
			delta := math.Inf(1)
			j1 := -1
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				cur := cost[i0-1][j-1] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j] = cur
					way[j] = j0
				}
				if minv[j] < delta {
					delta = minv[j]
					j1 = j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	assign = make([]int, n)
	for j := 1; j <= n; j++ {
		assign[p[j]-1] = j - 1
	}
	for i, j := range assign {
		total += cost[i][j]
	}
	return assign, total, nil
}

// MaxWeightMatching finds the one-to-one matching of rows to columns of the
// (possibly rectangular) weight matrix w that maximises the total weight. The
// matrix is padded with zero-weight rows or columns to a square and solved
// with Hungarian on (max w - w). rowToCol[i] is the column matched to row i,
// or -1 when row i was matched to padding (more rows than columns).
func MaxWeightMatching(w [][]float64) (rowToCol []int, total float64, err error) {
	r := len(w)
	c := 0
	for _, row := range w {
		c = max(c, len(row))
	}
	for i, row := range w {
		if len(row) != c {
			return nil, 0, fmt.Errorf("hungarian: ragged weight matrix: row %d has %d entries, want %d", i, len(row), c)
		}
	}
	n := max(r, c)
	top := 0.0
	for _, row := range w {
		for _, x := range row {
			top = math.Max(top, x)
		}
	}
	cost := make([][]float64, n)
	for i := range cost {
		cost[i] = make([]float64, n)
		for j := range cost[i] {
			cost[i][j] = top
			if i < r && j < c {
				cost[i][j] = top - w[i][j]
			}
		}
	}
	assign, _, err := Hungarian(cost)
	if err != nil {
		return nil, 0, err
	}
	rowToCol = make([]int, r)
	for i := 0; i < r; i++ {
		rowToCol[i] = -1
		if j := assign[i]; j < c {
			rowToCol[i] = j
			total += w[i][j]
		}
	}
	return rowToCol, total, nil
}
