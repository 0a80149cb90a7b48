// Package parallel runs loops over a fixed set of worker goroutines.
//
// A Pool is created once and reused for every loop, so that a training step
// in steady state starts no goroutines and allocates nothing. Workers that
// have just finished a loop spin for a short while before they sleep:
// training calls For thousands of times a second with chunks of a few
// hundred microseconds, and waking a sleeping goroutine costs tens of
// microseconds, which is what OpenBLAS's spinning threads avoid too.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Func is the body of a parallel loop: it handles items [lo, hi) on the
// worker numbered w (0 <= w < Pool.Workers()). Hot paths should pass a
// method value built once, not a fresh closure, since a closure that is
// handed to another goroutine escapes to the heap on every call.
type Func func(w, lo, hi int)

// How long an idle worker polls for new work, and a caller for its
// workers to finish, before sleeping: long enough to bridge the gaps
// between the back-to-back loops of a training step (waking a sleeper costs
// tens of microseconds), bounded so that a machine shared with other
// processes does not lose its CPUs to spinning.
const (
	workerSpin = 200 * time.Microsecond
	callerSpin = 2 * time.Millisecond
)

type worker struct {
	seq    atomic.Uint64 // bumped by For when a job is posted
	sleepy atomic.Bool   // the worker is (about to be) blocked on wake
	wake   chan struct{}
	fn     Func
	lo, hi int
	_      [64]byte // keep workers on separate cache lines
}

// Pool is a fixed set of workers. The zero value is not usable; call New.
// For may be called from several goroutines (calls are serialised) but not
// from inside a Func running on the same Pool.
type Pool struct {
	n       int
	workers []*worker
	mu      sync.Mutex
	closed  atomic.Bool
	once    sync.Once
	// pending counts the workers still running the current loop; the
	// last one to finish wakes the caller if it went to sleep.
	pending  atomic.Int32
	sleeping atomic.Bool
	wake     chan struct{}
}

// New returns a pool of n workers; n <= 0 means runtime.GOMAXPROCS(0).
// Worker 0 is the calling goroutine, so New starts n-1 goroutines.
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n, workers: make([]*worker, n), wake: make(chan struct{}, 1)}
	for i := 1; i < n; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers[i] = w
		go p.loop(i, w)
	}
	return p
}

func (p *Pool) loop(id int, w *worker) {
	var seen uint64
	for {
		// Poll for the next job, then sleep until woken.
		deadline := time.Now().Add(workerSpin)
		for spins := 0; w.seq.Load() == seen; spins++ {
			if p.closed.Load() {
				return
			}
			if spins&63 == 63 {
				if time.Now().After(deadline) {
					w.sleepy.Store(true)
					if w.seq.Load() == seen && !p.closed.Load() {
						<-w.wake
					}
					w.sleepy.Store(false)
					deadline = time.Now().Add(workerSpin)
				} else {
					runtime.Gosched()
				}
			}
		}
		seen = w.seq.Load()
		w.fn(id, w.lo, w.hi)
		w.fn = nil
		if p.pending.Add(-1) == 0 && p.sleeping.Load() {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Workers reports the number of workers, the caller included.
func (p *Pool) Workers() int { return p.n }

// Close stops the worker goroutines. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.once.Do(func() {
		p.closed.Store(true)
		for _, w := range p.workers[1:] {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	})
}

// For splits [0, n) into at most Workers() contiguous chunks whose bounds
// are multiples of grain (except the last) and runs fn on each in parallel.
// Ranges smaller than 2*grain run on the caller alone.
func (p *Pool) For(n, grain int, fn Func) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	units := (n + grain - 1) / grain
	nw := min(p.n, units)
	if nw <= 1 {
		fn(0, 0, n)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending.Store(int32(nw - 1))
	for i := 1; i < nw; i++ {
		w := p.workers[i]
		w.fn, w.lo, w.hi = fn, units*i/nw*grain, min(units*(i+1)/nw*grain, n)
		w.seq.Add(1)
		if w.sleepy.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	fn(0, 0, min(units/nw*grain, n))
	// Wait for the workers: poll for a while, then sleep until the last
	// one wakes us. A stale wake-up from an earlier loop only costs one
	// more look at pending.
	deadline := time.Time{}
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins&63 != 63 {
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(callerSpin)
		}
		if time.Now().Before(deadline) {
			runtime.Gosched()
			continue
		}
		p.sleeping.Store(true)
		if p.pending.Load() != 0 {
			<-p.wake
		}
		p.sleeping.Store(false)
	}
}
