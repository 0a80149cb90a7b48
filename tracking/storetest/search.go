package storetest

import (
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
)

// searchFixture makes an experiment of runs r1..r7 with start times 1..7.
type searchFixture struct {
	exp string
	ids map[string]string // run name -> id
}

func newSearchFixture(t *testing.T, s tracking.Store) searchFixture {
	c := ctx(t)
	f := searchFixture{exp: newExperiment(t, s, "search"), ids: map[string]string{}}
	type runData struct {
		metrics map[string]float64
		params  map[string]string
		tags    map[string]string
		status  tracking.RunStatus
		end     int64
	}
	runs := []runData{
		{metrics: map[string]float64{"acc": 0.9, "m/x-1": 3}, params: map[string]string{"model": "n", "lr": "0.01"}, tags: map[string]string{"team": "cv"}, status: tracking.RunFinished, end: 50},
		{metrics: map[string]float64{"acc": 0.5}, params: map[string]string{"model": "n", "lr": "0.02"}, tags: map[string]string{"team": "CV-infra"}, status: tracking.RunFinished, end: 40},
		{metrics: map[string]float64{"acc": 0.7}, params: map[string]string{"model": "s"}, tags: map[string]string{"team": "research"}, status: tracking.RunFailed},
		{metrics: map[string]float64{"acc": math.NaN()}, params: map[string]string{"model": "s"}},
		{metrics: map[string]float64{"loss": 1}, params: map[string]string{"model": "x"}},
		{metrics: map[string]float64{"acc": 0.1}, params: map[string]string{"model": "m"}, status: tracking.RunKilled, end: 60},
		{metrics: map[string]float64{"acc": 0.5}, params: map[string]string{"model": "n"}},
	}
	for i, rd := range runs {
		name := "r" + string(rune('1'+i))
		r, err := s.CreateRun(c, tracking.CreateRun{ExperimentID: f.exp, RunName: name, StartTime: int64(i + 1), UserID: "u" + name})
		must(t, err)
		id := r.Info.RunID
		f.ids[name] = id
		var ms []tracking.Metric
		for k, v := range rd.metrics {
			ms = append(ms, tracking.Metric{Key: k, Value: v, Timestamp: 100, Step: 1})
		}
		var ps []tracking.Param
		for k, v := range rd.params {
			ps = append(ps, tracking.Param{Key: k, Value: v})
		}
		var ts []tracking.Tag
		for k, v := range rd.tags {
			ts = append(ts, tracking.Tag{Key: k, Value: v})
		}
		must(t, s.LogBatch(c, id, ms, ps, ts))
		if rd.status != "" {
			_, err := s.UpdateRun(c, tracking.UpdateRun{RunID: id, Status: rd.status, EndTime: rd.end})
			must(t, err)
		}
	}
	must(t, s.LogInputs(c, f.ids["r2"], []tracking.DatasetInput{{
		Dataset: tracking.Dataset{Name: "coco128", Digest: "d1", SourceType: "local", Source: "s"},
		Tags:    []tracking.Tag{{Key: tracking.TagDatasetContext, Value: "training"}},
	}}))
	// A run in another experiment must never show up.
	other := newExperiment(t, s, "search-other")
	o := newRun(t, s, other, "elsewhere")
	must(t, s.LogBatch(c, o.Info.RunID, []tracking.Metric{{Key: "acc", Value: 0.99, Timestamp: 1}}, []tracking.Param{{Key: "model", Value: "n"}}, nil))
	return f
}

func runNames(runs []tracking.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Info.RunName)
	}
	return out
}

