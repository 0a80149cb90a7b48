package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/yolops/yolops/metrics"
)

// Size of the confusion matrix figures in inches, as Ultralytics'.
const confusionW, confusionH = 12, 9

// blues are the anchors of matplotlib's "Blues" colour map (ColorBrewer),
// evenly spaced from 0 to 1.
var blues = [][3]float64{
	{0.96862745098039216, 0.98431372549019602, 1.0},
	{0.87058823529411766, 0.92156862745098034, 0.96862745098039216},
	{0.77647058823529413, 0.85882352941176465, 0.93725490196078431},
	{0.61960784313725492, 0.792156862745098, 0.88235294117647056},
	{0.41960784313725491, 0.68235294117647061, 0.83921568627450982},
	{0.25882352941176473, 0.5725490196078431, 0.77647058823529413},
	{0.12941176470588237, 0.44313725490196076, 0.70980392156862748},
	{0.03137254901960784, 0.31764705882352939, 0.61176470588235299},
	{0.03137254901960784, 0.18823529411764706, 0.41960784313725491},
}

// bluesAt returns the colour of "Blues" at t in [0, 1] and its relative
// luminance.
func bluesAt(t float64) (color.RGBA, float64) {
	t = min(max(t, 0), 1) * float64(len(blues)-1)
	i := min(int(t), len(blues)-2)
	f := t - float64(i)
	var rgb [3]float64
	lum := 0.0
	for k := range rgb {
		rgb[k] = blues[i][k] + f*(blues[i+1][k]-blues[i][k])
		// sRGB to linear, for seaborn's choice of annotation colour.
		v := rgb[k]
		if v <= 0.03928 {
			v /= 12.92
		} else {
			v = math.Pow((v+0.055)/1.055, 2.4)
		}
		lum += []float64{0.2126, 0.7152, 0.0722}[k] * v
	}
	return color.RGBA{uint8(rgb[0]*255 + 0.5), uint8(rgb[1]*255 + 0.5), uint8(rgb[2]*255 + 0.5), 0xff}, lum
}

// ConfusionDPI is the resolution of the confusion matrix figures for nc
// classes: DPI, doubled from 30 classes on, where the cells lose their
// numbers and the class names get small.
func ConfusionDPI(nc int) int {
	if nc >= 30 {
		return 2 * DPI
	}
	return DPI
}

// PlotConfusionMatrix draws cm to path as Ultralytics' ConfusionMatrix.plot
// (seaborn's heatmap): predicted class down, true class across, the last
// row and column "background", each cell coloured in "Blues" from 0 to
// the largest value and annotated when there are fewer than 30 classes,
// cells below 0.005 left blank, a colour scale on the right. normalize
// divides each column by its sum ("Confusion Matrix Normalized"). The
// classes are named from names when it has one name per class (and fewer
// than 99), else numbered.
func PlotConfusionMatrix(path string, cm *metrics.ConfusionMatrix, names []string, normalize bool) error {
	nc := cm.NumClasses()
	var m [][]float64
	if normalize {
		m = cm.Normalized()
	} else {
		m = cm.Matrix()
	}
	n := nc + 1
	vmax := 0.0
	for _, row := range m {
		for j, v := range row {
			if v < 0.005 { // seaborn would print 0.00: leave blank
				row[j] = math.NaN()
				continue
			}
			vmax = max(vmax, v)
		}
	}
	if vmax == 0 {
		vmax = 1
	}
	title := "Confusion Matrix"
	format := "%.0f"
	if normalize {
		title += " Normalized"
		format = "%.2f"
	}
	var labels []string
	if len(names) > 0 && len(names) < 99 && len(names) == nc {
		labels = append(append(labels, names...), "background")
	}

	img, c := newCanvas(confusionW, confusionH, ConfusionDPI(nc))
	const margin = 12
	c = draw.Crop(c, margin, -margin, margin, -margin)
	fontSize := vg.Length(11)
	if nc >= 50 {
		fontSize = 8.8 // seaborn's font_scale 0.8
	}
	p := newPlot(fontSize)
	// seaborn's heatmap has no spines: only the ticks show.
	p.X.LineStyle.Color, p.Y.LineStyle.Color = color.Transparent, color.Transparent
	p.X.Label.Text, p.Y.Label.Text = "True", "Predicted"
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = 11, 11
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5, -0.5, float64(n)-0.5

	// The data area is square (seaborn's square=True); a first guess of
	// its side sets the tick label size, which sets the axes' sizes.
	const colorbarRoom = 100
	side := min(c.Size().X-colorbarRoom-60, c.Size().Y-60)
	cell := side / vg.Length(n)
	tickFont := font.From(sans, min(fontSize, cell*0.9))
	p.X.Tick.Label.Font, p.Y.Tick.Label.Font = tickFont, tickFont
	p.X.Tick.Marker = cellTicks{labels: labels, n: n, cell: cell, font: tickFont}
	p.Y.Tick.Marker = cellTicks{labels: labels, n: n, cell: cell, font: tickFont, flip: true}
	if xt := (cellTicks{labels: labels, n: n}); xt.widest(p.X.Tick.Label) > cell*0.95 {
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	p.Add(heatCells{m: m, vmax: vmax, annotate: nc < 30, format: format})

	// Shrink the plot area until its data area is square.
	pc := draw.Crop(c, 0, -colorbarRoom, 0, -titleRoom(13.2))
	dc := p.DataCanvas(pc)
	if w, h := dc.Size().X, dc.Size().Y; w > h {
		pc = draw.Crop(pc, (w-h)/2, -(w-h)/2, 0, 0)
	} else {
		pc = draw.Crop(pc, 0, 0, (h-w)/2, -(h-w)/2)
	}
	p.Draw(pc)
	dc = p.DataCanvas(pc)
	drawTitle(c, dc, title, 13.2)
	colorbar(c, dc, vmax, font.From(sans, fontSize))
	return savePNG(img, path)
}

// heatCells draws the matrix m (row 0 at the top) as coloured cells
// centred on integer coordinates, with their values.
type heatCells struct {
	m        [][]float64
	vmax     float64
	annotate bool
	format   string
}

func (h heatCells) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	n := len(h.m)
	sty := text.Style{
		Font:    font.From(sans, 8),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: p.TextHandler,
	}
	for r, row := range h.m {
		yc := float64(n - 1 - r)
		for col, v := range row {
			rect := vg.Rectangle{
				Min: vg.Point{X: x(float64(col) - 0.5), Y: y(yc - 0.5)},
				Max: vg.Point{X: x(float64(col) + 0.5), Y: y(yc + 0.5)},
			}
			if math.IsNaN(v) {
				continue // the white background shows
			}
			fill, lum := bluesAt(v / h.vmax)
			c.SetColor(fill)
			// Overlap by a hair so that no seam shows between cells.
			c.Fill(vg.Rectangle{Min: rect.Min, Max: vg.Point{X: rect.Max.X + 0.3, Y: rect.Max.Y + 0.3}}.Path())
			if h.annotate {
				sty.Color = color.White
				if lum > 0.408 {
					sty.Color = color.Black
				}
				c.FillText(sty, vg.Point{X: (rect.Min.X + rect.Max.X) / 2, Y: (rect.Min.Y + rect.Max.Y) / 2}, fmt.Sprintf(h.format, v))
			}
		}
	}
}

