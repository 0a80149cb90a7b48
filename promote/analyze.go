package promote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// Run tags promote reads. The data tags are what a training run records
// about its dataset; where they are missing, the report says the fact is
// unknown, or reads the data YAML the run's data param names when this
// machine has it.
const (
	TagDatasetVersion = "yolops.dataset_version"          // the data's content hash
	TagPipelineRun    = "yolops.pipeline_run"             // the pipeline run that trained it
	TagTrainImages    = "yolops.dataset.train_images"     // images in the train split
	TagValImages      = "yolops.dataset.val_images"       // images in the val split
	TagTrainEqualsVal = "yolops.dataset.train_equals_val" // "true" when val is the train images
)

// Model version tags promote sets.
const (
	TagReportURI      = "yolops.report_uri" // runs:/<run>/promotion/.../decision.md, which the web UI shows
	TagDecision       = "yolops.decision"   // one-line summary of the decision
	TagObjective      = "yolops.objective"  // the metric key ranked on
	TagObjectiveValue = "yolops.objective_value"
	TagConfigMean     = "yolops.config_mean" // the configuration's mean objective over seeds
	TagConfig         = "yolops.config"      // the swept settings, "imgsz=416 lr0=0.01"
	TagExperimentID   = "yolops.experiment_id"
)

// seedParam is the param whose values are replicates, not settings.
const seedParam = "seed"

// identityParams name a run rather than configure it: they differ from
// run to run without being swept.
var identityParams = map[string]bool{
	"name": true, "save_dir": true, "project": true, "exist_ok": true, "resume": true,
}

// RunResult is one run as the analysis sees it.
type RunResult struct {
	ID, Name  string
	Status    tracking.RunStatus
	StartTime int64
	Params    map[string]string
	Tags      map[string]string
	Metrics   map[string]float64 // the latest value of each key
	Value     float64            // the objective
	Seed      string             // the seed param, "" when not logged
	Config    *Config
	// Failed lists the constraints the run breaks.
	Failed []ConstraintCheck
	// History is the objective per epoch (step), each epoch's own
	// validation; Final is the value logged again at the last step after
	// it (the final validation of the best weights), NaN when none was.
	// Filled for the top configurations only.
	History []EpochValue
	Final   float64
}

// EpochValue is a metric value at an epoch (MLflow's step, from 0).
type EpochValue struct {
	Step  int64
	Value float64
}

// Setting is one swept param's value.
type Setting struct{ Param, Value string }

// Config is the runs that share their swept settings: one configuration,
// several seeds.
type Config struct {
	Key      string // "imgsz=416 lr0=0.01"; "all runs" when nothing was swept
	Settings []Setting
	Runs     []*RunResult // by seed
	Rank     int          // 1 is the best
	// Mean, Std, Min and Max summarise the objective over the runs (Std
	// is the sample standard deviation, NaN for a single run).
	Mean, Std, Min, Max float64
	// Means holds the mean of each reported metric (NaN when a run did
	// not log it).
	Means map[string]float64
	// Failed lists the constraints the configuration's means break, and
	// NoRun is set when the means pass but no single run does.
	Failed []ConstraintCheck
	NoRun  bool
}

// Qualifies reports whether the configuration meets every constraint.
func (c *Config) Qualifies() bool { return len(c.Failed) == 0 && !c.NoRun }

// ConstraintCheck is a constraint and the value it was checked against.
type ConstraintCheck struct {
	Constraint
	Value float64 // NaN when not logged
	OK    bool
}

func (c ConstraintCheck) String() string {
	if math.IsNaN(c.Value) {
		return ShortName(c.Key) + " not logged (need >= " + formatValue(c.Min) + ")"
	}
	op := ">="
	if !c.OK {
		op = "<"
	}
	return ShortName(c.Key) + " " + formatValue(c.Value) + " " + op + " " + formatValue(c.Min)
}

