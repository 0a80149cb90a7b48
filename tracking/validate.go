package tracking

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of MLflow 2.x (mlflow/utils/validation.py). Lengths count Unicode
// code points, as Python's len does.
const (
	MaxParamsTagsPerBatch    = 100
	MaxMetricsPerBatch       = 1000
	MaxEntitiesPerBatch      = 1000
	MaxBatchLogRequestSize   = 1_000_000 // bytes of a log-batch request body
	MaxEntityKeyLength       = 250
	MaxParamValueLength      = 6000
	MaxTagValueLength        = 8000 // the SQL column's size; MLflow raised it from 5000 to this
	MaxExperimentNameLength  = 500
	MaxExperimentTagKeyLen   = 250
	MaxExperimentTagValueLen = 5000
	MaxRegistryTagKeyLength  = 250
	MaxRegistryTagValueLen   = 5000
	MaxAliasLength           = 255
	MaxDatasetNameLength     = 500
	MaxDatasetDigestLength   = 36
	MaxDatasetSchemaLength   = 1048575
	MaxDatasetSourceLength   = 65535
	MaxDatasetProfileLength  = 16777215
	MaxInputTagKeyLength     = 255
	MaxInputTagValueLength   = 500
)

var (
	// Python's \w matches any Unicode letter or digit, not only ASCII ones.
	validKeyName = regexp.MustCompile(`^[/\p{L}\p{N}\p{Mn}\p{Mc}_.\- ]*$`)
	validRunID   = regexp.MustCompile(`^[a-zA-Z0-9][\p{L}\p{N}_\-]{0,255}$`)
	validAlias   = regexp.MustCompile(`^[\p{L}\p{N}_\-]*$`)
	versionAlias = regexp.MustCompile(`^[vV]\d+$`)
)

const badCharacters = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)."

func invalid(format string, args ...any) *Error {
	return Errorf(InvalidParameterValue, format, args...)
}

// validateKeyName checks a metric, param or tag key: allowed characters, and
// no path that would normalise to another name (keys become file names in
// MLflow's file store, so "a/../b" and "a/" are refused everywhere).
func validateKeyName(what, name string) error {
	if !validKeyName.MatchString(name) {
		return invalid("Invalid %s name: '%s'. %s", what, name, badCharacters)
	}
	if normpath(name) != name || name == "." || strings.HasPrefix(name, "..") || strings.HasPrefix(name, "/") {
		return invalid("Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", what, name, normpath(name))
	}
	return nil
}

// normpath is Python's posixpath.normpath, which differs from path.Clean
// in keeping a leading "//".
func normpath(p string) string {
	if p == "" {
		return "."
	}
	initial := 0
	if strings.HasPrefix(p, "/") {
		initial = 1
		if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
			initial = 2
		}
	}
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch {
		case c == "" || c == ".":
		case c != ".." || (initial == 0 && len(out) == 0) || (len(out) > 0 && out[len(out)-1] == ".."):
			out = append(out, c)
		case len(out) > 0:
			out = out[:len(out)-1]
		}
	}
	s := strings.Repeat("/", initial) + strings.Join(out, "/")
	if s == "" {
		return "."
	}
	return s
}

func validateLength(what string, limit int, value string) error {
	if n := utf8.RuneCountInString(value); n > limit {
		shown := value
		if utf8.RuneCountInString(shown) > 250 {
			shown = string([]rune(shown)[:250])
		}
		return invalid("%s '%s' had length %d, which exceeded length limit of %d", what, shown, n, limit)
	}
	return nil
}

// ValidateMetric checks a metric's key and timestamp (any float value is
// accepted, NaN and ±Inf included).
func ValidateMetric(m Metric) error {
	if err := validateKeyName("metric", m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return invalid("Got invalid timestamp %d for metric '%s' (value=%s). Timestamp must be a nonnegative long (64-bit integer) ", m.Timestamp, m.Key, formatFloat(m.Value))
	}
	return validateLength("Metric name", MaxEntityKeyLength, m.Key)
}

func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ValidateParam checks a param's key and value length.
func ValidateParam(p Param) error {
	if err := validateKeyName("parameter", p.Key); err != nil {
		return err
	}
	if err := validateLength("Param key", MaxEntityKeyLength, p.Key); err != nil {
		return err
	}
	return validateLength("Param value", MaxParamValueLength, p.Value)
}

