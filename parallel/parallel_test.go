package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	p := New(3)
	defer p.Close()
	for _, tc := range []struct{ n, grain int }{
		{0, 1}, {1, 1}, {2, 1}, {7, 1}, {100, 8}, {101, 8}, {5, 10}, {64, 32}, {1000, 3},
	} {
		hits := make([]int32, tc.n)
		var maxW atomic.Int32
		p.For(tc.n, tc.grain, func(w, lo, hi int) {
			if int32(w) > maxW.Load() {
				maxW.Store(int32(w))
			}
			if lo%tc.grain != 0 {
				t.Errorf("n=%d grain=%d: chunk starts at %d", tc.n, tc.grain, lo)
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, h)
			}
		}
		if int(maxW.Load()) >= p.Workers() {
			t.Fatalf("worker index %d out of range", maxW.Load())
		}
	}
}

type counter struct{ sum []int64 }

func (c *counter) body(w, lo, hi int) {
	for i := lo; i < hi; i++ {
		c.sum[w] += int64(i)
	}
}

func TestForAllocatesNothing(t *testing.T) {
	p := New(2)
	defer p.Close()
	c := &counter{sum: make([]int64, 2)}
	fn := c.body
	allocs := testing.AllocsPerRun(100, func() { p.For(1000, 1, fn) })
	if allocs != 0 {
		t.Fatalf("For allocated %v times per call, want 0", allocs)
	}
}
