package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
)

type noParams = struct{}

// step adds a step with no params whose output is an int: the sum of its
// int inputs plus one, after calling hook (if set).
func step(p *pipeline.Pipeline, name string, hook func(ctx context.Context) error, ins ...pipeline.Ref[int]) pipeline.Ref[int] {
	inputs := pipeline.Inputs{}
	for i, in := range ins {
		inputs[fmt.Sprint("in", i)] = in
	}
	s := pipeline.Add(p, pipeline.Spec[noParams]{Name: name, Version: "1", Inputs: inputs},
		func(ctx context.Context, sc *pipeline.StepContext, _ noParams) (int, error) {
			if hook != nil {
				if err := hook(ctx); err != nil {
					return 0, err
				}
			}
			sum := 1
			for _, in := range ins {
				v, err := pipeline.Get(ctx, sc, in)
				if err != nil {
					return 0, err
				}
				sum += v
			}
			return sum, nil
		})
	return pipeline.Output[int](s, "output")
}

// TestParallel: with two workers the two independent steps run at the
// same time (each waits to see the other start); with one, never.
func TestParallel(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			store := newStore(t)
			var running, most atomic.Int32
			started := map[string]chan struct{}{"b": make(chan struct{}), "c": make(chan struct{})}
			hook := func(name, other string) func(context.Context) error {
				return func(ctx context.Context) error {
					n := running.Add(1)
					defer running.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					if workers == 1 {
						return nil
					}
					close(started[name])
					select {
					case <-started[other]:
						return nil
					case <-time.After(10 * time.Second):
						return fmt.Errorf("%s: %s did not start alongside", name, other)
					}
				}
			}
			p := pipeline.New("diamond")
			a := step(p, "a", nil)
			b := step(p, "b", hook("b", "c"), a)
			c := step(p, "c", hook("c", "b"), a)
			d := step(p, "d", nil, b, c)
			res, err := p.Run(context.Background(), pipeline.Options{Store: store, Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			if int(most.Load()) != workers {
				t.Errorf("at most %d steps ran at once, want %d", most.Load(), workers)
			}
			v, err := pipeline.Fetch(context.Background(), res, d, "")
			if err != nil || v != 5 {
				t.Errorf("d = %d, %v; want 5", v, err)
			}
		})
	}
}

// TestFailure: a failing step (an error or a panic) fails the run and
// skips its dependents; independent steps still run; a rerun reuses what
// finished.
func TestFailure(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			store := newStore(t)
			broken := true
			build := func() *pipeline.Pipeline {
				p := pipeline.New("failing")
				a := step(p, "a", nil)
				b := step(p, "b", func(context.Context) error {
					if broken {
						if mode == "panic" {
							panic("b broke")
						}
						return errors.New("b broke")
					}
					return nil
				}, a)
				step(p, "c", nil, b)
				step(p, "d", nil)
				return p
			}
			res, err := build().Run(ctx, pipeline.Options{Store: store})
			if err == nil || !strings.Contains(err.Error(), "step b: ") || !strings.Contains(err.Error(), "b broke") {
				t.Fatalf("error %v, want one naming step b and its error", err)
			}
			want := map[string]pipeline.StepStatus{"a": pipeline.StepExecuted, "b": pipeline.StepFailed,
				"c": pipeline.StepSkipped, "d": pipeline.StepExecuted}
			for name, st := range want {
				if got := res.Step(name).Status; got != st {
					t.Errorf("%s %s, want %s", name, got, st)
				}
			}
			if res.Status != tracking.RunFailed {
				t.Errorf("pipeline %s, want FAILED", res.Status)
			}
			if res.Step("c").RunID != "" {
				t.Errorf("skipped step c has a run")
			}
			run, err := store.GetRun(ctx, res.RunID)
			if err != nil || run.Info.Status != tracking.RunFailed || run.Info.EndTime == 0 {
				t.Errorf("pipeline run %+v, %v; want FAILED and ended", run.Info, err)
			}
			if msg := tagOf(t, store, res.Step("b").RunID, pipeline.TagError); !strings.Contains(msg, "b broke") {
				t.Errorf("yolops.error = %q", msg)
			}
			rec, err := pipeline.Inspect(ctx, store, res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rec.Steps {
				if s.Status != want[s.Name] {
					t.Errorf("inspect: %s %s, want %s", s.Name, s.Status, want[s.Name])
				}
			}

			broken = false
			res, err = build().Run(ctx, pipeline.Options{Store: store})
			if err != nil {
				t.Fatal(err)
			}
			want = map[string]pipeline.StepStatus{"a": pipeline.StepCached, "b": pipeline.StepExecuted,
				"c": pipeline.StepExecuted, "d": pipeline.StepCached}
			for name, st := range want {
				if got := res.Step(name).Status; got != st {
					t.Errorf("rerun: %s %s, want %s", name, got, st)
				}
			}
		})
	}
}

