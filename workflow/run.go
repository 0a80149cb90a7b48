package workflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/train"
)

// DefaultExperiment is the experiment the runs go to by default.
const DefaultExperiment = "person-yolov8n"

// Options configure a workflow run.
type Options struct {
	// Client is where runs, their artifacts and the registry are kept.
	// Required.
	Client *client.Client
	// Experiment receives the pipeline runs and their step runs, and is
	// searched for cached steps; DefaultExperiment when "".
	Experiment string
	// ModelName is the registered model the register step adds versions
	// to; the experiment's name when "".
	ModelName string
	// Data says where the dataset comes from.
	Data DataOptions
	// Dir receives the local files: datasets/<name>-<version>/ (the
	// prepared dataset each training read) and detect/<run name>/ (the
	// run folders, as Ultralytics' runs/detect); "runs" when "".
	Dir string
	// Threads is the compute threads in all (0: one per CPU); with
	// Parallel trainings at once each gets Threads/Parallel.
	Threads int
	// Parallel is how many grid points run at once (default 1).
	Parallel int
	// CodeVersion is the yolops version, part of the trainer's and the
	// evaluator's cache keys: a new release trains again.
	CodeVersion string
	// NoCache runs every step even when an earlier run had the same
	// cache key.
	NoCache bool
	// Weights fetches published checkpoints (yolov8n.pt); the default
	// cache, downloading when needed, when nil.
	Weights *assets.Cache
	// Log receives progress: a line as each step and point starts and
	// ends and, when points run one at a time, the training's own
	// progress bars.
	Log io.Writer
}

// Status is what became of a grid point.
type Status string

// The statuses of a grid point.
const (
	Trained Status = "trained" // its pipeline ran and trained
	Cached  Status = "cached"  // its pipeline ran and every step it needed was cached
	Failed  Status = "failed"  // a step failed
	Stopped Status = "stopped" // interrupted while running
	NotRun  Status = "not run" // interrupted before it started
)

// PointResult is the outcome of one grid point.
type PointResult struct {
	Name          string
	Args          train.Args
	Status        Status
	PipelineRunID string
	// Steps are the pipeline's step results, in order (nil when not
	// run).
	Steps []pipeline.StepResult
	// Training is the trainer's summary: TrainSummary.RunID is the run
	// holding the params, metrics and artifacts (an earlier one when the
	// trainer was cached).
	Training   TrainSummary
	Eval       Evaluation
	Registered Registered
	Duration   time.Duration // the pipeline run's wall time
	Err        error
}

// TrainerCached reports whether the point reused an earlier training.
func (p *PointResult) TrainerCached() bool {
	for _, s := range p.Steps {
		if s.Name == StepTrainer {
			return s.Status == pipeline.StepCached
		}
	}
	return false
}

// Step returns the status of the named step ("" when it did not run).
func (p *PointResult) Step(name string) pipeline.StepStatus {
	for _, s := range p.Steps {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

// Result is the outcome of a grid.
type Result struct {
	Experiment   string
	ExperimentID string
	Model        string
	Points       []PointResult // in grid order
}

// Err summarises the points that did not finish, or returns nil.
func (r *Result) Err() error {
	var failed, stopped []string
	var errs []error
	for _, p := range r.Points {
		switch p.Status {
		case Failed:
			failed = append(failed, p.Name)
			errs = append(errs, fmt.Errorf("%s: %w", p.Name, p.Err))
		case Stopped, NotRun:
			stopped = append(stopped, p.Name)
		}
	}
	done := len(r.Points) - len(failed) - len(stopped)
	switch {
	case len(failed) > 0:
		return fmt.Errorf("%d of %d grid points failed (%s): %w", len(failed), len(r.Points), strings.Join(failed, ", "), errors.Join(errs...))
	case len(stopped) > 0:
		return fmt.Errorf("interrupted with %d of %d grid points done: run the same command again to finish the other %d (the finished ones are cached): %w",
			done, len(r.Points), len(stopped), context.Canceled)
	}
	return nil
}

// runner runs the points of one grid.
type runner struct {
	opt     Options
	log     io.Writer
	data    *dataSource
	models  map[string]modelRef
	threads int // per training; 0: one per CPU

	outMu sync.Mutex
}

type modelRef struct {
	ref     pipeline.Ref[pipeline.File]
	scratch bool
}

func (r *runner) printf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.log, format+"\n", args...)
}

