package web

import (
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

//go:embed templates
var templates embed.FS

// pageNames are the templates under templates/ that are whole pages; each
// defines "content" (and may define "head") for layout.html.
var pageNames = []string{"experiments", "runs", "run", "compare", "models", "model", "version", "pipelines", "error"}

func parsePages(assets *assetSet) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"asset":       assets.url,
		"time":        formatTime,
		"ago":         ago,
		"duration":    duration,
		"num":         formatNumber,
		"bytes":       formatBytes,
		"short":       shortID,
		"pathEscape":  url.PathEscape,
		"queryEscape": url.QueryEscape,
		"stageClass":  stageClass,
		"add":         func(a, b int) int { return a + b },
		"join":        strings.Join,
		"lower":       func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
		"runName":     runName,
		"isNum":       isNum,
		"nodeClass":   func(status string) string { return strings.ReplaceAll(status, " ", "") },
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templates,
			"templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// formatTime writes a timestamp in milliseconds as UTC; the script turns
// it into the reader's local time (the element carries data-ms).
func formatTime(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago says how long ago a timestamp in milliseconds was, roughly.
func ago(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	d := time.Since(time.UnixMilli(ms))
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return "seconds ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// duration is the time from start to end (both milliseconds), "—" while
// the run has no end.
func duration(start, end int64) string {
	if start <= 0 || end <= 0 || end < start {
		return "—"
	}
	d := time.Duration(end-start) * time.Millisecond
	switch {
	case d < time.Second:
		return strconv.FormatInt(end-start, 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// formatNumber writes a metric value with 4 significant digits, in plain
// notation where that stays short: 0.01834, 3.457, 1235, 1.235e+06.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "-∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e6 || a < 1e-4 {
		return strconv.FormatFloat(v, 'e', 3, 64)
	}
	if v == math.Trunc(v) && a < 1e6 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	digits := 3 - int(math.Floor(math.Log10(a)))
	s := strconv.FormatFloat(v, 'f', max(digits, 0), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func formatBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func stageClass(stage string) string {
	switch stage {
	case "Production":
		return "stage stage-prod"
	case "Staging":
		return "stage stage-staging"
	case "Archived":
		return "stage stage-archived"
	}
	return "stage stage-none"
}

func isNum(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
