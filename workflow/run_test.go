package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/tracking/rest"
	"github.com/yolops/yolops/tracking/server/servertest"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/train"
)

// tinyGrid is a grid of two one-epoch trainings from scratch at 64
// pixels, seeds 42 and 1.
func tinyGrid(t *testing.T, lr0 string) *Grid {
	t.Helper()
	g := &Grid{Base: train.DefaultArgs()}
	for k, v := range map[string][]string{
		"model": {"yolov8n.yaml"}, "epochs": {"1"}, "imgsz": {"64"}, "batch": {"8"}, "lr0": {lr0},
	} {
		if err := g.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Set("seed", []string{"42", "1"}); err != nil {
		t.Fatal(err)
	}
	return g
}

func runGrid(t *testing.T, g *Grid, opt Options) *Result {
	t.Helper()
	points, err := g.Points()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(points))
	for i, p := range points {
		names[i] = PointName(g, p)
	}
	var log bytes.Buffer
	opt.Log = &log
	start := time.Now()
	res, err := Run(context.Background(), points, names, opt)
	t.Logf("grid of %d in %s", len(points), time.Since(start))
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return res
}

// watch is a log that calls fn with each line.
type watch struct {
	mu  sync.Mutex
	buf strings.Builder
	fn  func(line string)
}

func (w *watch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.fn(l)
	}
	return len(b), nil
}