func testSearchRunsFilter(t *testing.T, s tracking.Store) {
	c := ctx(t)
	f := newSearchFixture(t, s)
	tests := []struct {
		filter string
		want   string // names, sorted
	}{
		{"", "r1 r2 r3 r4 r5 r6 r7"},
		{"metrics.acc > 0.5", "r1 r3"},
		{"metrics.acc >= 0.5", "r1 r2 r3 r7"},
		{"metrics.acc = 0.5", "r2 r7"},
		{"metrics.acc != 0.5", "r1 r3 r4 r6"}, // NaN is stored as 0 with is_nan, as in MLflow
		{"metrics.acc < 0.5 and metrics.acc > 0", "r6"},
		{"metrics.acc >= 0.5 and params.model = 'n'", "r1 r2 r7"},
		{"metrics.`m/x-1` = 3", "r1"},
		{`metrics."m/x-1" <= 3`, "r1"},
		{"metrics.loss > 0", "r5"},
		{"params.model != 'n'", "r3 r4 r5 r6"},
		{"params.model = \"s\"", "r3 r4"},
		{"params.lr LIKE '0.0%'", "r1 r2"},
		{"tags.team LIKE 'cv%'", "r1"},
		{"tags.team ILIKE 'CV%'", "r1 r2"},
		{"tags.team = 'research'", "r3"},
		{"attributes.status = 'FINISHED'", "r1 r2"},
		{"status != 'RUNNING'", "r1 r2 r3 r6"},
		{"attributes.user_id = 'ur4'", "r4"},
		{"attributes.run_name = 'r5'", "r5"},
		{"run_name ILIKE 'R%' and attributes.start_time >= 6", "r6 r7"},
		{"attributes.created < 3", "r1 r2"},
		{"attributes.end_time > 45", "r1 r6"},
		{"attributes.run_id IN ('" + f.ids["r1"] + "', '" + f.ids["r4"] + "')", "r1 r4"},
		{"attributes.run_id NOT IN ('" + f.ids["r1"] + "', '" + f.ids["r4"] + "')", "r2 r3 r5 r6 r7"},
		{"attributes.run_id = '" + f.ids["r3"] + "'", "r3"},
		{"attributes.artifact_uri LIKE '%" + f.ids["r6"] + "%'", "r6"},
		{"datasets.context = 'training'", "r2"},
		{"datasets.name = 'coco128' and datasets.digest IN ('d1', 'd2')", "r2"},
		{"datasets.name = 'voc'", ""},
		{"metrics.nope > 0", ""},
	}
	for _, tt := range tests {
		got, next, err := s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp}, Filter: tt.filter})
		if err != nil {
			t.Errorf("filter %q: %v", tt.filter, err)
			continue
		}
		names := runNames(got)
		sort.Strings(names)
		if strings.Join(names, " ") != tt.want || next != "" {
			t.Errorf("filter %q = %v (next %q), want %s", tt.filter, names, next, tt.want)
		}
	}
	// Runs come back with their data.
	got, _, err := s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp}, Filter: "attributes.run_name = 'r2'"})
	must(t, err)
	if len(got) != 1 || metricMap(got[0].Data.Metrics)["acc"].Value != 0.5 || len(got[0].Data.Params) != 2 ||
		tagMap(got[0].Data.Tags)["team"] != "CV-infra" || len(got[0].Inputs.DatasetInputs) != 1 || got[0].Info.Status != tracking.RunFinished {
		t.Errorf("r2 from search = %+v", got)
	}
}

func testSearchRunsOrder(t *testing.T, s tracking.Store) {
	c := ctx(t)
	f := newSearchFixture(t, s)
	tests := []struct {
		orderBy []string
		want    string
	}{
		{nil, "r7 r6 r5 r4 r3 r2 r1"}, // start_time DESC
		// Ties (r2, r7 at 0.5) fall back to start_time DESC; NaN after
		// every number, runs without the metric last, both ways.
		{[]string{"metrics.acc DESC"}, "r1 r3 r7 r2 r6 r4 r5"},
		{[]string{"metrics.acc ASC"}, "r6 r7 r2 r3 r1 r4 r5"},
		{[]string{"metrics.acc"}, "r6 r7 r2 r3 r1 r4 r5"},
		{[]string{"params.model ASC", "metrics.acc DESC"}, "r6 r1 r7 r2 r3 r4 r5"},
		{[]string{"params.lr DESC"}, "r2 r1 r7 r6 r5 r4 r3"},
		{[]string{"tags.team ASC"}, "r2 r1 r3 r7 r6 r5 r4"}, // bytewise: "CV-infra" < "cv"
		{[]string{"attributes.start_time ASC"}, "r1 r2 r3 r4 r5 r6 r7"},
		{[]string{"attributes.end_time DESC"}, "r6 r1 r2 r7 r5 r4 r3"},
		{[]string{"attributes.end_time ASC"}, "r2 r1 r6 r7 r5 r4 r3"},
		{[]string{"attributes.run_name DESC"}, "r7 r6 r5 r4 r3 r2 r1"},
		{[]string{"status ASC", "created DESC"}, "r3 r2 r1 r6 r7 r5 r4"},
		{[]string{"metrics.`m/x-1` DESC"}, "r1 r7 r6 r5 r4 r3 r2"},
	}
	for _, tt := range tests {
		got, _, err := s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp}, OrderBy: tt.orderBy})
		if err != nil {
			t.Errorf("order_by %q: %v", tt.orderBy, err)
			continue
		}
		if names := strings.Join(runNames(got), " "); names != tt.want {
			t.Errorf("order_by %q = %s, want %s", tt.orderBy, names, tt.want)
		}
	}
}

