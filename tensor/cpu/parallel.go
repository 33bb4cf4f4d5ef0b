package cpu

import (
	"sync"
	"sync/atomic"
)

// parallelFor splits [0, n) into chunks of at least grain items and runs fn
// on them across b.workers goroutines. Small ranges run on the caller.
func (b *Backend) parallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	w := min(b.workers, (n+grain-1)/grain)
	if w <= 1 {
		fn(0, n)
		return
	}
	// A few chunks per worker balance uneven work; each chunk stays >= grain.
	chunks := min(4*w, (n+grain-1)/grain)
	size := (n + chunks - 1) / chunks
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1)) - 1
				lo := c * size
				if lo >= n {
					return
				}
				fn(lo, min(lo+size, n))
			}
		}()
	}
	wg.Wait()
}

// parallelWorkers runs fn(w, lo, hi) for contiguous static ranges of [0, n),
// one per worker, so each worker can own private state indexed by w. It
// returns the number of workers used.
func (b *Backend) parallelWorkers(n int, fn func(w, lo, hi int)) int {
	if n <= 0 {
		return 0
	}
	w := min(b.workers, n)
	if w <= 1 {
		fn(0, 0, n)
		return 1
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, lo, hi)
		}()
	}
	wg.Wait()
	return w
}
