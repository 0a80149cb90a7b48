package promote

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

// The report's figures: gonum/plot in Liberation Sans with matplotlib's
// tab10 colours, as package plots draws a run's figures, at a resolution
// that stays sharp when the HTML report is zoomed.
const figureDPI = 144

var (
	sans  = font.Font{Typeface: "Liberation", Variant: "Sans"}
	tab10 = []color.RGBA{
		{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
		{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
		{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
	}
	black     = color.RGBA{0, 0, 0, 0xff}
	lightGrey = color.RGBA{0xe8, 0xe8, 0xe8, 0xff}
	midGrey   = color.RGBA{0x99, 0x99, 0x99, 0xff}
)

// Figure file names, beside decision.md.
const (
	figConfigs = "metric_by_config.png"
	figCurves  = "curves_top3.png"
	figEffects = "effects.png"
)

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	f := font.From(sans, 10)
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.Title.Padding = 6
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = f
		a.Tick.Label.Font = f
		a.Width, a.Tick.Width = 0.8, 0.8
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.Legend.TextStyle.Font = font.From(sans, 9)
	return p
}

// render draws p on a w x h inch canvas and returns the PNG.
func render(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w*vg.Inch, h*vg.Inch), vgimg.UseDPI(figureDPI))
	c := draw.New(img)
	p.Draw(draw.Crop(c, 6, -10, 4, -4))
	return encodePNG(img)
}

// renderWithLegend draws p with the legend to the right of its axes.
func renderWithLegend(p *plot.Plot, leg plot.Legend, w, h vg.Length) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w*vg.Inch, h*vg.Inch), vgimg.UseDPI(figureDPI))
	c := draw.Crop(draw.New(img), 6, -10, 4, -4)
	lw := leg.Rectangle(c).Size().X
	pc := draw.Crop(c, 0, -(lw + 16), 0, 0)
	p.Draw(pc)
	dc := p.DataCanvas(pc)
	leg.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: dc.Max.X + 12, Y: dc.Min.Y}, Max: vg.Point{X: c.Max.X, Y: dc.Max.Y},
	}})
	return encodePNG(img)
}

func encodePNG(img *vgimg.Canvas) ([]byte, error) {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img.Image()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// niceTicks labels about five ticks at a step of 1, 2 or 5 times a power
// of ten, with the decimals the step needs, and puts unlabelled minor
// ticks between them.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	mag := math.Pow(10, math.Floor(math.Log10(span/5)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; span/step <= 6 {
			break
		}
	}
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var out []plot.Tick
	for i := math.Ceil(lo / step * 2); i/2*step <= hi+step*1e-9; i++ {
		v := i / 2 * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		t := plot.Tick{Value: v}
		if int(i)%2 == 0 {
			t.Label = strconv.FormatFloat(v, 'f', dec, 64)
		}
		out = append(out, t)
	}
	return out
}

// rowPlotter draws, for each row y = 0, 1, ..., the points of the row,
// a bar from lo to hi with caps and a diamond at the centre value.
type rowPlotter struct {
	rows []row
}

type row struct {
	points       []float64
	labels       []string // beside the points; may be nil
	centre       float64
	lo, hi       float64 // NaN: no bar
	colour       color.Color
	emphasise    bool
	pointsColour color.Color
}

