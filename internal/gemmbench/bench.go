// Package gemmbench measures SGEMM implementations on the matrix products
// of YOLOv8n's convolutions, the work that dominates training a detector
// on a CPU. It compares yolops' tensor/gemm with gonum's pure-Go Sgemm and,
// in builds with the openblas tag, OpenBLAS through cgo; the FLOP-weighted
// total over a forward pass is what the project's speed targets are judged
// on. Both `go run ./bench` and `yolops bench gemm` run it.
package gemmbench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config. A default run over the 32 shapes at 320 px takes
// about 40 s on 2 cores with all three backends, 27 s without OpenBLAS.
const (
	DefaultImgsz    = 320
	DefaultDuration = 200 * time.Millisecond
	DefaultRepeats  = 4
	// MaxThreads bounds the thread counts a run accepts.
	MaxThreads = 256
)

// Targets the project has set for yolops' FLOP-weighted GFLOPS at 2
// threads, relative to the other backends.
const (
	TargetThreads      = 2
	TargetOpenBLASRate = 0.60
	TargetGonumRate    = 5.0
)

// Config says what Run measures.
type Config struct {
	Imgsz   int   // image side: see CheckImgsz
	Threads []int // thread counts, each run in turn
	// Duration is the time spent on each shape per backend and thread
	// count: a fifth warms up, the rest is split evenly among Repeats
	// timed loops, of which the fastest counts.
	Duration time.Duration
	Repeats  int
	// Backends to compare; nil means Backends(). The first is the one the
	// ratios are taken of.
	Backends []Backend
	// Progress, if set, is called after each shape is measured on every
	// backend.
	Progress func(Progress)
}

// DefaultConfig is the configuration of a plain `go run ./bench`.
func DefaultConfig() Config {
	return Config{Imgsz: DefaultImgsz, Threads: []int{1, 2}, Duration: DefaultDuration, Repeats: DefaultRepeats}
}

// Progress reports one measured shape.
type Progress struct {
	Threads      int
	Index, Total int // Index counts from 1
	Shape        Shape
	Backends     []string           // in Config.Backends' order
	GFLOPS       map[string]float64 // by backend name
}

// String is a one-line summary, such as
// "threads=2  5/32 32x6400x48     x1  yolops 113.1  gonum 14.4 GFLOPS".
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "threads=%d %2d/%d %-14s x%-2d", p.Threads, p.Index, p.Total, p.Shape, p.Shape.Count())
	for _, n := range p.Backends {
		fmt.Fprintf(&b, " %s %6.1f", n, p.GFLOPS[n])
	}
	b.WriteString(" GFLOPS")
	return b.String()
}

// CheckThreads reports whether n is a usable thread count.
func CheckThreads(n int) error {
	if n < 1 || n > MaxThreads {
		return fmt.Errorf("thread count %d is out of range: it must be between 1 and %d", n, MaxThreads)
	}
	return nil
}

// ParseThreads parses a comma-separated list of thread counts such as
// "1,2", dropping repeats.
func ParseThreads(s string) ([]int, error) {
	var ts []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("thread count %q is not a whole number", f)
		}
		if err := CheckThreads(n); err != nil {
			return nil, err
		}
		if !slices.Contains(ts, n) {
			ts = append(ts, n)
		}
	}
	return ts, nil
}

// CheckDuration reports whether d is a usable time per shape.
func CheckDuration(d time.Duration) error {
	if d <= 0 || d > time.Minute {
		return fmt.Errorf("duration per shape %v is out of range: it must be above 0 and at most 1m", d)
	}
	return nil
}

// Validate reports the first setting Run cannot use.
func (c Config) Validate() error {
	if err := CheckImgsz(c.Imgsz); err != nil {
		return err
	}
	if len(c.Threads) == 0 {
		return fmt.Errorf("no thread counts given")
	}
	for _, t := range c.Threads {
		if err := CheckThreads(t); err != nil {
			return err
		}
	}
	if err := CheckDuration(c.Duration); err != nil {
		return err
	}
	if c.Repeats < 1 || c.Repeats > 100 {
		return fmt.Errorf("repeat count %d is out of range: it must be between 1 and 100", c.Repeats)
	}
	return nil
}

