package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/tracking/server/servertest"
	"github.com/yolops/yolops/tracking/sqlstore"
)

// newStore opens a SQLite tracking store in a fresh folder, with its
// artifacts in a local folder beside it.
func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlstore.Open(context.Background(), "sqlite:///"+filepath.Join(dir, "mlruns.db"),
		sqlstore.WithDefaultArtifactRoot(filepath.Join(dir, "artifacts")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeKinds are the ways a pipeline reaches its tracking store: a SQLite
// store with a local artifact root, and tracking/client's embedded store,
// whose runs have mlflow-artifacts:/ URIs resolved to a local folder (as
// behind a tracking server).
var storeKinds = []struct {
	name string
	open func(t *testing.T) tracking.TrackingStore
}{
	{"sqlstore", func(t *testing.T) tracking.TrackingStore { return newStore(t) }},
	{"client", func(t *testing.T) tracking.TrackingStore {
		c, err := client.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}},
	{"rest", func(t *testing.T) tracking.TrackingStore {
		// A tracking server over HTTP, as a UI or an MLflow client sees it.
		hs := servertest.Start(t, servertest.Options{Store: []sqlstore.Option{sqlstore.WithDefaultArtifactRoot("mlflow-artifacts:/")}})
		c, err := client.Open(context.Background(), hs.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}},
}

// The synthetic two-step pipeline: "load" reads a data file and outputs
// its text (transformed as its code version says) and the file's hash;
// "train" reads the text and a param and outputs a score and a model file.

type loaded struct {
	Text string `pipeline:"text"`
	Hash string `pipeline:"hash"`
}

type trainParams struct {
	Scale int `json:"scale"`
}

type trained struct {
	Score int           `pipeline:"score"`
	Model pipeline.File `pipeline:"model"`
}

type twoStepConfig struct {
	data       string
	loadVer    string
	trainVer   string
	scale      int
	loads      *atomic.Int32
	trains     *atomic.Int32
	trainBlock func(ctx context.Context) error // if set, train calls it first
}

// loadCode is what each code version of "load" does to the text: version 2
// changed the output, version 3 is a refactoring that did not.
var loadCode = map[string]func(string) string{
	"1": func(s string) string { return s },
	"2": strings.ToUpper,
	"3": strings.ToUpper,
}

type twoStep struct {
	p     *pipeline.Pipeline
	text  pipeline.Ref[string]
	score pipeline.Ref[int]
	model pipeline.Ref[pipeline.File]
}

func newTwoStep(c twoStepConfig) twoStep {
	p := pipeline.New("two-step")
	data := pipeline.SourceFile(c.data)
	load := pipeline.Add(p, pipeline.Spec[struct{}]{
		Name: "load", Version: c.loadVer, Inputs: pipeline.Inputs{"data": data},
	}, func(ctx context.Context, sc *pipeline.StepContext, _ struct{}) (loaded, error) {
		c.loads.Add(1)
		path, err := pipeline.Get(ctx, sc, data)
		if err != nil {
			return loaded{}, err
		}
		b, err := os.ReadFile(string(path))
		if err != nil {
			return loaded{}, err
		}
		sum := sha256.Sum256(b)
		return loaded{Text: loadCode[c.loadVer](string(b)), Hash: hex.EncodeToString(sum[:])}, nil
	})
	text := pipeline.Output[string](load, "text")
	train := pipeline.Add(p, pipeline.Spec[trainParams]{
		Name: "train", Version: c.trainVer, Params: trainParams{Scale: c.scale},
		Inputs: pipeline.Inputs{"text": text},
	}, func(ctx context.Context, sc *pipeline.StepContext, prm trainParams) (trained, error) {
		c.trains.Add(1)
		if c.trainBlock != nil {
			if err := c.trainBlock(ctx); err != nil {
				return trained{}, err
			}
		}
		s, err := pipeline.Get(ctx, sc, text)
		if err != nil {
			return trained{}, err
		}
		model := filepath.Join(sc.Dir(), "model.txt")
		if err := os.WriteFile(model, []byte(strings.Repeat(s, prm.Scale)), 0o644); err != nil {
			return trained{}, err
		}
		return trained{Score: len(s) * prm.Scale, Model: pipeline.File(model)}, nil
	})
	return twoStep{p: p, text: text,
		score: pipeline.Output[int](train, "score"),
		model: pipeline.Output[pipeline.File](train, "model")}
}

// TestCache runs the two-step pipeline again and again, changing one
// thing at a time, and checks which steps ran and which were reused.
func TestCache(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testCache(t, kind.open(t)) })
	}
}

