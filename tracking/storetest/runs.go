package storetest

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
)

var generatedRunName = regexp.MustCompile(`^[a-z]+-[a-z]+-\d{1,3}$`)

func testCreateRun(t *testing.T, s tracking.Store) {
	c := ctx(t)
	exp := newExperiment(t, s, "runs")
	e, err := s.GetExperiment(c, exp)
	must(t, err)

	r, err := s.CreateRun(c, tracking.CreateRun{ExperimentID: exp, UserID: "alice", StartTime: 1700000000123,
		Tags: []tracking.Tag{{Key: "phase", Value: "train"}}})
	must(t, err)
	ri := r.Info
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(ri.RunID) {
		t.Errorf("run id %q is not 32 lower-case hex digits", ri.RunID)
	}
	if ri.ExperimentID != exp || ri.UserID != "alice" || ri.Status != tracking.RunRunning ||
		ri.StartTime != 1700000000123 || ri.EndTime != 0 || ri.LifecycleStage != tracking.Active {
		t.Errorf("created run info = %+v", ri)
	}
	if want := e.ArtifactLocation + "/" + ri.RunID + "/artifacts"; ri.ArtifactURI != want {
		t.Errorf("artifact URI %q, want %q", ri.ArtifactURI, want)
	}
	if !generatedRunName.MatchString(ri.RunName) {
		t.Errorf("generated run name %q is not adjective-noun-number", ri.RunName)
	}
	tags := tagMap(r.Data.Tags)
	if tags[tracking.TagRunName] != ri.RunName || tags["phase"] != "train" {
		t.Errorf("tags of the created run = %v, want phase and %s=%s", r.Data.Tags, tracking.TagRunName, ri.RunName)
	}
	got, err := s.GetRun(c, ri.RunID)
	must(t, err)
	if got.Info != ri || len(got.Data.Tags) != 2 {
		t.Errorf("GetRun = %+v, want %+v with 2 tags", got, r)
	}

	named := []struct {
		runName, tag, want string
	}{
		{"given", "", "given"},
		{"", "from-tag", "from-tag"},
		{"same", "same", "same"},
	}
	for _, n := range named {
		req := tracking.CreateRun{ExperimentID: exp, RunName: n.runName}
		if n.tag != "" {
			req.Tags = []tracking.Tag{{Key: tracking.TagRunName, Value: n.tag}}
		}
		r, err := s.CreateRun(c, req)
		must(t, err)
		if r.Info.RunName != n.want || tagMap(r.Data.Tags)[tracking.TagRunName] != n.want {
			t.Errorf("run_name %q with tag %q: name %q, tags %v; want %q", n.runName, n.tag, r.Info.RunName, r.Data.Tags, n.want)
		}
	}
	_, err = s.CreateRun(c, tracking.CreateRun{ExperimentID: exp, RunName: "a", Tags: []tracking.Tag{{Key: tracking.TagRunName, Value: "b"}}})
	wantCode(t, err, tracking.InvalidParameterValue, "run_name and mlflow.runName disagreeing")
	_, err = s.CreateRun(c, tracking.CreateRun{ExperimentID: "55555"})
	wantCode(t, err, tracking.ResourceDoesNotExist, "run in a missing experiment")
	_, err = s.CreateRun(c, tracking.CreateRun{ExperimentID: exp, Tags: []tracking.Tag{{Key: "/abs", Value: "x"}}})
	wantCode(t, err, tracking.InvalidParameterValue, "run with a bad tag key")

	now, err := s.CreateRun(c, tracking.CreateRun{ExperimentID: exp})
	must(t, err)
	if now.Info.StartTime < 1600000000000 {
		t.Errorf("run created without a start time starts at %d, want now", now.Info.StartTime)
	}
	_, err = s.GetRun(c, "0123456789abcdef0123456789abcdef")
	wantCode(t, err, tracking.ResourceDoesNotExist, "GetRun of a missing run")
}

