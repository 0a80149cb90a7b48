package search

import (
	"reflect"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
)

func TestParseRunFilter(t *testing.T) {
	num := func(f float64) Value { return Value{Kind: Number, Num: f} }
	integer := func(n int64) Value { return Value{Kind: Number, Num: float64(n), Int: n, IsInt: true} }
	str := func(s string) Value { return Value{Kind: String, Str: s} }
	tests := []struct {
		filter string
		want   []Clause
	}{
		{"", nil},
		{"   ", nil},
		{"metrics.rmse < 1.5", []Clause{{Metric, "rmse", "<", num(1.5)}}},
		{"metrics.rmse<1", []Clause{{Metric, "rmse", "<", integer(1)}}},
		{"metric.acc >= -2e-3", []Clause{{Metric, "acc", ">=", num(-2e-3)}}},
		{"metrics.`mAP50-95B` > .5", []Clause{{Metric, "mAP50-95B", ">", num(0.5)}}},
		{`metrics."metrics/mAP50-95B" != 0`, []Clause{{Metric, "metrics/mAP50-95B", "!=", integer(0)}}},
		{"`metrics`.loss = 3", []Clause{{Metric, "loss", "=", integer(3)}}},
		{"params.model = 'yolov8n' and tags.`mlflow.user` LIKE 'a%'", []Clause{
			{Param, "model", "=", str("yolov8n")},
			{Tag, "mlflow.user", "LIKE", str("a%")},
		}},
		{`param.lr0 = "0.01" AND parameters.a.b ilike 'X'`, []Clause{
			{Param, "lr0", "=", str("0.01")},
			{Param, "a.b", "ILIKE", str("X")},
		}},
		{"tags.note = 'it''s'", []Clause{{Tag, "note", "=", str("it's")}}},
		{"attributes.status = 'FINISHED'", []Clause{{Attribute, "status", "=", str("FINISHED")}}},
		{"status != 'FAILED'", []Clause{{Attribute, "status", "!=", str("FAILED")}}},
		{"run.run_name like 'bold%'", []Clause{{Attribute, "run_name", "LIKE", str("bold%")}}},
		{`"run name" = 'x'`, []Clause{{Attribute, "run_name", "=", str("x")}}},
		{"attr.created > 1700000000000", []Clause{{Attribute, "start_time", ">", integer(1700000000000)}}},
		{"attributes.end_time <= 5", []Clause{{Attribute, "end_time", "<=", integer(5)}}},
		{"attributes.run_id IN ('a1', 'b2')", []Clause{{Attribute, "run_id", "IN", Value{Kind: List, List: []string{"a1", "b2"}}}}},
		{"run_id not in ('a1')", []Clause{{Attribute, "run_id", "NOT IN", Value{Kind: List, List: []string{"a1"}}}}},
		{"datasets.context = 'training' and dataset.name IN ('coco', 'voc')", []Clause{
			{Dataset, "context", "=", str("training")},
			{Dataset, "name", "IN", Value{Kind: List, List: []string{"coco", "voc"}}},
		}},
	}
	for _, tt := range tests {
		got, err := ParseRunFilter(tt.filter)
		if err != nil {
			t.Errorf("ParseRunFilter(%q): %v", tt.filter, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRunFilter(%q)\n got %+v\nwant %+v", tt.filter, got, tt.want)
		}
	}
}

func TestParseRunFilterErrors(t *testing.T) {
	tests := []struct {
		filter string
		want   string // part of the message
	}{
		{"metrics.a > 1 or metrics.b < 2", "expected AND"},
		{"(metrics.a > 1)", "Expected an identifier"},
		{"metrics.mAP50-95B > 0.5", "quote keys"},
		{"metrics.acc > 'high'", "Expected numeric value"},
		{"params.lr = 0.01", "Expected a quoted string"},
		{"params.lr = `0.01`", "Expected a quoted string"},
		{"params.lr > '1'", "Invalid comparator '>'"},
		{"metrics.acc LIKE 1", "Invalid comparator 'LIKE'"},
		{"metrics.acc == 1", "Invalid comparator '=='"},
		{"metrics.acc <> 1", "Invalid comparator '<>'"},
		{"metrics.acc ~ 1", "Expected a comparator"},
		{"attributes.status IN ('A')", "Invalid comparator 'IN'"},
		{"attributes.run_id = ('a')", "A list of values"},
		{"attributes.run_id IN 'a'", "expects a parenthesised list"},
		{"attributes.run_id IN ()", "non-empty list"},
		{"attributes.run_id IN ('a' 'b')", "expected ',' or ')'"},
		{"attributes.nope = 'x'", "Invalid attribute key 'nope'"},
		{"start_time > 'yesterday'", "Expected numeric value"},
		{"foo.bar = 'x'", "Invalid entity type 'foo'"},
		{"datasets.size = 'x'", "Invalid dataset key"},
		{"metrics. = 1", "missing key"},
		{".acc = 1", "missing entity"},
		{"metrics.acc >", "Missing value"},
		{"metrics.acc > 1 and", "Expected an identifier"},
		{"tags.a = 'open", "Unterminated string"},
		{"tags.`a = 'x'", "Unterminated `"},
		{"metrics.acc > 1e", "Invalid number"},
		{"metrics.acc > 12abc", "Invalid number"},
		{"params.a = 'x' params.b = 'y'", "expected AND"},
	}
	for _, tt := range tests {
		_, err := ParseRunFilter(tt.filter)
		if err == nil {
			t.Errorf("ParseRunFilter(%q) succeeded, want error containing %q", tt.filter, tt.want)
			continue
		}
		if tracking.CodeOf(err) != tracking.InvalidParameterValue {
			t.Errorf("ParseRunFilter(%q): code %s, want INVALID_PARAMETER_VALUE", tt.filter, tracking.CodeOf(err))
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRunFilter(%q) = %q, want it to contain %q", tt.filter, err, tt.want)
		}
	}
}

func TestOtherFilters(t *testing.T) {
	tests := []struct {
		name   string
		parse  func(string) ([]Clause, error)
		filter string
		ok     bool
	}{
		{"experiments", ParseExperimentFilter, "name LIKE 'yolo%' and tags.team = 'cv'", true},
		{"experiments", ParseExperimentFilter, "attribute.creation_time > 100", true},
		{"experiments", ParseExperimentFilter, "last_update_time <= 5 and tag.x != 'y'", true},
		{"experiments", ParseExperimentFilter, "attributes.name = 'x'", false}, // only "attribute"
		{"experiments", ParseExperimentFilter, "metrics.a > 1", false},
		{"experiments", ParseExperimentFilter, "name > 'a'", false},
		{"experiments", ParseExperimentFilter, "creation_time LIKE '1%'", false},
		{"models", ParseRegisteredModelFilter, "name ILIKE '%det%' and tags.`task` = 'detect'", true},
		{"models", ParseRegisteredModelFilter, "creation_timestamp > 1", false},
		{"models", ParseRegisteredModelFilter, "name IN ('a')", false},
		{"versions", ParseModelVersionFilter, "name = 'det' and run_id IN ('abc', 'def')", true},
		{"versions", ParseModelVersionFilter, "version_number >= 2 and source_path LIKE 's3://%'", true},
		{"versions", ParseModelVersionFilter, "run_id NOT IN ('a')", false},
		{"versions", ParseModelVersionFilter, "name IN ('a')", false},
		{"versions", ParseModelVersionFilter, "version_number = '2'", false},
		{"versions", ParseModelVersionFilter, "current_stage = 'Production'", false},
	}
	for _, tt := range tests {
		_, err := tt.parse(tt.filter)
		if (err == nil) != tt.ok {
			t.Errorf("%s filter %q: err = %v, want ok=%v", tt.name, tt.filter, err, tt.ok)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		parse func(string) (OrderBy, error)
		in    string
		want  OrderBy
		ok    bool
	}{
		{ParseRunOrderBy, "metrics.acc DESC", OrderBy{Metric, "acc", false}, true},
		{ParseRunOrderBy, "metrics.`mAP50-95B` desc", OrderBy{Metric, "mAP50-95B", false}, true},
		{ParseRunOrderBy, "params.lr", OrderBy{Param, "lr", true}, true},
		{ParseRunOrderBy, "  tags.x   ASC ", OrderBy{Tag, "x", true}, true},
		{ParseRunOrderBy, "start_time", OrderBy{Attribute, "start_time", true}, true},
		{ParseRunOrderBy, "attributes.created DESC", OrderBy{Attribute, "start_time", false}, true},
		{ParseRunOrderBy, "attribute.run_name", OrderBy{Attribute, "run_name", true}, true},
		{ParseRunOrderBy, "", OrderBy{}, false},
		{ParseRunOrderBy, "metrics.acc DOWN", OrderBy{}, false},
		{ParseRunOrderBy, "metrics.acc DESC ASC", OrderBy{}, false},
		{ParseRunOrderBy, "datasets.name", OrderBy{}, false},
		{ParseRunOrderBy, "attributes.lifecycle_stage", OrderBy{}, false},
		{ParseExperimentOrderBy, "experiment_id ASC", OrderBy{Attribute, "experiment_id", true}, true},
		{ParseExperimentOrderBy, "tags.x", OrderBy{}, false},
		{ParseRegisteredModelOrderBy, "timestamp DESC", OrderBy{Attribute, "timestamp", false}, true},
		{ParseRegisteredModelOrderBy, "version_number", OrderBy{}, false},
		{ParseModelVersionOrderBy, "version_number DESC", OrderBy{Attribute, "version_number", false}, true},
	}
	for _, tt := range tests {
		got, err := tt.parse(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("order_by %q: err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && got != tt.want {
			t.Errorf("order_by %q = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestPageToken(t *testing.T) {
	// The token MLflow's Python server makes for offset 100.
	const mlflowToken = "eyJvZmZzZXQiOiAxMDB9"
	if got := EncodePageToken(100); got != mlflowToken {
		t.Errorf("EncodePageToken(100) = %q, want %q", got, mlflowToken)
	}
	for _, off := range []int{1, 7, 50000, 1 << 40} {
		got, err := DecodePageToken(EncodePageToken(off))
		if err != nil || got != off {
			t.Errorf("round trip of %d: %d, %v", off, got, err)
		}
	}
	if off, err := DecodePageToken(""); off != 0 || err != nil {
		t.Errorf(`DecodePageToken("") = %d, %v`, off, err)
	}
	for _, bad := range []string{"!!", "bm90IGpzb24=", "eyJvZmZzZXQiOiAwfQ==", "eyJvZmZzZXQiOiAtNX0=", "e30="} {
		if _, err := DecodePageToken(bad); tracking.CodeOf(err) != tracking.InvalidParameterValue {
			t.Errorf("DecodePageToken(%q) = %v, want INVALID_PARAMETER_VALUE", bad, err)
		}
	}
}

func FuzzParseRunFilter(f *testing.F) {
	for _, s := range []string{
		"metrics.rmse < 1 and params.model = 'x'",
		"tags.`a b` LIKE '%x%'",
		"attributes.run_id IN ('a', 'b')",
		`metrics."m/x" >= -1e10`,
		"datasets.context = 'training'",
		"run_id not in ('a')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		clauses, err := ParseRunFilter(s)
		if err != nil {
			if tracking.CodeOf(err) != tracking.InvalidParameterValue {
				t.Fatalf("error without INVALID_PARAMETER_VALUE: %v", err)
			}
			return
		}
		for _, c := range clauses {
			if c.Key == "" && c.Entity != Attribute {
				t.Fatalf("clause with an empty key from %q: %+v", s, c)
			}
			if (c.Comparator == "IN" || c.Comparator == "NOT IN") != (c.Value.Kind == List) {
				t.Fatalf("IN without a list, or a list without IN, from %q: %+v", s, c)
			}
		}
		// The other grammars share the parser; none may panic either.
		for _, parse := range []func(string) ([]Clause, error){ParseExperimentFilter, ParseRegisteredModelFilter, ParseModelVersionFilter} {
			if _, err := parse(s); err != nil && tracking.CodeOf(err) != tracking.InvalidParameterValue {
				t.Fatalf("error without INVALID_PARAMETER_VALUE: %v", err)
			}
		}
		for _, parse := range []func(string) (OrderBy, error){ParseRunOrderBy, ParseExperimentOrderBy, ParseRegisteredModelOrderBy, ParseModelVersionOrderBy} {
			if _, err := parse(s); err != nil && tracking.CodeOf(err) != tracking.InvalidParameterValue {
				t.Fatalf("error without INVALID_PARAMETER_VALUE: %v", err)
			}
		}
		if off, err := DecodePageToken(s); err == nil && off < 0 {
			t.Fatalf("negative offset %d from token %q", off, s)
		}
	})
}
