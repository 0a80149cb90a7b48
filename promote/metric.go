package promote

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// shortMetrics maps the names a user types to the keys Ultralytics'
// MLflow callback logs. MLflow refuses "(" and ")" in metric keys
// (mlflow/utils/validation.py: names are [/\w.\- ]), so the callback's
// sanitize_dict drops them: metrics/mAP50(B) is logged as metrics/mAP50B.
// The parenthesised form, results.csv's column name, is tried second for
// stores that kept it.
var shortMetrics = map[string]string{
	"map50":     "metrics/mAP50B",
	"map50-95":  "metrics/mAP50-95B",
	"precision": "metrics/precisionB",
	"recall":    "metrics/recallB",
}

// Keys of the four validation metrics, as logged.
const (
	keyMAP50     = "metrics/mAP50B"
	keyMAP5095   = "metrics/mAP50-95B"
	keyPrecision = "metrics/precisionB"
	keyRecall    = "metrics/recallB"
)

// reportMetrics are the metrics the report tabulates for every
// configuration and run, in this order.
var reportMetrics = []string{keyMAP50, keyMAP5095, keyPrecision, keyRecall}

// ShortName returns the name a report uses for a metric key: mAP50 for
// metrics/mAP50B, the key itself for others.
func ShortName(key string) string {
	switch key {
	case keyMAP50:
		return "mAP50"
	case keyMAP5095:
		return "mAP50-95"
	case keyPrecision:
		return "precision"
	case keyRecall:
		return "recall"
	}
	return key
}

// metricCandidates lists the keys a metric name may have been logged
// under, most likely first.
func metricCandidates(name string) []string {
	name = strings.TrimSpace(name)
	if k, ok := shortMetrics[strings.ToLower(name)]; ok {
		return []string{k, parenthesised(k)}
	}
	sanitized := strings.NewReplacer("(", "", ")", "").Replace(name)
	if sanitized != name {
		return []string{sanitized, name}
	}
	if p := parenthesised(name); p != name {
		return []string{name, p}
	}
	return []string{name}
}

// parenthesised turns metrics/mAP50B back into metrics/mAP50(B).
func parenthesised(key string) string {
	if strings.HasPrefix(key, "metrics/") && strings.HasSuffix(key, "B") && !strings.HasSuffix(key, "(B)") {
		return strings.TrimSuffix(key, "B") + "(B)"
	}
	return key
}

// resolveMetric returns the key under which name was logged, given the
// keys the runs have.
func resolveMetric(name string, logged map[string]bool) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("empty metric name (want mAP50, mAP50-95, precision, recall or a logged key)")
	}
	if strings.Contains(strings.ToLower(name), "loss") {
		return "", fmt.Errorf("metric %q: a loss is not an objective here (lower is better); use mAP50, mAP50-95, precision or recall", name)
	}
	cands := metricCandidates(name)
	for _, k := range cands {
		if logged[k] {
			return k, nil
		}
	}
	keys := make([]string, 0, len(logged))
	for k := range logged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return "", fmt.Errorf("metric %q: no run logged %s; the runs logged: %s",
		name, strings.Join(quoteAll(cands), " or "), strings.Join(keys, ", "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// Constraint is a --min bound: the metric must be at least Min.
type Constraint struct {
	Metric string  // as the user wrote it: precision, metrics/recallB...
	Min    float64 // inclusive
	Key    string  // the logged key, once resolved
}

func (c Constraint) String() string {
	name := c.Metric
	if c.Key != "" {
		name = ShortName(c.Key)
	}
	return name + " >= " + formatValue(c.Min)
}

// ParseConstraint parses a --min value, metric=value: precision=0.3,
// mAP50-95=0.1, metrics/recallB=0.2.
func ParseConstraint(s string) (Constraint, error) {
	name, value, ok := strings.Cut(s, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return Constraint{}, fmt.Errorf("constraint %q: want metric=value, e.g. precision=0.3", s)
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Constraint{}, fmt.Errorf("constraint %q: value %q is not a finite number", s, value)
	}
	if strings.Contains(strings.ToLower(name), "loss") {
		return Constraint{}, fmt.Errorf("constraint %q: --min bounds a metric from below; a loss cannot be bounded that way", s)
	}
	return Constraint{Metric: name, Min: v}, nil
}

// formatValue writes a metric value with 4 decimals, as the report does.
func formatValue(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// formatSigned writes a difference with its sign.
func formatSigned(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	s := strconv.FormatFloat(v, 'f', 4, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s
}
