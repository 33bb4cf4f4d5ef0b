package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
	chunks = (n + size - 1) / size
	if team.run(w, n, size, chunks, fn) {
		return
	}
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

// team is a set of long-lived helper goroutines that parallelFor hands its
// chunks to. Starting goroutines for every call costs little, but waking
// the OS threads that run them takes some 10-30 µs, comparable with the
// parallel phases of a convolution chunk; helpers that have just finished a
// job instead spin for a short while on the next one, and only then sleep.
var team = &helperTeam{wake: make(chan struct{}, maxHelpers)}

// maxHelpers bounds the team; more workers than that fall back to
// goroutines per call.
const maxHelpers = 255

// teamSpin is how long an idle helper (or a caller waiting for helpers)
// spins before it sleeps: long enough to bridge the phases of an op, short
// enough that a spinning thread steals little from the others when the
// machine has fewer free cores than workers.
const teamSpin = 20 * time.Microsecond

type helperTeam struct {
	busy    atomic.Bool // a caller owns the team (and may start helpers)
	helpers int         // helper goroutines started; guarded by busy
	job     atomic.Pointer[teamJob]
	wake    chan struct{} // tokens for sleeping helpers
}

type teamJob struct {
	fn           func(lo, hi int)
	n, size      int
	chunks       int64
	next, left   atomic.Int64  // next chunk to claim, chunks not yet finished
	helpersAllow atomic.Int64  // helper slots left (a call uses w-1 helpers)
	done         chan struct{} // closed when left reaches 0
}

// run hands n items in chunks of size to the caller and w-1 helpers and
// returns when all are done; false (nothing run) when the team is owned by
// another caller (a concurrent or nested parallelFor) or w-1 > maxHelpers.
func (t *helperTeam) run(w, n, size, chunks int, fn func(lo, hi int)) bool {
	if w-1 > maxHelpers || !t.busy.CompareAndSwap(false, true) {
		return false
	}
	for t.helpers < w-1 {
		t.helpers++
		go t.helper()
	}
	j := &teamJob{fn: fn, n: n, size: size, chunks: int64(chunks), done: make(chan struct{})}
	j.left.Store(int64(chunks))
	j.helpersAllow.Store(int64(w - 1))
	t.job.Store(j)
	for range w - 1 {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	j.work()
	for start := time.Now(); j.left.Load() > 0; {
		if time.Since(start) > teamSpin {
			<-j.done
			break
		}
	}
	t.job.Store(nil)
	t.busy.Store(false)
	return true
}

// work claims and runs chunks of j until none are left.
func (j *teamJob) work() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.size
		j.fn(lo, min(lo+j.size, j.n))
		if j.left.Add(-1) == 0 {
			close(j.done)
		}
	}
}

// helper runs the chunks of each job it sees, spinning for teamSpin after a
// job before it sleeps until woken.
func (t *helperTeam) helper() {
	var last *teamJob
	for {
		j := t.job.Load()
		if j == nil || j == last {
			start := time.Now()
			for {
				if j = t.job.Load(); j != nil && j != last {
					break
				}
				if time.Since(start) > teamSpin {
					<-t.wake
					start = time.Now()
				}
				runtime.Gosched() // let other goroutines have this P
			}
		}
		last = j
		if j.helpersAllow.Add(-1) >= 0 {
			j.work()
		}
	}
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