func testUpdateRun(t *testing.T, s tracking.Store) {
	c := ctx(t)
	r := newRun(t, s, tracking.DefaultExperimentID, "before")
	id := r.Info.RunID
	ri, err := s.UpdateRun(c, tracking.UpdateRun{RunID: id, Status: tracking.RunFinished, EndTime: 1700000009999, RunName: "after"})
	must(t, err)
	if ri.Status != tracking.RunFinished || ri.EndTime != 1700000009999 || ri.RunName != "after" {
		t.Errorf("UpdateRun returned %+v", ri)
	}
	got, err := s.GetRun(c, id)
	must(t, err)
	if got.Info != *ri || tagMap(got.Data.Tags)[tracking.TagRunName] != "after" {
		t.Errorf("after UpdateRun: %+v, tags %v", got.Info, got.Data.Tags)
	}
	// Zero fields change nothing.
	ri, err = s.UpdateRun(c, tracking.UpdateRun{RunID: id})
	must(t, err)
	if ri.Status != tracking.RunFinished || ri.EndTime != 1700000009999 || ri.RunName != "after" {
		t.Errorf("empty UpdateRun changed the run: %+v", ri)
	}
	_, err = s.UpdateRun(c, tracking.UpdateRun{RunID: id, Status: "DONE"})
	wantCode(t, err, tracking.InvalidParameterValue, "unknown run status")
	_, err = s.UpdateRun(c, tracking.UpdateRun{RunID: "ffffffffffffffffffffffffffffffff", Status: tracking.RunFailed})
	wantCode(t, err, tracking.ResourceDoesNotExist, "updating a missing run")
	must(t, s.DeleteRun(c, id))
	_, err = s.UpdateRun(c, tracking.UpdateRun{RunID: id, Status: tracking.RunFailed})
	wantCode(t, err, tracking.InvalidParameterValue, "updating a deleted run")
}

func testRunLifecycle(t *testing.T, s tracking.Store) {
	c := ctx(t)
	r := newRun(t, s, tracking.DefaultExperimentID, "lifecycle")
	id := r.Info.RunID
	must(t, s.DeleteRun(c, id))
	got, err := s.GetRun(c, id)
	must(t, err)
	if got.Info.LifecycleStage != tracking.Deleted {
		t.Errorf("deleted run is %s", got.Info.LifecycleStage)
	}
	writes := map[string]error{
		"LogMetric": s.LogMetric(c, id, tracking.Metric{Key: "m", Value: 1, Timestamp: 1}),
		"LogParam":  s.LogParam(c, id, tracking.Param{Key: "p", Value: "1"}),
		"SetTag":    s.SetTag(c, id, tracking.Tag{Key: "t", Value: "1"}),
		"LogBatch":  s.LogBatch(c, id, []tracking.Metric{{Key: "m", Value: 1, Timestamp: 1}}, nil, nil),
		"DeleteTag": s.DeleteTag(c, id, tracking.TagRunName),
	}
	for what, err := range writes {
		wantCode(t, err, tracking.InvalidParameterValue, what+" on a deleted run")
	}
	must(t, s.RestoreRun(c, id))
	must(t, s.LogMetric(c, id, tracking.Metric{Key: "m", Value: 1, Timestamp: 1}))
	wantCode(t, s.DeleteRun(c, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), tracking.ResourceDoesNotExist, "deleting a missing run")
	wantCode(t, s.RestoreRun(c, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), tracking.ResourceDoesNotExist, "restoring a missing run")
}

func testParams(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "params").Info.RunID
	must(t, s.LogParam(c, id, tracking.Param{Key: "lr0", Value: "0.01"}))
	must(t, s.LogParam(c, id, tracking.Param{Key: "lr0", Value: "0.01"})) // same value: accepted
	wantCode(t, s.LogParam(c, id, tracking.Param{Key: "lr0", Value: "0.02"}), tracking.InvalidParameterValue, "changing a param")
	must(t, s.LogBatch(c, id, nil, []tracking.Param{{Key: "lr0", Value: "0.01"}, {Key: "imgsz", Value: "320"}}, nil))
	long := strings.Repeat("é", tracking.MaxParamValueLength) // code points, not bytes, count
	must(t, s.LogParam(c, id, tracking.Param{Key: "long", Value: long}))
	wantCode(t, s.LogParam(c, id, tracking.Param{Key: "longer", Value: long + "x"}), tracking.InvalidParameterValue, "param value over 6000 characters")
	got, err := s.GetRun(c, id)
	must(t, err)
	params := map[string]string{}
	for _, p := range got.Data.Params {
		params[p.Key] = p.Value
	}
	if len(params) != 3 || params["lr0"] != "0.01" || params["imgsz"] != "320" || params["long"] != long {
		t.Errorf("params = %v", got.Data.Params)
	}
	wantCode(t, s.LogParam(c, "dddddddddddddddddddddddddddddddd", tracking.Param{Key: "a", Value: "b"}), tracking.ResourceDoesNotExist, "param on a missing run")
}

