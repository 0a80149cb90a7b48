package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/yolops/yolops/tracking"
)

// RunRecord is a pipeline run as the tracking store holds it: its steps,
// what became of each, and the lineage of their artifacts.
type RunRecord struct {
	Pipeline string           `json:"pipeline"`
	Run      tracking.RunInfo `json:"run"`
	Summary  string           `json:"summary,omitempty"`
	Steps    []StepRecord     `json:"steps"` // upstream steps first, ties by name
	// Problems lists records that could not be read (tags edited by
	// hand); what could be read is shown anyway.
	Problems []string `json:"problems,omitempty"`
}

// StepRecord is one step of a pipeline run.
type StepRecord struct {
	Name       string           `json:"name"`
	Upstream   []string         `json:"upstream"`
	RunID      string           `json:"run_id,omitempty"` // "" when it never started
	Status     StepStatus       `json:"status"`
	Version    string           `json:"version,omitempty"`
	SourceHash string           `json:"source_hash,omitempty"`
	CacheKey   string           `json:"cache_key,omitempty"`
	CachedFrom string           `json:"cached_from,omitempty"`
	Error      string           `json:"error,omitempty"`
	StartTime  int64            `json:"start_time,omitempty"` // ms since the epoch
	EndTime    int64            `json:"end_time,omitempty"`
	Params     []tracking.Param `json:"params,omitempty"`
	Inputs     []InputRecord    `json:"inputs,omitempty"`
	Outputs    []OutputRecord   `json:"outputs,omitempty"`
}

// Duration is how long the step run took, 0 if it has not ended.
func (s *StepRecord) Duration() time.Duration {
	if s.EndTime == 0 || s.StartTime == 0 {
		return 0
	}
	return time.Duration(s.EndTime-s.StartTime) * time.Millisecond
}

// InputRecord is one input of a step run and where it came from.
type InputRecord struct {
	Name string `json:"name"`
	ArtifactRef
}

// OutputRecord is one output of a step run and the steps of the same
// pipeline run that read it ("step.input").
type OutputRecord struct {
	Name string `json:"name"`
	Artifact
	Consumers []string `json:"consumers,omitempty"`
}

// Inspect reads a pipeline run and its step runs back from the store.
func Inspect(ctx context.Context, s tracking.TrackingStore, runID string) (*RunRecord, error) {
	run, err := s.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	tags := tagMap(run.Data.Tags)
	name, ok := tags[TagPipeline]
	if !ok {
		if parent := tags[TagPipelineRun]; parent != "" {
			return nil, fmt.Errorf("run %s is step %s of pipeline run %s", runID, tags[TagStep], parent)
		}
		return nil, fmt.Errorf("run %s is not a pipeline run (no %s tag)", runID, TagPipeline)
	}
	rec := &RunRecord{Pipeline: name, Run: run.Info, Summary: tags[TagSummary]}
	steps := map[string]*StepRecord{}
	for k, v := range tags {
		step, ok := strings.CutPrefix(k, TagDAGPrefix)
		if !ok {
			continue
		}
		up, err := parseUpstream(v)
		if err != nil {
			rec.Problems = append(rec.Problems, fmt.Sprintf("tag %s: %v", k, err))
		}
		steps[step] = &StepRecord{Name: step, Upstream: up, Status: StepSkipped}
	}

	runs, err := stepRuns(ctx, s, run.Info.ExperimentID, runID)
	if err != nil {
		return nil, err
	}
	for _, sr := range runs {
		t := tagMap(sr.Data.Tags)
		step := t[TagStep]
		if step == "" {
			continue // a nested run that is not a step (logged by hand)
		}
		st, ok := steps[step]
		switch {
		case !ok:
			st = &StepRecord{Name: step}
			steps[step] = st
			rec.Problems = append(rec.Problems, fmt.Sprintf("step run %s: step %s is not in the pipeline's DAG", sr.Info.RunID, step))
		case st.RunID != "":
			// Runs come newest first: keep the newest.
			rec.Problems = append(rec.Problems, fmt.Sprintf("step %s has several runs; showing %s, not %s", step, st.RunID, sr.Info.RunID))
			continue
		}
		readStepRun(st, sr, t, &rec.Problems)
	}

	for _, st := range topoOrder(steps) {
		rec.Steps = append(rec.Steps, *st)
	}
	// Consumers, from the inputs that name a step of this run.
	index := map[string]int{}
	for i, st := range rec.Steps {
		index[st.Name] = i
	}
	for _, st := range rec.Steps {
		for _, in := range st.Inputs {
			i, ok := index[in.Step]
			if !ok || in.Source != "" {
				continue
			}
			for j := range rec.Steps[i].Outputs {
				if o := &rec.Steps[i].Outputs[j]; o.Name == in.Output {
					o.Consumers = append(o.Consumers, st.Name+"."+in.Name)
				}
			}
		}
	}
	return rec, nil
}

