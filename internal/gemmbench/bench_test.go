package gemmbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseThreads(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  string
	}{
		{in: "1", want: []int{1}},
		{in: "1,2", want: []int{1, 2}},
		{in: " 2 , 1 ,2", want: []int{2, 1}},
		{in: "0", err: "thread count 0 is out of range"},
		{in: "1,-1", err: "thread count -1 is out of range"},
		{in: "1,x", err: `thread count "x" is not a whole number`},
		{in: "", err: `thread count "" is not a whole number`},
		{in: "1000", err: "out of range"},
	} {
		got, err := ParseThreads(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseThreads(%q) error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseThreads(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCPUModel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R)  Xeon(R) Processor\nflags\t: fpu\n", "Intel(R) Xeon(R) Processor"},
		{"processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nHardware\t: BCM2835\n", "BCM2835"},
		{"processor\t: 0\n", ""},
	} {
		if got := cpuModel(strings.NewReader(tc.in)); got != tc.want {
			t.Errorf("cpuModel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"imgsz", func(c *Config) { c.Imgsz = 100 }, "not a multiple of 32"},
		{"no threads", func(c *Config) { c.Threads = nil }, "no thread counts"},
		{"threads", func(c *Config) { c.Threads = []int{1, 0} }, "thread count 0"},
		{"duration", func(c *Config) { c.Duration = 0 }, "duration per shape 0s"},
		{"repeats", func(c *Config) { c.Repeats = 0 }, "repeat count 0"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
}

// fakeBackend multiplies naively, or wrongly: adding off to every entry,
// or leaving the last row of C alone.
type fakeBackend struct {
	name    string
	off     float32
	skipRow bool
}

func (f fakeBackend) Name() string   { return f.name }
func (f fakeBackend) Detail() string { return "test double" }
func (f fakeBackend) Start(int) (Runner, error) {
	return f, nil
}
func (f fakeBackend) Close() {}
func (f fakeBackend) Mul(m, n, k int, a, b, c []float32) {
	if f.skipRow {
		m--
	}
	for i := range m {
		for j := range n {
			var s float32
			for p := range k {
				s += a[i*k+p] * b[p*n+j]
			}
			c[i*n+j] = s + f.off
		}
	}
}

func tinyConfig() Config {
	return Config{Imgsz: 32, Threads: []int{1, 2}, Duration: time.Millisecond, Repeats: 1}
}

func TestRunAllBackends(t *testing.T) {
	cfg := tinyConfig()
	var lines int
	cfg.Progress = func(Progress) { lines++ }
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	names := rep.backendNames()
	if names[0] != "yolops" || names[len(names)-1] != "gonum" || len(names) != 2+btoi(OpenBLASBuilt) {
		t.Errorf("backends %v, want yolops first, gonum last, openblas between when built", names)
	}
	if want := len(rep.Shapes) * 2; lines != want {
		t.Errorf("%d progress calls, want %d", lines, want)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Threads != 1 || rep.Runs[1].Threads != 2 {
		t.Fatalf("runs %+v, want threads 1 then 2", rep.Runs)
	}
	for _, run := range rep.Runs {
		for _, n := range names {
			if g := run.Total.GFLOPS[n]; !(g > 0) {
				t.Errorf("threads=%d %s: total %v GFLOPS", run.Threads, n, g)
			}
		}
		if r := run.Total.Ratios["yolops/gonum"]; !(r > 0) {
			t.Errorf("threads=%d: yolops/gonum ratio %v", run.Threads, r)
		}
	}
	if len(rep.Targets) != len(names)-1 {
		t.Errorf("targets %+v, want one per other backend", rep.Targets)
	}

	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"imgsz 32: 63 convs", "threads=1, GFLOPS", "threads=2, GFLOPS",
		"16x256x27", "FLOP-weighted total", "yolops/gonum", "targets:"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if back.Runs[1].Total.GFLOPS["yolops"] != rep.Runs[1].Total.GFLOPS["yolops"] || len(back.Shapes[0].Layers) == 0 {
		t.Errorf("JSON lost data: %s", buf.String()[:200])
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A backend whose products are wrong must stop the run, not be timed.
func TestRunRejectsWrongProducts(t *testing.T) {
	for _, broken := range []fakeBackend{
		{name: "off", off: 0.5},
		{name: "lastrow", skipRow: true},
	} {
		cfg := tinyConfig()
		cfg.Backends = []Backend{fakeBackend{name: "exact"}, broken}
		_, err := Run(context.Background(), cfg)
		if want := broken.name + " on 1 threads: wrong product"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run with backend %q: %v, want an error containing %q", broken.name, err, want)
		}
	}
}

func TestRunRatiosAndTargets(t *testing.T) {
	cfg := tinyConfig()
	cfg.Threads = []int{2}
	cfg.Backends = []Backend{fakeBackend{name: "yolops"}, fakeBackend{name: "gonum"}}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Runs[0].Total
	if r := tot.Ratios["yolops/gonum"]; r != tot.GFLOPS["yolops"]/tot.GFLOPS["gonum"] {
		t.Errorf("ratio %v, want %v", r, tot.GFLOPS["yolops"]/tot.GFLOPS["gonum"])
	}
	// The same code on both sides runs at about the same speed: far from 5x.
	if len(rep.Targets) != 1 || rep.Targets[0].Met || rep.Targets[0].Want != TargetGonumRate {
		t.Errorf("targets %+v, want one unmet gonum target", rep.Targets)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, tinyConfig()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run on a cancelled context: %v", err)
	}
}

func TestOtherCPU(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(sec float64, machine, self float64) cpuSample {
		return cpuSample{at: t0.Add(time.Duration(sec * float64(time.Second))), machine: machine, self: self, ok: true}
	}
	for _, tc := range []struct {
		name     string
		from, to cpuSample
		want     float64
	}{
		{"alone on 2 cores", at(0, 10, 5), at(2, 14, 9), 0},
		{"a neighbour on one core", at(0, 10, 5), at(2, 16, 9), 1},
		{"rounding below zero", at(0, 10, 5), at(2, 13.99, 9), 0},
		{"unknown", cpuSample{at: t0}, at(2, 14, 9), -1},
	} {
		if got := otherCPU(tc.from, tc.to); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: otherCPU = %v, want %v", tc.name, got, tc.want)
		}
	}
	if s := sampleCPU(); runtime.GOOS == "linux" && (!s.ok || s.machine <= 0 || s.self <= 0) {
		t.Errorf("sampleCPU() = %+v on Linux", s)
	}
}