func testLatestMetric(t *testing.T, s tracking.Store) {
	c := ctx(t)
	type point struct {
		step, ts int64
		value    float64
	}
	tests := []struct {
		name   string
		points []point
		want   point
	}{
		{"larger step wins over later time", []point{{1, 100, 1}, {2, 50, 2}, {0, 900, 3}}, point{2, 50, 2}},
		{"later time wins on equal step", []point{{3, 10, 5}, {3, 20, 4}, {3, 15, 9}}, point{3, 20, 4}},
		{"larger value wins on equal step and time", []point{{1, 10, 5}, {1, 10, 7}, {1, 10, 6}}, point{1, 10, 7}},
		{"negative steps", []point{{-3, 900, 900}, {-1, 800, 800}, {-2, 999, 1}}, point{-1, 800, 800}},
		// MLflow's own test: the latest is step 3, timestamp 50, value 20.
		{"mlflow", []point{{0, 0, 0}, {3, 40, 100}, {3, 50, 10}, {3, 50, 20}, {3, 50, 20}, {1, 100, 40}, {-4, 900, 900}}, point{3, 50, 20}},
	}
	// Each case is logged one value at a time in order, one at a time in
	// reverse order, and as one batch: whichever was written last, the
	// latest value is the same.
	ways := []struct {
		name string
		log  func(t *testing.T, id string, ms []tracking.Metric)
	}{
		{"in order", func(t *testing.T, id string, ms []tracking.Metric) {
			for _, m := range ms {
				must(t, s.LogMetric(c, id, m))
			}
		}},
		{"reversed", func(t *testing.T, id string, ms []tracking.Metric) {
			for i := len(ms) - 1; i >= 0; i-- {
				must(t, s.LogBatch(c, id, ms[i:i+1], nil, nil))
			}
		}},
		{"one batch", func(t *testing.T, id string, ms []tracking.Metric) {
			must(t, s.LogBatch(c, id, ms, nil, nil))
		}},
	}
	for _, tt := range tests {
		var ms []tracking.Metric
		for _, p := range tt.points {
			ms = append(ms, tracking.Metric{Key: "loss", Value: p.value, Timestamp: p.ts, Step: p.step})
		}
		for _, way := range ways {
			t.Run(tt.name+"/"+way.name, func(t *testing.T) {
				id := newRun(t, s, tracking.DefaultExperimentID, "latest").Info.RunID
				way.log(t, id, ms)
				r, err := s.GetRun(c, id)
				must(t, err)
				got := metricMap(r.Data.Metrics)["loss"]
				if got.Step != tt.want.step || got.Timestamp != tt.want.ts || got.Value != tt.want.value || len(r.Data.Metrics) != 1 {
					t.Errorf("latest = %+v (of %d metrics), want %+v", got, len(r.Data.Metrics), tt.want)
				}
			})
		}
	}
}

func testMetricValues(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "values").Info.RunID
	metrics := []tracking.Metric{
		{Key: "nan", Value: math.NaN(), Timestamp: 1, Step: 0},
		{Key: "inf", Value: math.Inf(1), Timestamp: 1, Step: 0},
		{Key: "ninf", Value: math.Inf(-1), Timestamp: 1, Step: 0},
		{Key: "dup", Value: 1.5, Timestamp: 7, Step: 2},
		{Key: "dup", Value: 1.5, Timestamp: 7, Step: 2}, // identical: kept once
		{Key: "metrics/mAP50-95B", Value: 0.25, Timestamp: 3, Step: 1},
	}
	must(t, s.LogBatch(c, id, metrics, nil, nil))
	must(t, s.LogMetric(c, id, tracking.Metric{Key: "dup", Value: 1.5, Timestamp: 7, Step: 2}))
	r, err := s.GetRun(c, id)
	must(t, err)
	got := metricMap(r.Data.Metrics)
	if !math.IsNaN(got["nan"].Value) {
		t.Errorf("NaN came back as %v", got["nan"].Value)
	}
	// MLflow stores ±Inf as the largest finite doubles.
	if got["inf"].Value != math.MaxFloat64 || got["ninf"].Value != -math.MaxFloat64 {
		t.Errorf("±Inf came back as %v, %v", got["inf"].Value, got["ninf"].Value)
	}
	if got["metrics/mAP50-95B"].Value != 0.25 {
		t.Errorf("metric with special characters = %+v", got["metrics/mAP50-95B"])
	}
	hist, _, err := s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: id, MetricKey: "dup"})
	must(t, err)
	if len(hist) != 1 {
		t.Errorf("an identical value logged 3 times is kept %d times, want 1", len(hist))
	}
	hist, _, err = s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: id, MetricKey: "nan"})
	must(t, err)
	if len(hist) != 1 || !math.IsNaN(hist[0].Value) {
		t.Errorf("history of nan = %+v", hist)
	}
	hist, _, err = s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: id, MetricKey: "never logged"})
	if err != nil || len(hist) != 0 {
		t.Errorf("history of a metric never logged = %v, %v; want empty", hist, err)
	}
}