// Run runs the workflow for each point of a grid (names[i] naming
// points[i], as PointName does): data_loader (the dataset of the chosen
// classes, versioned) -> trainer -> evaluator -> register, one pipeline
// run per point, opt.Parallel at a time. Steps whose cache key matches a
// finished step run are not run again, so rerunning an interrupted grid
// finishes only what is missing. A failed point does not stop the
// others; cancelling ctx stops the running points and starts no more.
// The error, if any, is the Result's Err (or a set-up failure).
func Run(ctx context.Context, points []train.Args, names []string, opt Options) (*Result, error) {
	if opt.Client == nil {
		return nil, errors.New("workflow: no tracking client")
	}
	if len(points) == 0 || len(points) != len(names) {
		return nil, fmt.Errorf("workflow: %d points and %d names", len(points), len(names))
	}
	if opt.Experiment == "" {
		opt.Experiment = DefaultExperiment
	}
	if opt.ModelName == "" {
		opt.ModelName = opt.Experiment
	}
	if opt.Dir == "" {
		opt.Dir = "runs"
	}
	if opt.CodeVersion == "" {
		opt.CodeVersion = "dev"
	}
	if len(opt.Data.Classes) == 0 {
		opt.Data.Classes = []string{"person"}
	}
	opt.Parallel = max(1, min(opt.Parallel, len(points)))
	r := &runner{opt: opt, log: opt.Log, models: map[string]modelRef{}}
	if r.log == nil {
		r.log = io.Discard
	}
	if opt.Parallel > 1 || opt.Threads > 0 {
		total := opt.Threads
		if total <= 0 {
			total = runtime.NumCPU()
		}
		r.threads = max(1, total/opt.Parallel)
	}
	var err error
	if r.data, err = resolveData(ctx, opt.Data, r.log); err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	seen := map[string]bool{}
	for i, a := range points {
		if seen[names[i]] {
			return nil, fmt.Errorf("workflow: two points are named %s", names[i])
		}
		seen[names[i]] = true
		if _, ok := r.models[a.Model]; ok {
			continue
		}
		path, scratch, err := resolveModel(ctx, a.Model, opt.Weights)
		if err != nil {
			return nil, fmt.Errorf("workflow: %w", err)
		}
		m := modelRef{scratch: scratch}
		if !scratch {
			m.ref = pipeline.SourceFile(path)
		}
		r.models[a.Model] = m
	}
	expID, err := opt.Client.GetOrCreateExperiment(ctx, opt.Experiment)
	if err != nil {
		return nil, fmt.Errorf("workflow: experiment %s: %w", opt.Experiment, err)
	}
	res := &Result{Experiment: opt.Experiment, ExperimentID: expID, Model: opt.ModelName, Points: make([]PointResult, len(points))}
	pts := make([]*point, len(points))
	for i, a := range points {
		a = effectiveArgs(a)
		pts[i] = &point{index: i, name: names[i], args: a}
		r.build(pts[i])
		if err := pts[i].p.Err(); err != nil {
			return nil, fmt.Errorf("workflow: %w", err)
		}
		res.Points[i] = PointResult{Name: names[i], Args: a, Status: NotRun}
	}
	par := ""
	if opt.Parallel > 1 {
		par = fmt.Sprintf(", %d at a time with %d compute thread(s) each", opt.Parallel, r.threads)
	}
	r.printf("grid: %d point(s) in experiment %s (tracking %s)%s", len(points), opt.Experiment, opt.Client.URI(), par)

	// With several at once, the first point runs its data_loader alone,
	// so that the others find it cached instead of preparing the same
	// dataset beside it.
	dataReady := make(chan struct{})
	var once sync.Once
	ready := func() { once.Do(func() { close(dataReady) }) }
	pts[0].started = ready

	start := time.Now()
	var (
		mu       sync.Mutex
		finished int
		trained  time.Duration
		nTrained int
	)
	next := make(chan int)
	var wg sync.WaitGroup
	for range opt.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				pr := r.runPoint(ctx, pts[i], len(pts))
				if i == 0 {
					ready()
				}
				mu.Lock()
				res.Points[i] = pr
				finished++
				if pr.Status == Trained {
					trained += pr.Duration
					nTrained++
				}
				left := len(pts) - finished
				eta := ""
				if left > 0 && nTrained > 0 {
					eta = fmt.Sprintf("; %d left, about %s", left, (trained / time.Duration(nTrained) * time.Duration(left) / time.Duration(opt.Parallel)).Round(time.Second))
				}
				mu.Unlock()
				r.printf("[%d/%d] %s: %s%s", i+1, len(pts), pr.Name, pointLine(pr), eta)
			}
		}()
	}
