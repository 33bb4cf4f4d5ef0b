package icbpc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// PEDCCMethod selects how NewPEDCC places the centroids.
type PEDCCMethod int

const (
	// PEDCCRepulsion runs the authors' physics-style repulsion iteration
	// (icbpc-reference.md §2.1): random unit vectors pushed apart by a
	// Coulomb-like tangential force for a fixed number of iterations.
	PEDCCRepulsion PEDCCMethod = iota
	// PEDCCSimplex builds the regular simplex in closed form and rotates it
	// into R^d with a random orthonormal map, so every pairwise cosine is
	// exactly -1/(C-1) up to rounding.
	PEDCCSimplex
)

// String returns "repulsion" or "simplex".
func (m PEDCCMethod) String() string {
	switch m {
	case PEDCCRepulsion:
		return "repulsion"
	case PEDCCSimplex:
		return "simplex"
	}
	return fmt.Sprintf("PEDCCMethod(%d)", int(m))
}

// ParsePEDCCMethod parses "repulsion" or "simplex".
func ParsePEDCCMethod(s string) (PEDCCMethod, error) {
	switch s {
	case "repulsion":
		return PEDCCRepulsion, nil
	case "simplex":
		return PEDCCSimplex, nil
	}
	return 0, fmt.Errorf("pedcc: unknown method %q (want repulsion or simplex)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (m PEDCCMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *PEDCCMethod) UnmarshalText(b []byte) error {
	v, err := ParsePEDCCMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// DefaultPEDCCIterations is the authors' fixed iteration count.
const DefaultPEDCCIterations = 200

const (
	pedccG       = 0.01 // step size G of the repulsion
	pedccMinDist = 0.01 // lower clamp of the pairwise distance L
	pedccStream  = 0x9e3779b97f4a7c15
)

// PEDCCOptions configures NewPEDCC. The zero value is the authors' repulsion
// with 200 iterations and seed 0.
type PEDCCOptions struct {
	Method     PEDCCMethod `json:"method"`
	Iterations int         `json:"iterations"` // repulsion only; 0 means DefaultPEDCCIterations
	Seed       uint64      `json:"seed"`
}

// Centroids is a Classes x Dim matrix of class centroids stored row-major in
// Data. Rows produced by this package have unit L2 norm.
type Centroids struct {
	Classes int       `json:"classes"`
	Dim     int       `json:"dim"`
	Data    []float64 `json:"data"`
}

// Row returns row i (a view into Data).
func (c *Centroids) Row(i int) []float64 { return c.Data[i*c.Dim : (i+1)*c.Dim] }

// Float32 returns a float32 copy of Data (row-major Classes x Dim), the form
// the tensor engine uses for the MMD target and the frozen head.
func (c *Centroids) Float32() []float32 {
	out := make([]float32, len(c.Data))
	for i, v := range c.Data {
		out[i] = float32(v)
	}
	return out
}

// Clone returns a deep copy.
func (c *Centroids) Clone() *Centroids {
	return &Centroids{Classes: c.Classes, Dim: c.Dim, Data: append([]float64(nil), c.Data...)}
}

// Cosine returns the cosine of the angle between rows i and j.
func (c *Centroids) Cosine(i, j int) float64 {
	a, b := c.Row(i), c.Row(j)
	var dot, na, nb float64
	for k := range a {
		dot += a[k] * b[k]
		na += a[k] * a[k]
		nb += b[k] * b[k]
	}
	return dot / math.Sqrt(na*nb)
}

// MaxCosineError returns the largest |cos(r_i, r_j) + 1/(C-1)| over all
// pairs i != j: how far the centroids are from the regular simplex.
func (c *Centroids) MaxCosineError() float64 {
	if c.Classes < 2 {
		return 0
	}
	target := -1 / float64(c.Classes-1)
	worst := 0.0
	for i := 0; i < c.Classes; i++ {
		for j := i + 1; j < c.Classes; j++ {
			worst = math.Max(worst, math.Abs(c.Cosine(i, j)-target))
		}
	}
	return worst
}

// Validate checks the shape, that every value is finite and every row has
// a non-zero norm.
func (c *Centroids) Validate() error {
	if c.Classes < 1 || c.Dim < 1 || len(c.Data) != c.Classes*c.Dim {
		return fmt.Errorf("pedcc: bad centroid matrix: %d classes x %d dims with %d values", c.Classes, c.Dim, len(c.Data))
	}
	for i := 0; i < c.Classes; i++ {
		var n float64
		for _, v := range c.Row(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("pedcc: centroid %d has a non-finite value", i)
			}
			n += v * v
		}
		if n == 0 {
			return fmt.Errorf("pedcc: centroid %d is the zero vector", i)
		}
	}
	return nil
}

func checkPEDCCShape(classes, dim int) error {
	switch {
	case classes < 2:
		return fmt.Errorf("pedcc: need at least 2 classes, got %d", classes)
	case dim < 1:
		return fmt.Errorf("pedcc: need a positive dimension, got %d", dim)
	case classes > dim+1:
		return fmt.Errorf("pedcc: %d classes cannot be evenly distributed in %d dimensions: need classes <= dim+1 (use a latent dimension of at least %d)", classes, dim, classes-1)
	}
	return nil
}

// NewPEDCC returns classes unit-norm centroids in R^dim, evenly distributed
// on the sphere (pairwise cosines close to -1/(classes-1)). It fails when
// classes > dim+1, where no such configuration exists, or classes < 2.
func NewPEDCC(classes, dim int, opt PEDCCOptions) (*Centroids, error) {
	if err := checkPEDCCShape(classes, dim); err != nil {
		return nil, err
	}
	switch opt.Method {
	case PEDCCRepulsion:
		it := opt.Iterations
		if it == 0 {
			it = DefaultPEDCCIterations
		}
		if it < 0 {
			return nil, fmt.Errorf("pedcc: negative iteration count %d", it)
		}
		return RepulsePEDCC(RandomUnitRows(classes, dim, opt.Seed), it), nil
	case PEDCCSimplex:
		return SimplexPEDCC(classes, dim, opt.Seed)
	}
	return nil, fmt.Errorf("pedcc: unknown method %v", opt.Method)
}

// RandomUnitRows draws classes vectors from N(0, I_dim) with a PCG generator
// seeded by seed and normalises each to unit length: the starting point of
// the repulsion.
func RandomUnitRows(classes, dim int, seed uint64) *Centroids {
	rng := rand.New(rand.NewPCG(seed, pedccStream))
	c := &Centroids{Classes: classes, Dim: dim, Data: make([]float64, classes*dim)}
	for i := range c.Data {
		c.Data[i] = rng.NormFloat64()
	}
	for i := 0; i < classes; i++ {
		normalize(c.Row(i))
	}
	return c
}

func normalize(v []float64) {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	if n == 0 {
		return
	}
	for i := range v {
		v[i] /= n
	}
}

// RepulsePEDCC runs the authors' repulsion (PEDCC.py, icbpc-reference.md
// §2.1) for the given number of iterations, starting from the rows of start
// (normalised first; start itself is not modified). Every iteration, with
// all quantities taken at the positions r from the start of the iteration:
//
//	Δ_mn = r_m - r_n,  L_mn = max(‖Δ_mn‖, 0.01)
//	F_m  = Σ_n Δ_mn / L_mn³
//	F_mᵗ = F_m - (F_m·r_m) r_m              (tangential part)
//	r_m ← (r_m + v_m) / ‖r_m + v_m‖          (with the OLD velocity)
//	v_m ← v_m + G F_mᵗ,  G = 0.01            (no damping)
//
// Velocities start at zero, so the first iteration leaves r unchanged.
func RepulsePEDCC(start *Centroids, iterations int) *Centroids {
	n, d := start.Classes, start.Dim
	r := start.Clone()
	for i := 0; i < n; i++ {
		normalize(r.Row(i))
	}
	v := make([]float64, n*d)
	f := make([]float64, d)
	ft := make([]float64, n*d)
	for it := 0; it < iterations; it++ {
		// Forces from the current positions.
		for m := 0; m < n; m++ {
			clear(f)
			rm := r.Row(m)
			for k := 0; k < n; k++ {
				rk := r.Row(k)
				var l2 float64
				for j := 0; j < d; j++ {
					dj := rm[j] - rk[j]
					l2 += dj * dj
				}
				l := math.Max(math.Sqrt(l2), pedccMinDist)
				inv := 1 / (l * l * l)
				for j := 0; j < d; j++ {
					f[j] += (rm[j] - rk[j]) * inv
				}
			}
			var radial float64
			for j := 0; j < d; j++ {
				radial += f[j] * rm[j]
			}
			for j := 0; j < d; j++ {
				ft[m*d+j] = f[j] - radial*rm[j]
			}
		}
		// Positions with the old velocity, then the velocity update.
		for m := 0; m < n; m++ {
			rm := r.Row(m)
			for j := 0; j < d; j++ {
				rm[j] += v[m*d+j]
			}
			normalize(rm)
		}
		for i := range v {
			v[i] += pedccG * ft[i]
		}
	}
	return r
}

// SimplexPEDCC returns the regular simplex in closed form: the rows of
// I_C - 11ᵀ/C, normalised, expressed in an orthonormal basis of the
// (C-1)-dimensional subspace orthogonal to 1 and mapped into R^dim by a
// random dim x (C-1) matrix with orthonormal columns drawn from seed. Every
// pairwise cosine is -1/(C-1) up to rounding. The result equals the
// repulsion's limit up to a rotation.
func SimplexPEDCC(classes, dim int, seed uint64) (*Centroids, error) {
	if err := checkPEDCCShape(classes, dim); err != nil {
		return nil, err
	}
	c := classes
	// Householder reflection H = I - 2wwᵀ mapping 1/√C onto e_{C-1}. Rows
	// of H(I - 11ᵀ/C) have a zero last coordinate, so the first C-1
	// coordinates give the simplex in R^{C-1}.
	w := make([]float64, c)
	for i := range w {
		w[i] = 1 / math.Sqrt(float64(c))
	}
	w[c-1] -= 1
	normalize(w)
	k := c - 1
	simplex := make([]float64, c*k)
	u := make([]float64, c)
	for i := 0; i < c; i++ {
		for j := range u {
			u[j] = -1 / float64(c)
		}
		u[i] += 1
		var dot float64
		for j := range u {
			dot += w[j] * u[j]
		}
		for j := range u {
			u[j] -= 2 * dot * w[j]
		}
		copy(simplex[i*k:(i+1)*k], u[:k])
		normalize(simplex[i*k : (i+1)*k])
	}
	q, err := randomOrthonormal(dim, k, seed)
	if err != nil {
		return nil, err
	}
	out := &Centroids{Classes: c, Dim: dim, Data: make([]float64, c*dim)}
	for i := 0; i < c; i++ {
		row := out.Row(i)
		for a := 0; a < dim; a++ {
			var s float64
			for b := 0; b < k; b++ {
				s += q[a*k+b] * simplex[i*k+b]
			}
			row[a] = s
		}
		normalize(row)
	}
	return out, nil
}

// randomOrthonormal returns a rows x cols (rows >= cols) row-major matrix
// with orthonormal columns: Gaussian entries orthonormalised by modified
// Gram-Schmidt, applied twice for stability.
func randomOrthonormal(rows, cols int, seed uint64) ([]float64, error) {
	rng := rand.New(rand.NewPCG(seed, pedccStream^0xabcdef))
	q := make([]float64, rows*cols)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	for pass := 0; pass < 2; pass++ {
		for j := 0; j < cols; j++ {
			for p := 0; p < j; p++ {
				var dot float64
				for i := 0; i < rows; i++ {
					dot += q[i*cols+j] * q[i*cols+p]
				}
				for i := 0; i < rows; i++ {
					q[i*cols+j] -= dot * q[i*cols+p]
				}
			}
			var n float64
			for i := 0; i < rows; i++ {
				n += q[i*cols+j] * q[i*cols+j]
			}
			n = math.Sqrt(n)
			if n < 1e-12 {
				return nil, errors.New("pedcc: degenerate random basis (try another seed)")
			}
			for i := 0; i < rows; i++ {
				q[i*cols+j] /= n
			}
		}
	}
	return q, nil
}