func testMetricHistoryPages(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "history").Info.RunID
	var batch []tracking.Metric
	for i := 24; i >= 0; i-- { // logged out of order
		batch = append(batch, tracking.Metric{Key: "loss", Value: float64(i) / 10, Timestamp: int64(1000 + i), Step: int64(i)})
	}
	must(t, s.LogBatch(c, id, batch, nil, nil))
	all, next, err := s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: id, MetricKey: "loss"})
	must(t, err)
	if len(all) != 25 || next != "" {
		t.Fatalf("full history: %d values, next %q; want 25, none", len(all), next)
	}
	var paged []tracking.Metric
	req := tracking.GetMetricHistory{RunID: id, MetricKey: "loss", MaxResults: 10}
	for pages := 1; ; pages++ {
		got, next, err := s.GetMetricHistory(c, req)
		must(t, err)
		paged = append(paged, got...)
		if next == "" {
			if pages != 3 {
				t.Errorf("25 values in pages of 10 took %d pages, want 3", pages)
			}
			break
		}
		req.PageToken = next
	}
	for i, m := range paged {
		if m.Step != int64(i) || m.Timestamp != int64(1000+i) || m.Key != "loss" {
			t.Fatalf("paged history[%d] = %+v, want step %d in timestamp order", i, m, i)
		}
	}
	_, _, err = s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: id, MetricKey: "loss", PageToken: "###"})
	wantCode(t, err, tracking.InvalidParameterValue, "bad history page token")
}

func testRunTags(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "tags").Info.RunID
	must(t, s.SetTag(c, id, tracking.Tag{Key: "a", Value: "1"}))
	must(t, s.SetTag(c, id, tracking.Tag{Key: "a", Value: "2"}))
	must(t, s.LogBatch(c, id, nil, nil, []tracking.Tag{{Key: "b", Value: "x"}, {Key: "b", Value: "y"}}))
	must(t, s.SetTag(c, id, tracking.Tag{Key: tracking.TagRunName, Value: "renamed"}))
	r, err := s.GetRun(c, id)
	must(t, err)
	tags := tagMap(r.Data.Tags)
	if tags["a"] != "2" || tags["b"] != "y" || r.Info.RunName != "renamed" {
		t.Errorf("tags = %v, name %q; want a=2, b=y, name renamed", tags, r.Info.RunName)
	}
	must(t, s.DeleteTag(c, id, "a"))
	wantCode(t, s.DeleteTag(c, id, "a"), tracking.ResourceDoesNotExist, "deleting a missing run tag")
	r, err = s.GetRun(c, id)
	must(t, err)
	if _, ok := tagMap(r.Data.Tags)["a"]; ok {
		t.Errorf("deleted tag still there: %v", r.Data.Tags)
	}
	wantCode(t, s.SetTag(c, id, tracking.Tag{Key: "v", Value: strings.Repeat("x", tracking.MaxTagValueLength+1)}), tracking.InvalidParameterValue, "tag value too long")
}

