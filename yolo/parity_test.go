package yolo

import (
	"encoding/json"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// predictRef is testdata/ref/predict_ref.json (see its README).
type predictRef struct {
	Images []struct {
		File       string `json:"file"`
		OrigShape  []int  `json:"orig_shape"`
		InputShape []int  `json:"input_shape"`
		Head       []struct {
			Shape  []int     `json:"shape"`
			Sum    float64   `json:"sum"`
			AbsSum float64   `json:"abs_sum"`
			Index  []int     `json:"index"`
			Values []float64 `json:"values"`
		} `json:"head"`
		Decoded struct {
			Shape  []int     `json:"shape"`
			Index  []int     `json:"index"`
			Values []float64 `json:"values"`
		} `json:"decoded"`
		Detections []struct {
			XYXY []float64 `json:"xyxy"`
			Conf float64   `json:"conf"`
			Cls  int       `json:"cls"`
		} `json:"detections"`
	} `json:"images"`
}

// readPredictRef reads testdata/ref/predict_ref.json.
func readPredictRef(t *testing.T) predictRef {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "ref", "predict_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref predictRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// loadInput reads a reference network input: RGB PNG, values/255 in CHW.
func loadInput(t *testing.T, path string) *tensor.Tensor {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	rgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	h, w := b.Dy(), b.Dx()
	x := tensor.New(1, 3, h, w)
	for y := range h {
		for xx := range w {
			c := rgba.NRGBAAt(xx, y)
			for ch, v := range []uint8{c.R, c.G, c.B} {
				x.Data[(ch*h+y)*w+xx] = float32(v) / 255
			}
		}
	}
	return x
}

// TestParityWithUltralytics runs the reference checkpoint on the exact
// inputs Ultralytics' predictor fed it and compares the raw head maps, the
// decoded output and the detections (in input pixels here; the mapping
// back to the original image is tested with the letterbox).
func TestParityWithUltralytics(t *testing.T) {
	dir := filepath.Join("testdata", "ref")
	src, info, err := OpenPT(filepath.Join(dir, "yolov8n_seed0.pt"))
	if err != nil {
		t.Fatal(err)
	}
	// A model built from yolov8.yaml names its classes "0" to "79".
	if info.Entry != "model" || len(info.Names) != 80 || info.Names[79] != "79" {
		t.Errorf("checkpoint info: entry %q, %d names, first %q", info.Entry, len(info.Names), info.Names)
	}
	cfg, err := ConfigFrom(src)
	if err != nil || cfg != (Config{"n", 80}) {
		t.Fatalf("ConfigFrom = %+v, %v", cfg, err)
	}
	e := nn.NewEngine(2)
	defer e.Close()
	m, err := New(e, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(src); err != nil {
		t.Fatal(err)
	}
	m.SetTrain(false)
	ref := readPredictRef(t)
	dec := tensor.New(0)
	for _, im := range ref.Images {
		base := im.File[:len(im.File)-len(filepath.Ext(im.File))]
		x := loadInput(t, filepath.Join(dir, base+"_input.png"))
		maps := m.Forward(x)
		for i, h := range im.Head {
			got := maps[i]
			var sum, scale float64
			for _, v := range got.Data {
				sum += float64(v)
				scale += math.Abs(float64(v))
			}
			scale /= float64(len(got.Data))
			if math.Abs(sum-h.Sum) > 1e-4*h.AbsSum {
				t.Errorf("%s map %d: sum %v, want %v", im.File, i, sum, h.Sum)
			}
			worst := 0.0
			for k, idx := range h.Index {
				d := math.Abs(float64(got.Data[idx])-h.Values[k]) / math.Max(math.Abs(h.Values[k]), scale)
				worst = max(worst, d)
			}
			if worst > 1e-4 {
				t.Errorf("%s map %d: worst relative difference %.3g, want <= 1e-4", im.File, i, worst)
			}
			t.Logf("%s map %d %v: %d values compared, worst relative difference %.2g", im.File, i, h.Shape, len(h.Index), worst)
		}
		Decode(dec, maps, cfg.NC)
		worst := 0.0
		for k, idx := range im.Decoded.Index {
			want := im.Decoded.Values[k]
			worst = max(worst, math.Abs(float64(dec.Data[idx])-want)/math.Max(math.Abs(want), 1e-3))
		}
		if worst > 1e-4 {
			t.Errorf("%s decoded: worst relative difference %.3g", im.File, worst)
		}
		t.Logf("%s decoded %v: %d values compared, worst relative difference %.2g", im.File, im.Decoded.Shape, len(im.Decoded.Index), worst)
		// Detections, mapped back to the original image as the predictor
		// does, must be the same: boxes within 0.5 px, scores within 1e-4,
		// same classes. Near-equal scores may come out in another order, so
		// they are matched as sets.
		dets := NMS(dec, 0, NMSOptions{Conf: 0.001, IoU: 0.7, MaxDet: 300})
		boxes := make([][4]float32, len(dets))
		for i, d := range dets {
			boxes[i] = d.Box
		}
		imgproc.ScaleBoxes(boxes, image.Pt(x.Shape[3], x.Shape[2]), image.Pt(im.OrigShape[1], im.OrigShape[0]))
		if len(dets) != len(im.Detections) {
			t.Errorf("%s: %d detections, want %d", im.File, len(dets), len(im.Detections))
		}
		used := make([]bool, len(dets))
		unmatched := 0
		for _, want := range im.Detections {
			found := false
			for i, d := range dets {
				if used[i] || d.Class != want.Cls || math.Abs(float64(d.Score)-want.Conf) > 1e-4 {
					continue
				}
				close := true
				for k := range 4 {
					close = close && math.Abs(float64(boxes[i][k])-want.XYXY[k]) <= 0.5
				}
				if close {
					used[i], found = true, true
					break
				}
			}
			if !found {
				unmatched++
				if unmatched <= 3 {
					t.Errorf("%s: no detection matches %+v", im.File, want)
				}
			}
		}
		t.Logf("%s: %d detections, %d unmatched", im.File, len(dets), unmatched)
	}
}
