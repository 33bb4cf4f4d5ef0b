package backendtest

import (
	"fmt"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// Case is one conformance case.
type Case struct {
	// Name identifies the case (and seeds its inputs).
	Name string
	// Op is the Backend method the case exercises, e.g. "Binary".
	Op string
	// Tol is the NMSE bound for float32 outputs (0: DefaultTol).
	Tol float64
	// Pairs says that the outputs come in pairs (x, y) that must agree on
	// the backend itself: y computes x another way (a dense copy of a
	// strided operand, an explicit transpose ...).
	Pairs bool
	// Run builds the inputs with e and returns the outputs to compare.
	Run func(e *Env) []*tensor.Tensor
}

func (c Case) tol() float64 {
	if c.Tol == 0 {
		return DefaultTol
	}
	return c.Tol
}

// Cases returns the whole op table.
func Cases() []Case {
	var cs []Case
	cs = append(cs, elementwiseCases()...)
	cs = append(cs, copyCases()...)
	cs = append(cs, reduceCases()...)
	cs = append(cs, matmulCases()...)
	cs = append(cs, convCases()...)
	cs = append(cs, poolCases()...)
	cs = append(cs, normCases()...)
	cs = append(cs, indexCases()...)
	cs = append(cs, optimCases()...)
	cs = append(cs, largeCases()...)
	return cs
}

// RunAll runs every case on b and on ref and compares them, then runs the
// guard-region checks on b.
func RunAll(t *testing.T, b, ref tensor.Backend) {
	t.Helper()
	t.Run("cases", func(t *testing.T) { RunCases(t, b, ref, Cases()) })
	t.Run("guards", func(t *testing.T) { RunGuards(t, b) })
}

// host holds one output read back from a backend.
type host struct {
	shape []int
	dt    tensor.DType
	f     []float32
	i     []int32
}

func readAll(b tensor.Backend, c Case) (outs []host, err error) {
	err = tensor.Try(func() {
		for _, o := range c.Run(NewEnv(b, c.Name)) {
			h := host{shape: o.Shape(), dt: o.DType()}
			if h.dt == tensor.Int32 {
				h.i = o.Int32s()
			} else {
				h.f = o.Float32s()
			}
			outs = append(outs, h)
		}
	})
	return outs, err
}

func compareHost(got, want host, tol float64) error {
	if fmt.Sprint(got.shape) != fmt.Sprint(want.shape) || got.dt != want.dt {
		return fmt.Errorf("got %s %v, want %s %v", got.dt, got.shape, want.dt, want.shape)
	}
	if got.dt == tensor.Int32 {
		return CompareInt32(got.i, want.i)
	}
	return Compare(got.f, want.f, tol)
}

// RunCases runs each case as a subtest on b and on ref and compares the
// outputs; cases with Pairs also compare their paired outputs on b.
func RunCases(t *testing.T, b, ref tensor.Backend, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, err := range checkCase(b, ref, c) {
				t.Error(err)
			}
		})
	}
}

// checkCase runs one case on b and ref and returns every mismatch.
func checkCase(b, ref tensor.Backend, c Case) []error {
	got, err := readAll(b, c)
	if err != nil {
		return []error{fmt.Errorf("%s on %s: %w", c.Op, b.Name(), err)}
	}
	var errs []error
	if c.Pairs {
		for i := 0; i+1 < len(got); i += 2 {
			if err := compareHost(got[i], got[i+1], c.tol()); err != nil {
				errs = append(errs, fmt.Errorf("output %d vs its dense recomputation on %s: %w", i/2, b.Name(), err))
			}
		}
	}
	want, err := readAll(ref, c)
	if err != nil {
		return append(errs, fmt.Errorf("%s on reference %s: %w", c.Op, ref.Name(), err))
	}
	if len(got) != len(want) {
		return append(errs, fmt.Errorf("%d outputs, reference has %d", len(got), len(want)))
	}
	for i := range want {
		if err := compareHost(got[i], want[i], c.tol()); err != nil {
			errs = append(errs, fmt.Errorf("output %d: %s vs %s: %w", i, b.Name(), ref.Name(), err))
		}
	}
	return errs
}
