package web

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// The compare view takes 2 to 10 runs: more curves than palette colours
// cannot be told apart.
const (
	minCompare = 2
	maxCompare = 10
)

type comparePage struct {
	Runs       []compareRun
	ParamRows  []diffRow
	SameParams int
	MetricRows []metricRow
	Charts     []chartGroup
	ChartData  template.JS
	Scatter    *scatter
	XOptions   []column // params and metrics
	YOptions   []column // metrics and params
	COptions   []column // params
	X, Y, C    string   // chosen column IDs
	IDs        []string
}

type compareRun struct {
	Run   *tracking.Run
	Name  string
	Color string
}

type diffRow struct {
	Key     string
	Values  []string
	Missing []bool
	Differs bool
}

type metricRow struct {
	Key    string
	Values []metricCell
}

type metricCell struct {
	Text    string
	Best    bool
	Missing bool
}

func (u *UI) compare(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	var ids []string
	for _, v := range q["run"] {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) < minCompare || len(ids) > maxCompare {
		u.fail(w, r, tracking.Errorf(tracking.InvalidParameterValue,
			"Compare takes %d to %d runs (run=<id>&run=<id>...); %d given. Tick them in a runs table and press Compare.", minCompare, maxCompare, len(ids)))
		return
	}
	p := comparePage{IDs: ids}
	var runs []*tracking.Run
	for i, id := range ids {
		run, err := u.store.GetRun(ctx, id)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		runs = append(runs, run)
		p.Runs = append(p.Runs, compareRun{Run: run, Name: runName(run), Color: palette[i%len(palette)]})
	}

	// Params: every key of any run; the rows that differ first.
	var pkeys []string
	for _, run := range runs {
		for _, pr := range run.Data.Params {
			if !slices.Contains(pkeys, pr.Key) {
				pkeys = append(pkeys, pr.Key)
			}
		}
	}
	slices.Sort(pkeys)
	for _, k := range pkeys {
		row := diffRow{Key: k}
		for _, run := range runs {
			v, _, ok := column{"params", k}.value(run)
			row.Values = append(row.Values, v)
			row.Missing = append(row.Missing, !ok)
			if len(row.Values) > 1 && (v != row.Values[0] || ok == row.Missing[0]) {
				row.Differs = true
			}
		}
		if !row.Differs {
			p.SameParams++
		}
		p.ParamRows = append(p.ParamRows, row)
	}
	// Differing rows first; among them, the ones that only repeat the run
	// name (name, save_dir) last.
	rank := func(r diffRow) int {
		switch {
		case !r.Differs:
			return 2
		case namesRuns(r, runs):
			return 1
		}
		return 0
	}
	slices.SortStableFunc(p.ParamRows, func(a, b diffRow) int { return cmp.Compare(rank(a), rank(b)) })

	// Latest metrics, the best value of each row marked.
	keys := metricKeys(runs)
	for _, k := range keys {
		row := metricRow{Key: k}
		best := math.NaN()
		lower := lowerIsBetter(k)
		for _, run := range runs {
			text, v, ok := column{"metrics", k}.value(run)
			row.Values = append(row.Values, metricCell{Text: text, Missing: !ok})
			if ok && !math.IsNaN(v) && (math.IsNaN(best) || (lower && v < best) || (!lower && v > best)) {
				best = v
			}
		}
		differ := false
		for _, c := range row.Values {
			differ = differ || c.Text != row.Values[0].Text
		}
		if differ && !strings.HasPrefix(k, "lr/") {
			for i, run := range runs {
				if _, v, ok := (column{"metrics", k}).value(run); ok && v == best && !row.Values[i].Missing {
					row.Values[i].Best = true
				}
			}
		}
		p.MetricRows = append(p.MetricRows, row)
	}

	// Overlaid curves.
	data := chartData{Metrics: map[string][][3][]*float64{}}
	for i, run := range runs {
		data.Runs = append(data.Runs, chartRun{ID: run.Info.RunID, Name: p.Runs[i].Name, Color: p.Runs[i].Color, Start: run.Info.StartTime})
	}
	for _, k := range keys {
		for _, run := range runs {
			h, err := u.history(ctx, run.Info.RunID, k)
			if err != nil {
				u.fail(w, r, err)
				return
			}
			data.Metrics[k] = append(data.Metrics[k], h)
		}
	}
	p.Charts = groupCharts(keys)
	var err error
	if p.ChartData, err = marshalJS(data); err != nil {
		u.fail(w, r, err)
		return
	}

	// Scatter: any param or metric against any other, coloured by a param.
	var differing []column
	for _, row := range p.ParamRows {
		c := column{"params", row.Key}
		p.COptions = append(p.COptions, c)
		p.XOptions = append(p.XOptions, c)
		if row.Differs {
			differing = append(differing, c)
		}
	}
	var metricCols []column
	for _, k := range keys {
		metricCols = append(metricCols, column{"metrics", k})
	}
	p.XOptions = append(p.XOptions, metricCols...)
	p.YOptions = append(slices.Clone(metricCols), p.COptions...)
	p.X, p.Y, p.C = q.Get("x"), q.Get("y"), q.Get("color")
	if p.X == "" && len(differing) > 0 {
		p.X = differing[0].ID()
		// The grid's most telling axis is usually the image size.
		for _, c := range differing {
			if c.Key == "imgsz" {
				p.X = c.ID()
			}
		}
	}
	if p.Y == "" && len(metricCols) > 0 {
		p.Y = metricCols[0].ID()
		for _, c := range metricCols {
			if c.Key == "metrics/mAP50B" || c.Key == "metrics/mAP50" {
				p.Y = c.ID()
				break
			}
		}
	}
	if _, ok := q["color"]; !ok {
		for _, c := range differing {
			if c.ID() != p.X && (p.C == "" || c.Key == "seed") {
				p.C = c.ID()
			}
		}
	}
	if x, ok := parseColumn(p.X); ok {
		if y, ok := parseColumn(p.Y); ok {
			c, _ := parseColumn(p.C)
			p.Scatter = buildScatter(p.Runs, x, y, c)
		}
	}
	u.render(w, r, "compare", page{Title: "Compare " + strconv.Itoa(len(runs)) + " runs", Nav: "experiments", Charts: len(p.Charts) > 0, Data: p})
}

