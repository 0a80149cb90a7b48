package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/yolo"
)

// predictResult is one image's entry in detections.json.
type predictResult struct {
	Source     string         `json:"source"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Detections []detectionOut `json:"detections"`
	Millis     float64        `json:"inference_ms"`
}

type detectionOut struct {
	Box   [4]float32 `json:"box_xyxy"`
	Score float32    `json:"confidence"`
	Class int        `json:"class"`
	Name  string     `json:"name"`
}

func newPredictCmd() *cobra.Command {
	var (
		weights, source, out string
		imgsz, maxDet        = 640, 300
		conf, iou            = float32(0.25), float32(0.7)
		threads              = 0
		classes              []int
	)
	cmd := &cobra.Command{
		Use:   "predict --weights W --source IMG|DIR",
		Short: "Detect objects in images with a YOLOv8 model",
		Long: `Run a YOLOv8 detection model on an image or on every JPEG and PNG of a
directory, as Ultralytics' predict does: the image letterboxed to --imgsz
(padded to a multiple of 32 only), the network, non-maximum suppression.

--weights is an Ultralytics checkpoint (.pt), an ONNX export (.onnx), a
safetensors file, or the name of a published checkpoint (yolov8n.pt, yolov8s.pt, ...) that is
downloaded into the cache ($YOLOPS_CACHE or the user cache directory) and
checked against its published SHA-256 when it is not on disk.

Writes to --out an annotated copy of each image (JPEG) and
detections.json (boxes in original pixels, confidence, class and name).`,
		Example: `  yolops predict --weights yolov8n.pt --source bus.jpg
  yolops predict --weights runs/train/weights/best.pt --source images/ --imgsz 320 --conf 0.4 --classes 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if weights == "" || source == "" {
				return errors.New("predict needs --weights and --source")
			}
			files, err := imageFiles(source)
			if err != nil {
				return err
			}
			e := nn.NewEngine(threads)
			defer e.Close()
			cache := &assets.Cache{Progress: cmd.ErrOrStderr()}
			w, err := yolo.Open(cmd.Context(), e, weights, cache)
			if err != nil {
				return err
			}
			for _, c := range classes {
				if c >= len(w.Names) {
					return fmt.Errorf("--classes %d: the model has %d classes (0-%d)", c, len(w.Names), len(w.Names)-1)
				}
			}
			p, err := yolo.NewPredictor(w.Model, imgsz)
			if err != nil {
				return err
			}
			p.NMS = yolo.NMSOptions{Conf: conf, IoU: iou, MaxDet: maxDet, Classes: classes}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("creating --out: %w", err)
			}
			var results []predictResult
			for i, f := range files {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				img, err := imgproc.Load(f)
				if err != nil {
					// One unreadable image must not cost the others.
					fmt.Fprintf(cmd.ErrOrStderr(), "image %d/%d %s: skipped: %v\n", i+1, len(files), f, err)
					continue
				}
				start := time.Now()
				dets := p.Predict(img)
				ms := float64(time.Since(start).Microseconds()) / 1000
				res := predictResult{Source: f, Width: img.W, Height: img.H, Millis: ms, Detections: []detectionOut{}}
				boxes := make([]imgproc.Box, len(dets))
				for j, d := range dets {
					res.Detections = append(res.Detections, detectionOut{d.Box, d.Score, d.Class, w.Names[d.Class]})
					boxes[j] = imgproc.Box{X1: d.Box[0], Y1: d.Box[1], X2: d.Box[2], Y2: d.Box[3], Class: d.Class,
						Label: imgproc.Label(w.Names[d.Class], d.Score)}
				}
				imgproc.Draw(img, boxes)
				if err := writeJPEG(filepath.Join(out, strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))+".jpg"), img); err != nil {
					return err
				}
				results = append(results, res)
				fmt.Fprintf(cmd.ErrOrStderr(), "image %d/%d %s: %s, %.1fms\n", i+1, len(files), f, summary(dets, w.Names), ms)
			}
			data, err := json.MarshalIndent(results, "", "  ")
			if err != nil {
				return err
			}
			path := filepath.Join(out, "detections.json")
			if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", path, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d images, results in %s\n", len(results), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&weights, "weights", "", "model: a .pt, .onnx or .safetensors file, or a published name such as yolov8n.pt")
	f.StringVar(&source, "source", "", "an image file or a directory of images")
	f.StringVar(&out, "out", filepath.Join("runs", "detect", "predict"), "output directory")
	f.Var(checkedInt{&imgsz, checkImgsz}, "imgsz", "inference size in pixels, a multiple of 32")
	f.Var(checkedFloat{&conf, 0, 1}, "conf", "confidence threshold")
	f.Var(checkedFloat{&iou, 0, 1}, "iou", "IoU threshold of non-maximum suppression")
	f.Var(checkedInt{&maxDet, func(n int) error {
		if n < 1 {
			return fmt.Errorf("max-det %d must be at least 1", n)
		}
		return nil
	}}, "max-det", "most detections per image")
	f.IntSliceVar(&classes, "classes", nil, "keep only these class indices (e.g. 0 for person)")
	f.Var(checkedInt{&threads, func(n int) error {
		if n < 0 || n > 256 {
			return fmt.Errorf("thread count %d is out of range: 0 (one per CPU) to 256", n)
		}
		return nil
	}}, "threads", "worker threads, 0 for one per CPU")
	return cmd
}

func checkImgsz(n int) error {
	if n < 32 || n%32 != 0 {
		return fmt.Errorf("image size %d is not a positive multiple of 32, the model's largest stride", n)
	}
	return nil
}

// checkedFloat is a float32 in (lo, hi].
type checkedFloat struct {
	p      *float32
	lo, hi float32
}

func (v checkedFloat) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*v.p), 'g', -1, 32)
}

func (v checkedFloat) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	if !(float32(x) > v.lo && float32(x) <= v.hi) {
		return fmt.Errorf("%v is out of range (%g, %g]", x, v.lo, v.hi)
	}
	*v.p = float32(x)
	return nil
}

func (checkedFloat) Type() string { return "float" }

// imageFiles lists source, a file, or the JPEG and PNG files of a directory
// sorted by name.
func imageFiles(source string) ([]string, error) {
	st, err := os.Stat(source)
	if err != nil {
		return nil, fmt.Errorf("--source: %w", err)
	}
	if !st.IsDir() {
		return []string{source}, nil
	}
	entries, err := os.ReadDir(source)
	if err != nil {
		return nil, fmt.Errorf("--source: %w", err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png":
			if !e.IsDir() {
				files = append(files, filepath.Join(source, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--source %s: no .jpg, .jpeg or .png files", source)
	}
	slices.Sort(files)
	return files, nil
}

// summary says "2 persons, 1 car" as Ultralytics' log line does.
func summary(dets []yolo.Detection, names []string) string {
	if len(dets) == 0 {
		return "no detections"
	}
	counts := map[int]int{}
	var order []int
	for _, d := range dets {
		if counts[d.Class] == 0 {
			order = append(order, d.Class)
		}
		counts[d.Class]++
	}
	slices.Sort(order)
	parts := make([]string, len(order))
	for i, c := range order {
		n := names[c]
		if counts[c] > 1 {
			n += "s"
		}
		parts[i] = fmt.Sprintf("%d %s", counts[c], n)
	}
	return strings.Join(parts, ", ")
}

func writeJPEG(path string, img *imgproc.RGB) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := imgproc.EncodeJPEG(f, img, 90); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