// Run measures every backend on every shape at every thread count. The
// backends take turns on each shape, so that a slow spell of the machine
// (a busy neighbour of the virtual machine, say) is shared between them
// rather than landing on one backend's whole run. Each backend's product is
// checked at sampled entries against a float64 sum, and a wrong one stops
// the run with an error; so does ctx being done.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gemmbench: %w", err)
	}
	backends := cfg.Backends
	if backends == nil {
		backends = Backends()
	}
	if len(backends) == 0 {
		return nil, fmt.Errorf("gemmbench: no backends")
	}
	shapes, err := Shapes(cfg.Imgsz)
	if err != nil {
		return nil, fmt.Errorf("gemmbench: %w", err)
	}
	rep := &Report{
		Machine:  DescribeMachine(),
		Imgsz:    cfg.Imgsz,
		Duration: cfg.Duration.String(),
		Repeats:  cfg.Repeats,
		Shapes:   shapes,
	}
	for _, b := range backends {
		rep.Backends = append(rep.Backends, BackendInfo{Name: b.Name(), Detail: b.Detail()})
	}
	names := rep.backendNames()
	var na, nb, nc int
	for _, s := range shapes {
		na, nb, nc = max(na, s.M*s.K), max(nb, s.K*s.N), max(nc, s.M*s.N)
	}
	bufA, bufB, bufC := make([]float32, na), make([]float32, nb), make([]float32, nc)

	for _, threads := range cfg.Threads {
		tr := ThreadRun{Threads: threads}
		runtime.GC() // not during the timed loops
		start := sampleCPU()
		for i, s := range shapes {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			row := newRow(s.String(), s.M, s.N, s.K, s.Count(), s.FLOPs())
			a, b, c := bufA[:s.M*s.K], bufB[:s.K*s.N], bufC[:s.M*s.N]
			rng := rand.New(rand.NewPCG(uint64(s.M), uint64(s.N)<<32|uint64(s.K)))
			fill(rng, a)
			fill(rng, b)
			for _, be := range backends {
				sec, err := measureBackend(be, threads, s, a, b, c, cfg)
				if err != nil {
					return nil, fmt.Errorf("gemmbench: %s on %d threads: %w", be.Name(), threads, err)
				}
				row.Seconds[be.Name()] = sec
				row.GFLOPS[be.Name()] = s.FLOPs() / sec / 1e9
			}
			tr.Rows = append(tr.Rows, row)
			if cfg.Progress != nil {
				cfg.Progress(Progress{Threads: threads, Index: i + 1, Total: len(shapes), Shape: s,
					Backends: names, GFLOPS: row.GFLOPS})
			}
		}
		tr.OtherCPU = otherCPU(start, sampleCPU())
		tr.finish(names)
		rep.Runs = append(rep.Runs, tr)
	}
	rep.Targets = rep.targets()
	return rep, nil
}

// measureBackend times be on one shape and checks its product. C starts
// as NaN so that a backend that leaves entries unwritten, or reads C
// although beta is 0, fails the check.
func measureBackend(be Backend, threads int, s Shape, a, b, c []float32, cfg Config) (float64, error) {
	r, err := be.Start(threads)
	if err != nil {
		return 0, fmt.Errorf("starting: %w", err)
	}
	defer r.Close()
	nan := float32(math.NaN())
	for i := range c {
		c[i] = nan
	}
	sec := measure(func() { r.Mul(s.M, s.N, s.K, a, b, c) }, cfg.Duration, cfg.Repeats)
	return sec, verify(s, a, b, c)
}

// fill sets s to values uniform in [-1, 1).
func fill(rng *rand.Rand, s []float32) {
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
}

// measure returns the best time of one call of f, in seconds: f runs
// warm for a fifth of d, then repeats timed loops of as many calls as fill
// the rest of d evenly. The warm-up also outlasts the few milliseconds in
// which the previous backend's threads still spin (OpenBLAS's do).
func measure(f func(), d time.Duration, repeats int) float64 {
	f() // the first call grows buffers and faults pages in
	warm := d / 5
	start := time.Now()
	calls := 0
	for calls == 0 || time.Since(start) < warm {
		f()
		calls++
	}
	per := time.Since(start).Seconds() / float64(calls)
	loop := (d - warm).Seconds() / float64(repeats)
	n := max(1, int(loop/per))
	best := math.Inf(1)
	for range repeats {
		t0 := time.Now()
		for range n {
			f()
		}
		best = min(best, time.Since(t0).Seconds()/float64(n))
	}
	return best
}

// verify checks that c has no NaN and compares 64 random entries of c = a*b with float64 sums. The
// tolerance, 1e-4 per term, is far above float32 rounding for the values
// fill makes and far below the error of a wrong stride or offset.
func verify(s Shape, a, b, c []float32) error {
	for i, v := range c {
		if math.IsNaN(float64(v)) {
			return fmt.Errorf("wrong product on %s: C[%d][%d] is NaN", s, i/s.N, i%s.N)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 64 {
		i, j := rng.IntN(s.M), rng.IntN(s.N)
		var want float64
		for p := range s.K {
			want += float64(a[i*s.K+p]) * float64(b[p*s.N+j])
		}
		got := float64(c[i*s.N+j])
		if math.Abs(got-want) > 1e-4*float64(s.K) {
			return fmt.Errorf("wrong product on %s: C[%d][%d] = %g, want %g", s, i, j, got, want)
		}
	}
	return nil
}