// namesRuns says whether each run's value of a row holds the run's name.
func namesRuns(r diffRow, runs []*tracking.Run) bool {
	for i, run := range runs {
		if run.Info.RunName == "" || !strings.Contains(r.Values[i], run.Info.RunName) {
			return false
		}
	}
	return true
}

// lowerIsBetter guesses a metric's direction from its name.
func lowerIsBetter(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "loss") || strings.Contains(k, "error") || strings.Contains(k, "rmse") || strings.Contains(k, "mae")
}

// scatter is an SVG scatter plot, laid out on the server.
type scatter struct {
	W, H           int
	Left, Top      int
	PlotW, PlotH   int
	XTicks, YTicks []tick
	XLabel, YLabel string
	CLabel         string
	Points         []point
	Legend         []legendItem
	Missing        []string
}

type tick struct {
	Pos   float64
	Label string
}

type point struct {
	X, Y  float64
	Color string
	Title string
	Link  string
}

type legendItem struct {
	Label, Color string
	Y            int
}

// Colours for the scatter's colour groups, apart from the run palette so
// that a colour means a param value here, not a run.
var groupPalette = []string{"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#1f78b4", "#b2df8a"}

func buildScatter(runs []compareRun, xc, yc, cc column) *scatter {
	s := &scatter{W: 720, H: 380, Left: 64, Top: 16, XLabel: xc.Key, YLabel: yc.Key, CLabel: cc.Key}
	s.PlotW, s.PlotH = s.W-s.Left-170, s.H-s.Top-52
	type pt struct {
		xs, ys, cs string
		x, y       float64
		run        compareRun
	}
	var pts []pt
	xNumeric, yNumeric := true, true
	for _, cr := range runs {
		xs, xv, xok := xc.value(cr.Run)
		ys, yv, yok := yc.value(cr.Run)
		if !xok || !yok {
			s.Missing = append(s.Missing, cr.Name)
			continue
		}
		if xc.Entity != "metrics" {
			v, err := strconv.ParseFloat(xs, 64)
			xNumeric = xNumeric && err == nil
			xv = v
		}
		if yc.Entity != "metrics" {
			v, err := strconv.ParseFloat(ys, 64)
			yNumeric = yNumeric && err == nil
			yv = v
		}
		cs := ""
		if cc.Key != "" {
			cs, _, _ = cc.value(cr.Run)
		}
		pts = append(pts, pt{xs, ys, cs, xv, yv, cr})
	}
	// Colour groups, in numeric order when the values are numbers.
	var groups []string
	for _, p := range pts {
		if !slices.Contains(groups, p.cs) {
			groups = append(groups, p.cs)
		}
	}
	slices.SortFunc(groups, compareValues)
	xAxis := newAxis(pts, xNumeric, xc.Entity != "metrics", func(p pt) (string, float64) { return p.xs, p.x })
	yAxis := newAxis(pts, yNumeric, false, func(p pt) (string, float64) { return p.ys, p.y })
	s.XTicks = xAxis.ticks(float64(s.PlotW), false)
	s.YTicks = yAxis.ticks(float64(s.PlotH), true)
	for _, p := range pts {
		gi := slices.Index(groups, p.cs)
		x := xAxis.pos(p.xs, p.x, float64(s.PlotW))
		if len(groups) > 1 && xAxis.discrete() {
			// Points of one x value side by side, one column per group.
			x += (float64(gi) - float64(len(groups)-1)/2) * 9
		}
		title := fmt.Sprintf("%s\n%s = %s\n%s = %s", p.run.Name, xc.Key, p.xs, yc.Key, p.ys)
		if cc.Key != "" {
			title += fmt.Sprintf("\n%s = %s", cc.Key, p.cs)
		}
		s.Points = append(s.Points, point{
			X: x, Y: float64(s.PlotH) - yAxis.pos(p.ys, p.y, float64(s.PlotH)),
			Color: groupPalette[gi%len(groupPalette)], Title: title, Link: "/runs/" + p.run.Run.Info.RunID,
		})
	}
	if cc.Key != "" {
		for i, g := range groups {
			label := g
			if label == "" {
				label = "(none)"
			}
			s.Legend = append(s.Legend, legendItem{Label: label, Color: groupPalette[i%len(groupPalette)], Y: s.Top + 24 + i*20})
		}
	}
	return s
}