// TestCancel: cancelling a run kills the running step, starts nothing
// more and marks the runs KILLED; the rerun reuses every finished step.
func TestCancel(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	block := true
	bStarted := make(chan struct{})
	build := func() *pipeline.Pipeline {
		p := pipeline.New("interrupted")
		a := step(p, "a", nil)
		b := step(p, "b", func(ctx context.Context) error {
			if !block {
				return nil
			}
			close(bStarted)
			<-ctx.Done()
			return ctx.Err()
		}, a)
		step(p, "c", nil, b)
		return p
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-bStarted
		cancel()
	}()
	res, err := build().Run(cctx, pipeline.Options{Store: store})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	want := map[string]pipeline.StepStatus{"a": pipeline.StepExecuted, "b": pipeline.StepKilled, "c": pipeline.StepSkipped}
	for name, st := range want {
		if got := res.Step(name).Status; got != st {
			t.Errorf("%s %s, want %s", name, got, st)
		}
	}
	for id, status := range map[string]tracking.RunStatus{res.RunID: tracking.RunKilled, res.Step("b").RunID: tracking.RunKilled} {
		if run, err := store.GetRun(ctx, id); err != nil || run.Info.Status != status {
			t.Errorf("run %s: %v, %v; want %s", id, run.Info.Status, err, status)
		}
	}

	block = false
	res, err = build().Run(ctx, pipeline.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]pipeline.StepStatus{"a": pipeline.StepCached, "b": pipeline.StepExecuted, "c": pipeline.StepExecuted}
	for name, st := range want {
		if got := res.Step(name).Status; got != st {
			t.Errorf("rerun: %s %s, want %s", name, got, st)
		}
	}

	// A run cancelled before it starts runs nothing.
	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	res, err = build().Run(done, pipeline.Options{Store: store})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the start: %v", err)
	}
	if res != nil {
		for _, s := range res.Steps {
			if s.Status != pipeline.StepSkipped || s.RunID != "" {
				t.Errorf("cancelled before the start: %s %s, run %q", s.Name, s.Status, s.RunID)
			}
		}
	}
}

// TestLineage checks what Inspect reads back: the DAG, each step's status
// and params, and which step run produced and which consumed each
// artifact.
func TestLineage(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("lineage"), 0o644); err != nil {
		t.Fatal(err)
	}
	var loads, trains atomic.Int32
	cfg := twoStepConfig{data: data, loadVer: "1", trainVer: "1", scale: 2, loads: &loads, trains: &trains}
	first, err := newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store, RunName: "first"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.scale = 4
	res, err := newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := pipeline.Inspect(ctx, store, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Pipeline != "two-step" || rec.Run.RunID != res.RunID || rec.Run.Status != tracking.RunFinished ||
		rec.Summary != "1 executed, 1 cached" || len(rec.Problems) > 0 {
		t.Errorf("record: %s %s %s %q problems %q", rec.Pipeline, rec.Run.RunID, rec.Run.Status, rec.Summary, rec.Problems)
	}
	if len(rec.Steps) != 2 || rec.Steps[0].Name != "load" || rec.Steps[1].Name != "train" {
		t.Fatalf("steps %+v", rec.Steps)
	}
	load, train := rec.Steps[0], rec.Steps[1]
	dataHash, err := pipeline.HashFile(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if load.Status != pipeline.StepCached || load.CachedFrom != first.Step("load").RunID || load.RunID != res.Step("load").RunID ||
		len(load.Upstream) != 0 || load.Version != "1" {
		t.Errorf("load: %+v", load)
	}
	if len(load.Inputs) != 1 || load.Inputs[0].Name != "data" || load.Inputs[0].Source != data || load.Inputs[0].Hash != dataHash {
		t.Errorf("load's inputs: %+v (data %s)", load.Inputs, dataHash)
	}
	var outNames []string
	for _, o := range load.Outputs {
		outNames = append(outNames, o.Name)
		wantConsumers := []string(nil)
		if o.Name == "text" {
			wantConsumers = []string{"train.text"}
			if o.Hash != res.Step("load").Outputs["text"].Hash || !strings.HasSuffix(o.URI, first.Step("load").RunID+"/artifacts/outputs/text.json") {
				t.Errorf("load's text output: %+v", o)
			}
		}
		if !slices.Equal(o.Consumers, wantConsumers) {
			t.Errorf("output %s consumed by %q, want %q", o.Name, o.Consumers, wantConsumers)
		}
	}
	if !slices.Equal(outNames, []string{"hash", "text"}) {
		t.Errorf("load's outputs %q", outNames)
	}
	if train.Status != pipeline.StepExecuted || !slices.Equal(train.Upstream, []string{"load"}) ||
		len(train.Params) != 1 || train.Params[0].Value != "4" || train.Duration() <= 0 && train.EndTime == 0 {
		t.Errorf("train: %+v", train)
	}
	in := train.Inputs[0]
	if in.Name != "text" || in.Step != "load" || in.RunID != load.RunID || in.Output != "text" || in.Hash != load.Outputs[1].Hash {
		t.Errorf("train's input: %+v", in)
	}
	for _, o := range train.Outputs {
		if !strings.Contains(o.URI, res.Step("train").RunID) {
			t.Errorf("train's output %s is not in its run's artifacts: %s", o.Name, o.URI)
		}
	}

	// A step run is not a pipeline run.
	if _, err := pipeline.Inspect(ctx, store, load.RunID); err == nil || !strings.Contains(err.Error(), "pipeline run "+res.RunID) {
		t.Errorf("inspecting a step run: %v", err)
	}

	list, err := pipeline.List(ctx, store, pipeline.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].RunID != res.RunID || list[1].RunID != first.RunID || list[1].RunName != "first" ||
		list[0].Pipeline != "two-step" || list[0].Experiment != "two-step" {
		t.Errorf("list: %+v", list)
	}
	if list, err := pipeline.List(ctx, store, pipeline.ListOptions{Pipeline: "other"}); err != nil || len(list) != 0 {
		t.Errorf("list of another pipeline: %v, %v", list, err)
	}
}

// TestFilesAndDirs: File and Dir outputs and sources are stored, hashed
// and handed to consumers; equal directories hash equal.
func TestFilesAndDirs(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testFilesAndDirs(t, kind.open(t)) })
	}
}