// Effect is what changing one swept setting from its baseline value did,
// over matched pairs of runs.
type Effect struct {
	Param, Baseline, Value string
	Deltas                 []PairDelta
	// Mean, Std (sample), Min and Max of the deltas; Std is NaN for
	// fewer than two pairs.
	Mean, Std, Min, Max float64
}

// PairDelta is one matched pair: the other settings and seed it holds
// fixed, and the objective's change.
type PairDelta struct {
	Fixed string // "lr0=0.01 seed=42"
	Delta float64
}

// Skip is a run left out of the ranking, and why.
type Skip struct {
	ID, Name, Reason string
}

// Analysis is everything the decision and the report rest on.
type Analysis struct {
	Experiment tracking.Experiment
	// Objective is the logged key ranked on; Tiebreak the key that breaks
	// ties (mAP50-95, or mAP50 when the objective is mAP50-95); either
	// may be absent from the runs.
	Objective, Tiebreak string
	Constraints         []Constraint
	Runs                []*RunResult // the runs ranked
	Skipped             []Skip
	Swept               []string // the swept params, sorted
	Configs             []*Config
	Effects             []Effect
	// PooledSeedStd is the pooled within-configuration standard deviation
	// of the objective, over the configurations with at least two runs
	// (PooledDF degrees of freedom); NaN when there is none.
	PooledSeedStd float64
	PooledDF      int
	// Chosen is the configuration picked and Candidate its run to
	// register; both nil when none qualifies, and Refusal says why.
	Chosen    *Config
	Candidate *RunResult
	Refusal   string
	Data      DataFacts
}

// ErrNoCandidate is returned (wrapped, with the reason) when no run meets
// the constraints.
var ErrNoCandidate = errors.New("no run qualifies for promotion")

