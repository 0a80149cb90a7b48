package rest

import (
	"encoding/json"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body string
		want       LogMetricRequest
		err        string // substring of the error, "" for none
	}{
		{"numbers", `{"run_id": "r", "key": "k", "value": 0.5, "timestamp": 17, "step": -3}`,
			LogMetricRequest{RunID: "r", Key: "k", Value: 0.5, Timestamp: 17, Step: -3}, ""},
		{"int64 as strings", `{"run_id": "r", "value": "1e-3", "timestamp": "1700000000000", "step": "2"}`,
			LogMetricRequest{RunID: "r", Value: 1e-3, Timestamp: 1700000000000, Step: 2}, ""},
		{"integral float as int64", `{"timestamp": 5.0, "step": 1e3}`, LogMetricRequest{Timestamp: 5, Step: 1000}, ""},
		{"unknown fields ignored", `{"run_id": "r", "model_id": "m", "dataset_name": {"x": 1}}`, LogMetricRequest{RunID: "r"}, ""},
		{"nulls are absent", `{"run_id": null, "value": null}`, LogMetricRequest{}, ""},
		{"double-encoded", `"{\"run_id\": \"r\", \"step\": 4}"`, LogMetricRequest{RunID: "r", Step: 4}, ""},
		{"empty body", ``, LogMetricRequest{}, ""},
		{"fractional int64", `{"step": 1.5}`, LogMetricRequest{}, "parameter 'step'"},
		{"int64 overflow", `{"timestamp": 99999999999999999999}`, LogMetricRequest{}, "parameter 'timestamp'"},
		{"string for a string", `{"key": 5}`, LogMetricRequest{}, "parameter 'key'"},
		{"bad float", `{"value": "abc"}`, LogMetricRequest{}, "parameter 'value'"},
		{"a list", `[1, 2]`, LogMetricRequest{}, "want a JSON object"},
		{"broken", `{"run_id": `, LogMetricRequest{}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got LogMetricRequest
			_, err := Decode([]byte(tt.body), &got)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNonFiniteFloats(t *testing.T) {
	var got LogBatchRequest
	// Python's json.dumps writes bare NaN and Infinity; strings are left alone.
	_, err := Decode([]byte(`{"run_id": "NaN-Infinity", "metrics": [{"key": "a", "value": NaN}, {"key": "b", "value": -Infinity}, {"key": "c", "value": "Infinity"}]}`), &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.RunID != "NaN-Infinity" || !math.IsNaN(float64(got.Metrics[0].Value)) || !math.IsInf(float64(got.Metrics[1].Value), -1) || !math.IsInf(float64(got.Metrics[2].Value), 1) {
		t.Errorf("got %+v", got)
	}
	b, err := json.Marshal(got.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"key":"a","value":"NaN","timestamp":0,"step":0},{"key":"b","value":"-Infinity","timestamp":0,"step":0},{"key":"c","value":"Infinity","timestamp":0,"step":0}]`
	if string(b) != want {
		t.Errorf("encoded %s\nwant    %s", b, want)
	}
}

func TestFieldsPresent(t *testing.T) {
	f, err := Decode([]byte(`{"a": "", "b": null, "c": 0, "d": "x", "e": false}`), &struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true, "z": false} {
		if f.Present(name) != want {
			t.Errorf("Present(%s) = %v", name, !want)
		}
	}
}

func TestQuery(t *testing.T) {
	q, _ := url.ParseQuery("experiment_ids=1&experiment_ids=2&run_view_type=DELETED_ONLY&max_results=7&order_by=x&filter=a%3D1&unknown=3")
	var got SearchRunsRequest
	if _, err := DecodeQuery(q, &got); err != nil {
		t.Fatal(err)
	}
	want := SearchRunsRequest{ExperimentIDs: []ID{"1", "2"}, RunViewType: ViewType(tracking.DeletedOnly), MaxResults: 7, OrderBy: []string{"x"}, Filter: "a=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeQuery = %+v, want %+v", got, want)
	}
	// EncodeQuery is its inverse.
	enc, err := EncodeQuery(&want)
	if err != nil {
		t.Fatal(err)
	}
	var back SearchRunsRequest
	if _, err := DecodeQuery(enc, &back); err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("round trip through %s = %+v, %v", enc.Encode(), back, err)
	}
	// Bools, and a view type given as a number.
	var tr struct {
		Archive bool     `json:"archive"`
		View    ViewType `json:"view"`
	}
	if _, err := DecodeQuery(url.Values{"archive": {"TRUE"}, "view": {"3"}}, &tr); err != nil || !tr.Archive || tr.View != ViewType(tracking.AllStages) {
		t.Errorf("bool and number: %+v, %v", tr, err)
	}
	if _, err := DecodeQuery(url.Values{"archive": {"yes"}}, &tr); err == nil || !strings.Contains(err.Error(), "'archive'") {
		t.Errorf("bool 'yes': %v", err)
	}
	if _, err := DecodeQuery(url.Values{"view": {"4"}}, &tr); err == nil {
		t.Error("view type 4 accepted")
	}
}

func TestEnums(t *testing.T) {
	var s struct {
		Status  RunStatus          `json:"status"`
		Version ModelVersionStatus `json:"version"`
		View    ViewType           `json:"view"`
	}
	if err := json.Unmarshal([]byte(`{"status": 3, "version": 3, "view": "ALL"}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != "FINISHED" || s.Version != "READY" || s.View != ViewType(tracking.AllStages) {
		t.Errorf("got %+v", s)
	}
	b, _ := json.Marshal(s)
	if string(b) != `{"status":"FINISHED","version":"READY","view":"ALL"}` {
		t.Errorf("encoded %s", b)
	}
	for _, bad := range []string{`{"status": 9}`, `{"version": 0}`, `{"view": "NONE"}`} {
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCheckArtifactPath(t *testing.T) {
	for _, ok := range []string{"", "a", "1/abc/artifacts/weights/best.pt", "a..b/c", "..a", "with space/x", "50%", "a%2fb", "dir/"} {
		if err := CheckArtifactPath(ok); err != nil {
			t.Errorf("CheckArtifactPath(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"..", "../a", "a/..", "a/../b", "/a", "\\a", "a\\b", "C:x", "file:/x", "FILE:x", "a#b", "a\x00b",
		"%2e%2e", "a/%2E%2E/b", "%252e%252e", "%25252e%25252e/x", "%2fetc", "a%5cb", "a/%00"} {
		err := CheckArtifactPath(bad)
		if err == nil {
			t.Errorf("CheckArtifactPath(%q) = nil, want an error", bad)
		} else if tracking.CodeOf(err) != tracking.InvalidParameterValue {
			t.Errorf("CheckArtifactPath(%q) code %s", bad, tracking.CodeOf(err))
		}
	}
}

func TestProxiedPath(t *testing.T) {
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"mlflow-artifacts:/1/abc/artifacts", "1/abc/artifacts", true},
		{"mlflow-artifacts://host:5000/1/abc/artifacts", "1/abc/artifacts", true},
		{"mlflow-artifacts:/", "", true},
		{"http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts", "1/r/artifacts", true},
		{"mlflow-artifacts:/1/../../etc", "", false},
		{"mlflow-artifacts:/1/%2e%2e/x", "", false},
		{"s3://bucket/1/r/artifacts", "", false},
		{"/local/path", "", false},
		{"http://h/other/path", "", false},
	}
	for _, tt := range tests {
		got, ok := ProxiedPath(tt.uri)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ProxiedPath(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzDecode feeds arbitrary bodies to the decoder of the largest message:
// it must not panic, and what it accepts must encode again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"run_id": "r", "metrics": [{"key": "a", "value": NaN, "timestamp": "1"}]}`, `"{}"`, `[]`, `{"params": 1}`, `-Infinity`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req LogBatchRequest
		if _, err := Decode(body, &req); err != nil {
			return
		}
		if _, err := json.Marshal(&req); err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", body, err)
		}
	})
}

// FuzzCheckArtifactPath checks that an accepted path has no ".." segment,
// no leading slash and no backslash, however it is percent-decoded.
func FuzzCheckArtifactPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "%2e%2e", "%252e", "a%2f..%2fb", "/abs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckArtifactPath(p) != nil {
			return
		}
		for d := p; ; {
			if strings.HasPrefix(d, "/") || strings.Contains(d, "\\") {
				t.Fatalf("accepted %q, which decodes to %q", p, d)
			}
			for _, seg := range strings.Split(d, "/") {
				if seg == ".." {
					t.Fatalf("accepted %q, which decodes to %q", p, d)
				}
			}
			u, err := url.PathUnescape(d)
			if err != nil || u == d {
				break
			}
			d = u
		}
	})
}

// FuzzDecodeQuery checks that no query string makes the GET decoder panic.
func FuzzDecodeQuery(f *testing.F) {
	f.Add("experiment_ids=1&experiment_ids=x&max_results=9&run_view_type=ALL")
	f.Add("max_results=1e400&page_token=%ff")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var req SearchRunsRequest
		DecodeQuery(q, &req)
		var tr TransitionStageRequest
		DecodeQuery(q, &tr)
	})
}
