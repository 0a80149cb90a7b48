package workflow

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/imgproc"
)

// coco128 is the shared copy of COCO128, from this package's folder.
var coco128 = filepath.Join("..", "..", "shared", "data", "coco128")

// personData writes a small dataset with a data YAML whose class 0 is
// person and returns the YAML: the first n COCO128 images holding a
// person, with their labels (every class, ids as in COCO), or, where
// ../shared/data/coco128 is absent, n synthetic images of boxes labelled
// person and car.
func personData(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	img, lab := filepath.Join(dir, "images", "train"), filepath.Join(dir, "labels", "train")
	for _, d := range []string{img, lab} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names := "[person, car]"
	if _, err := os.Stat(coco128); err == nil {
		names = cocoNames
		labels, _ := filepath.Glob(filepath.Join(coco128, "labels", "train2017", "*.txt"))
		k := 0
		for _, l := range labels {
			if k == n {
				break
			}
			if !hasPerson(t, l) {
				continue
			}
			stem := strings.TrimSuffix(filepath.Base(l), ".txt")
			src := filepath.Join(coco128, "images", "train2017", stem+".jpg")
			if _, err := os.Stat(src); err != nil {
				continue
			}
			copyFile(t, src, filepath.Join(img, stem+".jpg"))
			copyFile(t, l, filepath.Join(lab, stem+".txt"))
			k++
		}
	} else {
		r := rand.New(rand.NewPCG(3, 5))
		for i := range n {
			m := imgproc.NewRGB(96, 96)
			imgproc.FillRect(m, 0, 0, 96, 96, [3]uint8{128, 128, 128})
			var lines []string
			for c := range 2 {
				w, h := 20+r.IntN(30), 20+r.IntN(30)
				x, y := r.IntN(96-w), r.IntN(96-h)
				imgproc.FillRect(m, x, y, x+w, y+h, [3]uint8{uint8(200 * (1 - c)), 60, uint8(200 * c)})
				lines = append(lines, fmt.Sprintf("%d %.6f %.6f %.6f %.6f", c, (float64(x)+float64(w)/2)/96, (float64(y)+float64(h)/2)/96, float64(w)/96, float64(h)/96))
			}
			f, err := os.Create(filepath.Join(img, fmt.Sprintf("%02d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := imgproc.EncodePNG(f, m); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.WriteFile(filepath.Join(lab, fmt.Sprintf("%02d.txt", i)), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := filepath.Join(dir, "data.yaml")
	if err := os.WriteFile(p, []byte("train: images/train\nval: images/train\nnames: "+names+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func hasPerson(t testing.TB, label string) bool {
	f, err := os.Open(label)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "0 ") {
			return true
		}
	}
	return false
}

func copyFile(t testing.TB, src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

const cocoNames = `[person, bicycle, car, motorcycle, airplane, bus, train, truck, boat, traffic light, fire hydrant, stop sign,
  parking meter, bench, bird, cat, dog, horse, sheep, cow, elephant, bear, zebra, giraffe, backpack, umbrella, handbag, tie,
  suitcase, frisbee, skis, snowboard, sports ball, kite, baseball bat, baseball glove, skateboard, surfboard, tennis racket,
  bottle, wine glass, cup, fork, knife, spoon, bowl, banana, apple, sandwich, orange, broccoli, carrot, hot dog, pizza, donut,
  cake, chair, couch, potted plant, bed, dining table, toilet, tv, laptop, cell phone, microwave, oven, toaster, sink,
  refrigerator, book, clock, vase, scissors, teddy bear, hair drier, toothbrush]`
