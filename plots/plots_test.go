package plots

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yolops/yolops/metrics"
)

// samplesDir, when YOLOPS_PLOTS_OUT is set, is where the tests leave a
// copy of every figure they draw, to be looked at.
func samplesDir(t *testing.T, sub string) string {
	base := os.Getenv("YOLOPS_PLOTS_OUT")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// synthetic validates a made-up detector on made-up images: most objects
// found with some jitter and a confidence that tracks the overlap, some
// with the wrong class, and a few false positives.
func synthetic(t *testing.T, nc, images int, seed uint64) (metrics.DetMetrics, *metrics.ConfusionMatrix) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	acc := metrics.NewAccumulator(nc)
	for range images {
		var labels []metrics.Label
		var preds []metrics.Detection
		for range rng.IntN(6) {
			x, y := rng.Float32()*500, rng.Float32()*500
			w, h := 20+rng.Float32()*180, 20+rng.Float32()*180
			c := rng.IntN(nc)
			labels = append(labels, metrics.Label{Box: [4]float32{x, y, x + w, y + h}, Class: c})
			if rng.Float64() < 0.85 {
				j := float32(rng.NormFloat64()) * 0.08 * w
				pc := c
				if rng.Float64() < 0.1 {
					pc = (c + 1) % nc
				}
				preds = append(preds, metrics.Detection{
					Box:   [4]float32{x + j, y - j, x + w + j, y + h},
					Score: float32(0.3 + 0.7*rng.Float64()*math.Exp(-math.Abs(float64(j))/20)),
					Class: pc,
				})
			}
		}
		for range rng.IntN(3) {
			x, y := rng.Float32()*500, rng.Float32()*500
			preds = append(preds, metrics.Detection{Box: [4]float32{x, y, x + 60, y + 80}, Score: rng.Float32() * 0.8, Class: rng.IntN(nc)})
		}
		if err := acc.Add(preds, labels); err != nil {
			t.Fatal(err)
		}
	}
	return acc.Result(), acc.ConfusionMatrix()
}

var cocoNames = []string{"person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
	"traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep",
	"cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
	"skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
	"tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
	"orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
	"dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
	"toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"}

// checkPNG decodes the PNG at path and checks its size in pixels.
func checkPNG(t *testing.T, path string, wIn, hIn, dpi int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != wIn*dpi || b.Dy() != hIn*dpi {
		t.Errorf("%s: %dx%d pixels, want %dx%d", filepath.Base(path), b.Dx(), b.Dy(), wIn*dpi, hIn*dpi)
	}
	return img
}

// figureSize is the size in inches and the resolution of a validation
// figure, as Ultralytics' in inches.
func figureSize(file string, nc int) (w, h, dpi int) {
	if file == "confusion_matrix.png" || file == "confusion_matrix_normalized.png" {
		return 12, 9, ConfusionDPI(nc)
	}
	return 9, 6, DPI
}

// inked reports whether the image has dark pixels (text, lines) and
// coloured ones (data) at all: a blank or monochrome figure fails.
func inked(img image.Image) (dark, coloured int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0x4000 && g < 0x4000 && bl < 0x4000 {
				dark++
			}
			if bl > r+0x2000 {
				coloured++
			}
		}
	}
	return dark, coloured
}

func TestPlotValidation(t *testing.T) {
	for _, c := range []struct {
		name  string
		nc    int
		names []string
	}{
		{"person", 1, []string{"person"}},
		{"coco5", 5, cocoNames[:5]},
		{"coco80", 80, cocoNames},
		{"unnamed12", 12, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, cm := synthetic(t, c.nc, 40*c.nc, 3)
			if len(m.PerClass) == 0 {
				t.Fatal("synthetic detector found nothing")
			}
			dir := samplesDir(t, c.name)
			start := time.Now()
			if err := PlotValidation(context.Background(), dir, m, cm, c.names); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d classes: 6 figures in %v", c.nc, time.Since(start))
			for _, f := range ValidationFiles() {
				w, h, dpi := figureSize(f, c.nc)
				img := checkPNG(t, filepath.Join(dir, f), w, h, dpi)
				if dark, col := inked(img); dark < 300 || col < 300 {
					t.Errorf("%s: %d dark and %d coloured pixels sampled: figure looks empty", f, dark, col)
				}
			}
		})
	}
}

