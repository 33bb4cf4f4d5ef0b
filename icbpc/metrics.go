package icbpc

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// NMIAverage is the generalised mean of the two entropies that normalises the
// mutual information in NMI (scikit-learn's average_method).
type NMIAverage int

const (
	// NMIArithmetic is (H(U)+H(V))/2, scikit-learn's default since 0.22.
	NMIArithmetic NMIAverage = iota
	// NMIGeometric is √(H(U)·H(V)), scikit-learn's default before 0.22 and
	// so most likely what ICBPC (PyTorch 1.0 era) reported.
	NMIGeometric
	// NMIMin is min(H(U), H(V)).
	NMIMin
	// NMIMax is max(H(U), H(V)).
	NMIMax
)

// String returns "arithmetic", "geometric", "min" or "max".
func (a NMIAverage) String() string {
	switch a {
	case NMIArithmetic:
		return "arithmetic"
	case NMIGeometric:
		return "geometric"
	case NMIMin:
		return "min"
	case NMIMax:
		return "max"
	}
	return fmt.Sprintf("NMIAverage(%d)", int(a))
}

func (a NMIAverage) mean(x, y float64) float64 {
	switch a {
	case NMIGeometric:
		return math.Sqrt(x * y)
	case NMIMin:
		return math.Min(x, y)
	case NMIMax:
		return math.Max(x, y)
	}
	return (x + y) / 2
}

// Confusion is the contingency table of a clustering against the true
// labels. Labels may be any integers; they are mapped to rows and columns in
// ascending order. Counts[r][c] is the number of samples with predicted
// label PredLabels[r] and true label TrueLabels[c].
type Confusion struct {
	PredLabels []int   // distinct predicted labels (clusters), ascending
	TrueLabels []int   // distinct true labels (classes), ascending
	Counts     [][]int // len(PredLabels) x len(TrueLabels)
	N          int     // number of samples

	match   []int // row -> matched column or -1; nil until computed
	matched int
}

// NewConfusion builds the contingency table of yPred against yTrue. The two
// slices must be non-empty and of equal length.
func NewConfusion(yTrue, yPred []int) (*Confusion, error) {
	if len(yTrue) != len(yPred) {
		return nil, fmt.Errorf("metrics: %d true labels but %d predictions", len(yTrue), len(yPred))
	}
	if len(yTrue) == 0 {
		return nil, errors.New("metrics: no samples")
	}
	c := &Confusion{
		PredLabels: distinct(yPred),
		TrueLabels: distinct(yTrue),
		N:          len(yTrue),
	}
	c.Counts = make([][]int, len(c.PredLabels))
	for i := range c.Counts {
		c.Counts[i] = make([]int, len(c.TrueLabels))
	}
	for i := range yTrue {
		r, _ := slices.BinarySearch(c.PredLabels, yPred[i])
		k, _ := slices.BinarySearch(c.TrueLabels, yTrue[i])
		c.Counts[r][k]++
	}
	return c, nil
}

// ConfusionFromCounts wraps an existing contingency table (rows: predicted
// clusters 0..R-1, columns: true classes 0..C-1), e.g. a confusion matrix
// saved by another tool. Counts must be non-negative with a positive total;
// empty rows or columns are dropped, as they would not appear in label
// vectors.
func ConfusionFromCounts(counts [][]int) (*Confusion, error) {
	if len(counts) == 0 || len(counts[0]) == 0 {
		return nil, errors.New("metrics: empty contingency table")
	}
	cols := len(counts[0])
	rowSum := make([]int, len(counts))
	colSum := make([]int, cols)
	n := 0
	for i, row := range counts {
		if len(row) != cols {
			return nil, fmt.Errorf("metrics: ragged contingency table: row %d has %d entries, want %d", i, len(row), cols)
		}
		for j, v := range row {
			if v < 0 {
				return nil, fmt.Errorf("metrics: negative count %d at [%d][%d]", v, i, j)
			}
			rowSum[i] += v
			colSum[j] += v
			n += v
		}
	}
	if n == 0 {
		return nil, errors.New("metrics: contingency table holds no samples")
	}
	c := &Confusion{N: n}
	for j, s := range colSum {
		if s > 0 {
			c.TrueLabels = append(c.TrueLabels, j)
		}
	}
	for i, s := range rowSum {
		if s == 0 {
			continue
		}
		c.PredLabels = append(c.PredLabels, i)
		row := make([]int, 0, len(c.TrueLabels))
		for _, j := range c.TrueLabels {
			row = append(row, counts[i][j])
		}
		c.Counts = append(c.Counts, row)
	}
	return c, nil
}

func distinct(x []int) []int {
	s := slices.Clone(x)
	slices.Sort(s)
	return slices.Compact(s)
}

