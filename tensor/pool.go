package tensor

import "fmt"

// Pool is the lifetime class of an allocation. Device backends keep the
// classes in separate memory so that short-lived buffers, allocated and
// freed every training step, cannot fragment or pin the memory of buffers
// that live for the whole run.
type Pool uint8

const (
	// PoolStep is the default: activations, gradients and temporaries that
	// are freed within a step or two.
	PoolStep Pool = iota
	// PoolPersistent holds buffers that live for the whole run: parameters,
	// optimizer state and batch-norm running statistics.
	PoolPersistent
)

func (p Pool) String() string {
	switch p {
	case PoolStep:
		return "step"
	case PoolPersistent:
		return "persistent"
	}
	return fmt.Sprintf("Pool(%d)", uint8(p))
}

// Pooler is implemented by backends that keep separate memory pools. It is
// optional: backends without it (the CPU backend) allocate every buffer the
// same way. Use Persistent rather than calling SetPool directly.
type Pooler interface {
	// SetPool makes later allocations come from pool p and returns the
	// pool that was selected before.
	SetPool(p Pool) Pool
}

// Persistent runs fn with every allocation on b taken from the persistent
// pool (see PoolPersistent), then restores the previous pool, also when fn
// panics. Calls nest. On a backend that does not implement Pooler it just
// runs fn. Wrap the creation of parameters and optimizer state in it:
//
//	tensor.Persistent(b, func() { w = tensor.RandUniform(b, rng, -k, k, out, in) })
//
// Like the backend itself, it is meant for one goroutine at a time: the
// selection applies to every allocation on b while fn runs.
func Persistent(b Backend, fn func()) {
	pb, ok := b.(Pooler)
	if !ok {
		fn()
		return
	}
	prev := pb.SetPool(PoolPersistent)
	defer pb.SetPool(prev)
	fn()
}