func TestPlotValidationNothingFound(t *testing.T) {
	acc := metrics.NewAccumulator(2)
	acc.Add(nil, []metrics.Label{{Box: [4]float32{0, 0, 10, 10}}})
	dir := samplesDir(t, "empty")
	if err := PlotValidation(context.Background(), dir, acc.Result(), acc.ConfusionMatrix(), []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range ValidationFiles() {
		w, h, dpi := figureSize(f, 2)
		img := checkPNG(t, filepath.Join(dir, f), w, h, dpi)
		if dark, _ := inked(img); dark < 300 {
			t.Errorf("%s: %d dark pixels sampled: no axes drawn", f, dark)
		}
	}
}

func TestPlotCurvesMismatch(t *testing.T) {
	c := metrics.Curves{X: make([]float64, 10), Classes: []int{0, 1}, PR: [][]float64{make([]float64, 10)}}
	if err := PlotPRCurve(filepath.Join(t.TempDir(), "PR_curve.png"), c, nil); err == nil {
		t.Error("2 classes with 1 curve accepted")
	}
	c.PR = append(c.PR, make([]float64, 9))
	if err := PlotPRCurve(filepath.Join(t.TempDir(), "PR_curve.png"), c, nil); err == nil {
		t.Error("curve of 9 points on 10 accepted")
	}
	c.PR[1] = make([]float64, 10)
	if err := PlotPRCurve(filepath.Join(t.TempDir(), "PR_curve.png"), c, nil); err == nil {
		t.Error("curves without AP50 values accepted")
	}
	c.AP50 = []float64{0.5, 0.25}
	if err := PlotPRCurve(filepath.Join(t.TempDir(), "PR_curve.png"), c, nil); err != nil {
		t.Errorf("well-formed curves refused: %v", err)
	}
	if err := PlotMetricCurve(filepath.Join(t.TempDir(), "F1_curve.png"), nil, [][]float64{{}}, []int{0}, nil, "F1"); err == nil {
		t.Error("curves of no points accepted")
	}
}

func TestPlotResults(t *testing.T) {
	for _, c := range []struct {
		name   string
		epochs int
	}{{"results1", 1}, {"results3", 3}, {"results100", 100}} {
		t.Run(c.name, func(t *testing.T) {
			r := Results{Columns: ResultsColumns()}
			rng := rand.New(rand.NewPCG(1, 2))
			for e := range c.epochs {
				x := float64(e) / 30
				noise := func(s float64) float64 { return s * rng.NormFloat64() }
				r.Rows = append(r.Rows, []float64{
					float64(e + 1),
					1.6*math.Exp(-x) + 0.9 + noise(0.03), 3*math.Exp(-1.5*x) + 0.7 + noise(0.05), 1.5*math.Exp(-x) + 0.9 + noise(0.02),
					0.8 - 0.6*math.Exp(-x) + noise(0.03), 0.7 - 0.6*math.Exp(-x) + noise(0.03),
					0.75 - 0.7*math.Exp(-x) + noise(0.02), 0.5 - 0.48*math.Exp(-x) + noise(0.01),
					1.4*math.Exp(-x) + 1 + noise(0.03), 2*math.Exp(-x) + 0.8 + noise(0.05), 1.2*math.Exp(-x) + 1 + noise(0.02),
					0.01 * (1 - float64(e)/float64(c.epochs)), 0.01 * (1 - float64(e)/float64(c.epochs)), 0.07*math.Exp(-3*x) + 0.001,
				})
			}
			dir := samplesDir(t, "results")
			path := filepath.Join(dir, c.name+".png")
			start := time.Now()
			if err := PlotResults(context.Background(), path, r); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d epochs: results.png in %v", c.epochs, time.Since(start))
			img := checkPNG(t, path, 12, 6, DPI)
			if dark, col := inked(img); dark < 1000 || col < 100 {
				t.Errorf("%d dark and %d coloured pixels sampled: figure looks empty", dark, col)
			}
		})
	}
}

func TestPlotResultsRefusesOtherTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.png")
	err := PlotResults(context.Background(), path, Results{Columns: []string{"epoch", "loss"}, Rows: [][]float64{{1, 2}}})
	if err == nil {
		t.Error("2-column table accepted")
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("results.png written for a refused table")
	}
}