// computeMatch runs the Hungarian matching of clusters to classes once.
func (c *Confusion) computeMatch() {
	if c.match != nil {
		return
	}
	w := make([][]float64, len(c.Counts))
	for i, row := range c.Counts {
		w[i] = make([]float64, len(row))
		for j, v := range row {
			w[i][j] = float64(v)
		}
	}
	m, total, err := MaxWeightMatching(w)
	if err != nil {
		// Counts are finite and rectangular by construction.
		panic(fmt.Sprintf("metrics: internal error: %v", err))
	}
	c.match = m
	c.matched = int(math.Round(total))
}

// Accuracy is the clustering accuracy: the fraction of samples that agree
// with their class after the best one-to-one relabelling of clusters to
// classes (Hungarian matching on the table padded to a square, as DEC,
// ICBPC and scikit-learn-based code do).
func (c *Confusion) Accuracy() float64 {
	c.computeMatch()
	return float64(c.matched) / float64(c.N)
}

// Mapping returns the Hungarian matching as predicted label -> true label.
// Clusters left unmatched (more clusters than classes) are absent.
func (c *Confusion) Mapping() map[int]int {
	c.computeMatch()
	m := make(map[int]int, len(c.match))
	for r, k := range c.match {
		if k >= 0 {
			m[c.PredLabels[r]] = c.TrueLabels[k]
		}
	}
	return m
}

// Relabel maps each prediction to its matched true label; predictions of
// unmatched or unknown clusters become -1.
func (c *Confusion) Relabel(yPred []int) []int {
	m := c.Mapping()
	out := make([]int, len(yPred))
	for i, p := range yPred {
		if t, ok := m[p]; ok {
			out[i] = t
		} else {
			out[i] = -1
		}
	}
	return out
}

// Aligned returns the table transposed to classes x clusters with the
// clusters reordered so that the cluster matched to TrueLabels[k] is column
// k (the diagonal then holds the correctly clustered samples), followed by
// any unmatched clusters. cols gives the predicted label of each column.
// This is the layout of a confusion-matrix heat map.
func (c *Confusion) Aligned() (counts [][]int, cols []int) {
	c.computeMatch()
	byClass := make([]int, len(c.TrueLabels))
	for k := range byClass {
		byClass[k] = -1
	}
	for r, k := range c.match {
		if k >= 0 {
			byClass[k] = r
		}
	}
	var order []int
	for _, r := range byClass {
		if r >= 0 {
			order = append(order, r)
		}
	}
	for r, k := range c.match {
		if k < 0 {
			order = append(order, r)
		}
	}
	counts = make([][]int, len(c.TrueLabels))
	for k := range counts {
		counts[k] = make([]int, len(order))
		for j, r := range order {
			counts[k][j] = c.Counts[r][k]
		}
	}
	for _, r := range order {
		cols = append(cols, c.PredLabels[r])
	}
	return counts, cols
}

func (c *Confusion) rowSums() []float64 {
	s := make([]float64, len(c.Counts))
	for i, row := range c.Counts {
		for _, v := range row {
			s[i] += float64(v)
		}
	}
	return s
}

func (c *Confusion) colSums() []float64 {
	s := make([]float64, len(c.TrueLabels))
	for _, row := range c.Counts {
		for j, v := range row {
			s[j] += float64(v)
		}
	}
	return s
}

// entropyOf is scikit-learn's entropy of a labelling given its cluster
// sizes, in nats.
func entropyOf(sizes []float64) float64 {
	if len(sizes) <= 1 {
		return 0
	}
	var sum float64
	for _, s := range sizes {
		sum += s
	}
	ls := math.Log(sum)
	var h float64
	for _, s := range sizes {
		h -= s / sum * (math.Log(s) - ls)
	}
	return h
}

// Entropies returns H(true labels) and H(predicted labels) in nats.
func (c *Confusion) Entropies() (hTrue, hPred float64) {
	return entropyOf(c.colSums()), entropyOf(c.rowSums())
}

// MutualInfo returns the mutual information between the two labellings in
// nats, computed term by term as scikit-learn's mutual_info_score does.
func (c *Confusion) MutualInfo() float64 {
	pi, pj := c.rowSums(), c.colSums()
	if len(pi) == 1 || len(pj) == 1 {
		return 0
	}
	n := float64(c.N)
	logN := math.Log(n)
	var mi float64
	for i, row := range c.Counts {
		for j, v := range row {
			if v == 0 {
				continue
			}
			nm := float64(v) / n
			logOuter := -math.Log(pi[i]*pj[j]) + logN + logN
			term := nm*(math.Log(float64(v))-logN) + nm*logOuter
			if math.Abs(term) < 0x1p-52 {
				term = 0
			}
			mi += term
		}
	}
	return math.Max(mi, 0)
}

// singleEqual reports scikit-learn's special case: both labellings have a
// single (and so identical) cluster, a perfect match.
func (c *Confusion) singleEqual() bool {
	return len(c.PredLabels) == 1 && len(c.TrueLabels) == 1
}

