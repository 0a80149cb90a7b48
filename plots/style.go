// Package plots draws the PNG figures Ultralytics 8.2.82 writes next to a
// training run, with the same names, layouts, titles and labels:
// results.png from results.csv, PR_curve.png, F1_curve.png, P_curve.png,
// R_curve.png, confusion_matrix.png and confusion_matrix_normalized.png.
// It also reads and writes results.csv in Ultralytics' format.
//
// Figures are drawn with gonum.org/v1/plot in Liberation Sans, which
// ships with it (metric-compatible with Arial, Ultralytics' font), in
// matplotlib's look: framed axes, the tab10 colours, the legend outside
// the axes. Their sizes in inches are Ultralytics', but they are rendered
// at 100 dpi rather than its 200-250 (a quarter to a sixth of the pixels)
// because they are redrawn after every validation; text stays sharp at
// that size. The confusion matrix of 30 classes or more, whose labels get
// small, is drawn at 200 dpi.
package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution of the PNGs, in dots per inch (see ConfusionDPI
// for the exception).
const DPI = 100

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// tab10 is matplotlib's default colour cycle.
var tab10 = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

var (
	blue = color.RGBA{0, 0, 0xff, 0xff} // matplotlib "blue"
	grey = color.RGBA{0x80, 0x80, 0x80, 0xff}
)

// newPlot returns a plot in matplotlib's default look at font size pt:
// no padding between axes and data, a few round ticks. Add frame{} last
// for matplotlib's box around the data; drawTitle writes the title, over
// the data area rather than the whole plot as gonum would.
func newPlot(pt vg.Length) *plot.Plot {
	p := plot.New()
	f := font.From(sans, pt)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = f
		a.Label.Padding = 4
		a.Tick.Label.Font = f
		a.Padding = 0
		a.Width = 0.8
		a.Tick.Width = 0.8
		a.Tick.Length = 3.5
		a.Tick.Marker = niceTicks{n: 5}
	}
	p.Legend.TextStyle.Font = f
	return p
}

// frame draws the box around a plot's data area, as matplotlib's spines.
type frame struct{}

func (frame) Plot(c draw.Canvas, _ *plot.Plot) {
	c.StrokeLines(draw.LineStyle{Color: color.Black, Width: 0.8}, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y},
		{X: c.Min.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Min.Y},
	})
}

// niceTicks places about n ticks on [min, max] at a step of 1, 2, 2.5
// or 5 times a power of ten, as matplotlib's MaxNLocator, and labels
// them with the decimals the step needs.
type niceTicks struct{ n int }

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	n := t.n
	if n < 1 {
		n = 5
	}
	span := hi - lo
	if !(span > 0) || !finite(span) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= raw*(1-1e-9) {
			break
		}
	}
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	if r := step / math.Pow(10, -float64(dec)); math.Abs(r-math.Round(r)) > 1e-6 { // 2.5 x 10^k
		dec++
	}
	label := func(v float64) string { return strconv.FormatFloat(v, 'f', dec, 64) }
	if big := max(math.Abs(lo), math.Abs(hi)); big >= 1e5 || big < 1e-4 {
		// Exponent notation, with the digits that tell ticks apart.
		digits := min(17, max(1, int(math.Ceil(math.Log10(big/step)))+1))
		label = func(v float64) string { return strconv.FormatFloat(v, 'g', digits, 64) }
	}
	var out []plot.Tick
	first := math.Ceil(lo/step - 1e-9)
	for i := range 4 * n { // bounded: at lo/step near 2^53, k++ would stall
		v := (first + float64(i)) * step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		out = append(out, plot.Tick{Value: v, Label: label(v)})
	}
	return out
}

// unitTicks labels 0, 0.2, ..., 1 as matplotlib does a [0, 1] axis.
type unitTicks struct{}

func (unitTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, 6)
	for i := range out {
		v := float64(i) / 5
		out[i] = plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 1, 64)}
	}
	return out
}

