package dataset

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/imgproc"
)

// solidBatch makes a batch of n h x w images, image i filled with grey
// level 10*i, and one box per image.
func solidBatch(n, h, w int) *Batch {
	b := newBatch(0, 0, n, h, w, false)
	for i := range n {
		planes := b.Image(i)
		for k := range planes {
			planes[k] = float32(10*i) / 255
		}
		b.Paths[i] = filepath.Join("dir", "img"+string(rune('a'+i))+".jpg")
		b.Cls = append(b.Cls, float32(i%3))
		b.Boxes = append(b.Boxes, [4]float32{0.5, 0.5, 0.5, 0.5})
		b.BatchIdx = append(b.BatchIdx, float32(i))
	}
	return b
}

func near(p, c [3]uint8) bool {
	return absDiff(p[0], c[0]) <= 2 && absDiff(p[1], c[1]) <= 2 && absDiff(p[2], c[2]) <= 2
}

func at(img *imgproc.RGB, x, y int) [3]uint8 {
	c := img.RGBAAt(x, y)
	return [3]uint8{c.R, c.G, c.B}
}

// TestPlotGridLayout: images go down the columns of a ceil(sqrt(n))
// square grid, the rest stays white, and each label box is drawn in its
// class colour where it belongs.
func TestPlotGridLayout(t *testing.T) {
	b := solidBatch(5, 96, 128)
	g := plotGrid(b, []string{"a", "b", "c"}, nil)
	if g.W != 3*128 || g.H != 3*96 {
		t.Fatalf("grid %dx%d, want 384x288", g.W, g.H)
	}
	// Image i is at column i/3, row i%3: sample inside each tile, away
	// from text and boxes.
	for i := range 5 {
		x, y := 128*(i/3)+110, 96*(i%3)+85
		if want := uint8(10 * i); !near(at(g, x, y), [3]uint8{want, want, want}) {
			t.Errorf("image %d: pixel (%d, %d) is %v, want grey %d", i, x, y, at(g, x, y), want)
		}
	}
	if !near(at(g, 2*128+60, 2*96+50), plotBackground) {
		t.Error("the empty tile is not white")
	}
	// The box of image 4 (column 1, row 1) spans x 32..96, y 24..72 of its tile.
	x0, y0 := 128, 96
	if c := at(g, x0+64, y0+72); !near(c, imgproc.ClassColor(4%3)) {
		t.Errorf("bottom edge of image 4's box is %v, want class colour %v", c, imgproc.ClassColor(1))
	}
}

// TestPlotPredictions: predictions at or below 0.25 confidence are not
// drawn, those above are.
func TestPlotPredictions(t *testing.T) {
	b := solidBatch(1, 64, 64)
	preds := []Detection{
		{Image: 0, Class: 0, Conf: 0.9, X1: 10, Y1: 30, X2: 30, Y2: 50},
		{Image: 0, Class: 1, Conf: 0.25, X1: 40, Y1: 30, X2: 60, Y2: 50},
	}
	g := plotGrid(b, []string{"person", "car"}, preds)
	if !near(at(g, 20, 50), imgproc.ClassColor(0)) {
		t.Errorf("confident prediction not drawn: %v", at(g, 20, 50))
	}
	if near(at(g, 50, 50), imgproc.ClassColor(1)) {
		t.Error("prediction at 0.25 drawn")
	}
}

// TestPlotScalesDown: grids beyond 1920 pixels are scaled down as
// Ultralytics does (ceil of the scaled tile size).
func TestPlotScalesDown(t *testing.T) {
	b := solidBatch(4, 1200, 1000)
	g := plotGrid(b, nil, nil)
	// ns = 2, scale = 1920/2/1200 = 0.8: tiles 960 x 800.
	if g.W != 1600 || g.H != 1920 {
		t.Fatalf("grid %dx%d, want 1600x1920", g.W, g.H)
	}
}

func TestPlotBatchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train_batch0.jpg")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := solidBatch(3, 64, 80)
	if err := PlotBatchFile(path, b, nil, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if cfg.Width != 160 || cfg.Height != 128 {
		t.Fatalf("JPEG %dx%d, want 160x128", cfg.Width, cfg.Height)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in the directory: temporary file left behind", len(entries))
	}
	if err := PlotBatchFile(filepath.Join(dir, "missing", "x.jpg"), b, nil, nil); err == nil {
		t.Fatal("no error writing into a missing directory")
	}
}