func (rp rowPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i, r := range rp.rows {
		y := ty(float64(i))
		if !math.IsNaN(r.lo) && !math.IsNaN(r.hi) {
			ls := draw.LineStyle{Color: r.colour, Width: 1.5}
			c.StrokeLine2(ls, tx(r.lo), y, tx(r.hi), y)
			c.StrokeLine2(ls, tx(r.lo), y-4, tx(r.lo), y+4)
			c.StrokeLine2(ls, tx(r.hi), y-4, tx(r.hi), y+4)
		}
		for j, v := range r.points {
			gs := draw.GlyphStyle{Color: r.pointsColour, Radius: 3.5, Shape: draw.CircleGlyph{}}
			c.DrawGlyph(gs, vg.Point{X: tx(v), Y: y})
			if j < len(r.labels) {
				sty := text.Style{Color: midGrey, Font: font.From(sans, 7.5), XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
				c.FillText(sty, vg.Point{X: tx(v), Y: y + 5}, r.labels[j])
			}
		}
		if !math.IsNaN(r.centre) {
			rad := vg.Length(5)
			if r.emphasise {
				rad = 6.5
			}
			c.DrawGlyph(draw.GlyphStyle{Color: r.colour, Radius: rad, Shape: draw.PyramidGlyph{}}, vg.Point{X: tx(r.centre), Y: y})
		}
	}
}

func (rp rowPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, r := range rp.rows {
		for _, v := range append([]float64{r.centre, r.lo, r.hi}, r.points...) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				xmin, xmax = math.Min(xmin, v), math.Max(xmax, v)
			}
		}
	}
	return xmin, xmax, -0.6, float64(len(rp.rows)) - 0.4
}

// vband shades x in [lo, hi] over the whole height and draws a line at
// zero.
type vband struct{ lo, hi float64 }

func (b vband) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	if !math.IsNaN(b.lo) && b.hi > b.lo {
		rect := vg.Rectangle{Min: vg.Point{X: tx(b.lo), Y: c.Min.Y}, Max: vg.Point{X: tx(b.hi), Y: c.Max.Y}}
		c.SetColor(lightGrey)
		c.Fill(rect.Path())
	}
	c.StrokeLine2(draw.LineStyle{Color: midGrey, Width: 1, Dashes: []vg.Length{4, 3}}, tx(0), c.Min.Y, tx(0), c.Max.Y)
}

func (b vband) DataRange() (xmin, xmax, ymin, ymax float64) {
	if math.IsNaN(b.lo) {
		return 0, 0, math.NaN(), math.NaN()
	}
	return b.lo, b.hi, math.NaN(), math.NaN()
}

// padX widens an axis range by a fraction on each side, so that glyphs
// at the ends are not cut.
func padX(a *plot.Axis, frac float64) {
	span := a.Max - a.Min
	if span <= 0 {
		span = math.Max(math.Abs(a.Max), 0.01)
	}
	a.Min -= frac * span
	a.Max += frac * span
}

// fixNaNYRange restores a categorical y range that a NaN DataRange may
// have spoilt.
func fixYRange(p *plot.Plot, n int) {
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
}

// plotConfigs draws the objective of each configuration, best at the top:
// one dot per run (seed), the mean as a triangle and a bar of +-1 sample
// standard deviation.
func plotConfigs(a *Analysis) ([]byte, error) {
	n := len(a.Configs)
	names := make([]string, n)
	rp := rowPlotter{}
	for i := range a.Configs {
		c := a.Configs[n-1-i] // y grows upwards: the best goes last
		names[i] = fmt.Sprintf("#%d %s", c.Rank, c.Key)
		r := row{centre: c.Mean, lo: c.Mean - c.Std, hi: c.Mean + c.Std, colour: tab10[0], pointsColour: color.NRGBA{0x1f, 0x77, 0xb4, 0x90}}
		if c == a.Chosen {
			r.colour, r.emphasise = tab10[3], true
			r.pointsColour = color.NRGBA{0xd6, 0x27, 0x28, 0x90}
		}
		for _, run := range c.Runs {
			r.points = append(r.points, run.Value)
			if run.Seed != "" {
				r.labels = append(r.labels, "s"+run.Seed)
			}
		}
		rp.rows = append(rp.rows, r)
	}
	title := fmt.Sprintf("%s by configuration: runs (dots), mean (triangle) ± 1 std over seeds", ShortName(a.Objective))
	p := newPlot(title, ShortName(a.Objective), "")
	p.Add(plotter.NewGrid(), rp)
	p.NominalY(names...)
	fixYRange(p, n)
	padX(&p.X, 0.08)
	p.X.Tick.Marker = niceTicks{}
	return render(p, 9, vg.Length(1.4+0.45*float64(n)))
}