// polyline is a line through points, like plotter.Line without the glyph
// box per point that plot.Plot asks every plotter for several times per
// draw (most of the time of a figure with 80 curves of 1000 points).
type polyline struct {
	plotter.XYs
	draw.LineStyle
}

// line returns a line through x, y in colour c and width w (points),
// leaving out points that are not finite.
func line(x, y []float64, c color.Color, w vg.Length) *polyline {
	return &polyline{XYs: finiteXYs(x, y), LineStyle: draw.LineStyle{Color: c, Width: w}}
}

func (l *polyline) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	pts := make([]vg.Point, len(l.XYs))
	for i, v := range l.XYs {
		pts[i] = vg.Point{X: x(v.X), Y: y(v.Y)}
	}
	c.StrokeLines(l.LineStyle, c.ClipLinesXY(pts)...)
}

// Thumbnail draws the legend's sample of the line.
func (l *polyline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.LineStyle, c.Min.X, y, c.Max.X, y)
}

func finiteXYs(x, y []float64) plotter.XYs {
	xy := make(plotter.XYs, 0, len(x))
	for i := range x {
		if finite(x[i]) && finite(y[i]) {
			xy = append(xy, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return xy
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// legendPad is the space between a legend's frame and its entries.
const legendPad = 5

// legendBox draws legend l with its top-left corner at pt, in a frame as
// matplotlib's.
func legendBox(c draw.Canvas, l plot.Legend, pt vg.Point) {
	const pad = legendPad
	size := legendSize(l)
	rect := vg.Rectangle{Min: vg.Point{X: pt.X, Y: pt.Y - size.Y - 2*pad}, Max: vg.Point{X: pt.X + size.X + 2*pad, Y: pt.Y}}
	c.SetColor(color.White)
	c.Fill(rect.Path())
	c.SetLineStyle(draw.LineStyle{Color: color.Gray{Y: 0xcc}, Width: 0.8})
	c.Stroke(rect.Path())
	inner := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: rect.Min.X + pad, Y: rect.Min.Y + pad},
		Max: vg.Point{X: rect.Max.X - pad, Y: rect.Max.Y - pad},
	}}
	l.Draw(inner)
}

// legendSize is the width and height of a legend's entries.
func legendSize(l plot.Legend) vg.Point {
	return l.Rectangle(draw.Canvas{}).Size()
}

// drawTitle writes a plot title centred over the data area dc, as
// matplotlib centres it over the axes.
func drawTitle(c draw.Canvas, dc draw.Canvas, title string, pt vg.Length) {
	sty := text.Style{
		Color: color.Black, Font: font.From(sans, pt),
		XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler,
	}
	c.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y + 6}, title)
}

// titleRoom is the height drawTitle needs above the data area.
func titleRoom(pt vg.Length) vg.Length {
	sty := text.Style{Font: font.From(sans, pt), Handler: plot.DefaultTextHandler}
	return sty.Height("Ag") + 6
}

// newLegend returns an empty legend at font size pt, laid out from the
// top left.
func newLegend(pt vg.Length) plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = font.From(sans, pt)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = 2 * pt
	l.Padding = pt * 0.3
	return l
}

// newCanvas returns a white canvas of w x h inches at dpi.
func newCanvas(w, h vg.Length, dpi int) (*vgimg.Canvas, draw.Canvas) {
	img := vgimg.NewWith(vgimg.UseWH(w*vg.Inch, h*vg.Inch), vgimg.UseDPI(dpi))
	return img, draw.New(img)
}

// savePNG writes the canvas to path as a PNG, through a temporary file
// and a rename so that a reader never sees half an image. PNG's fastest
// compression suits flat-coloured figures and is several times quicker
// than the default.
func savePNG(img *vgimg.Canvas, path string) error {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img.Image()); err != nil {
		return fmt.Errorf("plots: encoding %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}