// stepRuns returns the runs nested in a pipeline run, newest first.
func stepRuns(ctx context.Context, s tracking.TrackingStore, expID, parent string) ([]tracking.Run, error) {
	var all []tracking.Run
	token := ""
	for {
		runs, next, err := s.SearchRuns(ctx, tracking.SearchRuns{
			ExperimentIDs: []string{expID},
			Filter:        fmt.Sprintf("tags.`%s` = '%s'", tracking.TagParentRunID, parent),
			ViewType:      tracking.AllStages,
			MaxResults:    1000,
			PageToken:     token,
		})
		if err != nil {
			return nil, fmt.Errorf("step runs of %s: %w", parent, err)
		}
		all = append(all, runs...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

func readStepRun(st *StepRecord, sr tracking.Run, t map[string]string, problems *[]string) {
	st.RunID = sr.Info.RunID
	st.Version = t[TagStepVersion]
	st.SourceHash = t[TagSourceHash]
	st.CacheKey = t[TagCacheKey]
	st.CachedFrom = t[TagCachedFrom]
	st.Error = t[TagError]
	st.StartTime, st.EndTime = sr.Info.StartTime, sr.Info.EndTime
	st.Params = sr.Data.Params
	switch sr.Info.Status {
	case tracking.RunFinished:
		st.Status = StepExecuted
		if t[TagCached] == "true" {
			st.Status = StepCached
		}
	case tracking.RunFailed:
		st.Status = StepFailed
	case tracking.RunKilled:
		st.Status = StepKilled
	default:
		st.Status = StepRunning
	}
	for _, tag := range sr.Data.Tags {
		if name, ok := strings.CutPrefix(tag.Key, TagInputPrefix); ok {
			r, err := ParseArtifactRef(tag.Value)
			if err != nil {
				*problems = append(*problems, fmt.Sprintf("step run %s: tag %s: %v", sr.Info.RunID, tag.Key, err))
				continue
			}
			st.Inputs = append(st.Inputs, InputRecord{name, r})
		}
		if name, ok := strings.CutPrefix(tag.Key, TagOutputPrefix); ok {
			a, err := ParseArtifact(tag.Value)
			if err != nil {
				*problems = append(*problems, fmt.Sprintf("step run %s: tag %s: %v", sr.Info.RunID, tag.Key, err))
				continue
			}
			st.Outputs = append(st.Outputs, OutputRecord{Name: name, Artifact: a})
		}
	}
	sort.Slice(st.Inputs, func(i, j int) bool { return st.Inputs[i].Name < st.Inputs[j].Name })
	sort.Slice(st.Outputs, func(i, j int) bool { return st.Outputs[i].Name < st.Outputs[j].Name })
}

// parseUpstream parses a yolops.dag.<step> tag: a JSON list of step names.
func parseUpstream(s string) ([]string, error) {
	var up []string
	if err := json.Unmarshal([]byte(s), &up); err != nil {
		return nil, fmt.Errorf("want a JSON list of step names: %w", err)
	}
	for _, u := range up {
		if err := checkName("step", u); err != nil {
			return nil, err
		}
	}
	return up, nil
}

// topoOrder orders steps so that each comes after its upstream steps,
// ties broken by name. Steps on a cycle (only possible in tags edited by
// hand) or after one come last, by name.
func topoOrder(steps map[string]*StepRecord) []*StepRecord {
	names := make([]string, 0, len(steps))
	for n := range steps {
		names = append(names, n)
	}
	sort.Strings(names)
	placed := map[string]bool{}
	var order []*StepRecord
	for len(order) < len(names) {
		progress := false
		for _, n := range names {
			if placed[n] {
				continue
			}
			ok := true
			for _, u := range steps[n].Upstream {
				if _, known := steps[u]; known && !placed[u] {
					ok = false
					break
				}
			}
			if ok {
				placed[n] = true
				order = append(order, steps[n])
				progress = true
				break // restart, so that ties go by name
			}
		}
		if !progress {
			for _, n := range names {
				if !placed[n] {
					placed[n] = true
					order = append(order, steps[n])
				}
			}
		}
	}
	return order
}

// RunSummary is a pipeline run in a List.
type RunSummary struct {
	RunID        string             `json:"run_id"`
	RunName      string             `json:"run_name"`
	Pipeline     string             `json:"pipeline"`
	ExperimentID string             `json:"experiment_id"`
	Experiment   string             `json:"experiment"`
	Status       tracking.RunStatus `json:"status"`
	StartTime    int64              `json:"start_time"`
	EndTime      int64              `json:"end_time,omitempty"`
	Summary      string             `json:"summary,omitempty"`
}

// ListOptions select the pipeline runs List returns.
type ListOptions struct {
	Pipeline   string // only this pipeline's runs; "": all
	Experiment string // only runs in this experiment; "": all active experiments
	MaxResults int    // default 100
}

// List returns pipeline runs, newest first.
func List(ctx context.Context, s tracking.TrackingStore, opt ListOptions) ([]RunSummary, error) {
	if opt.MaxResults <= 0 {
		opt.MaxResults = 100
	}
	exps := map[string]string{} // id -> name
	if opt.Experiment != "" {
		exp, err := s.GetExperimentByName(ctx, opt.Experiment)
		if err != nil {
			return nil, err
		}
		exps[exp.ExperimentID] = exp.Name
	} else {
		token := ""
		for {
			page, next, err := s.SearchExperiments(ctx, tracking.SearchExperiments{MaxResults: 1000, PageToken: token})
			if err != nil {
				return nil, fmt.Errorf("list experiments: %w", err)
			}
			for _, e := range page {
				exps[e.ExperimentID] = e.Name
			}
			if next == "" {
				break
			}
			token = next
		}
	}
	ids := make([]string, 0, len(exps))
	for id := range exps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	filter := fmt.Sprintf("tags.`%s` LIKE '%%'", TagPipeline)
	if opt.Pipeline != "" {
		if err := checkName("pipeline", opt.Pipeline); err != nil {
			return nil, err
		}
		filter = fmt.Sprintf("tags.`%s` = '%s'", TagPipeline, opt.Pipeline)
	}
	runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{
		ExperimentIDs: ids,
		Filter:        filter,
		OrderBy:       []string{"attributes.start_time DESC"},
		MaxResults:    opt.MaxResults,
	})
	if err != nil {
		return nil, fmt.Errorf("search pipeline runs: %w", err)
	}
	out := make([]RunSummary, len(runs))
	for i, r := range runs {
		t := tagMap(r.Data.Tags)
		out[i] = RunSummary{
			RunID: r.Info.RunID, RunName: r.Info.RunName, Pipeline: t[TagPipeline],
			ExperimentID: r.Info.ExperimentID, Experiment: exps[r.Info.ExperimentID],
			Status: r.Info.Status, StartTime: r.Info.StartTime, EndTime: r.Info.EndTime,
			Summary: t[TagSummary],
		}
	}
	return out, nil
}
