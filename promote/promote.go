package promote

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
)

// Options say what to promote and where to write the decision.
type Options struct {
	Experiment  string       // name (or id) of the experiment whose runs compete
	Metric      string       // mAP50, mAP50-95, precision, recall, or a logged key
	Constraints []Constraint // --min bounds
	// Stage is Staging (the default) or Production. A version always
	// passes through Staging; Production archives the versions it
	// displaces.
	Stage string
	// ModelName is the registered model; DefaultModelName(Experiment)
	// when "".
	ModelName string
	// Alias is pointed at the version; "" means champion for Production,
	// challenger for Staging (champion stays on the model in service).
	Alias string
	// User is recorded with the stage transitions.
	User string
	// Weights is the run artifact registered; "" picks
	// weights/best.safetensors, else weights/best.pt.
	Weights string
	// OutDir receives the report; "" is runs/promote/<experiment>-<time>.
	OutDir string
	// DryRun decides and writes the report locally, and changes nothing
	// in the registry or the run's artifacts.
	DryRun bool
	// For the report: the tracking URI, yolops' version and the command
	// line.
	TrackingURI, Version, CommandLine string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Result is what Promote did.
type Result struct {
	Analysis     *Analysis
	Model        string
	Registration *Registration // nil on a dry run or a refusal
	Source       string        // the weights registered
	ReportDir    string        // the local copy of the report
	// ReportURI is runs:/<run>/<path>/decision.md, where the report is
	// stored with the promoted run; "" when it was not uploaded.
	ReportURI string
}

// alias returns the alias a promotion to stage points at the version.
func (o Options) alias(stage string) string {
	if o.Alias != "" {
		return o.Alias
	}
	if stage == tracking.StageProduction {
		return "champion"
	}
	return "challenger"
}

// Promote decides which run of the experiment to promote, registers it,
// moves it to the stage, and writes the decision as Markdown and HTML
// with its figures: under OutDir, and as artifacts of the promoted run
// under promotion/<time>/, which the version's yolops.report_uri tag names.
// When no run meets the constraints it writes the report of the refusal
// under OutDir, changes nothing else, and returns an error wrapping
// ErrNoCandidate.
func Promote(ctx context.Context, c *client.Client, o Options) (*Result, error) {
	stage := tracking.StageStaging
	if o.Stage != "" {
		s, err := tracking.CanonicalStage(o.Stage)
		if err != nil || (s != tracking.StageStaging && s != tracking.StageProduction) {
			return nil, fmt.Errorf("promote: stage %q: want Staging or Production", o.Stage)
		}
		stage = s
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t := now().UTC()
	stamp := t.Format("20060102T150405Z")

	a, err := Analyze(ctx, c, o.Experiment, o.Metric, o.Constraints)
	if err != nil {
		return nil, err
	}
	res := &Result{Analysis: a, Model: o.ModelName}
	if res.Model == "" {
		res.Model = DefaultModelName(a.Experiment.Name)
	}
	if res.Model == "" {
		return nil, fmt.Errorf("promote: cannot derive a model name from experiment %q: give one", a.Experiment.Name)
	}
	res.ReportDir = o.OutDir
	if res.ReportDir == "" {
		res.ReportDir = filepath.Join("runs", "promote", DefaultModelName(a.Experiment.Name)+"-"+stamp)
	}
	in := &reportInput{
		A: a, Stage: stage, Model: res.Model, DryRun: o.DryRun, Alias: o.alias(stage),
		TrackingURI: o.TrackingURI, Version: o.Version, CommandLine: o.CommandLine, Written: t,
	}
	if in.TrackingURI == "" {
		in.TrackingURI = c.URI()
	}
	if a.Chosen == nil {
		if err := in.write(res.ReportDir); err != nil {
			return nil, err
		}
		return res, fmt.Errorf("promote: %w: %s (report: %s)", ErrNoCandidate, a.Refusal, filepath.Join(res.ReportDir, ReportMarkdown))
	}
	run := a.Candidate
	if res.Source, err = weightsSource(ctx, c, run.ID, o.Weights); err != nil {
		return nil, err
	}
	in.Source = res.Source
	if o.DryRun {
		return res, in.write(res.ReportDir)
	}

	artifactDir := "promotion/" + stamp
	reportURI := "runs:/" + run.ID + "/" + artifactDir + "/" + ReportMarkdown
	summary := decisionSummary(a, stage)
	reg := registration{
		model: res.Model, source: res.Source, stage: stage, alias: o.alias(stage), user: o.User, run: run,
		comment:     summary + "; report " + reportURI,
		description: fmt.Sprintf("Registered by yolops promote from experiment %s.", a.Experiment.Name),
		tags: []tracking.Tag{
			{Key: TagObjective, Value: a.Objective},
			{Key: TagObjectiveValue, Value: formatFull(run.Value)},
			{Key: TagConfigMean, Value: formatFull(a.Chosen.Mean)},
			{Key: TagConfig, Value: a.Chosen.Key},
			{Key: TagExperimentID, Value: a.Experiment.ExperimentID},
		},
	}
	if res.Registration, err = register(ctx, c, reg); err != nil {
		return res, err
	}
	in.Reg = res.Registration
	in.ReportURI = reportURI
	if err := in.write(res.ReportDir); err != nil {
		return res, err
	}
	if err := c.LogArtifacts(ctx, run.ID, res.ReportDir, artifactDir); err != nil {
		return res, fmt.Errorf("promote: %s version %s is registered, but uploading its report to run %s failed (local copy in %s): %w",
			res.Model, res.Registration.Version.Version, run.ID, res.ReportDir, err)
	}
	res.ReportURI = reportURI
	v := res.Registration.Version.Version
	for _, tag := range []tracking.Tag{{Key: TagReportURI, Value: reportURI}, {Key: TagDecision, Value: truncate(summary, tracking.MaxRegistryTagValueLen)}} {
		if err := c.SetModelVersionTag(ctx, res.Model, v, tag); err != nil {
			return res, fmt.Errorf("promote: tag %s version %s with %s: %w", res.Model, v, tag.Key, err)
		}
	}
	return res, nil
}

// weightsSource returns runs:/<run>/<weights> for the run's weights
// artifact, checking that it exists.
func weightsSource(ctx context.Context, c *client.Client, runID, weights string) (string, error) {
	cands := []string{"weights/best.safetensors", "weights/best.pt"}
	if weights != "" {
		cands = []string{strings.Trim(weights, "/")}
	}
	listed := map[string][]artifacts.Info{}
	for _, p := range cands {
		dir := path.Dir(p)
		if dir == "." {
			dir = ""
		}
		infos, ok := listed[dir]
		if !ok {
			var err error
			infos, err = c.ListArtifacts(ctx, runID, dir)
			if err != nil {
				return "", fmt.Errorf("promote: list the artifacts of run %s: %w", runID, err)
			}
			listed[dir] = infos
		}
		for _, in := range infos {
			if in.Key == p && !in.Dir {
				return "runs:/" + runID + "/" + p, nil
			}
		}
	}
	return "", fmt.Errorf("promote: run %s has no %s artifact to register", runID, strings.Join(cands, " nor "))
}

// decisionSummary is the one-line reason recorded with the transitions
// and on the version.
func decisionSummary(a *Analysis, stage string) string {
	c, r := a.Chosen, a.Candidate
	s := fmt.Sprintf("yolops promote to %s: best mean %s %s over %d run(s) (std %s) in experiment %s for %s; run %s %s",
		stage, ShortName(a.Objective), formatValue(c.Mean), len(c.Runs), stdOrDash(c.Std), a.Experiment.Name, c.Key, r.Name, formatValue(r.Value))
	if len(a.Constraints) > 0 {
		s += "; meets " + constraintList(a.Constraints)
	}
	return s
}

func formatFull(v float64) string { return fmt.Sprintf("%.6g", v) }

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// IsNoCandidate reports whether err is a refusal for want of a qualifying
// run.
func IsNoCandidate(err error) bool { return errors.Is(err, ErrNoCandidate) }