func compareValues(a, b string) int {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return cmp.Compare(fa, fb)
	}
	return strings.Compare(a, b)
}

// axis maps values to positions: linear for numbers, evenly spaced
// categories otherwise.
type axis struct {
	numeric    bool
	lo, hi     float64
	step       float64 // between ticks
	categories []string
	distinct   int
}

// newAxis lays out an axis for the points' values; with discretize, a
// few distinct numbers are shown as columns.
func newAxis[P any](pts []P, numeric, discretize bool, get func(P) (string, float64)) *axis {
	a := &axis{numeric: numeric, lo: math.Inf(1), hi: math.Inf(-1)}
	seen := map[string]bool{}
	for _, p := range pts {
		s, v := get(p)
		if !seen[s] {
			seen[s] = true
			a.categories = append(a.categories, s)
		}
		if numeric && !math.IsNaN(v) && !math.IsInf(v, 0) {
			a.lo, a.hi = min(a.lo, v), max(a.hi, v)
		}
	}
	a.distinct = len(a.categories)
	slices.SortFunc(a.categories, compareValues)
	if discretize && numeric && len(a.categories) <= maxDiscrete && len(a.categories) > 1 {
		// A grid's param (imgsz 320 and 416): a column per value reads
		// better than two points at the edges of a linear axis.
		a.numeric = false
	}
	if a.numeric {
		if math.IsInf(a.lo, 1) {
			a.lo, a.hi = 0, 1
		}
		if a.lo == a.hi {
			pad := math.Max(math.Abs(a.lo)*0.1, 1e-3)
			a.lo, a.hi = a.lo-pad, a.hi+pad
		}
		a.step = niceStep((a.hi - a.lo) / 5)
		a.lo = math.Floor(a.lo/a.step) * a.step
		a.hi = math.Ceil(a.hi/a.step) * a.step
		// Keep points off the frame: grow the range by a fraction of a step.
		if v := (a.hi - a.lo) * 0.06; v > 0 {
			a.lo -= v
			a.hi += v
		}
	}
	return a
}

// maxDiscrete is the most distinct numbers an axis shows as columns.
const maxDiscrete = 6

// discrete says the points sit on few x values (a grid's param), where
// groups are better spread side by side.
func (a *axis) discrete() bool { return !a.numeric }

func (a *axis) pos(s string, v float64, length float64) float64 {
	if !a.numeric {
		i := slices.Index(a.categories, s)
		return (float64(i) + 0.5) * length / float64(len(a.categories))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return (v - a.lo) / (a.hi - a.lo) * length
}

func (a *axis) ticks(length float64, vertical bool) []tick {
	var ts []tick
	if !a.numeric {
		for _, c := range a.categories {
			ts = append(ts, tick{Pos: a.pos(c, 0, length), Label: c})
		}
	} else {
		step := a.step
		for v := math.Ceil(a.lo/step) * step; v <= a.hi+step*1e-9; v += step {
			label := formatNumber(math.Round(v/step) * step)
			ts = append(ts, tick{Pos: a.pos("", v, length), Label: label})
		}
	}
	if vertical {
		for i := range ts {
			ts[i].Pos = length - ts[i].Pos
		}
	}
	return ts
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}