func TestGaussianFilter(t *testing.T) {
	// Expected values from a line-by-line Python port of scipy's
	// NI_ExtendLine (mode reflect) and correlate1d.
	for _, c := range []struct {
		y, want []float64
		sigma   float64
	}{
		{[]float64{0, 0, 0, 1, 0, 0, 0}, []float64{0.004565692244646007, 0.05399112742070441,
			0.24197144565660073, 0.39894346935609776, 0.24197144565660073, 0.05399112742070441, 0.004565692244646007}, 1},
		// Kernel radius 12 over 3 points: reflected again and again.
		{[]float64{1, 5, 2}, []float64{2.6630595772285512, 2.666696338403487, 2.670244084367962}, 3},
	} {
		got := gaussianFilter(c.y, c.sigma)
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("filter(%v, %v)[%d] = %.15g, want %.15g", c.y, c.sigma, i, got[i], c.want[i])
			}
		}
	}
	// A constant stays constant, even where the kernel (radius 12) is
	// much longer than the series; NaN keeps its place.
	got := gaussianFilter([]float64{2, math.NaN(), 2, 2}, 3)
	if math.Abs(got[0]-2) > 1e-12 || !math.IsNaN(got[1]) || math.Abs(got[3]-2) > 1e-12 {
		t.Errorf("constant series filtered to %v", got)
	}
}

func TestPlotResultsOddValues(t *testing.T) {
	cols := ResultsColumns()
	row := func(e float64, v float64) []float64 {
		r := make([]float64, len(cols))
		r[0] = e
		for j := 1; j < len(r); j++ {
			r[j] = v
		}
		return r
	}
	for name, rows := range map[string][][]float64{
		"empty":      nil,
		"nan":        {row(1, math.NaN()), row(2, math.NaN())},
		"inf":        {row(1, math.Inf(1)), row(2, 1), row(3, math.Inf(-1))},
		"huge":       {row(1, 1e300), row(2, -1e300)},
		"tiny span":  {row(1, 1e20), row(2, 1e20+1e5)},
		"same epoch": {row(5, 1), row(5, 2)},
	} {
		path := filepath.Join(samplesDir(t, "results-odd"), strings.ReplaceAll(name, " ", "_")+".png")
		if err := PlotResults(context.Background(), path, Results{Columns: cols, Rows: rows}); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkPNG(t, path, 12, 6, DPI)
	}
}

// go test -run XXX -bench . -benchtime 5x ./plots/
func BenchmarkPlotValidation(b *testing.B) {
	for _, nc := range []int{1, 80} {
		b.Run(fmt.Sprintf("nc=%d", nc), func(b *testing.B) {
			t := &testing.T{}
			m, cm := synthetic(t, nc, 40*nc, 3)
			names := cocoNames[:nc]
			dir := b.TempDir()
			for b.Loop() {
				if err := PlotValidation(context.Background(), dir, m, cm, names); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPlotResults(b *testing.B) {
	r := Results{Columns: ResultsColumns()}
	for e := range 100 {
		row := make([]float64, len(r.Columns))
		row[0] = float64(e + 1)
		for j := 1; j < len(row); j++ {
			row[j] = math.Exp(-float64(e)/30) + float64(j)
		}
		r.Rows = append(r.Rows, row)
	}
	path := filepath.Join(b.TempDir(), "results.png")
	for b.Loop() {
		if err := PlotResults(context.Background(), path, r); err != nil {
			b.Fatal(err)
		}
	}
}