// plotCurves draws the objective per epoch of the top configurations'
// runs, one colour per configuration and one dash pattern per seed, with
// the final validation of the best weights as a star at the last epoch.
func plotCurves(a *Analysis) ([]byte, error) {
	p := newPlot(fmt.Sprintf("%s per epoch, top %d configurations", ShortName(a.Objective), len(a.Top(topN))), "epoch", ShortName(a.Objective))
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	leg.TextStyle.Font = font.From(sans, 9)
	leg.Top, leg.Left = true, true
	leg.Padding = 3
	dashes := [][]vg.Length{nil, {6, 3}, {2, 2}, {8, 3, 2, 3}}
	lines := 0
	for ci, c := range a.Top(topN) {
		col := tab10[ci%len(tab10)]
		for si, r := range c.Runs {
			if len(r.History) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(r.History))
			for i, e := range r.History {
				xy[i] = plotter.XY{X: float64(e.Step + 1), Y: e.Value}
			}
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", r.Name, err)
			}
			l.LineStyle = draw.LineStyle{Color: col, Width: 1.6, Dashes: dashes[si%len(dashes)]}
			s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 2.5, Shape: draw.CircleGlyph{}}
			p.Add(l, s)
			label := fmt.Sprintf("#%d %s", c.Rank, c.Key)
			if r.Seed != "" {
				label += " seed=" + r.Seed
			}
			leg.Add(label, l)
			lines++
			if !math.IsNaN(r.Final) {
				last := r.History[len(r.History)-1]
				fs, err := plotter.NewScatter(plotter.XYs{{X: float64(last.Step + 1), Y: r.Final}})
				if err != nil {
					return nil, err
				}
				fs.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 5, Shape: draw.PlusGlyph{}}
				p.Add(fs)
			}
		}
	}
	if lines == 0 {
		return nil, nil
	}
	p.X.Tick.Marker = integerTicks{}
	p.Y.Tick.Marker = niceTicks{}
	padX(&p.X, 0.04)
	padX(&p.Y, 0.08)
	return renderWithLegend(p, leg, 10, 5)
}

// integerTicks puts a tick on every whole number of the range (epochs).
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/10))
	var out []plot.Tick
	for v := math.Ceil(lo); v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return out
}

// plotEffects draws, for each swept setting, the objective's change from
// the baseline value: one dot per matched pair, the mean as a triangle
// and a bar of +-1 std; the grey band is +-1 pooled seed std around 0.
func plotEffects(a *Analysis) ([]byte, error) {
	if len(a.Effects) == 0 {
		return nil, nil
	}
	n := len(a.Effects)
	names := make([]string, n)
	rp := rowPlotter{}
	for i := range a.Effects {
		e := a.Effects[n-1-i]
		names[i] = fmt.Sprintf("%s %s vs %s", e.Param, e.Value, e.Baseline)
		r := row{centre: e.Mean, lo: e.Mean - e.Std, hi: e.Mean + e.Std, colour: tab10[2], pointsColour: color.NRGBA{0x2c, 0xa0, 0x2c, 0x90}}
		for _, d := range e.Deltas {
			r.points = append(r.points, d.Delta)
		}
		rp.rows = append(rp.rows, r)
	}
	band := vband{lo: -a.PooledSeedStd, hi: a.PooledSeedStd}
	p := newPlot(fmt.Sprintf("Change in %s per setting: pairs (dots), mean (triangle) ± 1 std; grey band: ± seed std", ShortName(a.Objective)),
		"delta "+ShortName(a.Objective), "")
	p.Add(band, plotter.NewGrid(), rp)
	p.NominalY(names...)
	fixYRange(p, n)
	if p.X.Min > 0 {
		p.X.Min = 0
	}
	if p.X.Max < 0 {
		p.X.Max = 0
	}
	padX(&p.X, 0.08)
	p.X.Tick.Marker = niceTicks{}
	return render(p, 9, vg.Length(1.4+0.5*float64(n)))
}
