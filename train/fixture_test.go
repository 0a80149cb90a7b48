package train

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/imgproc"
)

// synthDataset writes a tiny YOLO dataset into a temporary directory: n
// images of size x size pixels, each with one to three filled boxes of a
// colour per class on a grey background, the same images for train and
// val, and returns its data YAML.
func synthDataset(t testing.TB, n, size int, names []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"images", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	colours := [][3]uint8{{230, 40, 40}, {40, 200, 60}, {50, 80, 230}}
	r := rand.New(rand.NewPCG(7, 11))
	for i := range n {
		img := imgproc.NewRGB(size, size)
		imgproc.FillRect(img, 0, 0, size, size, [3]uint8{128, 128, 128})
		var lines []string
		for range 1 + r.IntN(3) {
			c := r.IntN(len(names))
			w, h := size/4+r.IntN(size/3), size/4+r.IntN(size/3)
			x, y := r.IntN(size-w), r.IntN(size-h)
			imgproc.FillRect(img, x, y, x+w, y+h, colours[c%len(colours)])
			lines = append(lines, fmt.Sprintf("%d %.6f %.6f %.6f %.6f", c,
				(float64(x)+float64(w)/2)/float64(size), (float64(y)+float64(h)/2)/float64(size),
				float64(w)/float64(size), float64(h)/float64(size)))
		}
		f, err := os.Create(filepath.Join(dir, "images", fmt.Sprintf("img%02d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := imgproc.EncodePNG(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.WriteFile(filepath.Join(dir, "labels", fmt.Sprintf("img%02d.txt", i)), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml := fmt.Sprintf("path: %s\ntrain: images\nval: images\nnames: [%s]\n", dir, strings.Join(names, ", "))
	p := filepath.Join(dir, "data.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyArgs returns arguments for a fast training on the synthetic data:
// yolov8n from scratch at 64 pixels, one thread and one loader worker.
func tinyArgs(t testing.TB, data string, epochs int) Args {
	a := DefaultArgs()
	a.Model, a.Data, a.Epochs, a.ImgSz, a.Batch = "yolov8n.yaml", data, epochs, 64, 4
	a.Workers, a.Threads = 1, 1
	a.Project, a.Name = t.TempDir(), "train"
	return a
}
