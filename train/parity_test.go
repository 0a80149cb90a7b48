package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/dataset"
)

// trainRef is testdata/ref/train_ref.json: an Ultralytics 8.2.82 run
// (see testdata/ref/README.md).
type trainRef struct {
	Epochs []struct {
		Epoch     int                `json:"epoch"`
		TrainLoss map[string]float64 `json:"train_loss"`
		Metrics   map[string]float64 `json:"metrics"`
		LR        map[string]float64 `json:"lr"`
	} `json:"epochs"`
}

// epochLog is an observer keeping each epoch's metrics.
type epochLog struct{ m []map[string]float64 }

func (l *epochLog) OnTrainStart(map[string]string)         {}
func (l *epochLog) OnEpochEnd(_ int, m map[string]float64) { l.m = append(l.m, m) }
func (l *epochLog) OnArtifact(string, string)              {}
func (l *epochLog) OnTrainEnd(error)                       {}

// TestTrainParity trains yolov8n on the 61 person images of COCO128 from
// the initial weights of Ultralytics' reference run, with augmentation
// off and the images in a fixed order, as that run did, and compares the
// learning rates (exactly), the losses and the metrics epoch by epoch.
// It takes minutes: set YOLOPS_TRAIN_PARITY=1 to run it.
func TestTrainParity(t *testing.T) {
	if os.Getenv("YOLOPS_TRAIN_PARITY") == "" {
		t.Skip("set YOLOPS_TRAIN_PARITY=1 to train 5 epochs at 320 px against Ultralytics' reference run (minutes)")
	}
	coco := filepath.Join("..", "..", "shared", "data", "coco128")
	if _, err := os.Stat(coco); err != nil {
		t.Skipf("COCO128 not found at %s: %v", coco, err)
	}
	var ref trainRef
	raw, err := os.ReadFile(filepath.Join("testdata", "ref", "train_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	prep, err := dataset.Prepare(context.Background(), dataset.PrepareOptions{Source: "coco128", From: coco, Classes: []string{"person"}, Out: filepath.Join(t.TempDir(), "person")})
	if err != nil {
		t.Fatal(err)
	}
	a := DefaultArgs()
	a.Model, a.Data, a.ImgSz, a.Epochs, a.Batch, a.Seed = filepath.Join("testdata", "ref", "yolov8n_person_init.pt"), prep.DataYAML, 320, 5, 16, 0
	a.Mosaic, a.HSVH, a.HSVS, a.HSVV, a.FlipLR, a.Scale, a.Translate, a.CloseMosaic = 0, 0, 0, 0, 0, 0, 0, 0
	a.FixedOrder, a.Plots, a.Project = true, false, t.TempDir()
	log := &epochLog{}
	var out strings.Builder
	if _, err := Run(context.Background(), a, Options{Log: &out, Observer: log}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	if len(log.m) != len(ref.Epochs) {
		t.Fatalf("%d epochs logged, the reference %d", len(log.m), len(ref.Epochs))
	}
	for i, re := range ref.Epochs[:5] {
		got := log.m[i]
		row := fmt.Sprintf("epoch %d:", re.Epoch)
		for k, v := range re.LR {
			if math.Abs(got[k]-v) > 1e-12 {
				t.Errorf("epoch %d: %s %v, Ultralytics %v", re.Epoch, k, got[k], v)
			}
		}
		for _, k := range []string{"box", "cls", "dfl"} {
			g, w := got["train/"+k+"_loss"], re.TrainLoss[k]
			row += fmt.Sprintf(" train/%s %.4f (%.4f)", k, g, w)
			if math.Abs(g-w) > 0.02*w {
				t.Errorf("epoch %d: train %s loss %v, Ultralytics %v", re.Epoch, k, g, w)
			}
		}
		for k, w := range re.Metrics {
			g := got[strings.NewReplacer("(", "", ")", "").Replace(k)]
			row += fmt.Sprintf(" %s %.4f (%.4f)", k, g, w)
			tol := 0.02 * w
			if strings.HasPrefix(k, "metrics/") {
				tol = 0.3*w + 0.003 // a few boxes near a threshold move these
			}
			if math.Abs(g-w) > tol {
				t.Errorf("epoch %d: %s %v, Ultralytics %v", re.Epoch, k, g, w)
			}
		}
		t.Log(row)
	}
}
