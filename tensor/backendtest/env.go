package backendtest

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/vkgrad/vkgrad/tensor"
)

// Env builds a case's inputs on one backend. Its random stream is seeded
// from the case name, so the same case sees the same values on every
// backend.
type Env struct {
	B   tensor.Backend
	rng *rand.Rand
}

// NewEnv returns an Env for backend b seeded by name.
func NewEnv(b tensor.Backend, name string) *Env {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &Env{B: b, rng: rand.New(rand.NewPCG(h.Sum64(), 0x5eed))}
}

// Randn returns standard normal values.
func (e *Env) Randn(shape ...int) *tensor.Tensor {
	d := make([]float32, tensor.Numel(shape))
	for i := range d {
		d[i] = float32(e.rng.NormFloat64())
	}
	return tensor.FromSlice(e.B, d, shape...)
}

// Uniform returns values uniform in [lo, hi).
func (e *Env) Uniform(lo, hi float32, shape ...int) *tensor.Tensor {
	d := make([]float32, tensor.Numel(shape))
	for i := range d {
		d[i] = lo + (hi-lo)*e.rng.Float32()
	}
	return tensor.FromSlice(e.B, d, shape...)
}

// Steps returns values drawn from {-2, -1.5, ..., 2}, so that comparisons
// and maxima meet ties.
func (e *Env) Steps(shape ...int) *tensor.Tensor {
	d := make([]float32, tensor.Numel(shape))
	for i := range d {
		d[i] = float32(e.rng.IntN(9))/2 - 2
	}
	return tensor.FromSlice(e.B, d, shape...)
}

// Indices returns k int32 indices in [0, n).
func (e *Env) Indices(k, n int) *tensor.Tensor {
	d := make([]int32, k)
	for i := range d {
		d[i] = int32(e.rng.IntN(n))
	}
	return tensor.FromInt32(e.B, d)
}

// Special returns a [2, 8] tensor of edge values: ±0, ±Inf, tiny and huge
// magnitudes, for ops that must keep infinities.
func (e *Env) Special() *tensor.Tensor {
	inf := float32(math.Inf(1))
	return tensor.FromSlice(e.B, []float32{
		0, float32(math.Copysign(0, -1)), inf, -inf, 1e-30, -1e-30, 3e38, -3e38,
		1, -1, 0.5, -0.5, 2, -2, 100, -100,
	}, 2, 8)
}
