package tensor_test

import (
	"slices"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

// poolRecorder is a CPU backend that implements tensor.Pooler and records
// the pool of every allocation.
type poolRecorder struct {
	tensor.Backend
	cur    tensor.Pool
	allocs []tensor.Pool
}

func (r *poolRecorder) SetPool(p tensor.Pool) tensor.Pool {
	prev := r.cur
	r.cur = p
	return prev
}

func (r *poolRecorder) Alloc(n int, dt tensor.DType) (tensor.Buffer, error) {
	r.allocs = append(r.allocs, r.cur)
	return r.Backend.Alloc(n, dt)
}

// TestPersistent checks that Persistent selects the persistent pool for the
// allocations inside it, nests, and restores the previous pool afterwards,
// also after a panic.
func TestPersistent(t *testing.T) {
	tests := []struct {
		name string
		run  func(b tensor.Backend)
		want []tensor.Pool
	}{
		{"outside", func(b tensor.Backend) { tensor.Zeros(b, 2) }, []tensor.Pool{tensor.PoolStep}},
		{"inside", func(b tensor.Backend) {
			tensor.Persistent(b, func() { tensor.Zeros(b, 2) })
			tensor.Zeros(b, 2)
		}, []tensor.Pool{tensor.PoolPersistent, tensor.PoolStep}},
		{"nested", func(b tensor.Backend) {
			tensor.Persistent(b, func() {
				tensor.Persistent(b, func() { tensor.Zeros(b, 2) })
				tensor.Ones(b, 2) // still persistent after the inner call
			})
			tensor.Zeros(b, 2)
		}, []tensor.Pool{tensor.PoolPersistent, tensor.PoolPersistent, tensor.PoolStep}},
		{"panic", func(b tensor.Backend) {
			err := tensor.Try(func() {
				tensor.Persistent(b, func() { tensor.Zeros(b, 0) }) // zero-size: OpError
			})
			if err == nil {
				panic("tensor.Zeros(b, 0) did not fail")
			}
			tensor.Zeros(b, 2)
		}, []tensor.Pool{tensor.PoolStep}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &poolRecorder{Backend: backend(t)}
			tc.run(r)
			if !slices.Equal(r.allocs, tc.want) {
				t.Errorf("allocation pools %v, want %v", r.allocs, tc.want)
			}
			if r.cur != tensor.PoolStep {
				t.Errorf("pool left at %v", r.cur)
			}
		})
	}
}

// TestPersistentWithoutPooler checks that Persistent just runs fn on a
// backend without pools (the CPU backend) and the tensors work as usual.
func TestPersistentWithoutPooler(t *testing.T) {
	b := backend(t)
	if _, ok := b.(tensor.Pooler); ok {
		t.Fatal("the CPU backend implements tensor.Pooler; this test needs one that does not")
	}
	var x *tensor.Tensor
	tensor.Persistent(b, func() { x = tensor.FromSlice(b, []float32{1, 2, 3}) })
	if got := tensor.AddScalar(x, 1).Float32s(); !slices.Equal(got, []float32{2, 3, 4}) {
		t.Errorf("got %v, want [2 3 4]", got)
	}
}

func TestPoolString(t *testing.T) {
	for p, want := range map[tensor.Pool]string{tensor.PoolStep: "step", tensor.PoolPersistent: "persistent", 7: "Pool(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Pool(%d).String() = %q, want %q", uint8(p), got, want)
		}
	}
}
