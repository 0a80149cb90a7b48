package plots

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// resultsPanels are the columns plot_results draws, panel by panel, left
// to right and top to bottom: train losses, precision and recall on top;
// val losses, mAP50 and mAP50-95 below.
var resultsPanels = []int{1, 2, 3, 4, 5, 8, 9, 10, 6, 7}

// Size of results.png in inches, as Ultralytics' figure.
const resultsW, resultsH = 12, 6

// PlotResults draws results.png at path from r, as Ultralytics'
// plot_results: a 2x5 grid of the loss and metric columns against the
// epoch, each with its values (dots on a line) and a dotted Gaussian
// smoothing (sigma 3 epochs), titled with the column name.
func PlotResults(ctx context.Context, path string, r Results) error {
	if err := r.check(); err != nil {
		return fmt.Errorf("plots: results.png: %w", err)
	}
	if len(r.Columns) <= slices.Max(resultsPanels) {
		return fmt.Errorf("plots: results.png: %d columns, want Ultralytics' detection columns %v", len(r.Columns), ResultsColumns())
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	epochs := r.Column(r.Columns[0])
	grid := make([][]*plot.Plot, 2)
	var leg plot.Legend
	var legendData plotter.XYs
	for i, j := range resultsPanels {
		y := r.Column(r.Columns[j])
		p := newPlot(11)
		values := line(epochs, y, tab10[0], 2)
		dots, err := plotter.NewScatter(values.XYs)
		if err != nil {
			return fmt.Errorf("plots: results.png, column %q: %w", r.Columns[j], err)
		}
		dots.GlyphStyle = draw.GlyphStyle{Color: tab10[0], Radius: 2.5, Shape: draw.CircleGlyph{}}
		ys := gaussianFilter(y, 3)
		smooth := line(epochs, ys, tab10[1], 2)
		smooth.Dashes = []vg.Length{2, 3.3} // matplotlib's ":" at width 2
		p.Add(values, dots, smooth, frame{})
		setRange(&p.X, epochs)
		setRange(&p.Y, y, ys)
		p.X.Tick.Marker = niceTicks{n: 4}
		if i == 1 { // Ultralytics puts the legend on the second panel
			leg = newLegend(11)
			leg.Add("results", values, dots)
			leg.Add("smooth", smooth)
			legendData = slices.Concat(values.XYs, smooth.XYs)
		}
		grid[i/5] = append(grid[i/5], p)
	}
	img, c := newCanvas(resultsW, resultsH, DPI)
	// Titles go above the data areas, which Align lines up, so that they
	// line up too.
	const titlePt = 12
	tr := titleRoom(titlePt)
	tiles := draw.Tiles{Rows: 2, Cols: 5, PadX: 20, PadY: 14 + tr, PadTop: 6 + tr, PadBottom: 6, PadLeft: 6, PadRight: 12}
	canvases := plot.Align(grid, tiles, c)
	for i := range grid {
		for j, p := range grid[i] {
			p.Draw(canvases[i][j])
			drawTitle(c, p.DataCanvas(canvases[i][j]), r.Columns[resultsPanels[5*i+j]], titlePt)
		}
	}
	p := grid[0][1]
	dc := p.DataCanvas(canvases[0][1])
	legendBox(c, leg, bestLegendCorner(p, dc, legendData, legendSize(leg)))
	return savePNG(img, path)
}

// bestLegendCorner returns the top-left corner of the legend of the given
// size, inside the data area dc, at the first of matplotlib's "best"
// locations that covers the fewest data points.
func bestLegendCorner(p *plot.Plot, dc draw.Canvas, data plotter.XYs, size vg.Point) vg.Point {
	const inset = 4
	w, h := size.X+2*legendPad, size.Y+2*legendPad
	left, right := dc.Min.X+inset, dc.Max.X-inset-w
	top, bottom := dc.Max.Y-inset, dc.Min.Y+inset+h
	midX, midY := (dc.Min.X+dc.Max.X-w)/2, (dc.Min.Y+dc.Max.Y+h)/2
	candidates := []vg.Point{ // upper right, upper left, lower left, lower right, right, center left, lower center, upper center, center
		{X: right, Y: top}, {X: left, Y: top}, {X: left, Y: bottom}, {X: right, Y: bottom},
		{X: right, Y: midY}, {X: left, Y: midY}, {X: midX, Y: bottom}, {X: midX, Y: top}, {X: midX, Y: midY},
	}
	x, y := p.Transforms(&dc)
	best, fewest := candidates[0], len(data)+1
	for _, pt := range candidates {
		n := 0
		for _, d := range data {
			if px, py := x(d.X), y(d.Y); px >= pt.X && px <= pt.X+w && py <= pt.Y && py >= pt.Y-h {
				n++
			}
		}
		if n < fewest {
			best, fewest = pt, n
		}
	}
	return best
}

// setRange sets an axis to the finite range of the values with 5% margins
// either side, as matplotlib's autoscaling; a single value gets a range
// around it.
func setRange(a *plot.Axis, values ...[]float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, vs := range values {
		for _, v := range vs {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	switch {
	case lo > hi: // nothing finite
		lo, hi = 0, 1
	case hi-lo <= 1e-9*max(1, math.Abs(lo), math.Abs(hi)):
		d := math.Abs(lo) * 0.05
		if d == 0 {
			d = 0.05
		}
		lo, hi = lo-d, lo+d
	default:
		d := (hi - lo) * 0.05
		lo, hi = lo-d, hi+d
	}
	a.Min, a.Max = lo, hi
}

// gaussianFilter is scipy.ndimage.gaussian_filter1d(y, sigma) with its
// defaults (kernel radius 4 sigma, "reflect" edges: d c b a | a b c d |
// d c b a, repeated for a kernel longer than y). Values that are not
// finite are left out and keep their place.
func gaussianFilter(y []float64, sigma float64) []float64 {
	var xs []float64
	var at []int
	for i, v := range y {
		if finite(v) {
			xs = append(xs, v)
			at = append(at, i)
		}
	}
	out := make([]float64, len(y))
	for i := range out {
		out[i] = math.NaN()
	}
	n := len(xs)
	if n == 0 {
		return out
	}
	radius := int(4*sigma + 0.5)
	w := make([]float64, 2*radius+1)
	sum := 0.0
	for k := range w {
		x := float64(k - radius)
		w[k] = math.Exp(-0.5 / (sigma * sigma) * x * x)
		sum += w[k]
	}
	for k := range w {
		w[k] /= sum
	}
	reflect := func(i int) int {
		i %= 2 * n
		if i < 0 {
			i += 2 * n
		}
		if i >= n {
			i = 2*n - 1 - i
		}
		return i
	}
	for i := range n {
		s := 0.0
		for k, wk := range w {
			s += wk * xs[reflect(i+k-radius)]
		}
		out[at[i]] = s
	}
	return out
}
