package promote

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// Report file names.
const (
	ReportMarkdown = "decision.md"
	ReportHTML     = "decision.html"
)

// reportInput is what a report shows besides the analysis.
type reportInput struct {
	A           *Analysis
	Stage       string // the stage asked for
	Model       string
	Reg         *Registration // nil: nothing registered (refusal or dry run)
	DryRun      bool
	Alias       string
	Source      string // the registered (or to be registered) weights
	ReportURI   string // where the report is uploaded, "" if not
	TrackingURI string
	Version     string // of yolops
	CommandLine string
	Written     time.Time
	figures     map[string][]byte
}

// esc makes text safe inside a Markdown table cell or inline text: pipes
// would split cells, and the characters Markdown gives a meaning are
// escaped. "_" is escaped only where it could open or close emphasis (not
// between letters, as in run names), and "<" only where it could open an
// HTML tag, so that the Markdown stays readable as text.
func esc(s string) string {
	var b strings.Builder
	rs := []rune(s)
	alnum := func(i int) bool {
		return i >= 0 && i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]))
	}
	for i, r := range rs {
		switch r {
		case '\\', '|', '*', '[', ']', '`':
			b.WriteByte('\\')
		case '_':
			if !alnum(i-1) || !alnum(i+1) {
				b.WriteByte('\\')
			}
		case '<':
			if i+1 < len(rs) && (unicode.IsLetter(rs[i+1]) || strings.ContainsRune("/!?", rs[i+1])) {
				b.WriteString("&lt;")
				continue
			}
		case '\n':
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// code writes s as inline code (backticks inside are replaced).
func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

func stdOrDash(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return formatValue(v)
}

func millis(ms int64) string {
	if ms == 0 {
		return "–"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 UTC")
}

// keyParams are shown for the promoted run besides the swept ones.
var keyParams = []string{"model", "data", "epochs", "batch", "imgsz", "lr0", "lrf", "optimizer", "seed", "pretrained", "device"}

// markdown writes the decision as Markdown.
func (in *reportInput) markdown() []byte {
	a := in.A
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	obj := ShortName(a.Objective)
	c, r := a.Chosen, a.Candidate

	switch {
	case c == nil:
		p("# Promotion refused: %s\n\n", esc(in.Model))
		p("**No run was promoted.** %s.\n\n", esc(capitalise(a.Refusal)))
	default:
		head := fmt.Sprintf("# Promotion decision: %s", esc(in.Model))
		if in.Reg != nil {
			head += fmt.Sprintf(" v%s → %s", in.Reg.Version.Version, in.Reg.Version.CurrentStage)
		} else if in.DryRun {
			head += " (dry run)"
		}
		p("%s\n\n", head)
		verb := "Promote"
		if in.DryRun {
			verb = "Would promote"
		}
		p("**Decision.** %s run **%s** (%s)", verb, esc(r.Name), code(r.ID))
		if in.Reg != nil {
			v := in.Reg.Version
			p(" as %s version %s, now in **%s**", esc(in.Model), v.Version, v.CurrentStage)
			if len(in.Reg.Aliases) > 0 {
				p(" with alias %s", code(strings.Join(in.Reg.Aliases, ", ")))
			}
			if !in.Reg.Created {
				p(" (the version registered earlier from this run; no new version was made)")
			}
		} else {
			p(" to %s", in.Stage)
		}
		p(". Its configuration, %s, has the best mean %s over %d seed(s): **%s** ± %s (this run: %s).\n\n",
			code(c.Key), obj, len(c.Runs), formatValue(c.Mean), stdOrDash(c.Std), formatValue(r.Value))
	}
	p("Experiment %s (id %s): %d run(s) ranked in %d configuration(s), %d left out. Tracking store: %s. Written %s by yolops %s.\n\n",
		code(a.Experiment.Name), a.Experiment.ExperimentID, len(a.Runs), len(a.Configs), len(a.Skipped),
		code(in.TrackingURI), in.Written.UTC().Format("2006-01-02 15:04:05 UTC"), esc(in.Version))

	// Objective and constraints.
	p("## Objective and constraints\n\n")
	p("| | |\n|---|---|\n")
	p("| Objective | %s, logged as %s; higher is better |\n", obj, code(a.Objective))
	p("| Value of a run | its latest logged value: the final validation of the best weights (best by fitness), logged at the last epoch after the epoch's own validation; the best single epoch is shown beside it |\n")
	p("| Seeds | averaged: a configuration's mean and sample standard deviation (n−1) over its runs |\n")
	p("| Ranking | mean %s; ties by mean %s, then fewer epochs, then smaller imgsz |\n", obj, ShortName(a.Tiebreak))
	if len(a.Constraints) == 0 {
		p("| Constraints | none |\n")
	} else {
		p("| Constraints | %s, on the configuration's mean and on the registered run |\n", esc(constraintList(a.Constraints)))
	}
	p("| Registered run | the best seed of the winning configuration among its runs that meet the constraints |\n")
	if len(a.Swept) == 0 {
		p("| Swept settings | none: all ranked runs share their params except the seed |\n")
	} else {
		var parts []string
		for pi, s := range a.Swept {
			var vals []string
			for _, cfg := range a.Configs {
				if v := cfg.Settings[pi].Value; !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
			}
			slices.SortFunc(vals, compareValues)
			parts = append(parts, fmt.Sprintf("%s (%s)", s, strings.Join(vals, ", ")))
		}
		p("| Swept settings | %s |\n", esc(strings.Join(parts, "; ")))
	}
	var seeds []string
	for _, run := range a.Runs {
		if run.Seed != "" && !slices.Contains(seeds, run.Seed) {
			seeds = append(seeds, run.Seed)
		}
	}
	slices.SortFunc(seeds, compareValues)
	if len(seeds) > 0 {
		p("| Seeds run | %s |\n", strings.Join(seeds, ", "))
	}
	p("\n")
	if c != nil && len(a.Constraints) > 0 {
		var checks []string
		for _, k := range a.Constraints {
			checks = append(checks, fmt.Sprintf("%s: configuration mean %s, run %s — met", ShortName(k.Key), formatValue(c.Means[k.Key]), formatValue(r.Metrics[k.Key])))
		}
		p("Constraint check of the promoted configuration and run: %s.\n\n", esc(strings.Join(checks, "; ")))
	}

	// The promoted run.
	if r != nil {
		p("## Promoted run\n\n")
		p("| | |\n|---|---|\n")
		p("| Name | %s |\n", esc(r.Name))
		p("| Run id | %s |\n", code(r.ID))
		p("| Configuration | %s (rank %d of %d) |\n", code(c.Key), c.Rank, len(a.Configs))
		if r.Seed != "" {
			p("| Seed | %s |\n", esc(r.Seed))
		}
		p("| Started | %s |\n", millis(r.StartTime))
		if v := r.Tags[TagDatasetVersion]; v != "" {
			p("| Data version | %s |\n", code(v))
		}
		if v := r.Tags[TagPipelineRun]; v != "" {
			p("| Pipeline run | %s |\n", code(v))
		}
		p("| Weights | %s |\n", code(in.Source))
		if in.Reg != nil {
			v := in.Reg.Version
			p("| Registered | %s version %s, stage %s", esc(in.Model), v.Version, v.CurrentStage)
			if len(in.Reg.Aliases) > 0 {
				p(", alias %s", code(strings.Join(in.Reg.Aliases, ", ")))
			}
			p(" |\n")
		}
		p("\n**Params**\n\n| param | value |\n|---|---|\n")
		shown := map[string]bool{}
		for _, k := range slices.Concat(a.Swept, keyParams) {
			if v, ok := r.Params[k]; ok && !shown[k] {
				shown[k] = true
				p("| %s | %s |\n", esc(k), esc(v))
			}
		}
		p("\n**Metrics** (latest value; the configuration's mean over %d run(s) beside it)\n\n", len(c.Runs))
		p("| metric | key | run | configuration mean |\n|---|---|---:|---:|\n")
		for _, k := range a.metricKeys() {
			if v, ok := r.Metrics[k]; ok {
				p("| %s | %s | %s | %s |\n", esc(ShortName(k)), code(k), formatValue(v), formatValue(c.Means[k]))
			}
		}
		if v, step, ok := r.BestEpoch(); ok {
			p("| %s, best epoch | %s | %s (epoch %d) | |\n", esc(obj), code(a.Objective), formatValue(v), step+1)
		}
		for _, k := range []string{"val/box_loss", "val/cls_loss", "val/dfl_loss"} {
			if v, ok := r.Metrics[k]; ok {
				p("| %s | %s | %s | |\n", k, code(k), formatValue(v))
			}
		}
		p("\n")
		if in.Reg != nil && len(in.Reg.Transitions) > 0 {
			p("**Stage transitions of version %s**\n\n| when | from | to | by | reason |\n|---|---|---|---|---|\n", in.Reg.Version.Version)
			for _, t := range in.Reg.Transitions {
				p("| %s | %s | %s | %s | %s |\n", millis(t.Timestamp), t.FromStage, t.ToStage, esc(orDash(t.UserID)), esc(orDash(t.Comment)))
			}
			p("\n")
			if len(in.Reg.Archived) > 0 {
				p("Archived by this promotion: version(s) %s.\n\n", strings.Join(in.Reg.Archived, ", "))
			}
		}
	}

	// Top configurations.
	top := a.Top(topN)
	p("## Top %d configurations\n\n", len(top))
	in.configTable(&b, top)
	p("\n![%s by configuration](%s)\n\n", obj, figConfigs)
	if len(a.Configs) > len(top) {
		p("All %d configurations:\n\n", len(a.Configs))
		in.configTable(&b, a.Configs)
		p("\n")
	}
	if _, ok := in.figures[figCurves]; ok {
		p("**%s per epoch** of the top configurations' runs (a + marks the final validation of the best weights):\n\n", obj)
		p("![%s per epoch](%s)\n\n", obj, figCurves)
	}

	// Effects.
	p("## Effect of each swept setting\n\n")
	if len(a.Effects) == 0 {
		p("Nothing to compare: no setting took two values across the ranked runs.\n\n")
	} else {
		p("Change in %s from the baseline value (the smallest) to each other value, on matched pairs of runs that share every other setting and the seed. Seed spread: pooled standard deviation %s (%d degrees of freedom).\n\n",
			obj, stdOrDash(a.PooledSeedStd), a.PooledDF)
		p("| setting | change | pairs | mean Δ | std Δ | min Δ | max Δ | vs seed spread |\n|---|---|---:|---:|---:|---:|---:|---|\n")
		for _, e := range a.Effects {
			p("| %s | %s vs %s | %d | %s | %s | %s | %s | %s |\n", esc(e.Param), esc(e.Value), esc(e.Baseline), len(e.Deltas),
				formatSigned(e.Mean), stdOrDash(e.Std), formatSigned(e.Min), formatSigned(e.Max), verdict(e, a.PooledSeedStd))
		}
		p("\n![effects](%s)\n\n", figEffects)
		p("Pairs:\n\n| setting | change | held fixed | Δ |\n|---|---|---|---:|\n")
		for _, e := range a.Effects {
			for _, d := range e.Deltas {
				p("| %s | %s vs %s | %s | %s |\n", esc(e.Param), esc(e.Value), esc(e.Baseline), esc(orDash(d.Fixed)), formatSigned(d.Delta))
			}
		}
		p("\n")
	}

	// Seed variance.
	p("## Seed variance\n\n")
	p("| configuration | runs (seed: %s) | mean | std | range |\n|---|---|---:|---:|---:|\n", obj)
	for _, cfg := range a.Configs {
		var vals []string
		for _, run := range cfg.Runs {
			s := run.Seed
			if s == "" {
				s = run.Name
			}
			vals = append(vals, s+": "+formatValue(run.Value))
		}
		p("| %s | %s | %s | %s | %s |\n", esc(cfg.Key), esc(strings.Join(vals, ", ")), formatValue(cfg.Mean), stdOrDash(cfg.Std), formatValue(cfg.Max-cfg.Min))
	}
	if math.IsNaN(a.PooledSeedStd) {
		p("\nNo configuration has two runs: seed variance is unknown.\n\n")
	} else {
		p("\nPooled within-configuration standard deviation: %s (%d degrees of freedom).\n\n", formatValue(a.PooledSeedStd), a.PooledDF)
	}

	// Risks and next steps.
	p("## Risks\n\n")
	risks := a.Risks()
	if len(risks) == 0 {
		p("None found in the data.\n\n")
	}
	for _, rk := range risks {
		p("- **%s.** %s\n", esc(rk.Title), esc(rk.Detail))
	}
	p("\nFor reference: the original setup (pretrained yolov8n, 3 epochs on person-COCO128 with Ultralytics) reached mAP50 %s–%s.\n\n", formatValue(refMAP50Lo), formatValue(refMAP50Hi))
	p("## Next steps\n\n")
	for i, s := range a.NextSteps(in.Stage) {
		p("%d. %s\n", i+1, esc(s))
	}
	p("\n")

	if len(a.Skipped) > 0 {
		p("## Runs not ranked\n\n| run | id | why |\n|---|---|---|\n")
		for _, s := range a.Skipped {
			p("| %s | %s | %s |\n", esc(s.Name), code(s.ID), esc(s.Reason))
		}
		p("\n")
	}

	p("## Provenance\n\n")
	p("Every metric, param and registry fact above was read from the tracking store (%s) by `yolops promote`", code(in.TrackingURI))
	if in.CommandLine != "" {
		p(" (%s)", code(in.CommandLine))
	}
	p("; the dataset facts come from where the risks say, and the thresholds (%d images, %d epochs, precision %s, the reference mAP50 range) are promote's policy. ",
		TinyData, FewEpochs, formatValue(LowPrecision))
	if in.ReportURI != "" {
		p("This report is stored with the promoted run at %s.", code(in.ReportURI))
	}
	p("\n")
	return b.Bytes()
}

func (in *reportInput) configTable(b *bytes.Buffer, cs []*Config) {
	a := in.A
	obj := ShortName(a.Objective)
	others := []string{}
	for _, k := range reportMetrics {
		if k != a.Objective {
			others = append(others, k)
		}
	}
	fmt.Fprintf(b, "| rank | configuration | runs | %s mean | %s std |", obj, obj)
	for _, k := range others {
		fmt.Fprintf(b, " %s mean |", ShortName(k))
	}
	fmt.Fprintf(b, " constraints |\n|---:|---|---:|---:|---:|%s---|\n", strings.Repeat("---:|", len(others)))
	for _, c := range cs {
		status := "met"
		switch {
		case len(a.Constraints) == 0:
			status = "–"
		case len(c.Failed) > 0:
			var f []string
			for _, x := range c.Failed {
				f = append(f, x.String())
			}
			status = "fails: " + strings.Join(f, ", ")
		case c.NoRun:
			status = "fails: no single run meets them"
		}
		name := c.Key
		if c == a.Chosen {
			name += " (promoted)"
		}
		fmt.Fprintf(b, "| %d | %s | %d | %s | %s |", c.Rank, esc(name), len(c.Runs), formatValue(c.Mean), stdOrDash(c.Std))
		for _, k := range others {
			fmt.Fprintf(b, " %s |", formatValue(c.Means[k]))
		}
		fmt.Fprintf(b, " %s |\n", esc(status))
	}
}

func verdict(e Effect, seedStd float64) string {
	switch {
	case math.IsNaN(seedStd) || math.IsNaN(e.Mean):
		return "unknown (no seed replicates)"
	case math.Abs(e.Mean) < seedStd:
		return "within seed spread"
	default:
		return fmt.Sprintf("%.1f× seed std", math.Abs(e.Mean)/seedStd)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// markdownHTML renders GitHub-flavoured Markdown with goldmark's safe
// defaults (raw HTML dropped), as the web UI renders artifacts.
var markdownHTML = goldmark.New(goldmark.WithExtensions(extension.GFM))

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.5 -apple-system, "Segoe UI", "Liberation Sans", Helvetica, Arial, sans-serif; color: #1f2328; max-width: 1100px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; vertical-align: top; }
th { background: #f6f8fa; }
tr:nth-child(2n) td { background: #fbfcfd; }
td[style*="right"], th[style*="right"] { font-variant-numeric: tabular-nums; }
code { font: 13px "Liberation Mono", Menlo, Consolas, monospace; background: #f3f4f6; padding: 1px 4px; border-radius: 4px; word-break: break-all; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; margin: .5em 0; }
ul li { margin: .3em 0; }
thead:not(:has(th:not(:empty))) { display: none; } /* the blank header of key-value tables */
</style>
</head>
<body>
{{.Body}}
</body>
</html>
`))

// html renders the Markdown as a standalone HTML page, the figures
// embedded as data URIs.
func (in *reportInput) html(md []byte) ([]byte, error) {
	doc := markdownHTML.Parser().Parse(text.NewReader(md))
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if img, ok := n.(*ast.Image); ok && entering {
			if data, ok := in.figures[string(img.Destination)]; ok {
				img.Destination = []byte("data:image/png;base64," + base64.StdEncoding.EncodeToString(data))
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	if err := markdownHTML.Renderer().Render(&body, md, doc); err != nil {
		return nil, err
	}
	title := "Promotion decision: " + in.Model
	if in.A.Chosen == nil {
		title = "Promotion refused: " + in.Model
	}
	var out bytes.Buffer
	err = pageTemplate.Execute(&out, struct {
		Title string
		Body  template.HTML
	}{title, template.HTML(body.String())}) // goldmark without WithUnsafe escapes raw HTML
	return out.Bytes(), err
}

// writeReport draws the figures and writes decision.md, decision.html and
// the PNGs into dir.
func (in *reportInput) write(dir string) error {
	in.figures = map[string][]byte{}
	figs := []struct {
		name string
		draw func(*Analysis) ([]byte, error)
	}{{figConfigs, plotConfigs}, {figCurves, plotCurves}, {figEffects, plotEffects}}
	for _, f := range figs {
		data, err := f.draw(in.A)
		if err != nil {
			return fmt.Errorf("promote: drawing %s: %w", f.name, err)
		}
		if data != nil {
			in.figures[f.name] = data
		}
	}
	md := in.markdown()
	page, err := in.html(md)
	if err != nil {
		return fmt.Errorf("promote: rendering %s: %w", ReportHTML, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("promote: report folder: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(in.figures)) {
		if err := writeFileAtomic(filepath.Join(dir, name), in.figures[name]); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, ReportMarkdown), md); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ReportHTML), page)
}

// writeFileAtomic writes through a temporary file and a rename, so that a
// reader never sees half a file.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("promote: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("promote: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("promote: writing %s: %w", path, err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	return nil
}