// loadRuns returns every active run of the experiment.
func loadRuns(ctx context.Context, st tracking.TrackingStore, expID string) ([]tracking.Run, error) {
	var all []tracking.Run
	token := ""
	for {
		runs, next, err := st.SearchRuns(ctx, tracking.SearchRuns{
			ExperimentIDs: []string{expID},
			MaxResults:    1000,
			OrderBy:       []string{"attributes.start_time ASC"},
			PageToken:     token,
		})
		if err != nil {
			return nil, fmt.Errorf("promote: search the runs of experiment %s: %w", expID, err)
		}
		all = append(all, runs...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// findExperiment looks an experiment up by name, then by id.
func findExperiment(ctx context.Context, st tracking.TrackingStore, ref string) (*tracking.Experiment, error) {
	if ref == "" {
		return nil, errors.New("promote: no experiment given")
	}
	e, err := st.GetExperimentByName(ctx, ref)
	if err == nil {
		return e, nil
	}
	if !tracking.IsNotFound(err) {
		return nil, fmt.Errorf("promote: experiment %q: %w", ref, err)
	}
	if e, err2 := st.GetExperiment(ctx, ref); err2 == nil {
		return e, nil
	}
	return nil, fmt.Errorf("promote: no experiment named %q (nor with that id)", ref)
}

// Analyze reads an experiment's runs and decides, without changing
// anything. A configuration that meets no constraint is not an error
// here: Chosen is nil and Refusal says why.
func Analyze(ctx context.Context, st tracking.TrackingStore, experiment, metric string, constraints []Constraint) (*Analysis, error) {
	exp, err := findExperiment(ctx, st, experiment)
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage == tracking.Deleted {
		return nil, fmt.Errorf("promote: experiment %q (id %s) is deleted", exp.Name, exp.ExperimentID)
	}
	runs, err := loadRuns(ctx, st, exp.ExperimentID)
	if err != nil {
		return nil, err
	}
	a := &Analysis{Experiment: *exp}
	logged := map[string]bool{}
	for _, r := range runs {
		if r.Info.Status == tracking.RunFinished {
			for _, m := range r.Data.Metrics {
				logged[m.Key] = true
			}
		}
	}
	if len(logged) == 0 {
		return nil, fmt.Errorf("promote: experiment %q has no finished run with metrics (%d runs in all)", exp.Name, len(runs))
	}
	if a.Objective, err = resolveMetric(metric, logged); err != nil {
		return nil, fmt.Errorf("promote: --metric: %w", err)
	}
	a.Tiebreak = keyMAP5095
	if a.Objective == keyMAP5095 || a.Objective == parenthesised(keyMAP5095) {
		a.Tiebreak = keyMAP50
	}
	if !logged[a.Tiebreak] && logged[parenthesised(a.Tiebreak)] {
		a.Tiebreak = parenthesised(a.Tiebreak)
	}
	for _, c := range constraints {
		if c.Key, err = resolveMetric(c.Metric, logged); err != nil {
			return nil, fmt.Errorf("promote: --min %s=%s: %w", c.Metric, formatValue(c.Min), err)
		}
		a.Constraints = append(a.Constraints, c)
	}

	for _, r := range runs {
		name := r.Info.RunName
		if bookkeeping(r, a.Objective) {
			continue
		}
		if r.Info.Status != tracking.RunFinished {
			a.Skipped = append(a.Skipped, Skip{r.Info.RunID, name, "status " + string(r.Info.Status)})
			continue
		}
		rr := &RunResult{
			ID: r.Info.RunID, Name: name, Status: r.Info.Status, StartTime: r.Info.StartTime,
			Params: map[string]string{}, Tags: map[string]string{}, Metrics: map[string]float64{},
		}
		for _, p := range r.Data.Params {
			rr.Params[p.Key] = p.Value
		}
		for _, t := range r.Data.Tags {
			rr.Tags[t.Key] = t.Value
		}
		for _, m := range r.Data.Metrics {
			rr.Metrics[m.Key] = m.Value
		}
		v, ok := rr.Metrics[a.Objective]
		switch {
		case !ok:
			a.Skipped = append(a.Skipped, Skip{rr.ID, name, "no " + a.Objective + " logged"})
			continue
		case math.IsNaN(v) || math.IsInf(v, 0):
			a.Skipped = append(a.Skipped, Skip{rr.ID, name, a.Objective + " is " + strconv.FormatFloat(v, 'g', -1, 64)})
			continue
		}
		rr.Value = v
		rr.Seed = rr.Params[seedParam]
		a.Runs = append(a.Runs, rr)
	}
	if len(a.Runs) == 0 {
		return nil, fmt.Errorf("promote: experiment %q: no finished run logged %s", exp.Name, a.Objective)
	}
	a.Swept = sweptParams(a.Runs)
	a.group()
	a.rank()
	a.pickCandidate()
	a.effects()
	a.pooledSeedStd()
	if err := a.loadHistories(ctx, st); err != nil {
		return nil, err
	}
	a.Data = dataFacts(a)
	return a, nil
}

// sweptParams returns the params whose values differ across the runs (a
// param some runs lack counts as differing), less the seed and the
// identity params.
func sweptParams(runs []*RunResult) []string {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Params {
			keys[k] = true
		}
	}
	var swept []string
	for k := range keys {
		if k == seedParam || identityParams[k] {
			continue
		}
		first, firstOK := runs[0].Params[k]
		for _, r := range runs[1:] {
			if v, ok := r.Params[k]; ok != firstOK || v != first {
				swept = append(swept, k)
				break
			}
		}
	}
	slices.Sort(swept)
	return swept
}

// compareValues orders param values numerically when both are numbers,
// else as strings.
func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil && x != y {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

func settingsKey(s []Setting) string {
	if len(s) == 0 {
		return "all runs"
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.Param + "=" + x.Value
	}
	return strings.Join(parts, " ")
}

// group forms the configurations and their statistics.
func (a *Analysis) group() {
	byKey := map[string]*Config{}
	for _, r := range a.Runs {
		var s []Setting
		for _, p := range a.Swept {
			s = append(s, Setting{p, r.Params[p]})
		}
		k := settingsKey(s)
		c := byKey[k]
		if c == nil {
			c = &Config{Key: k, Settings: s}
			byKey[k] = c
			a.Configs = append(a.Configs, c)
		}
		c.Runs = append(c.Runs, r)
		r.Config = c
	}
	for _, c := range a.Configs {
		slices.SortStableFunc(c.Runs, func(x, y *RunResult) int {
			if d := compareValues(x.Seed, y.Seed); d != 0 {
				return d
			}
			return cmp.Compare(x.StartTime, y.StartTime)
		})
		vals := make([]float64, len(c.Runs))
		for i, r := range c.Runs {
			vals[i] = r.Value
		}
		c.Mean, c.Std = meanStd(vals)
		c.Min, c.Max = slices.Min(vals), slices.Max(vals)
		c.Means = map[string]float64{}
		for _, k := range a.metricKeys() {
			var v []float64
			for _, r := range c.Runs {
				x, ok := r.Metrics[k]
				if !ok {
					x = math.NaN()
				}
				v = append(v, x)
			}
			c.Means[k], _ = meanStd(v)
		}
	}
}

// metricKeys are the keys the report summarises: the four validation
// metrics, the objective and the constrained ones.
func (a *Analysis) metricKeys() []string {
	keys := slices.Clone(reportMetrics)
	extra := []string{a.Objective, a.Tiebreak}
	for _, c := range a.Constraints {
		extra = append(extra, c.Key)
	}
	for _, k := range extra {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// meanStd returns the mean and the sample standard deviation (n-1; NaN
// for fewer than two values). A NaN value makes both NaN.
func meanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}

// paramNumber returns a run's numeric param, +Inf when absent or not a
// number (so that the unknown sorts as the most expensive).
func paramNumber(r *RunResult, key string) float64 {
	v, err := strconv.ParseFloat(r.Params[key], 64)
	if err != nil {
		return math.Inf(1)
	}
	return v
}

// rank orders the configurations: mean objective, then the tie-break
// metric's mean, then fewer epochs, then the smaller imgsz.
func (a *Analysis) rank() {
	const tol = 1e-12 // means of the same values summed in another order
	cmpDesc := func(x, y float64) int {
		switch {
		case math.IsNaN(x) && math.IsNaN(y), math.Abs(x-y) <= tol:
			return 0
		case math.IsNaN(y) || x > y:
			return -1
		case math.IsNaN(x) || x < y:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(a.Configs, func(x, y *Config) int {
		if d := cmpDesc(x.Mean, y.Mean); d != 0 {
			return d
		}
		if d := cmpDesc(x.Means[a.Tiebreak], y.Means[a.Tiebreak]); d != 0 {
			return d
		}
		if d := cmp.Compare(paramNumber(x.Runs[0], "epochs"), paramNumber(y.Runs[0], "epochs")); d != 0 {
			return d
		}
		if d := cmp.Compare(paramNumber(x.Runs[0], "imgsz"), paramNumber(y.Runs[0], "imgsz")); d != 0 {
			return d
		}
		return strings.Compare(x.Key, y.Key)
	})
	for i, c := range a.Configs {
		c.Rank = i + 1
	}
}

// check checks the constraints against metric values.
func (a *Analysis) check(values map[string]float64) []ConstraintCheck {
	var failed []ConstraintCheck
	for _, c := range a.Constraints {
		v, ok := values[c.Key]
		if !ok {
			v = math.NaN()
		}
		if !(v >= c.Min) {
			failed = append(failed, ConstraintCheck{Constraint: c, Value: v})
		}
	}
	return failed
}

// pickCandidate applies the constraints and picks the configuration and
// run to register.
func (a *Analysis) pickCandidate() {
	for _, r := range a.Runs {
		r.Failed = a.check(r.Metrics)
	}
	for _, c := range a.Configs {
		c.Failed = a.check(c.Means)
		c.NoRun = len(c.Failed) == 0 && !slices.ContainsFunc(c.Runs, func(r *RunResult) bool { return len(r.Failed) == 0 })
		if a.Chosen != nil || !c.Qualifies() {
			continue
		}
		a.Chosen = c
		for _, r := range c.Runs {
			if len(r.Failed) > 0 {
				continue
			}
			if a.Candidate == nil || r.Value > a.Candidate.Value ||
				r.Value == a.Candidate.Value && r.Metrics[a.Tiebreak] > a.Candidate.Metrics[a.Tiebreak] {
				a.Candidate = r
			}
		}
	}
	if a.Chosen != nil {
		return
	}
	best := a.Configs[0]
	var why []string
	for _, f := range best.Failed {
		why = append(why, f.String())
	}
	if best.NoRun {
		var runs []string
		for _, r := range best.Runs {
			var fs []string
			for _, f := range r.Failed {
				fs = append(fs, f.String())
			}
			runs = append(runs, fmt.Sprintf("%s: %s", r.Name, strings.Join(fs, ", ")))
		}
		why = append(why, "its means pass but none of its runs does ("+strings.Join(runs, "; ")+")")
	}
	a.Refusal = fmt.Sprintf("no configuration meets %s; the best by %s, %s (mean %s over %d run(s)), fails: %s",
		constraintList(a.Constraints), ShortName(a.Objective), best.Key, formatValue(best.Mean), len(best.Runs), strings.Join(why, "; "))
}

func constraintList(cs []Constraint) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, " and ")
}

// effects measures each swept setting against its baseline value on
// matched pairs. Runs repeating a configuration and seed are averaged
// into one cell first.
func (a *Analysis) effects() {
	for pi, p := range a.Swept {
		var values []string
		for _, c := range a.Configs {
			if v := c.Settings[pi].Value; !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		slices.SortFunc(values, compareValues)
		if len(values) < 2 {
			continue
		}
		// cells[value][fixed] = the objective's values
		cells := map[string]map[string][]float64{}
		var fixedOrder []string
		for _, r := range a.Runs {
			var fixed []string
			for qi, q := range a.Swept {
				if qi != pi {
					fixed = append(fixed, q+"="+r.Config.Settings[qi].Value)
				}
			}
			if r.Seed != "" {
				fixed = append(fixed, seedParam+"="+r.Seed)
			}
			f := strings.Join(fixed, " ")
			v := r.Config.Settings[pi].Value
			if cells[v] == nil {
				cells[v] = map[string][]float64{}
			}
			if !slices.Contains(fixedOrder, f) {
				fixedOrder = append(fixedOrder, f)
			}
			cells[v][f] = append(cells[v][f], r.Value)
		}
		slices.SortFunc(fixedOrder, compareFixed)
		base := values[0]
		for _, v := range values[1:] {
			e := Effect{Param: p, Baseline: base, Value: v}
			var d []float64
			for _, f := range fixedOrder {
				x, okx := cells[v][f]
				y, oky := cells[base][f]
				if !okx || !oky {
					continue
				}
				mx, _ := meanStd(x)
				my, _ := meanStd(y)
				e.Deltas = append(e.Deltas, PairDelta{Fixed: f, Delta: mx - my})
				d = append(d, mx-my)
			}
			e.Mean, e.Std = meanStd(d)
			e.Min, e.Max = math.NaN(), math.NaN()
			if len(d) > 0 {
				e.Min, e.Max = slices.Min(d), slices.Max(d)
			}
			a.Effects = append(a.Effects, e)
		}
	}
}

// compareFixed orders "lr0=0.005 seed=42" strings field by field, numbers
// as numbers.
func compareFixed(x, y string) int {
	xs, ys := strings.Fields(x), strings.Fields(y)
	for i := 0; i < len(xs) && i < len(ys); i++ {
		xk, xv, _ := strings.Cut(xs[i], "=")
		yk, yv, _ := strings.Cut(ys[i], "=")
		if d := strings.Compare(xk, yk); d != 0 {
			return d
		}
		if d := compareValues(xv, yv); d != 0 {
			return d
		}
	}
	return cmp.Compare(len(xs), len(ys))
}

// pooledSeedStd pools the within-configuration variances.
func (a *Analysis) pooledSeedStd() {
	var ss float64
	df := 0
	for _, c := range a.Configs {
		if len(c.Runs) < 2 {
			continue
		}
		ss += c.Std * c.Std * float64(len(c.Runs)-1)
		df += len(c.Runs) - 1
	}
	a.PooledDF = df
	a.PooledSeedStd = math.NaN()
	if df > 0 {
		a.PooledSeedStd = math.Sqrt(ss / float64(df))
	}
}

// topN is how many configurations the report details.
const topN = 3

// Top returns the best configurations, at most n.
func (a *Analysis) Top(n int) []*Config { return a.Configs[:min(n, len(a.Configs))] }

// loadHistories reads the objective's history of the runs of the top
// configurations (and of the candidate's).
func (a *Analysis) loadHistories(ctx context.Context, st tracking.TrackingStore) error {
	configs := a.Top(topN)
	if a.Chosen != nil && !slices.Contains(configs, a.Chosen) {
		configs = append(slices.Clone(configs), a.Chosen)
	}
	for _, c := range configs {
		for _, r := range c.Runs {
			ms, err := history(ctx, st, r.ID, a.Objective)
			if err != nil {
				return err
			}
			r.History, r.Final = splitHistory(ms)
		}
	}
	return nil
}

func history(ctx context.Context, st tracking.TrackingStore, runID, key string) ([]tracking.Metric, error) {
	var all []tracking.Metric
	token := ""
	for {
		ms, next, err := st.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: runID, MetricKey: key, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("promote: history of %s in run %s: %w", key, runID, err)
		}
		all = append(all, ms...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// splitHistory takes each step's first value (in logging order) as the
// epoch's validation, and a later value at the last step as the final
// validation of the best weights.
func splitHistory(ms []tracking.Metric) ([]EpochValue, float64) {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(x, y tracking.Metric) int {
		if d := cmp.Compare(x.Step, y.Step); d != 0 {
			return d
		}
		return cmp.Compare(x.Timestamp, y.Timestamp)
	})
	var out []EpochValue
	final := math.NaN()
	for i, m := range ms {
		if i > 0 && ms[i-1].Step == m.Step {
			if i == len(ms)-1 {
				final = m.Value
			}
			continue
		}
		out = append(out, EpochValue{m.Step, m.Value})
	}
	return out, final
}

// BestEpoch returns the highest per-epoch value of the objective and its
// step; ok is false without history.
func (r *RunResult) BestEpoch() (v float64, step int64, ok bool) {
	for i, e := range r.History {
		if i == 0 || e.Value > v {
			v, step, ok = e.Value, e.Step, true
		}
	}
	return v, step, ok
}

// bookkeeping reports whether r is a pipeline's own record rather than a
// training: the pipeline run (tag yolops.pipeline) or a step run other
// than the trainer's (tag yolops.step, without the objective). Those are
// not candidates, and counting them as "left out" would only alarm.
func bookkeeping(r tracking.Run, objective string) bool {
	var step bool
	for _, t := range r.Data.Tags {
		switch t.Key {
		case "yolops.pipeline":
			return true
		case "yolops.step":
			step = true
		}
	}
	if !step {
		return false
	}
	for _, m := range r.Data.Metrics {
		if m.Key == objective {
			return false
		}
	}
	return true
}