func testCache(t *testing.T, store tracking.TrackingStore) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data.txt")
	var loads, trains atomic.Int32

	type result struct{ load, train pipeline.StepStatus }
	const E, C = pipeline.StepExecuted, pipeline.StepCached
	runs := map[string]*pipeline.Result{}
	for _, tc := range []struct {
		name              string
		data              string // written before the run when not ""
		loadVer, trainVer string
		scale             int
		want              result
		// The runs whose step runs the cached steps must come from.
		loadFrom, trainFrom string
		wantText            string
	}{
		{name: "first run", data: "hello", loadVer: "1", trainVer: "1", scale: 2, want: result{E, E}, wantText: "hello"},
		{name: "same again", loadVer: "1", trainVer: "1", scale: 2, want: result{C, C},
			loadFrom: "first run", trainFrom: "first run", wantText: "hello"},
		{name: "train param changed", loadVer: "1", trainVer: "1", scale: 3, want: result{C, E},
			loadFrom: "first run", wantText: "hello"},
		{name: "train param back", loadVer: "1", trainVer: "1", scale: 2, want: result{C, C},
			loadFrom: "first run", trainFrom: "first run", wantText: "hello"},
		{name: "data changed", data: "world", loadVer: "1", trainVer: "1", scale: 2, want: result{E, E}, wantText: "world"},
		{name: "load version bumped", loadVer: "2", trainVer: "1", scale: 2, want: result{E, E}, wantText: "WORLD"},
		// load runs again, but its output is the same bytes: train,
		// keyed by the content hash of its input, is reused.
		{name: "load refactored, same output", loadVer: "3", trainVer: "1", scale: 2, want: result{E, C},
			trainFrom: "load version bumped", wantText: "WORLD"},
		{name: "train version bumped", loadVer: "3", trainVer: "2", scale: 2, want: result{C, E},
			loadFrom: "load refactored, same output", wantText: "WORLD"},
		{name: "data back to the first", data: "hello", loadVer: "1", trainVer: "1", scale: 2, want: result{C, C},
			loadFrom: "first run", trainFrom: "first run", wantText: "hello"},
	} {
		if tc.data != "" {
			if err := os.WriteFile(data, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ts := newTwoStep(twoStepConfig{data: data, loadVer: tc.loadVer, trainVer: tc.trainVer, scale: tc.scale,
			loads: &loads, trains: &trains})
		l0, t0 := loads.Load(), trains.Load()
		res, err := ts.p.Run(ctx, pipeline.Options{Store: store, WorkDir: t.TempDir()})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		runs[tc.name] = res
		got := result{res.Step("load").Status, res.Step("train").Status}
		if got != tc.want {
			t.Errorf("%s: load %s, train %s; want %s, %s", tc.name, got.load, got.train, tc.want.load, tc.want.train)
		}
		// The functions ran exactly for the executed steps.
		if n := loads.Load() - l0; (n == 1) != (got.load == E) || n > 1 {
			t.Errorf("%s: load's function ran %d times, status %s", tc.name, n, got.load)
		}
		if n := trains.Load() - t0; (n == 1) != (got.train == E) || n > 1 {
			t.Errorf("%s: train's function ran %d times, status %s", tc.name, n, got.train)
		}
		for step, from := range map[string]string{"load": tc.loadFrom, "train": tc.trainFrom} {
			if from == "" {
				continue
			}
			want := runs[from].Step(step).RunID
			if got := res.Step(step).CachedFrom; got != want {
				t.Errorf("%s: %s cached from %s, want %s (its run in %q)", tc.name, step, got, want, from)
			}
		}
		if res.Status != tracking.RunFinished {
			t.Errorf("%s: status %s", tc.name, res.Status)
		}
		// Whatever ran or was reused, the outputs are those of this
		// configuration.
		text, err := pipeline.Fetch(ctx, res, ts.text, t.TempDir())
		if err != nil || text != tc.wantText {
			t.Errorf("%s: text %q, %v; want %q", tc.name, text, err, tc.wantText)
		}
		score, err := pipeline.Fetch(ctx, res, ts.score, t.TempDir())
		if want := len(tc.wantText) * tc.scale; err != nil || score != want {
			t.Errorf("%s: score %d, %v; want %d", tc.name, score, err, want)
		}
		model, err := pipeline.Fetch(ctx, res, ts.model, t.TempDir())
		if err != nil {
			t.Errorf("%s: model: %v", tc.name, err)
		} else if b, _ := os.ReadFile(string(model)); string(b) != strings.Repeat(tc.wantText, tc.scale) {
			t.Errorf("%s: model holds %q", tc.name, b)
		}
	}

	// What a cached step run looks like in the tracking store.
	res := runs["train param changed"]
	run, err := store.GetRun(ctx, res.Step("load").RunID)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range run.Data.Tags {
		tags[tg.Key] = tg.Value
	}
	first := runs["first run"].Step("load")
	for k, want := range map[string]string{
		tracking.TagParentRunID:           res.RunID,
		pipeline.TagPipelineRun:           res.RunID,
		pipeline.TagStep:                  "load",
		pipeline.TagStepVersion:           "1",
		pipeline.TagCached:                "true",
		pipeline.TagCachedFrom:            first.RunID,
		pipeline.TagCacheKey:              first.CacheKey,
		pipeline.TagOutputPrefix + "text": tagOf(t, store, first.RunID, pipeline.TagOutputPrefix+"text"),
	} {
		if tags[k] != want {
			t.Errorf("cached step run: tag %s = %q, want %q", k, tags[k], want)
		}
	}
	firstRun, err := store.GetRun(ctx, first.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := first.Outputs["text"].URI, firstRun.Info.ArtifactURI+"/outputs/text.json"; got != want {
		t.Errorf("text stored at %s, want %s", got, want)
	}
	if _, ok := store.(*client.Client); ok && !strings.HasPrefix(first.Outputs["text"].URI, "mlflow-artifacts:/") {
		t.Errorf("through the client, text stored at %s", first.Outputs["text"].URI)
	}
	if run.Info.Status != tracking.RunFinished || run.Info.ExperimentID != res.ExperimentID {
		t.Errorf("cached step run: status %s, experiment %s", run.Info.Status, run.Info.ExperimentID)
	}
	train, err := store.GetRun(ctx, res.Step("train").RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(train.Data.Params) != 1 || train.Data.Params[0] != (tracking.Param{Key: "scale", Value: "3"}) {
		t.Errorf("train's params %v, want scale=3", train.Data.Params)
	}
}

func tagOf(t *testing.T, s tracking.TrackingStore, runID, key string) string {
	t.Helper()
	run, err := s.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range run.Data.Tags {
		if tg.Key == key {
			return tg.Value
		}
	}
	t.Fatalf("run %s has no tag %s", runID, key)
	return ""
}

// TestCacheNeedsStoredOutputs: a cached step run whose outputs were
// deleted from the artifact store is not reused (ZenML issue 3975), and
// one whose outputs were altered is caught when they are read.
func TestCacheNeedsStoredOutputs(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	var loads, trains atomic.Int32
	cfg := twoStepConfig{data: data, loadVer: "1", trainVer: "1", scale: 1, loads: &loads, trains: &trains}
	first, err := newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	loadRun, err := store.GetRun(ctx, first.Step("load").RunID)
	if err != nil {
		t.Fatal(err)
	}
	outputs := filepath.Join(loadRun.Info.ArtifactURI, "outputs")

	// Altered: load is reused (its objects exist), train reads the text
	// and finds it changed.
	if err := os.WriteFile(filepath.Join(outputs, "text.json"), []byte(`"abd"`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.scale = 2
	res, err := newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store})
	if err == nil || !strings.Contains(err.Error(), "has changed since it was stored") {
		t.Fatalf("reading an altered output: %v", err)
	}
	if s := res.Step("train").Status; s != pipeline.StepFailed {
		t.Errorf("train %s, want failed", s)
	}

	// Deleted: load runs again.
	if err := os.RemoveAll(outputs); err != nil {
		t.Fatal(err)
	}
	res, err = newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Step("load").Status; s != pipeline.StepExecuted {
		t.Errorf("load %s after its outputs were deleted, want executed", s)
	}
	if s := res.Step("train").Status; s != pipeline.StepExecuted {
		t.Errorf("train %s, want executed (its earlier run failed)", s)
	}
}

// TestNoCache: Options.NoCache and Spec.NoCache run steps again, and the
// runs still record keys that later runs hit.
func TestNoCache(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	var loads, trains atomic.Int32
	cfg := twoStepConfig{data: data, loadVer: "1", trainVer: "1", scale: 1, loads: &loads, trains: &trains}
	for i, want := range []pipeline.StepStatus{pipeline.StepExecuted, pipeline.StepExecuted, pipeline.StepCached} {
		res, err := newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store, NoCache: i < 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Steps {
			if s.Status != want {
				t.Errorf("run %d: %s %s, want %s", i, s.Name, s.Status, want)
			}
		}
	}

	p := pipeline.New("side-effect")
	var calls atomic.Int32
	pipeline.Add(p, pipeline.Spec[struct{}]{Name: "notify", Version: "1", NoCache: true},
		func(context.Context, *pipeline.StepContext, struct{}) (struct{}, error) {
			calls.Add(1)
			return struct{}{}, nil
		})
	for range 2 {
		if _, err := p.Run(ctx, pipeline.Options{Store: store}); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("a NoCache step ran %d times in 2 runs", calls.Load())
	}
}

// BenchmarkRun times the two-step pipeline when both steps run (the data
// changes every time) and when both are reused: the cost of the
// bookkeeping, the steps themselves being trivial.
func BenchmarkRun(b *testing.B) {
	ctx := context.Background()
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprint("cached=", cached), func(b *testing.B) {
			dir := b.TempDir()
			store, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "mlruns.db"),
				sqlstore.WithDefaultArtifactRoot(filepath.Join(dir, "artifacts")))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			data := filepath.Join(dir, "data.txt")
			var loads, trains atomic.Int32
			cfg := twoStepConfig{data: data, loadVer: "1", trainVer: "1", scale: 1, loads: &loads, trains: &trains}
			want := pipeline.StepExecuted
			if cached {
				want = pipeline.StepCached
			}
			for i := 0; b.Loop(); i++ {
				if i == 0 || !cached {
					if err := os.WriteFile(data, []byte(fmt.Sprint("data ", i)), 0o644); err != nil {
						b.Fatal(err)
					}
				}
				res, err := newTwoStep(cfg).p.Run(ctx, pipeline.Options{Store: store})
				if err != nil {
					b.Fatal(err)
				}
				if i > 0 && res.Step("train").Status != want {
					b.Fatalf("train %s, want %s", res.Step("train").Status, want)
				}
			}
		})
	}
}
