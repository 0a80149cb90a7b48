package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
)

// Options configure a pipeline run.
type Options struct {
	// Store records the pipeline run and its step runs, and is searched
	// for cached step runs. Required.
	Store tracking.TrackingStore
	// Experiment is the name of the experiment the runs go to, created if
	// needed; default: the pipeline's name. The cache is searched in it.
	Experiment string
	// RunName names the pipeline run; default: a generated name.
	RunName string
	// UserID is recorded as the runs' user.
	UserID string
	// Tags are added to the pipeline run.
	Tags []tracking.Tag
	// Artifacts resolves a run's artifact URI to a store and the key
	// prefix of the run's artifacts in it, as tracking/client's
	// Client.ArtifactStore does. Default: Store's own ArtifactStore
	// method if it has one (a *client.Client), else artifacts.Open with
	// no prefix, which reads local paths, file:// and s3:// URIs but not
	// the mlflow-artifacts:/ URIs of a store behind a tracking server.
	Artifacts func(ctx context.Context, uri string) (store artifacts.Store, prefix string, err error)
	// Workers is how many steps may run at once (default 1). Independent
	// steps run in parallel up to this limit.
	Workers int
	// WorkDir holds the steps' scratch directories and the local copies
	// of their inputs while they run; default: the system's temporary
	// directory.
	WorkDir string
	// NoCache runs every step, as if none had run before. Step runs still
	// record their cache keys for later runs.
	NoCache bool
	// Progress, if set, receives a line as each step starts and ends.
	Progress io.Writer
}

// StepStatus is what became of a step in a pipeline run.
type StepStatus string

// The step statuses.
const (
	StepExecuted StepStatus = "executed" // its function ran and its outputs were stored
	StepCached   StepStatus = "cached"   // the outputs of an earlier step run were reused
	StepFailed   StepStatus = "failed"   // its function, or storing its outputs, failed
	StepKilled   StepStatus = "killed"   // the run was cancelled while it ran
	StepSkipped  StepStatus = "skipped"  // it did not start: an upstream step failed, or the run was cancelled
	StepRunning  StepStatus = "running"  // (Inspect only) still running, or its process died
)

// Result is the outcome of Pipeline.Run.
type Result struct {
	RunID        string             // the pipeline run
	ExperimentID string             // where it and its step runs are
	Status       tracking.RunStatus // FINISHED, FAILED or KILLED
	Steps        []StepResult       // in the order the steps were added
	stores       *storeCache
	nodes        []*node
}

// StepResult is the outcome of one step.
type StepResult struct {
	Name       string
	RunID      string // its step run; "" when skipped
	Status     StepStatus
	CacheKey   string
	CachedFrom string // with StepCached: the step run whose outputs were reused
	Duration   time.Duration
	Inputs     map[string]ArtifactRef
	Outputs    map[string]Artifact
	Err        error // with StepFailed, StepKilled and StepSkipped
}

// Step returns the result of the step called name, or nil.
func (r *Result) Step(name string) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// execution is one run of a pipeline.
type execution struct {
	p       *Pipeline
	opt     Options
	expID   string
	runID   string
	stores  *storeCache
	results []StepResult // by node index
	done    int          // steps finished, for progress
	outMu   sync.Mutex
}