func (w *watch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func embedded(t *testing.T) (*client.Client, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := client.Open(context.Background(), filepath.Join(dir, "mlruns"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dir
}

func pointsOf(t *testing.T, g *Grid) ([]train.Args, []string) {
	t.Helper()
	points, err := g.Points()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(points))
	for i, p := range points {
		names[i] = PointName(g, p)
	}
	return points, names
}

// TestInterruptedGrid stops a grid while its second point trains, then
// runs it again: the first point is wholly cached, the second trains.
func TestInterruptedGrid(t *testing.T) {
	c, dir := embedded(t)
	data := personData(t, 8)
	opt := Options{Client: c, Dir: filepath.Join(dir, "runs"), Threads: 2, Data: DataOptions{Source: data}}
	points, names := pointsOf(t, tinyGrid(t, "0.01"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &watch{fn: func(l string) {
		if strings.HasPrefix(l, "[2/2] step trainer: started") {
			cancel()
		}
	}}
	opt.Log = log
	res, err := Run(ctx, points, names, opt)
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 of 2 grid points done") {
		t.Fatalf("interrupted grid: %v\n%s", err, log)
	}
	if res.Points[0].Status != Trained || res.Points[1].Status != Stopped {
		t.Fatalf("statuses %s, %s; want trained, stopped\n%s", res.Points[0].Status, res.Points[1].Status, log)
	}
	if s := res.Points[1].Step(StepTrainer); s != pipeline.StepKilled {
		t.Errorf("second trainer %s, want killed", s)
	}
	var b strings.Builder
	res.WriteTable(&b)
	if !strings.Contains(b.String(), "stopped") {
		t.Errorf("table does not show the stopped point:\n%s", b.String())
	}

	opt.Log = &bytes.Buffer{}
	res, err = Run(context.Background(), points, names, opt)
	if err != nil {
		t.Fatal(err)
	}
	first, second := res.Points[0], res.Points[1]
	for _, s := range []string{StepDataLoader, StepTrainer, StepEvaluator, StepRegister} {
		if first.Step(s) != pipeline.StepCached {
			t.Errorf("rerun: first point's %s %s, want cached", s, first.Step(s))
		}
	}
	if second.Status != Trained || second.Step(StepDataLoader) != pipeline.StepCached {
		t.Errorf("rerun: second point %s (data_loader %s), want trained with the data cached", second.Status, second.Step(StepDataLoader))
	}
	// The killed training is left as KILLED, which promote ignores; the
	// finished one carries the point's name.
	runs, _, err := c.SearchRuns(context.Background(), tracking.SearchRuns{
		ExperimentIDs: []string{res.ExperimentID}, Filter: fmt.Sprintf("attributes.run_name = '%s'", names[1]),
	})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[tracking.RunStatus]int{}
	for _, r := range runs {
		statuses[r.Info.Status]++
	}
	if statuses[tracking.RunFinished] != 1 {
		t.Errorf("runs named %s: %v, want one FINISHED", names[1], statuses)
	}
	if second.Training.RunID == "" || first.Training.RunID == second.Training.RunID {
		t.Errorf("training runs %q and %q", first.Training.RunID, second.Training.RunID)
	}
}

// TestParallelGrid trains two points at once: the data is prepared once,
// each training logs its progress to its run's train.log.
func TestParallelGrid(t *testing.T) {
	c, dir := embedded(t)
	opt := Options{Client: c, Dir: filepath.Join(dir, "runs"), Threads: 2, Parallel: 2, Data: DataOptions{Source: personData(t, 8)}}
	points, names := pointsOf(t, tinyGrid(t, "0.01"))
	var log bytes.Buffer
	opt.Log = &log
	res, err := Run(context.Background(), points, names, opt)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	executed := 0
	for _, p := range res.Points {
		if p.Status != Trained {
			t.Errorf("%s %s", p.Name, p.Status)
		}
		if p.Step(StepDataLoader) == pipeline.StepExecuted {
			executed++
		}
		// The evaluator reproduces the training's final validation of
		// the same weights (which the training logs rounded to 5 places).
		if m := p.Training.Metrics["metrics/mAP50(B)"]; math.Abs(m-p.Eval.MAP50) > 1e-5 {
			t.Errorf("%s: evaluator mAP50 %v, training's final validation %v", p.Name, p.Eval.MAP50, m)
		}
		dst := filepath.Join(t.TempDir(), "train.log")
		if err := c.DownloadArtifact(context.Background(), p.Training.RunID, "train.log", dst); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		} else if b, _ := os.ReadFile(dst); !bytes.Contains(b, []byte("Starting training for 1 epochs")) {
			t.Errorf("%s: train.log lacks the training's output:\n%s", p.Name, b)
		}
	}
	if executed != 1 {
		t.Errorf("data_loader executed %d times, want once (the other point waits for it)\n%s", executed, log.String())
	}
}

// TestHTTPTracking runs a grid point against a tracking server over
// HTTP, artifacts proxied by it, as --tracking-uri http://... does.
func TestHTTPTracking(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ts := servertest.Start(t, servertest.Options{Store: []sqlstore.Option{sqlstore.WithDefaultArtifactRoot(rest.ProxiedScheme + ":/")}})
	st, arts := ts.Store, ts.Artifacts
	c, err := client.Open(ctx, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Fine-tuned from a checkpoint (the repository's random-weight
	// yolov8n), which is then an input of the trainer.
	g := tinyGrid(t, "0.01")
	for k, v := range map[string]string{"seed": "7", "model": filepath.Join("..", "yolo", "testdata", "ref", "yolov8n_seed0.pt")} {
		if err := g.Set(k, []string{v}); err != nil {
			t.Fatal(err)
		}
	}
	opt := Options{Client: c, Dir: filepath.Join(dir, "runs"), Threads: 2, Data: DataOptions{Source: personData(t, 8)}}
	res := runGrid(t, g, opt)
	p := res.Points[0]
	if p.Status != Trained || p.Name != "yolov8n_seed0_e1_sz64_lr0.01_s7" {
		t.Fatalf("%s %s", p.Name, p.Status)
	}
	for _, s := range p.Steps {
		if _, ok := s.Inputs["pretrained"]; (s.Name == StepTrainer) != ok {
			t.Errorf("step %s: pretrained input %v", s.Name, ok)
		}
	}
	// What the server stored: the run, its weights in the proxied
	// artifact store, the registered version.
	run, err := st.GetRun(ctx, p.Training.RunID)
	if err != nil || run.Info.RunName != p.Name || !strings.HasPrefix(run.Info.ArtifactURI, "mlflow-artifacts:/") {
		t.Fatalf("run %+v, %v", run, err)
	}
	key := strings.TrimPrefix(run.Info.ArtifactURI, "mlflow-artifacts:/") + "/weights/best.safetensors"
	if _, err := arts.Stat(ctx, key); err != nil {
		t.Errorf("weights on the server: %v", err)
	}
	v, err := st.GetModelVersion(ctx, DefaultExperiment, p.Registered.Version)
	if err != nil || v.RunID != p.Training.RunID || v.CurrentStage != tracking.StageNone {
		t.Errorf("model version %+v, %v", v, err)
	}
	// And a rerun through the server is cached.
	res = runGrid(t, g, opt)
	if res.Points[0].Status != Cached {
		t.Errorf("rerun %s, want cached", res.Points[0].Status)
	}
}

func TestResolveModel(t *testing.T) {
	ctx := context.Background()
	if _, scratch, err := resolveModel(ctx, "yolov8n.yaml", nil); !scratch || err != nil {
		t.Errorf("yolov8n.yaml: scratch %v, %v", scratch, err)
	}
	local := filepath.Join(t.TempDir(), "best.safetensors")
	if err := os.WriteFile(local, []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, scratch, err := resolveModel(ctx, local, nil); p != local || scratch || err != nil {
		t.Errorf("a local file: %q %v %v", p, scratch, err)
	}
	if _, _, err := resolveModel(ctx, "weights/nothere.pt", nil); err == nil || !strings.Contains(err.Error(), "not a published checkpoint") {
		t.Errorf("a missing file: %v", err)
	}
	// A published name the cache lacks and cannot download: the error
	// says where to put it and how to train from scratch instead.
	ts := httptest.NewServer(http.NotFoundHandler())
	defer ts.Close()
	cache := &assets.Cache{Dir: t.TempDir(), BaseURL: ts.URL}
	_, _, err := resolveModel(ctx, "yolov8n", cache)
	for _, want := range []string{"yolov8n.pt", cache.Dir, "404", "--model yolov8n.yaml"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("offline yolov8n: %v, want %q in it", err, want)
		}
	}
	// Once in the cache (digest checked), it is used.
	cache.Digests = map[string]string{"yolov8n.pt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} // of no bytes
	if err := os.WriteFile(filepath.Join(cache.Dir, "yolov8n.pt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, _, err := resolveModel(ctx, "yolov8n.pt", cache); err != nil || p != filepath.Join(cache.Dir, "yolov8n.pt") {
		t.Errorf("cached yolov8n.pt: %q, %v", p, err)
	}
}