feed:
	for i := range pts {
		if i == 1 && opt.Parallel > 1 {
			select {
			case <-dataReady:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	r.printf("grid: done in %s", time.Since(start).Round(time.Second))
	return res, res.Err()
}

// pointLine is the end-of-point progress line.
func pointLine(pr PointResult) string {
	d := pr.Duration.Round(10 * time.Millisecond)
	switch pr.Status {
	case Trained, Cached:
		return fmt.Sprintf("%s in %s: mAP50 %.4g, mAP50-95 %.4g (training run %s, %s version %s)",
			pr.Status, d, pr.Eval.MAP50, pr.Eval.MAP5095, pr.Training.RunID, pr.Registered.Model, pr.Registered.Version)
	case Failed:
		return fmt.Sprintf("failed after %s: %v", d, pr.Err)
	}
	return string(pr.Status)
}

// runPoint runs one point's pipeline.
func (r *runner) runPoint(ctx context.Context, pt *point, n int) PointResult {
	pr := PointResult{Name: pt.name, Args: pt.args, Status: NotRun}
	if ctx.Err() != nil {
		return pr
	}
	prefix := fmt.Sprintf("[%d/%d] ", pt.index+1, n)
	r.printf("%s%s: started", prefix, pt.name)
	start := time.Now()
	res, err := pt.p.Run(ctx, pipeline.Options{
		Store: r.opt.Client, Experiment: r.opt.Experiment, RunName: "pipeline_" + pt.name,
		Tags:    []tracking.Tag{{Key: "yolops.run_name", Value: pt.name}},
		NoCache: r.opt.NoCache, Progress: lineWriter(func(f string, a ...any) { r.printf(prefix+f, a...) }),
	})
	pr.Duration = time.Since(start)
	if res == nil {
		pr.Status, pr.Err = Failed, err
		return pr
	}
	pr.PipelineRunID, pr.Steps = res.RunID, res.Steps
	switch res.Status {
	case tracking.RunFinished:
	case tracking.RunKilled:
		pr.Status, pr.Err = Stopped, err
		return pr
	default:
		pr.Status, pr.Err = Failed, err
		return pr
	}
	// The outputs are small JSON values: read back from the store, so
	// that a cached point reports what its original run produced.
	var errs []error
	pr.Training, err = pipeline.Fetch(ctx, res, pt.summary, "")
	errs = append(errs, err)
	pr.Eval, err = pipeline.Fetch(ctx, res, pt.eval, "")
	errs = append(errs, err)
	pr.Registered, err = pipeline.Fetch(ctx, res, pt.reg, "")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		pr.Status, pr.Err = Failed, err
		return pr
	}
	pr.Status = Cached
	if !pr.TrainerCached() {
		pr.Status = Trained
	}
	return pr
}

// Sorted returns the points by mAP50, best first (ties by name); points
// that did not finish come last, in grid order.
func (r *Result) Sorted() []PointResult {
	out := slices.Clone(r.Points)
	done := func(p PointResult) bool { return p.Status == Trained || p.Status == Cached }
	slices.SortStableFunc(out, func(a, b PointResult) int {
		switch {
		case done(a) && !done(b):
			return -1
		case !done(a) && done(b):
			return 1
		case !done(a):
			return 0
		}
		if c := cmp.Compare(b.Eval.MAP50, a.Eval.MAP50); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// WriteTable writes the comparison table: one row per point, best mAP50
// first.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\timgsz\tlr0\tseed\tmAP50\tmAP50-95\tP\tR\ttrain time\tcached\t")
	for _, p := range r.Sorted() {
		a := p.Args
		row := []string{p.Name, fmt.Sprint(a.ImgSz), argText(a, "lr0"), fmt.Sprint(a.Seed)}
		switch p.Status {
		case Trained, Cached:
			e := p.Eval
			cached := "no"
			if p.Status == Cached {
				cached = "yes"
			}
			row = append(row, f4(e.MAP50), f4(e.MAP5095), f4(e.Precision), f4(e.Recall),
				(time.Duration(p.Training.Seconds * float64(time.Second))).Round(100*time.Millisecond).String(), cached)
		default:
			row = append(row, "-", "-", "-", "-", "-", string(p.Status))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func f4(x float64) string { return fmt.Sprintf("%.4f", x) }
