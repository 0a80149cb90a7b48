package web

import (
	"cmp"
	"context"
	"encoding/json"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// runPage is the data of a run's page.
type runPage struct {
	Run        *tracking.Run
	Name       string
	Experiment *tracking.Experiment
	Parent     *tracking.Run
	Params     []tracking.Param
	Metrics    []tracking.Metric
	Tags       []tracking.Tag // the user's
	SysTags    []tracking.Tag // mlflow.* and yolops.*
	Charts     []chartGroup
	ChartData  template.JS
	Files      []*fileNode
	FileCount  int
	FilesError string
	Preview    *preview
	Versions   []tracking.ModelVersion // registered from this run
	Pipeline   *dagView                // the run is a pipeline run
	Step       *stepView               // the run is a step of one
}

// chartGroup is a section of charts: the metrics that share a prefix
// (train/, metrics/, val/, lr/).
type chartGroup struct {
	Title string
	Keys  []string
}

// chartRun is one run's series in the chart data the script reads.
type chartRun struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
	Start int64  `json:"start"` // ms, for the relative time axis
}

// chartData is what the charts of a page are drawn from: per metric, per
// run, the columns [steps, timestamps (ms), values], values null where
// not finite (JSON has no NaN).
type chartData struct {
	Runs    []chartRun                 `json:"runs"`
	Metrics map[string][][3][]*float64 `json:"metrics"`
}

// palette colours runs in charts and in the compare view: Tableau 10, which
// stays distinguishable for 10 series.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

func (u *UI) runPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, err := u.store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := runPage{Run: run, Name: runName(run), Params: run.Data.Params}
	if p.Experiment, err = u.store.GetExperiment(ctx, run.Info.ExperimentID); err != nil {
		u.fail(w, r, err)
		return
	}
	p.Metrics = slices.Clone(run.Data.Metrics)
	sortMetrics(p.Metrics)
	for _, t := range run.Data.Tags {
		if strings.HasPrefix(t.Key, "mlflow.") || strings.HasPrefix(t.Key, "yolops.") {
			p.SysTags = append(p.SysTags, t)
		} else {
			p.Tags = append(p.Tags, t)
		}
	}
	if parent := tagValue(run.Data.Tags, tracking.TagParentRunID); parent != "" {
		if pr, err := u.store.GetRun(ctx, parent); err == nil {
			p.Parent = pr
		}
	}

	keys := metricKeys([]*tracking.Run{run})
	data := chartData{Runs: []chartRun{{ID: run.Info.RunID, Name: p.Name, Color: palette[0], Start: run.Info.StartTime}}, Metrics: map[string][][3][]*float64{}}
	for _, k := range keys {
		h, err := u.history(ctx, run.Info.RunID, k)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		data.Metrics[k] = [][3][]*float64{h}
	}
	p.Charts = groupCharts(keys)
	if p.ChartData, err = marshalJS(data); err != nil {
		u.fail(w, r, err)
		return
	}

	if files, ferr := u.runFilesOf(run); ferr != nil {
		p.FilesError = ferr.Error()
	} else {
		p.Files, p.FileCount, err = listTree(ctx, files)
		if err != nil {
			p.FilesError = "Listing the artifacts failed: " + err.Error()
			u.log.Warn("web: list artifacts", "run", run.Info.RunID, "err", err)
		}
		if rel := r.URL.Query().Get("artifact"); rel != "" {
			if err := checkRel(rel); err != nil {
				u.fail(w, r, err)
				return
			}
			if p.Preview, err = buildPreview(ctx, files, run.Info.RunID, rel); err != nil {
				u.fail(w, r, err)
				return
			}
		}
	}

	p.Versions, _, err = u.store.SearchModelVersions(ctx, tracking.SearchModelVersions{
		Filter: "run_id = " + quote(run.Info.RunID), MaxResults: 100,
	})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if tagValue(run.Data.Tags, tagPipeline) != "" {
		if p.Pipeline, err = u.dag(ctx, run); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	if tagValue(run.Data.Tags, tagStep) != "" {
		p.Step = u.stepView(ctx, run)
	}
	u.render(w, r, "run", page{Title: p.Name, Nav: "experiments", Charts: len(p.Charts) > 0, Data: p})
}

func runName(run *tracking.Run) string {
	if run.Info.RunName != "" {
		return run.Info.RunName
	}
	return shortID(run.Info.RunID)
}

// sortMetrics orders metrics as metricRank says, then by key.
func sortMetrics(ms []tracking.Metric) {
	slices.SortFunc(ms, func(a, b tracking.Metric) int {
		return cmp.Or(cmp.Compare(metricRank(a.Key), metricRank(b.Key)), strings.Compare(a.Key, b.Key))
	})
}

// metricKeys lists the metric keys of some runs, in display order.
func metricKeys(runs []*tracking.Run) []string {
	var keys []string
	for _, run := range runs {
		for _, m := range run.Data.Metrics {
			if !slices.Contains(keys, m.Key) {
				keys = append(keys, m.Key)
			}
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(metricRank(a), metricRank(b)), strings.Compare(a, b))
	})
	return keys
}

// groupCharts splits sorted metric keys into sections by prefix.
func groupCharts(keys []string) []chartGroup {
	var groups []chartGroup
	for _, k := range keys {
		title := "Other"
		if i := strings.Index(k, "/"); i > 0 {
			title = k[:i]
		}
		switch title {
		case "metrics":
			title = "Validation scores"
		case "val":
			title = "Validation losses"
		case "train":
			title = "Training losses"
		case "lr":
			title = "Learning rates"
		}
		if n := len(groups); n > 0 && groups[n-1].Title == title {
			groups[n-1].Keys = append(groups[n-1].Keys, k)
		} else {
			groups = append(groups, chartGroup{Title: title, Keys: []string{k}})
		}
	}
	return groups
}

// history reads a metric's whole history as chart columns.
func (u *UI) history(ctx context.Context, runID, key string) ([3][]*float64, error) {
	var cols [3][]*float64
	token := ""
	for {
		ms, next, err := u.store.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: runID, MetricKey: key, PageToken: token})
		if err != nil {
			return cols, err
		}
		for _, m := range ms {
			step, ts := float64(m.Step), float64(m.Timestamp)
			var v *float64
			if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
				v = &m.Value
			}
			cols[0] = append(cols[0], &step)
			cols[1] = append(cols[1], &ts)
			cols[2] = append(cols[2], v)
		}
		if next == "" {
			return cols, nil
		}
		token = next
	}
}

// marshalJS encodes v for a <script type="application/json"> element;
// json.Marshal escapes <, > and &, so the data cannot close the element.
func marshalJS(v any) (template.JS, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return template.JS(b), nil
}

// quote writes s as a string literal of the filter grammar.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
