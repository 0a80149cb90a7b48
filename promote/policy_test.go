package promote

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking"
)

func TestParseConstraint(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Constraint
		wantErr string
	}{
		{in: "precision=0.3", want: Constraint{Metric: "precision", Min: 0.3}},
		{in: " mAP50-95 = 0.1 ", want: Constraint{Metric: "mAP50-95", Min: 0.1}},
		{in: "metrics/recall(B)=1e-1", want: Constraint{Metric: "metrics/recall(B)", Min: 0.1}},
		{in: "precision", wantErr: "want metric=value"},
		{in: "=0.3", wantErr: "want metric=value"},
		{in: "precision=", wantErr: "want metric=value"},
		{in: "precision=high", wantErr: `value "high" is not a finite number`},
		{in: "precision=NaN", wantErr: "not a finite number"},
		{in: "precision=inf", wantErr: "not a finite number"},
		{in: "val/box_loss=0.5", wantErr: "a loss cannot be bounded"},
	} {
		got, err := ParseConstraint(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseConstraint(%q) = %v, %v; want an error naming the input and %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseConstraint(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseConstraint(f *testing.F) {
	for _, s := range []string{"precision=0.3", "mAP50=1", "a=b", "=", "x=1e400", "metrics/mAP50(B)=-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConstraint(s)
		if err != nil {
			return
		}
		if c.Metric == "" || math.IsNaN(c.Min) || math.IsInf(c.Min, 0) {
			t.Fatalf("ParseConstraint(%q) accepted %+v", s, c)
		}
		if c.Metric != strings.TrimSpace(c.Metric) || strings.Contains(c.Metric, "=") && !strings.Contains(s, c.Metric+"=") {
			t.Fatalf("ParseConstraint(%q): metric %q", s, c.Metric)
		}
	})
}

func TestResolveMetric(t *testing.T) {
	sanitized := map[string]bool{"metrics/mAP50B": true, "metrics/mAP50-95B": true, "metrics/precisionB": true, "metrics/recallB": true, "val/box_loss": true}
	parens := map[string]bool{"metrics/mAP50(B)": true, "metrics/precision(B)": true}
	for _, tc := range []struct {
		name   string
		logged map[string]bool
		want   string
		err    string
	}{
		{"mAP50", sanitized, "metrics/mAP50B", ""},
		{"map50", sanitized, "metrics/mAP50B", ""},
		{"mAP50-95", sanitized, "metrics/mAP50-95B", ""},
		{"Precision", sanitized, "metrics/precisionB", ""},
		{"recall", sanitized, "metrics/recallB", ""},
		{"metrics/mAP50(B)", sanitized, "metrics/mAP50B", ""}, // results.csv's name, as logged by MLflow
		{"metrics/mAP50B", sanitized, "metrics/mAP50B", ""},
		{"mAP50", parens, "metrics/mAP50(B)", ""}, // a store that kept the parentheses
		{"metrics/precisionB", parens, "metrics/precision(B)", ""},
		{"mAP50-95", parens, "", `no run logged "metrics/mAP50-95B" or "metrics/mAP50-95(B)"`},
		{"fitness", sanitized, "", "the runs logged: metrics/mAP50-95B, metrics/mAP50B"},
		{"val/box_loss", sanitized, "", "a loss is not an objective"},
		{"", sanitized, "", "empty metric name"},
	} {
		got, err := resolveMetric(tc.name, tc.logged)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("resolveMetric(%q) = %q, %v; want error %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolveMetric(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestSplitHistory(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        []tracking.Metric
		want      []EpochValue
		wantFinal float64
	}{
		{
			"final validation after the last epoch",
			[]tracking.Metric{{Step: 0, Value: 0.1, Timestamp: 1}, {Step: 1, Value: 0.2, Timestamp: 2}, {Step: 2, Value: 0.25, Timestamp: 3}, {Step: 2, Value: 0.3, Timestamp: 4}},
			[]EpochValue{{0, 0.1}, {1, 0.2}, {2, 0.25}}, 0.3,
		},
		{
			"no final validation",
			[]tracking.Metric{{Step: 1, Value: 0.2, Timestamp: 2}, {Step: 0, Value: 0.1, Timestamp: 1}},
			[]EpochValue{{0, 0.1}, {1, 0.2}}, math.NaN(),
		},
		{
			"a step logged twice before the end (a resumed run) is not final",
			[]tracking.Metric{{Step: 0, Value: 0.1, Timestamp: 1}, {Step: 0, Value: 0.11, Timestamp: 5}, {Step: 1, Value: 0.2, Timestamp: 6}},
			[]EpochValue{{0, 0.1}, {1, 0.2}}, math.NaN(),
		},
	} {
		got, final := splitHistory(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		if !(final == tc.wantFinal || math.IsNaN(final) && math.IsNaN(tc.wantFinal)) {
			t.Errorf("%s: final %v, want %v", tc.name, final, tc.wantFinal)
		}
	}
}

// configOf builds a configuration of runs with the given objective and
// tie-break values and params.
func configOf(key string, params map[string]string, values ...[2]float64) *Config {
	c := &Config{Key: key}
	var v []float64
	var tb []float64
	for _, x := range values {
		r := &RunResult{Name: key, Params: params, Value: x[0], Metrics: map[string]float64{keyMAP50: x[0], keyMAP5095: x[1]}}
		c.Runs = append(c.Runs, r)
		v = append(v, x[0])
		tb = append(tb, x[1])
	}
	c.Mean, c.Std = meanStd(v)
	m, _ := meanStd(tb)
	c.Means = map[string]float64{keyMAP50: c.Mean, keyMAP5095: m}
	return c
}

func TestRankTieBreaks(t *testing.T) {
	p := func(epochs, imgsz string) map[string]string {
		return map[string]string{"epochs": epochs, "imgsz": imgsz}
	}
	for _, tc := range []struct {
		name    string
		configs []*Config
		want    []string
	}{
		{"mean decides", []*Config{
			configOf("a", p("3", "320"), [2]float64{0.2, 0.1}, [2]float64{0.3, 0.1}),
			configOf("b", p("3", "320"), [2]float64{0.26, 0.1}, [2]float64{0.26, 0.1}),
		}, []string{"b", "a"}},
		{"equal means: mAP50-95", []*Config{
			configOf("a", p("3", "320"), [2]float64{0.25, 0.10}),
			configOf("b", p("3", "320"), [2]float64{0.25, 0.12}),
		}, []string{"b", "a"}},
		{"equal metrics: fewer epochs", []*Config{
			configOf("a", p("10", "320"), [2]float64{0.25, 0.1}),
			configOf("b", p("3", "416"), [2]float64{0.25, 0.1}),
		}, []string{"b", "a"}},
		{"equal metrics and epochs: smaller imgsz", []*Config{
			configOf("a", p("3", "416"), [2]float64{0.25, 0.1}),
			configOf("b", p("3", "320"), [2]float64{0.25, 0.1}),
		}, []string{"b", "a"}},
		{"means equal up to rounding of the sum", []*Config{
			configOf("a", p("3", "416"), [2]float64{0.1, 0.1}, [2]float64{0.2, 0.1}, [2]float64{0.3, 0.1}),
			configOf("b", p("3", "320"), [2]float64{0.3, 0.1}, [2]float64{0.2, 0.1}, [2]float64{0.1, 0.1}),
		}, []string{"b", "a"}},
	} {
		a := &Analysis{Objective: keyMAP50, Tiebreak: keyMAP5095, Configs: tc.configs}
		a.rank()
		for i, c := range a.Configs {
			if c.Key != tc.want[i] || c.Rank != i+1 {
				t.Errorf("%s: rank %d is %s, want %s", tc.name, i+1, c.Key, tc.want[i])
			}
		}
	}
}

func TestSweptParams(t *testing.T) {
	runs := []*RunResult{
		{Params: map[string]string{"imgsz": "320", "seed": "1", "name": "a", "epochs": "3", "cos_lr": "False"}},
		{Params: map[string]string{"imgsz": "416", "seed": "2", "name": "b", "epochs": "3"}},
	}
	got := sweptParams(runs)
	if strings.Join(got, ",") != "cos_lr,imgsz" {
		t.Errorf("swept %v, want [cos_lr imgsz]: a param only some runs have differs; seed and name are not settings", got)
	}
}

func TestMarkdownEscapesStoredText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"yolov8n_e3_sz416_lr0.01_s42", "yolov8n_e3_sz416_lr0.01_s42"},
		{"_italic_", `\_italic\_`},
		{"a|b", `a\|b`},
		{"<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"},
		{"p < 0.5", "p < 0.5"},
		{"**bold** [link](x)", `\*\*bold\*\* \[link\](x)`},
		{"line\nbreak", "line break"},
	} {
		if got := esc(tc.in); got != tc.want {
			t.Errorf("esc(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A run name made to break the report: the tables keep their columns and
// the HTML runs no script.
func TestReportHostileRunName(t *testing.T) {
	r1 := &RunResult{ID: "1", Name: "evil|<script>alert(1)</script>", Params: map[string]string{"imgsz": "320"}, Value: 0.2,
		Metrics: map[string]float64{keyMAP50: 0.2}, Tags: map[string]string{}}
	r2 := &RunResult{ID: "2", Name: "ok", Params: map[string]string{"imgsz": "416|x"}, Value: 0.1,
		Metrics: map[string]float64{keyMAP50: 0.1}, Tags: map[string]string{}}
	a := &Analysis{Experiment: tracking.Experiment{Name: "e", ExperimentID: "1"}, Objective: keyMAP50, Tiebreak: keyMAP5095, Runs: []*RunResult{r1, r2}}
	for _, r := range a.Runs {
		r.Final = math.NaN()
	}
	a.Swept = sweptParams(a.Runs)
	a.group()
	a.rank()
	a.pickCandidate()
	a.effects()
	a.pooledSeedStd()
	a.Data = dataFacts(a)
	in := &reportInput{A: a, Stage: "Staging", Model: "m", Written: time.Unix(0, 0), figures: map[string][]byte{}}
	md := in.markdown()
	for _, line := range strings.Split(string(md), "\n") {
		if strings.HasPrefix(line, "| rank | configuration") {
			continue
		}
		if strings.HasPrefix(line, "| 1 | ") || strings.HasPrefix(line, "| 2 | ") {
			cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1
			if cells != 9 {
				t.Errorf("row %q has %d cells, want 9", line, cells)
			}
		}
	}
	page, err := in.html(md)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<script>") {
		t.Error("the HTML report holds a script tag from a run name")
	}
}
