package dataset

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/yolops/yolops/imgproc"
)

// Detection is a predicted box to draw with PlotBatch, in the pixels of
// the batch image it was found in.
type Detection struct {
	Image          int // index of the image in the batch
	Class          int
	Conf           float32
	X1, Y1, X2, Y2 float32
}

// Plot layout, after Ultralytics' plot_images.
const (
	plotMaxSize     = 1920 // longest side of the grid before it is scaled down
	plotMaxImages   = 16
	plotConfThres   = 0.25 // predictions below are not drawn
	plotJPEGQuality = 90
)

var (
	plotBackground = [3]uint8{255, 255, 255}
	plotNameColour = [3]uint8{220, 220, 220}
	plotShadow     = [3]uint8{0, 0, 0}
)

// PlotBatch draws up to 16 images of b in a square grid as Ultralytics'
// plot_images does for train_batch*.jpg and val_batch*_labels.jpg /
// _pred.jpg, and writes it to w as a JPEG. Each image gets a white
// frame and its file name; with preds nil its labels are drawn with
// their class names, otherwise the predictions with a confidence above
// 0.25 ("name 0.9"). names maps classes to names (a class without a
// name is shown as its number).
//
// Layout as Ultralytics': image i is in column i/ns and row i%ns of an
// ns x ns grid (ns = ceil(sqrt(images))), the grid is scaled down to at
// most 1920 pixels, and lines are (h+w)*ns/1000 pixels thick, h x w
// being the scaled image size. The text uses imgproc's bitmap font at
// that scale, with a dark shadow under file names so that they read on
// light images too.
func PlotBatch(w io.Writer, b *Batch, names []string, preds []Detection) error {
	grid := plotGrid(b, names, preds)
	bw := bufio.NewWriter(w)
	if err := imgproc.EncodeJPEG(bw, grid, plotJPEGQuality); err != nil {
		return fmt.Errorf("dataset: plot batch %d: %w", b.Index, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dataset: plot batch %d: %w", b.Index, err)
	}
	return nil
}

// PlotBatchFile is PlotBatch into the file path, written to a temporary
// file beside it and renamed into place, so that an existing plot is
// never left half-written.
func PlotBatchFile(path string, b *Batch, names []string, preds []Detection) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("dataset: plot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := PlotBatch(f, b, names, preds); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dataset: plot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dataset: plot: %w", err)
	}
	return nil
}

// plotGrid makes the annotated grid image.
func plotGrid(b *Batch, names []string, preds []Detection) *imgproc.RGB {
	bs := min(b.N, plotMaxImages)
	ns := int(math.Ceil(math.Sqrt(float64(bs))))
	h, w := b.H, b.W
	grid := imgproc.NewRGB(max(ns*w, 1), max(ns*h, 1))
	imgproc.FillRect(grid, 0, 0, grid.W, grid.H, plotBackground)
	for i := range bs {
		x0, y0 := w*(i/ns), h*(i%ns)
		planes := b.Image(i)
		n := h * w
		for y := range h {
			row := grid.Pix[((y0+y)*grid.W+x0)*3:]
			for x := range w {
				k := y*w + x
				for c := range 3 {
					row[3*x+c] = unitToByte(planes[c*n+k])
				}
			}
		}
	}
	scale := float64(plotMaxSize) / float64(ns) / float64(max(h, w))
	if scale < 1 {
		h = int(math.Ceil(scale * float64(h)))
		w = int(math.Ceil(scale * float64(w)))
		grid = imgproc.Resize(grid, max(w*ns, 1), max(h*ns, 1))
	}
	fs := int(float64((h+w)*ns) * 0.01) // Ultralytics' font size
	lw := max(int(math.RoundToEven(float64(fs)/10)), 1)
	for i := range bs {
		x0, y0 := w*(i/ns), h*(i%ns)
		imgproc.StrokeRect(grid, x0, y0, x0+w, y0+h, 2, plotBackground)
		if i < len(b.Paths) && b.Paths[i] != "" {
			name := []rune(filepath.Base(b.Paths[i]))
			name = name[:min(len(name), 40)]
			sh := max(lw/2, 1)
			imgproc.DrawText(grid, string(name), x0+5+sh, y0+5+sh, lw, plotShadow)
			imgproc.DrawText(grid, string(name), x0+5, y0+5, lw, plotNameColour)
		}
		var boxes []imgproc.Box
		if preds == nil {
			cls, bx := b.Labels(i)
			for k, c := range cls {
				// Normalised xywh to pixels of the (scaled) tile, then xyxy.
				cx, cy := bx[k][0]*float32(w)+float32(x0), bx[k][1]*float32(h)+float32(y0)
				bw, bh := bx[k][2]*float32(w)/2, bx[k][3]*float32(h)/2
				boxes = append(boxes, plotBox(int(c), cx-bw, cy-bh, cx+bw, cy+bh, className(names, int(c))))
			}
		} else {
			sc := float32(1)
			if scale < 1 {
				sc = float32(scale)
			}
			for _, d := range preds {
				if d.Image != i || !(d.Conf > plotConfThres) {
					continue
				}
				label := className(names, d.Class) + " " + strconv.FormatFloat(float64(d.Conf), 'f', 1, 32)
				boxes = append(boxes, plotBox(d.Class, d.X1*sc+float32(x0), d.Y1*sc+float32(y0),
					d.X2*sc+float32(x0), d.Y2*sc+float32(y0), label))
			}
		}
		imgproc.DrawBoxes(grid, boxes, lw)
	}
	return grid
}

// plotBox truncates the corners to whole pixels, as plot_images'
// astype(np.int64) does.
func plotBox(class int, x1, y1, x2, y2 float32, label string) imgproc.Box {
	t := func(v float32) float32 { return float32(math.Trunc(float64(v))) }
	return imgproc.Box{X1: t(x1), Y1: t(y1), X2: t(x2), Y2: t(y2), Class: class, Label: label}
}

func className(names []string, c int) string {
	if c >= 0 && c < len(names) && names[c] != "" {
		return names[c]
	}
	return strconv.Itoa(c)
}

// unitToByte maps a [0, 1] sample back to the byte it came from.
func unitToByte(v float32) uint8 {
	return uint8(min(max(math.Round(float64(v)*255), 0), 255))
}