// cellTicks labels the cells of an n x n heat map with class names, or
// with their numbers every so many cells so that they do not overlap
// (flip: the y axis, row 0 at the top).
type cellTicks struct {
	labels []string
	n      int
	cell   vg.Length
	font   font.Font
	flip   bool
}

func (t cellTicks) label(i int) string {
	if t.labels != nil {
		return t.labels[i]
	}
	return strconv.Itoa(i)
}

func (t cellTicks) widest(sty text.Style) vg.Length {
	w := vg.Length(0)
	for i := range t.n {
		w = max(w, sty.Width(t.label(i)))
	}
	return w
}

func (t cellTicks) Ticks(_, _ float64) []plot.Tick {
	step := 1
	if t.labels == nil && t.cell > 0 {
		step = max(1, int(math.Ceil(float64(t.font.Size*1.5/t.cell))))
	}
	var out []plot.Tick
	for i := 0; i < t.n; i += step {
		v := float64(i)
		if t.flip {
			v = float64(t.n - 1 - i)
		}
		out = append(out, plot.Tick{Value: v, Label: t.label(i)})
	}
	return out
}

// colorbar draws the colour scale from 0 to vmax to the right of the
// data area dc, as tall as it, with ticks and labels on its right.
func colorbar(c draw.Canvas, dc draw.Canvas, vmax float64, f font.Font) {
	h := dc.Size().Y
	w := h / 20 // matplotlib's colorbar aspect
	x0 := dc.Max.X + 0.05*dc.Size().X
	y0 := dc.Min.Y
	// One image, scaled, so that no seams show between bands.
	const steps = 256
	ramp := image.NewRGBA(image.Rect(0, 0, 1, steps))
	for i := range steps {
		col, _ := bluesAt(1 - (float64(i)+0.5)/steps) // image rows run downwards
		ramp.SetRGBA(0, i, col)
	}
	c.DrawImage(vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x0 + w, Y: y0 + h}}, ramp)
	box := vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x0 + w, Y: y0 + h}}
	c.SetLineStyle(draw.LineStyle{Color: color.Black, Width: 0.8})
	c.Stroke(box.Path())
	sty := text.Style{Font: f, XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler, Color: color.Black}
	// A normalized maximum is 1 - 1e-9: the tolerance keeps its tick 1.0.
	for _, t := range (niceTicks{n: 8}).Ticks(0, vmax*(1+1e-6)) {
		y := y0 + h*vg.Length(t.Value/vmax)
		c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: 0.8}, x0+w, y, x0+w+3.5, y)
		c.FillText(sty, vg.Point{X: x0 + w + 6, Y: y}, t.Label)
	}
}