func testLogBatchValidation(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "validation").Info.RunID
	metrics := func(n int) []tracking.Metric {
		ms := make([]tracking.Metric, n)
		for i := range ms {
			ms[i] = tracking.Metric{Key: fmt.Sprint("m", i), Value: 1, Timestamp: 1}
		}
		return ms
	}
	params := func(n int) []tracking.Param {
		ps := make([]tracking.Param, n)
		for i := range ps {
			ps[i] = tracking.Param{Key: fmt.Sprint("p", i), Value: "v"}
		}
		return ps
	}
	tags := func(n int) []tracking.Tag {
		ts := make([]tracking.Tag, n)
		for i := range ts {
			ts[i] = tracking.Tag{Key: fmt.Sprint("t", i), Value: "v"}
		}
		return ts
	}
	tests := []struct {
		name    string
		runID   string
		metrics []tracking.Metric
		params  []tracking.Param
		tags    []tracking.Tag
		code    tracking.ErrorCode // "" for success
	}{
		{"limits reached", id, metrics(900), params(50), tags(50), ""},
		{"1001 metrics", id, metrics(1001), nil, nil, tracking.InvalidParameterValue},
		{"101 params", id, nil, params(101), nil, tracking.InvalidParameterValue},
		{"101 tags", id, nil, nil, tags(101), tracking.InvalidParameterValue},
		{"1001 entities", id, metrics(901), params(50), tags(50), tracking.InvalidParameterValue},
		{"duplicate param keys", id, nil, []tracking.Param{{Key: "d", Value: "1"}, {Key: "d", Value: "1"}}, nil, tracking.InvalidParameterValue},
		{"empty metric key", id, []tracking.Metric{{Key: "", Value: 1}}, nil, nil, tracking.InvalidParameterValue},
		{"path-like key", id, []tracking.Metric{{Key: "a/../b", Value: 1}}, nil, nil, tracking.InvalidParameterValue},
		{"absolute key", id, nil, []tracking.Param{{Key: "/a", Value: "1"}}, nil, tracking.InvalidParameterValue},
		{"trailing slash", id, nil, nil, []tracking.Tag{{Key: "a/", Value: "1"}}, tracking.InvalidParameterValue},
		{"bad character", id, []tracking.Metric{{Key: "loss!", Value: 1}}, nil, nil, tracking.InvalidParameterValue},
		{"key of 251", id, []tracking.Metric{{Key: strings.Repeat("k", 251), Value: 1}}, nil, nil, tracking.InvalidParameterValue},
		{"negative timestamp", id, []tracking.Metric{{Key: "m", Value: 1, Timestamp: -1}}, nil, nil, tracking.InvalidParameterValue},
		{"unicode key", id, []tracking.Metric{{Key: "précision/Ω 2", Value: 1, Timestamp: 1}}, nil, nil, ""},
		{"bad run id", "-bad", metrics(1), nil, nil, tracking.InvalidParameterValue},
		{"missing run", "cccccccccccccccccccccccccccccccc", metrics(1), nil, nil, tracking.ResourceDoesNotExist},
		{"empty batch", id, nil, nil, nil, ""},
	}
	for _, tt := range tests {
		err := s.LogBatch(c, tt.runID, tt.metrics, tt.params, tt.tags)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		wantCode(t, err, tt.code, tt.name)
	}
}

func testLogBatchAtomic(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "atomic").Info.RunID
	must(t, s.LogParam(c, id, tracking.Param{Key: "p", Value: "1"}))
	err := s.LogBatch(c, id,
		[]tracking.Metric{{Key: "m", Value: 1, Timestamp: 1}},
		[]tracking.Param{{Key: "q", Value: "new"}, {Key: "p", Value: "2"}},
		[]tracking.Tag{{Key: "t", Value: "x"}})
	wantCode(t, err, tracking.InvalidParameterValue, "batch changing a param")
	r, err := s.GetRun(c, id)
	must(t, err)
	if len(r.Data.Metrics) != 0 || len(r.Data.Params) != 1 || tagMap(r.Data.Tags)["t"] != "" {
		t.Errorf("a rejected batch left data behind: %+v", r.Data)
	}
}

func testLogInputs(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newRun(t, s, tracking.DefaultExperimentID, "inputs").Info.RunID
	coco := tracking.DatasetInput{
		Dataset: tracking.Dataset{Name: "coco128-person", Digest: "abc123", SourceType: "local", Source: `{"uri": "data/coco128"}`, Schema: "{}"},
		Tags:    []tracking.Tag{{Key: tracking.TagDatasetContext, Value: "training"}},
	}
	val := tracking.DatasetInput{
		Dataset: tracking.Dataset{Name: "coco128-person", Digest: "def456", SourceType: "local", Source: "x"},
		Tags:    []tracking.Tag{{Key: tracking.TagDatasetContext, Value: "eval"}},
	}
	must(t, s.LogInputs(c, id, []tracking.DatasetInput{coco, val, coco}))
	must(t, s.LogInputs(c, id, []tracking.DatasetInput{coco})) // again: no-op
	r, err := s.GetRun(c, id)
	must(t, err)
	in := r.Inputs.DatasetInputs
	if len(in) != 2 {
		t.Fatalf("run has %d dataset inputs, want 2: %+v", len(in), in)
	}
	for _, want := range []tracking.DatasetInput{coco, val} {
		found := false
		for _, got := range in {
			if got.Dataset == want.Dataset && len(got.Tags) == 1 && got.Tags[0] == want.Tags[0] {
				found = true
			}
		}
		if !found {
			t.Errorf("input %+v missing from %+v", want, in)
		}
	}
	// The same dataset logged to another run of the experiment is shared.
	other := newRun(t, s, tracking.DefaultExperimentID, "other").Info.RunID
	must(t, s.LogInputs(c, other, []tracking.DatasetInput{coco}))
	wantCode(t, s.LogInputs(c, id, []tracking.DatasetInput{{Dataset: tracking.Dataset{Name: "x"}}}), tracking.InvalidParameterValue, "dataset without a digest")
}