func testFilesAndDirs(t *testing.T, store tracking.TrackingStore) {
	ctx := context.Background()
	src := t.TempDir()
	for name, content := range map[string]string{"a.txt": "A", "sub/b.txt": "B", "sub/deeper/c.txt": "C"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srcHash, err := pipeline.HashDir(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	type copied struct {
		Copy  pipeline.Dir  `pipeline:"copy"`
		Count int           `pipeline:"count"`
		Note  pipeline.File `pipeline:"note"`
	}
	p := pipeline.New("dirs")
	in := pipeline.SourceDir(src)
	cp := pipeline.Add(p, pipeline.Spec[noParams]{Name: "copy", Version: "1", Inputs: pipeline.Inputs{"src": in}},
		func(ctx context.Context, sc *pipeline.StepContext, _ noParams) (copied, error) {
			dir, err := pipeline.Input[pipeline.Dir](ctx, sc, "src")
			if err != nil {
				return copied{}, err
			}
			if _, err := pipeline.Input[string](ctx, sc, "src"); err == nil {
				return copied{}, errors.New("Input of the wrong type succeeded")
			}
			out := filepath.Join(sc.Dir(), "copy")
			n := 0
			err = filepath.WalkDir(string(dir), func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(string(dir), p)
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				n++
				os.MkdirAll(filepath.Dir(filepath.Join(out, rel)), 0o755)
				return os.WriteFile(filepath.Join(out, rel), b, 0o644)
			})
			note := filepath.Join(sc.Dir(), "note.md")
			os.WriteFile(note, []byte("# copied"), 0o644)
			return copied{Copy: pipeline.Dir(out), Count: n, Note: pipeline.File(note)}, err
		})
	dirRef := pipeline.Output[pipeline.Dir](cp, "copy")
	noteRef := pipeline.Output[pipeline.File](cp, "note")
	var seen []string
	check := pipeline.Add(p, pipeline.Spec[noParams]{Name: "check", Version: "1",
		Inputs: pipeline.Inputs{"dir": dirRef, "note": noteRef}},
		func(ctx context.Context, sc *pipeline.StepContext, _ noParams) (string, error) {
			dir, err := pipeline.Get(ctx, sc, dirRef)
			if err != nil {
				return "", err
			}
			note, err := pipeline.Get(ctx, sc, noteRef)
			if err != nil {
				return "", err
			}
			if filepath.Base(string(note)) != "note.md" {
				return "", fmt.Errorf("note copied as %s", note)
			}
			// An output not declared among the inputs cannot be read.
			if _, err := pipeline.Get(ctx, sc, pipeline.Output[int](cp, "count")); err == nil ||
				!strings.Contains(err.Error(), "not among its Inputs") {
				return "", fmt.Errorf("undeclared input: %v", err)
			}
			h, err := pipeline.HashDir(ctx, string(dir))
			if err != nil {
				return "", err
			}
			filepath.WalkDir(string(dir), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(string(dir), p)
					seen = append(seen, filepath.ToSlash(rel))
				}
				return nil
			})
			return h, nil
		})
	res, err := p.Run(ctx, pipeline.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Step("copy").Inputs["src"].Hash; got != srcHash {
		t.Errorf("source hash %s, want %s", got, srcHash)
	}
	if got := res.Step("copy").Outputs["copy"]; got.Hash != srcHash || got.Kind != pipeline.KindDir || got.Size != 3 {
		t.Errorf("copy output %+v, want hash %s, 3 bytes", got, srcHash)
	}
	h, err := pipeline.Fetch(ctx, res, pipeline.Output[string](check, "output"), "")
	if err != nil || h != srcHash {
		t.Errorf("the consumer's copy hashes %s, %v; want %s", h, err, srcHash)
	}
	if want := []string{"a.txt", "sub/b.txt", "sub/deeper/c.txt"}; !slices.Equal(seen, want) {
		t.Errorf("consumer saw %q, want %q", seen, want)
	}
	fetched, err := pipeline.Fetch(ctx, res, dirRef, filepath.Join(t.TempDir(), "fetched"))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := pipeline.HashDir(ctx, string(fetched)); h != srcHash {
		t.Errorf("fetched dir hashes %s", h)
	}

	// Touching a source without changing it keeps the cache; changing
	// one byte does not.
	now := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(src, "a.txt"), now, now)
	res, err = p.Run(ctx, pipeline.Options{Store: store})
	if err != nil || res.Step("copy").Status != pipeline.StepCached || res.Step("check").Status != pipeline.StepCached {
		t.Errorf("after touching: %v, copy %s", err, res.Step("copy").Status)
	}
	os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("b"), 0o644)
	res, err = p.Run(ctx, pipeline.Options{Store: store})
	if err != nil || res.Step("copy").Status != pipeline.StepExecuted || res.Step("check").Status != pipeline.StepExecuted {
		t.Errorf("after a change: %v, copy %s, check %s", err, res.Step("copy").Status, res.Step("check").Status)
	}
}

