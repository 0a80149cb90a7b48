package plots

import (
	"fmt"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/yolops/yolops/metrics"
)

// Size of the curve figures in inches, as Ultralytics'.
const curveW, curveH = 9, 6

// maxLegendClasses: with this many classes or more, Ultralytics draws
// them as grey lines without a legend entry each.
const maxLegendClasses = 21

// className returns the name of class c, or its number when names has
// none for it.
func className(names []string, c int) string {
	if c >= 0 && c < len(names) && names[c] != "" {
		return names[c]
	}
	return strconv.Itoa(c)
}

// PlotPRCurve draws the precision-recall curve at IoU 0.5 of each class
// and their mean (thick, blue, labelled with mAP50) to path, as
// Ultralytics' plot_pr_curve. A class without predictions has no curve
// and stays out of the mean, as there.
func PlotPRCurve(path string, c metrics.Curves, names []string) error {
	if err := checkCurves(c.X, c.PR, c.Classes); err != nil {
		return fmt.Errorf("plots: %s: %w", filepath.Base(path), err)
	}
	if len(c.AP50) != len(c.Classes) {
		return fmt.Errorf("plots: %s: %d AP50 values for %d classes", filepath.Base(path), len(c.AP50), len(c.Classes))
	}
	p := newPlot(11)
	p.X.Label.Text, p.Y.Label.Text = "Recall", "Precision"
	leg := newLegend(11)
	perClass := len(c.Classes) > 0 && len(c.Classes) < maxLegendClasses
	mean := make([]float64, len(c.X))
	n := 0
	for i, row := range c.PR {
		if row == nil {
			continue
		}
		n++
		for k, v := range row {
			mean[k] += v
		}
		col := grey
		if perClass {
			col = tab10[i%len(tab10)]
		}
		l := line(c.X, row, col, 1)
		p.Add(l)
		if perClass {
			leg.Add(fmt.Sprintf("%s %.3f", className(names, c.Classes[i]), c.AP50[i]), l)
		}
	}
	if len(c.Classes) > 0 {
		for k := range mean {
			mean[k] /= float64(max(n, 1))
		}
		all := 0.0
		for _, v := range c.AP50 {
			all += v
		}
		l := line(c.X, mean, blue, 3)
		p.Add(l)
		leg.Add(fmt.Sprintf("all classes %.3f mAP@0.5", all/float64(len(c.AP50))), l)
	}
	return drawCurve(path, p, "Precision-Recall Curve", leg)
}

// PlotMetricCurve draws a metric against the confidence threshold x for
// each class (rows, classes) and their mean smoothed as Ultralytics' (a
// box filter over 5% of the points), labelled with its maximum and where
// it is, to path: plot_mc_curve, with ylabel one of "F1", "Precision",
// "Recall".
func PlotMetricCurve(path string, x []float64, rows [][]float64, classes []int, names []string, ylabel string) error {
	if err := checkCurves(x, rows, classes); err != nil {
		return fmt.Errorf("plots: %s: %w", filepath.Base(path), err)
	}
	for i, row := range rows {
		if row == nil {
			return fmt.Errorf("plots: %s: class %d has no curve", filepath.Base(path), classes[i])
		}
	}
	p := newPlot(11)
	p.X.Label.Text, p.Y.Label.Text = "Confidence", ylabel
	leg := newLegend(11)
	perClass := len(classes) > 0 && len(classes) < maxLegendClasses
	for i, row := range rows {
		col := grey
		if perClass {
			col = tab10[i%len(tab10)]
		}
		l := line(x, row, col, 1)
		p.Add(l)
		if perClass {
			leg.Add(className(names, classes[i]), l)
		}
	}
	if len(rows) > 0 {
		mean := make([]float64, len(x))
		for _, row := range rows {
			for k, v := range row {
				mean[k] += v
			}
		}
		for k := range mean {
			mean[k] /= float64(len(rows))
		}
		y := metrics.Smooth(mean, 0.05)
		best := 0
		for k, v := range y {
			if v > y[best] {
				best = k
			}
		}
		l := line(x, y, blue, 3)
		p.Add(l)
		leg.Add(fmt.Sprintf("all classes %.2f at %.3f", y[best], x[best]), l)
	}
	return drawCurve(path, p, ylabel+"-Confidence Curve", leg)
}

func checkCurves(x []float64, rows [][]float64, classes []int) error {
	if len(rows) != len(classes) {
		return fmt.Errorf("%d curves for %d classes", len(rows), len(classes))
	}
	if len(rows) > 0 && len(x) == 0 {
		return fmt.Errorf("curves of no points")
	}
	for i, row := range rows {
		if row != nil && len(row) != len(x) {
			return fmt.Errorf("class %d: curve of %d points, x has %d", classes[i], len(row), len(x))
		}
	}
	return nil
}

// drawCurve lays out a [0, 1] x [0, 1] curve plot with its legend to the
// right of the axes, top-aligned with them, as Ultralytics'
// bbox_to_anchor=(1.04, 1), and saves it.
func drawCurve(path string, p *plot.Plot, title string, leg plot.Legend) error {
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.X.Tick.Marker, p.Y.Tick.Marker = unitTicks{}, unitTicks{}
	p.Add(frame{})
	img, c := newCanvas(curveW, curveH, DPI)
	const margin = 12 // matplotlib's tight_layout pad: 1.08 font sizes
	c = draw.Crop(c, margin, -margin, margin, -margin)
	right := vg.Length(0)
	if legendSize(leg).X > 0 {
		right = legendSize(leg).X + 2*legendPad + 0.04*c.Size().X
	}
	pc := draw.Crop(c, 0, -right, 0, -titleRoom(13.2))
	p.Draw(pc)
	dc := p.DataCanvas(pc)
	drawTitle(c, dc, title, 13.2)
	if right > 0 {
		legendBox(c, leg, vg.Point{X: dc.Max.X + 0.04*dc.Size().X, Y: dc.Max.Y})
	}
	return savePNG(img, path)
}
