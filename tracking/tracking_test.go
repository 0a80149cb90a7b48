package tracking

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestNormpath(t *testing.T) {
	// Outputs of Python's posixpath.normpath.
	tests := map[string]string{
		"":          ".",
		".":         ".",
		"a":         "a",
		"a/":        "a",
		"a//b":      "a/b",
		"a/./b":     "a/b",
		"a/../b":    "b",
		"../a":      "../a",
		"a/../../b": "../b",
		"/a/../..":  "/",
		"//a":       "//a",
		"///a":      "/a",
		"/a/b/":     "/a/b",
		"a b/c d":   "a b/c d",
		"..":        "..",
		"./..":      "..",
	}
	for in, want := range tests {
		if got := normpath(in); got != want {
			t.Errorf("normpath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateKeys(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"loss", true},
		{"train/box_loss", true},
		{"metrics/mAP50-95B", true},
		{"lr pg0", true},
		{"précision", true},
		{"a.b.c", true},
		{"", false},
		{"a/", false},
		{"/a", false},
		{"a/../b", false},
		{"./a", false},
		{"..a", false},
		{".", false},
		{"a//b", false},
		{"mAP50-95(B)", false},
		{"a:b", false},
		{"tab\tkey", false},
		{strings.Repeat("k", MaxEntityKeyLength), true},
		{strings.Repeat("k", MaxEntityKeyLength+1), false},
	}
	for _, tt := range tests {
		for what, err := range map[string]error{
			"metric": ValidateMetric(Metric{Key: tt.key}),
			"param":  ValidateParam(Param{Key: tt.key}),
			"tag":    ValidateTag(Tag{Key: tt.key}),
		} {
			if (err == nil) != tt.ok {
				t.Errorf("%s key %q: err = %v, want ok=%v", what, tt.key, err, tt.ok)
			}
			if err != nil && CodeOf(err) != InvalidParameterValue {
				t.Errorf("%s key %q: code %s", what, tt.key, CodeOf(err))
			}
		}
	}
}

func TestValidateValues(t *testing.T) {
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"param of 6000 code points", ValidateParam(Param{Key: "k", Value: strings.Repeat("é", 6000)}), true},
		{"param of 6001", ValidateParam(Param{Key: "k", Value: strings.Repeat("a", 6001)}), false},
		{"tag of 8000", ValidateTag(Tag{Key: "k", Value: strings.Repeat("a", 8000)}), true},
		{"tag of 8001", ValidateTag(Tag{Key: "k", Value: strings.Repeat("a", 8001)}), false},
		{"experiment tag of 5001", ValidateExperimentTag(Tag{Key: "k", Value: strings.Repeat("a", 5001)}), false},
		{"registry tag of 5001", ValidateRegistryTag(Tag{Key: "k", Value: strings.Repeat("a", 5001)}), false},
		{"negative timestamp", ValidateMetric(Metric{Key: "k", Timestamp: -1}), false},
		{"experiment name", ValidateExperimentName("x"), true},
		{"empty experiment name", ValidateExperimentName(""), false},
		{"experiment name of 501", ValidateExperimentName(strings.Repeat("x", 501)), false},
		{"runs: artifact location", ValidateArtifactLocation("runs:/x/y"), false},
		{"s3 artifact location", ValidateArtifactLocation("s3://b/p"), true},
		{"run id", ValidateRunID("0123456789abcdef0123456789abcdef"), true},
		{"run id with a dash first", ValidateRunID("-abc"), false},
		{"empty run id", ValidateRunID(""), false},
		{"alias", ValidateAlias("champion"), true},
		{"alias latest", ValidateAlias("Latest"), false},
		{"alias v3", ValidateAlias("v3"), false},
		{"alias v3a", ValidateAlias("v3a"), true},
		{"alias with a dot", ValidateAlias("a.b"), false},
		{"model name", ValidateModelName(""), false},
	}
	for _, tt := range tests {
		if (tt.err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, tt.err, tt.ok)
		}
	}
}