// Run runs the pipeline: each step, in an order that respects their
// inputs, either runs or, when an earlier step run had the same cache key,
// reuses its outputs. It returns the result, and an error if a step failed
// or ctx was cancelled; the result then says which steps finished, which
// failed and which were skipped, and a later Run reuses the finished ones.
func (p *Pipeline) Run(ctx context.Context, opt Options) (*Result, error) {
	if err := p.Err(); err != nil {
		return nil, err
	}
	if opt.Store == nil {
		return nil, fmt.Errorf("pipeline %s: no tracking store in Options", p.name)
	}
	if len(p.nodes) == 0 {
		return nil, fmt.Errorf("pipeline %s: no steps", p.name)
	}
	if opt.Workers <= 0 {
		opt.Workers = 1
	}
	if opt.Experiment == "" {
		opt.Experiment = p.name
	}
	if opt.Artifacts == nil {
		opt.Artifacts = defaultArtifacts(opt.Store)
	}
	if opt.WorkDir == "" {
		opt.WorkDir = os.TempDir()
	}
	expID, err := ensureExperiment(ctx, opt.Store, opt.Experiment)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", p.name, err)
	}
	tags := append([]tracking.Tag{{Key: TagPipeline, Value: p.name}}, opt.Tags...)
	for _, n := range p.nodes {
		up := make([]string, len(n.upstream))
		for i, u := range n.upstream {
			up[i] = u.name
		}
		tags = append(tags, tracking.Tag{Key: TagDAGPrefix + n.name, Value: mustJSON(up)})
	}
	run, err := opt.Store.CreateRun(ctx, tracking.CreateRun{
		ExperimentID: expID, RunName: opt.RunName, UserID: opt.UserID, Tags: tags,
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: create the pipeline run: %w", p.name, err)
	}
	e := &execution{
		p: p, opt: opt, expID: expID, runID: run.Info.RunID,
		stores:  &storeCache{open: opt.Artifacts, m: map[string]artifacts.Store{}},
		results: make([]StepResult, len(p.nodes)),
	}
	for i, n := range p.nodes {
		e.results[i] = StepResult{Name: n.name, Status: StepSkipped}
	}
	e.printf("pipeline %s: run %s (%s) in experiment %s (id %s)", p.name, run.Info.RunID, run.Info.RunName, opt.Experiment, expID)
	start := time.Now()
	e.schedule(ctx)

	res := &Result{RunID: e.runID, ExperimentID: expID, Steps: e.results, stores: e.stores, nodes: p.nodes}
	var errs []error
	counts := map[StepStatus]int{}
	res.Status = tracking.RunFinished
	for _, r := range res.Steps {
		counts[r.Status]++
		switch r.Status {
		case StepFailed:
			res.Status = tracking.RunFailed
			errs = append(errs, fmt.Errorf("step %s: %w", r.Name, r.Err))
		case StepKilled, StepSkipped:
			if res.Status == tracking.RunFinished {
				res.Status = tracking.RunKilled
			}
		}
	}
	if res.Status == tracking.RunKilled && len(errs) == 0 {
		errs = append(errs, context.Cause(ctx))
	}
	var summary []string
	for _, s := range []StepStatus{StepExecuted, StepCached, StepFailed, StepKilled, StepSkipped} {
		if counts[s] > 0 {
			summary = append(summary, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	// Record the end even when ctx is cancelled.
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	endErr := errors.Join(
		opt.Store.SetTag(octx, e.runID, tracking.Tag{Key: TagSummary, Value: strings.Join(summary, ", ")}),
		updateRun(octx, opt.Store, e.runID, res.Status))
	if endErr != nil {
		errs = append(errs, fmt.Errorf("record the end of pipeline run %s: %w", e.runID, endErr))
	}
	e.printf("pipeline %s: %s in %s: %s", p.name, res.Status, roundDuration(time.Since(start)), strings.Join(summary, ", "))
	if len(errs) > 0 {
		return res, fmt.Errorf("pipeline %s: run %s %s: %w", p.name, e.runID, res.Status, errors.Join(errs...))
	}
	return res, nil
}

// schedule runs the steps, at most opt.Workers at once, each once all its
// upstream steps have finished; the dependents of a step that did not
// finish are skipped. On cancellation it starts nothing more and waits for
// the running steps to return.
func (e *execution) schedule(ctx context.Context) {
	nodes := e.p.nodes
	waiting := make([]int, len(nodes)) // unfinished upstream steps
	dependents := make([][]*node, len(nodes))
	var ready []*node
	for _, n := range nodes {
		waiting[n.index] = len(n.upstream)
		for _, u := range n.upstream {
			dependents[u.index] = append(dependents[u.index], n)
		}
		if len(n.upstream) == 0 {
			ready = append(ready, n)
		}
	}
	blocked := make([]bool, len(nodes))
	var block func(n *node, cause error)
	block = func(n *node, cause error) {
		for _, d := range dependents[n.index] {
			if !blocked[d.index] {
				blocked[d.index] = true
				e.results[d.index].Err = cause
				e.printf("step %s: skipped: %v", d.name, cause)
				block(d, cause)
			}
		}
	}
	finished := make(chan *node)
	running := 0
	for {
		for len(ready) > 0 && running < e.opt.Workers && ctx.Err() == nil {
			n := ready[0]
			ready = ready[1:]
			running++
			go func() {
				e.runStep(ctx, n)
				finished <- n
			}()
		}
		if running == 0 {
			break
		}
		n := <-finished
		running--
		if s := e.results[n.index].Status; s != StepExecuted && s != StepCached {
			block(n, fmt.Errorf("upstream step %s %s", n.name, s))
			continue
		}
		for _, d := range dependents[n.index] {
			waiting[d.index]--
			if waiting[d.index] == 0 && !blocked[d.index] {
				// Keep the order steps were added in, so runs are repeatable.
				i, _ := slices.BinarySearchFunc(ready, d, func(a, b *node) int { return a.index - b.index })
				ready = slices.Insert(ready, i, d)
			}
		}
	}
	for _, n := range ready {
		e.results[n.index].Err = context.Cause(ctx)
	}
	for _, n := range nodes {
		r := &e.results[n.index]
		if r.Status == StepSkipped && r.Err == nil {
			r.Err = context.Cause(ctx)
		}
	}
}

func (e *execution) printf(format string, args ...any) {
	if e.opt.Progress == nil {
		return
	}
	e.outMu.Lock()
	defer e.outMu.Unlock()
	fmt.Fprintf(e.opt.Progress, format+"\n", args...)
}

// ensureExperiment returns the id of the active experiment called name,
// creating it if there is none.
func ensureExperiment(ctx context.Context, s tracking.TrackingStore, name string) (string, error) {
	exp, err := s.GetExperimentByName(ctx, name)
	if tracking.IsNotFound(err) {
		id, err := s.CreateExperiment(ctx, name, "", nil)
		if err == nil {
			return id, nil
		}
		if tracking.CodeOf(err) != tracking.ResourceAlreadyExists {
			return "", fmt.Errorf("create experiment %q: %w", name, err)
		}
		exp, err = s.GetExperimentByName(ctx, name) // created meanwhile by another run
	}
	if err != nil {
		return "", fmt.Errorf("experiment %q: %w", name, err)
	}
	if exp.LifecycleStage != tracking.Active {
		return "", fmt.Errorf("experiment %q (id %s) is deleted: restore it or pick another experiment", name, exp.ExperimentID)
	}
	return exp.ExperimentID, nil
}

func updateRun(ctx context.Context, s tracking.TrackingStore, runID string, status tracking.RunStatus) error {
	_, err := s.UpdateRun(ctx, tracking.UpdateRun{RunID: runID, Status: status, EndTime: time.Now().UnixMilli()})
	return err
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}

// artifactResolver is what tracking/client.Client offers to resolve
// artifact URIs, mlflow-artifacts:/ ones included.
type artifactResolver interface {
	ArtifactStore(ctx context.Context, uri string) (artifacts.Store, string, error)
}

func defaultArtifacts(s tracking.TrackingStore) func(context.Context, string) (artifacts.Store, string, error) {
	if r, ok := s.(artifactResolver); ok {
		return r.ArtifactStore
	}
	return func(ctx context.Context, uri string) (artifacts.Store, string, error) {
		if strings.HasPrefix(uri, "mlflow-artifacts:") {
			return nil, "", errors.New("a tracking server's artifact URI: open the store with tracking/client, or set Options.Artifacts")
		}
		st, err := artifacts.Open(ctx, uri)
		return st, "", err
	}
}

// storeCache opens the artifact store of each run once.
type storeCache struct {
	open func(ctx context.Context, uri string) (artifacts.Store, string, error)
	mu   sync.Mutex
	m    map[string]artifacts.Store
}

func (c *storeCache) get(ctx context.Context, uri string) (artifacts.Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[uri]; ok {
		return s, nil
	}
	s, prefix, err := c.open(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("open the artifact store at %s: %w", uri, err)
	}
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		s = prefixed{s, prefix}
	}
	c.m[uri] = s
	return s, nil
}