// NMI is the normalised mutual information MI / mean(H(true), H(pred)) with
// the given mean. Like scikit-learn it is 1 when both labellings have one
// cluster and 0 when the mutual information is 0.
func (c *Confusion) NMI(avg NMIAverage) float64 {
	if c.singleEqual() {
		return 1
	}
	mi := c.MutualInfo()
	if mi == 0 {
		return 0
	}
	ht, hp := c.Entropies()
	return mi / avg.mean(ht, hp)
}

// ExpectedMutualInfo is the expected mutual information of two random
// labellings with the same cluster sizes (the hypergeometric model of Vinh,
// Epps and Bailey 2010), as in scikit-learn's expected_mutual_information.
func (c *Confusion) ExpectedMutualInfo() float64 {
	a, b := c.rowSums(), c.colSums()
	n := float64(c.N)
	lgam := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	glnN := lgam(n + 1)
	var emi float64
	for _, ai := range a {
		glnA, glnNA := lgam(ai+1), lgam(n-ai+1)
		for _, bj := range b {
			glnB, glnNB := lgam(bj+1), lgam(n-bj+1)
			lo := math.Max(1, ai+bj-n)
			hi := math.Min(ai, bj)
			for nij := lo; nij <= hi; nij++ {
				term2 := math.Log(n) + math.Log(nij) - math.Log(ai) - math.Log(bj)
				gln := glnA + glnB + glnNA + glnNB - glnN - lgam(nij+1) -
					lgam(ai-nij+1) - lgam(bj-nij+1) - lgam(n-ai-bj+nij+1)
				emi += nij / n * term2 * math.Exp(gln)
			}
		}
	}
	return emi
}

// AMI is the adjusted mutual information (MI - E[MI]) / (mean(H) - E[MI])
// with the given mean, following scikit-learn's edge-case conventions.
func (c *Confusion) AMI(avg NMIAverage) float64 {
	if c.singleEqual() {
		return 1
	}
	mi := c.MutualInfo()
	emi := c.ExpectedMutualInfo()
	ht, hp := c.Entropies()
	den := avg.mean(ht, hp) - emi
	const eps = 0x1p-52
	if den < 0 {
		den = math.Min(den, -eps)
	} else {
		den = math.Max(den, eps)
	}
	return (mi - emi) / den
}

// ARI is the adjusted Rand index, computed from the pair confusion matrix
// like scikit-learn's adjusted_rand_score: 1 for identical partitions
// (including the degenerate cases), about 0 for random ones, and possibly
// negative.
func (c *Confusion) ARI() float64 {
	var sumSq, rowDot, colDot int64
	pi, pj := c.rowSums(), c.colSums()
	for i, row := range c.Counts {
		for j, v := range row {
			x := int64(v)
			sumSq += x * x
			rowDot += x * int64(pj[j])
			colDot += x * int64(pi[i])
		}
	}
	n := int64(c.N)
	tp := sumSq - n
	fp := colDot - sumSq // same predicted cluster, different class
	fn := rowDot - sumSq // same class, different predicted cluster
	tn := n*n - fp - fn - sumSq
	if fn == 0 && fp == 0 {
		return 1
	}
	ftp, ffp, ffn, ftn := float64(tp), float64(fp), float64(fn), float64(tn)
	return 2 * (ftp*ftn - ffn*ffp) / ((ftp+ffn)*(ffn+ftn) + (ftp+ffp)*(ffp+ftn))
}

// Scores holds the clustering metrics of one evaluation. NMI is the
// arithmetic-mean NMI (scikit-learn's current default); the other
// normalisations are reported alongside because published numbers use
// either.
type Scores struct {
	N            int     `json:"n"`
	ACC          float64 `json:"acc"`
	NMI          float64 `json:"nmi"`
	NMIGeometric float64 `json:"nmi_geometric"`
	NMIMin       float64 `json:"nmi_min"`
	NMIMax       float64 `json:"nmi_max"`
	AMI          float64 `json:"ami"`
	ARI          float64 `json:"ari"`
}

// Scores computes every metric of the table.
func (c *Confusion) Scores() Scores {
	return Scores{
		N:            c.N,
		ACC:          c.Accuracy(),
		NMI:          c.NMI(NMIArithmetic),
		NMIGeometric: c.NMI(NMIGeometric),
		NMIMin:       c.NMI(NMIMin),
		NMIMax:       c.NMI(NMIMax),
		AMI:          c.AMI(NMIArithmetic),
		ARI:          c.ARI(),
	}
}

// String formats the scores on one line.
func (s Scores) String() string {
	return fmt.Sprintf("ACC %.4f  NMI %.4f (geometric %.4f)  ARI %.4f  AMI %.4f  n=%d",
		s.ACC, s.NMI, s.NMIGeometric, s.ARI, s.AMI, s.N)
}

// Evaluate scores the cluster assignments yPred against the true labels
// yTrue: ACC (Hungarian), NMI (all four normalisations), AMI and ARI.
func Evaluate(yTrue, yPred []int) (Scores, error) {
	c, err := NewConfusion(yTrue, yPred)
	if err != nil {
		return Scores{}, err
	}
	return c.Scores(), nil
}