func TestValidateLogBatch(t *testing.T) {
	metrics := make([]Metric, 1000)
	for i := range metrics {
		metrics[i] = Metric{Key: fmt.Sprint("m", i)}
	}
	tests := []struct {
		name    string
		metrics []Metric
		params  []Param
		tags    []Tag
		want    string // part of the message; "" for success
	}{
		{"full batch", metrics, nil, nil, ""},
		{"too many metrics", append(metrics, Metric{Key: "x"}), nil, nil, "at most 1000 metrics"},
		{"too many entities", metrics, []Param{{Key: "p"}}, nil, "at most 1000 metrics, params, and tags"},
		{"duplicate params", nil, []Param{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, nil, "Duplicate parameter keys"},
		// Entities are checked before limits, as MLflow does.
		{"bad key in an oversized batch", append(metrics, Metric{Key: "/x"}), nil, nil, "Invalid metric name"},
	}
	for _, tt := range tests {
		err := ValidateLogBatch("abc", tt.metrics, tt.params, tt.tags)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestCanonicalStage(t *testing.T) {
	for in, want := range map[string]string{"none": "None", "STAGING": "Staging", "production": "Production", "Archived": "Archived"} {
		if got, err := CanonicalStage(in); got != want || err != nil {
			t.Errorf("CanonicalStage(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := CanonicalStage("live"); CodeOf(err) != InvalidParameterValue {
		t.Errorf("CanonicalStage(live): %v", err)
	}
}

func TestParseModelVersion(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, " 42 ": 42} {
		if got, err := ParseModelVersion(in); got != want || err != nil {
			t.Errorf("ParseModelVersion(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "one", "1.5", "99999999999999999999"} {
		if _, err := ParseModelVersion(bad); CodeOf(err) != InvalidParameterValue {
			t.Errorf("ParseModelVersion(%q): %v", bad, err)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	base := Errorf(ResourceDoesNotExist, "Run with id=%s not found", "x")
	wrapped := fmt.Errorf("handler: %w", base)
	if CodeOf(wrapped) != ResourceDoesNotExist || !IsNotFound(wrapped) || wrapped.Error() != "handler: Run with id=x not found" {
		t.Errorf("wrapped error: code %s, %q", CodeOf(wrapped), wrapped)
	}
	if CodeOf(errors.New("disk on fire")) != InternalError || CodeOf(nil) != "" {
		t.Error("CodeOf of a plain error or nil")
	}
	cause := errors.New("driver: bad connection")
	e := &Error{Code: InternalError, Message: "database error", Err: cause}
	if !errors.Is(e, cause) {
		t.Error("Error does not unwrap to its cause")
	}
	statuses := map[ErrorCode]int{
		InvalidParameterValue: http.StatusBadRequest,
		ResourceAlreadyExists: http.StatusBadRequest,
		InvalidState:          http.StatusBadRequest,
		ResourceDoesNotExist:  http.StatusNotFound,
		PermissionDenied:      http.StatusForbidden,
		Unauthenticated:       http.StatusUnauthorized,
		InternalError:         http.StatusInternalServerError,
		"SOMETHING_NEW":       http.StatusInternalServerError,
	}
	for code, want := range statuses {
		if got := code.HTTPStatus(); got != want {
			t.Errorf("%s.HTTPStatus() = %d, want %d", code, got, want)
		}
	}
}

func TestRandomRunName(t *testing.T) {
	re := regexp.MustCompile(`^[a-z]+-[a-z]+-\d{1,3}$`)
	seen := map[string]bool{}
	for range 200 {
		n := RandomRunName()
		if !re.MatchString(n) {
			t.Fatalf("run name %q is not adjective-noun-number", n)
		}
		seen[n] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct names in 200", len(seen))
	}
}

func TestViewTypeStages(t *testing.T) {
	tests := map[ViewType]string{0: "[active]", ActiveOnly: "[active]", DeletedOnly: "[deleted]", AllStages: "[active deleted]"}
	for v, want := range tests {
		if got := fmt.Sprint(v.Stages()); got != want {
			t.Errorf("ViewType(%d).Stages() = %s, want %s", v, got, want)
		}
	}
}