// TestVersionedDir: a directory with a known version is not hashed; its
// version is the key.
func TestVersionedDir(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	dir := t.TempDir()
	var calls atomic.Int32
	build := func(version string) *pipeline.Pipeline {
		p := pipeline.New("versioned")
		d := pipeline.VersionedDir(dir, version)
		pipeline.Add(p, pipeline.Spec[noParams]{Name: "use", Version: "1", Inputs: pipeline.Inputs{"data": d}},
			func(ctx context.Context, sc *pipeline.StepContext, _ noParams) (string, error) {
				calls.Add(1)
				got, err := pipeline.Get(ctx, sc, d)
				return string(got), err
			})
		return p
	}
	for i, v := range []string{"abc.dir", "abc.dir", "abd.dir"} {
		res, err := build(v).Run(ctx, pipeline.Options{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Step("use").Inputs["data"]; got.Hash != v || got.Source != dir {
			t.Errorf("input %+v", got)
		}
		if want := []int32{1, 1, 2}[i]; calls.Load() != want {
			t.Errorf("run %d: step ran %d times in all, want %d", i, calls.Load(), want)
		}
	}
}

// TestBuildErrors: mistakes in building a pipeline are reported, all of
// them, before anything runs.
func TestBuildErrors(t *testing.T) {
	other := pipeline.New("other")
	foreign := step(other, "x", nil)
	fn := func(context.Context, *pipeline.StepContext, noParams) (loaded, error) { return loaded{}, nil }
	for _, tc := range []struct {
		name  string
		build func(p *pipeline.Pipeline)
		want  string
	}{
		{"bad step name", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a b", Version: "1"}, fn)
		}, `invalid step name "a b"`},
		{"duplicate step", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1"}, fn)
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1"}, fn)
		}, `two steps named "a"`},
		{"no version", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a"}, fn)
		}, "step a: empty Version"},
		{"missing output", func(p *pipeline.Pipeline) {
			s := pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1"}, fn)
			pipeline.Output[string](s, "txt")
		}, `step a has no output "txt" (its outputs: hash, text)`},
		{"wrong output type", func(p *pipeline.Pipeline) {
			s := pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1"}, fn)
			pipeline.Output[int](s, "text")
		}, "output a.text is a string, not a int"},
		{"params not an object", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[[]int]{Name: "a", Version: "1", Params: []int{1}},
				func(context.Context, *pipeline.StepContext, []int) (int, error) { return 0, nil })
		}, "step a: params: []int encodes as [1], not a JSON object"},
		{"params that do not encode", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[map[string]any]{Name: "a", Version: "1", Params: map[string]any{"f": func() {}}},
				func(context.Context, *pipeline.StepContext, map[string]any) (int, error) { return 0, nil })
		}, "step a: params: json: unsupported type"},
		{"input of another pipeline", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1", Inputs: pipeline.Inputs{"x": foreign}}, fn)
		}, "input x: x.output belongs to pipeline other"},
		{"nil input", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1", Inputs: pipeline.Inputs{"x": nil}}, fn)
		}, "input x: nil"},
		{"bad input name", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1", Inputs: pipeline.Inputs{"x/y": pipeline.SourceFile("f")}}, fn)
		}, `invalid input name "x/y"`},
		{"empty source", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1", Inputs: pipeline.Inputs{"x": pipeline.SourceFile("")}}, fn)
		}, "input x: source file: empty path"},
		{"bad output field name", func(p *pipeline.Pipeline) {
			pipeline.Add(p, pipeline.Spec[noParams]{Name: "a", Version: "1"},
				func(context.Context, *pipeline.StepContext, noParams) (struct {
					X int `pipeline:"a/b"`
				}, error) {
					return struct {
						X int `pipeline:"a/b"`
					}{}, nil
				})
		}, `outputs: field X: invalid output name "a/b"`},
		{"nil function", func(p *pipeline.Pipeline) {
			pipeline.Add[noParams, int](p, pipeline.Spec[noParams]{Name: "a", Version: "1"}, nil)
		}, "step a: nil function"},
		{"no steps", func(p *pipeline.Pipeline) {}, "no steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New("p")
			tc.build(p)
			_, err := p.Run(context.Background(), pipeline.Options{Store: newStore(t)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if err := pipeline.New("bad name!").Err(); err == nil {
		t.Error("a bad pipeline name is accepted")
	}
}

// TestStepContext: a step can log to its own run and store artifacts
// beside its outputs.
func TestStepContext(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	p := pipeline.New("logging")
	var mu sync.Mutex
	var runID string
	pipeline.Add(p, pipeline.Spec[noParams]{Name: "fit", Version: "1"},
		func(ctx context.Context, sc *pipeline.StepContext, _ noParams) (float64, error) {
			mu.Lock()
			runID = sc.RunID()
			mu.Unlock()
			if err := sc.Tracking().LogMetric(ctx, sc.RunID(), tracking.Metric{Key: "loss", Value: 0.5, Timestamp: 1, Step: 0}); err != nil {
				return 0, err
			}
			a, err := sc.Artifacts(ctx)
			if err != nil {
				return 0, err
			}
			return 0.5, a.Put(ctx, "plots/loss.txt", strings.NewReader("0.5"), 3)
		})
	res, err := p.Run(ctx, pipeline.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if runID != res.Step("fit").RunID {
		t.Errorf("the step saw run %s, its run is %s", runID, res.Step("fit").RunID)
	}
	run, err := store.GetRun(ctx, runID)
	if err != nil || len(run.Data.Metrics) != 1 {
		t.Fatalf("metrics %v, %v", run.Data.Metrics, err)
	}
	if _, err := os.Stat(filepath.Join(run.Info.ArtifactURI, "plots", "loss.txt")); err != nil {
		t.Error(err)
	}
}

// TestMissingSource: a step whose source cannot be read fails with a step
// run that says why, and its dependents are skipped.
func TestMissingSource(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	missing := filepath.Join(t.TempDir(), "missing.txt")
	var loads, trains atomic.Int32
	res, err := newTwoStep(twoStepConfig{data: missing, loadVer: "1", trainVer: "1", scale: 1, loads: &loads, trains: &trains}).
		p.Run(ctx, pipeline.Options{Store: store})
	if err == nil || !strings.Contains(err.Error(), "step load: input data: ") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("error %v, want one naming the step, the input and the path", err)
	}
	if loads.Load() != 0 || res.Step("load").Status != pipeline.StepFailed || res.Step("train").Status != pipeline.StepSkipped {
		t.Errorf("load ran %d times, %s; train %s", loads.Load(), res.Step("load").Status, res.Step("train").Status)
	}
	rec, err := pipeline.Inspect(ctx, store, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if s := rec.Steps[0]; s.Status != pipeline.StepFailed || s.RunID == "" || !strings.Contains(s.Error, missing) {
		t.Errorf("load's record: %+v", s)
	}
}