// ValidateTag checks a run tag's key and value length.
func ValidateTag(t Tag) error {
	if err := validateKeyName("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag key", MaxEntityKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("Tag value", MaxTagValueLength, t.Value)
}

// ValidateExperimentTag checks an experiment tag.
func ValidateExperimentTag(t Tag) error {
	if err := validateKeyName("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Tag key", MaxExperimentTagKeyLen, t.Key); err != nil {
		return err
	}
	return validateLength("Tag value", MaxExperimentTagValueLen, t.Value)
}

// ValidateExperimentName checks a new experiment name.
func ValidateExperimentName(name string) error {
	if name == "" {
		return invalid("Invalid experiment name: '%s'", name)
	}
	if utf8.RuneCountInString(name) > MaxExperimentNameLength {
		return invalid("Experiment name exceeds the maximum length of %d characters", MaxExperimentNameLength)
	}
	return nil
}

// ValidateArtifactLocation refuses the runs:/ URIs, which name run artifacts,
// as an experiment's artifact location.
func ValidateArtifactLocation(loc string) error {
	if strings.HasPrefix(loc, "runs:") {
		return invalid("Artifact location cannot be a runs:/ URI. Given: '%s'", loc)
	}
	return nil
}

// ValidateRunID checks the form of a run id.
func ValidateRunID(id string) error {
	if !validRunID.MatchString(id) {
		return invalid("Invalid run ID: '%s'", id)
	}
	return nil
}

// ValidateLogBatch checks a log-batch request as MLflow does, in its order:
// the run id, every entity, the batch limits, then duplicate param keys.
func ValidateLogBatch(runID string, metrics []Metric, params []Param, tags []Tag) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	for _, m := range metrics {
		if err := ValidateMetric(m); err != nil {
			return err
		}
	}
	for _, p := range params {
		if err := ValidateParam(p); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	limit := func(what string, max, n int) error {
		if n > max {
			return invalid("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", max, what, n, what, what)
		}
		return nil
	}
	if err := limit("metrics", MaxMetricsPerBatch, len(metrics)); err != nil {
		return err
	}
	if err := limit("params", MaxParamsTagsPerBatch, len(params)); err != nil {
		return err
	}
	if err := limit("tags", MaxParamsTagsPerBatch, len(tags)); err != nil {
		return err
	}
	if err := limit("metrics, params, and tags", MaxEntitiesPerBatch, len(metrics)+len(params)+len(tags)); err != nil {
		return err
	}
	seen := make(map[string]bool, len(params))
	var dupes []string
	for _, p := range params {
		if seen[p.Key] {
			dupes = append(dupes, p.Key)
		}
		seen[p.Key] = true
	}
	if len(dupes) > 0 {
		return invalid("Duplicate parameter keys have been submitted: %q. Please ensure the request contains only one param value per param key.", dupes)
	}
	return nil
}

// ValidateDatasetInputs checks the sizes of dataset inputs.
func ValidateDatasetInputs(inputs []DatasetInput) error {
	type check struct {
		what  string
		limit int
		value string
	}
	for _, in := range inputs {
		d := in.Dataset
		if d.Name == "" || d.Digest == "" || d.SourceType == "" || d.Source == "" {
			return invalid("Dataset input must have a name, digest, source_type and source (got name=%q, digest=%q)", d.Name, d.Digest)
		}
		checks := []check{
			{"Dataset name", MaxDatasetNameLength, d.Name},
			{"Dataset digest", MaxDatasetDigestLength, d.Digest},
			{"Dataset schema", MaxDatasetSchemaLength, d.Schema},
			{"Dataset source", MaxDatasetSourceLength, d.Source},
			{"Dataset profile", MaxDatasetProfileLength, d.Profile},
		}
		for _, t := range in.Tags {
			checks = append(checks,
				check{"Input tag key", MaxInputTagKeyLength, t.Key},
				check{"Input tag value", MaxInputTagValueLength, t.Value})
		}
		for _, c := range checks {
			if err := validateLength(c.what, c.limit, c.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateModelName checks a registered model name.
func ValidateModelName(name string) error {
	if name == "" {
		return invalid("Registered model name cannot be empty.")
	}
	return nil
}

// ValidateRegistryTag checks a registered model or model version tag.
func ValidateRegistryTag(t Tag) error {
	if err := validateKeyName("tag", t.Key); err != nil {
		return err
	}
	if err := validateLength("Registered model key", MaxRegistryTagKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("Registered model value", MaxRegistryTagValueLen, t.Value)
}

// ParseModelVersion parses a version number, which the protos carry as a
// string.
func ParseModelVersion(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, invalid("Model version must be an integer, got '%s'", v)
	}
	return n, nil
}

// ValidateAlias checks a registered model alias: alphanumerics, _ and -, not
// "latest" and not of the form v<number>, which name versions.
func ValidateAlias(alias string) error {
	if alias == "" {
		return invalid("Registered model alias name cannot be empty.")
	}
	if !validAlias.MatchString(alias) {
		return invalid("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
	}
	if err := validateLength("Registered model alias name", MaxAliasLength, alias); err != nil {
		return err
	}
	if strings.EqualFold(alias, "latest") {
		return invalid("'latest' alias name (case insensitive) is reserved.")
	}
	if versionAlias.MatchString(alias) {
		return invalid("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// CanonicalStage returns the stage's canonical spelling ("staging" ->
// "Staging").
func CanonicalStage(stage string) (string, error) {
	for _, s := range Stages {
		if strings.EqualFold(stage, s) {
			return s, nil
		}
	}
	return "", invalid("Invalid Model Version stage: %s. Value must be one of %s.", stage, strings.Join(Stages, ", "))
}
