package cpu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelFor checks that parallelFor runs every index exactly once, for
// sizes around the chunking and worker counts from 1 to more than the
// machine has, from several goroutines at once (the helper team serves one
// caller, the others start goroutines) and with a parallelFor nested inside
// another.
func TestParallelFor(t *testing.T) {
	check := func(t *testing.T, b *Backend, n, grain int, nested bool) {
		hits := make([]atomic.Int32, n)
		b.parallelFor(n, grain, func(lo, hi int) {
			if lo < 0 || hi > n || lo >= hi {
				t.Errorf("chunk [%d, %d) of %d", lo, hi, n)
				return
			}
			if nested {
				b.parallelFor(hi-lo, 1, func(l2, h2 int) {
					for i := lo + l2; i < lo+h2; i++ {
						hits[i].Add(1)
					}
				})
				return
			}
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Errorf("index %d of %d ran %d times", i, n, h)
				return
			}
		}
	}
	for _, workers := range []int{1, 2, 3, 8} {
		for _, n := range []int{1, 2, 7, 64, 1000} {
			for _, grain := range []int{1, 5, 1000} {
				t.Run(fmt.Sprintf("w%d_n%d_g%d", workers, n, grain), func(t *testing.T) {
					b := &Backend{workers: workers, kern: goKernel}
					check(t, b, n, grain, false)
					check(t, b, n, grain, true)
				})
			}
		}
	}
	t.Run("concurrent", func(t *testing.T) {
		b := &Backend{workers: 3, kern: goKernel}
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range 50 {
					check(t, b, 100+g*7+r, 1+r%4, r%5 == 0)
				}
			}()
		}
		wg.Wait()
	})
}