func testSearchRunsPages(t *testing.T, s tracking.Store) {
	c := ctx(t)
	f := newSearchFixture(t, s)
	for _, orderBy := range [][]string{nil, {"metrics.acc DESC"}, {"params.model ASC"}} {
		full, _, err := s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp}, OrderBy: orderBy})
		must(t, err)
		var paged []tracking.Run
		req := tracking.SearchRuns{ExperimentIDs: []string{f.exp}, OrderBy: orderBy, MaxResults: 3}
		for pages := 1; ; pages++ {
			got, next, err := s.SearchRuns(c, req)
			must(t, err)
			if len(got) > 3 || pages > 3 {
				t.Fatalf("order_by %q: page %d has %d runs", orderBy, pages, len(got))
			}
			paged = append(paged, got...)
			if next == "" {
				break
			}
			req.PageToken = next
		}
		if a, b := strings.Join(runNames(full), " "), strings.Join(runNames(paged), " "); a != b {
			t.Errorf("order_by %q: pages of 3 gave %s, one page gave %s", orderBy, b, a)
		}
	}
	// Exactly one full page: no token pointing at an empty page.
	got, next, err := s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp}, MaxResults: 7})
	must(t, err)
	if len(got) != 7 || next != "" {
		t.Errorf("7 runs with max_results 7: %d runs, next %q", len(got), next)
	}
	// Several experiments at once.
	other, err := s.GetExperimentByName(c, "search-other")
	must(t, err)
	got, _, err = s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp, other.ExperimentID}, Filter: "params.model = 'n'", OrderBy: []string{"metrics.acc DESC"}})
	must(t, err)
	if names := strings.Join(runNames(got), " "); names != "elsewhere r1 r7 r2" {
		t.Errorf("two experiments: %s", names)
	}
}

func testSearchRunsViewType(t *testing.T, s tracking.Store) {
	c := ctx(t)
	f := newSearchFixture(t, s)
	must(t, s.DeleteRun(c, f.ids["r3"]))
	must(t, s.DeleteRun(c, f.ids["r5"]))
	tests := []struct {
		view tracking.ViewType
		want string
	}{
		{0, "r1 r2 r4 r6 r7"},
		{tracking.ActiveOnly, "r1 r2 r4 r6 r7"},
		{tracking.DeletedOnly, "r3 r5"},
		{tracking.AllStages, "r1 r2 r3 r4 r5 r6 r7"},
	}
	for _, tt := range tests {
		got, _, err := s.SearchRuns(c, tracking.SearchRuns{ExperimentIDs: []string{f.exp}, ViewType: tt.view, OrderBy: []string{"attributes.run_name"}})
		must(t, err)
		if names := strings.Join(runNames(got), " "); names != tt.want {
			t.Errorf("view %d: %s, want %s", tt.view, names, tt.want)
		}
	}
}

func testSearchRunsErrors(t *testing.T, s tracking.Store) {
	c := ctx(t)
	exp := []string{tracking.DefaultExperimentID}
	for _, req := range []tracking.SearchRuns{
		{ExperimentIDs: exp, Filter: "metrics.acc > 1 OR metrics.acc < 0"},
		{ExperimentIDs: exp, Filter: "metrics.mAP50-95 > 1"},
		{ExperimentIDs: exp, Filter: "params.x > '1'"},
		{ExperimentIDs: exp, OrderBy: []string{"metrics.acc SIDEWAYS"}},
		{ExperimentIDs: exp, OrderBy: []string{"metrics.acc", "metrics.acc DESC"}},
		{ExperimentIDs: exp, MaxResults: 50001},
		{ExperimentIDs: exp, PageToken: "bogus"},
	} {
		_, _, err := s.SearchRuns(c, req)
		wantCode(t, err, tracking.InvalidParameterValue, "SearchRuns "+req.Filter+strings.Join(req.OrderBy, ","))
	}
	got, next, err := s.SearchRuns(c, tracking.SearchRuns{})
	if err != nil || len(got) != 0 || next != "" {
		t.Errorf("search of no experiment = %v, %q, %v; want nothing", got, next, err)
	}
}
