package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/plots"
	"github.com/yolops/yolops/yolo"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	params    map[string]string
	epochs    []int
	metrics   []map[string]float64
	artifacts []string
	ended     bool
	endErr    error
	cancel    context.CancelFunc // when set, called after the first epoch
}

func (r *recorder) OnTrainStart(p map[string]string) { r.params = p }
func (r *recorder) OnEpochEnd(epoch int, m map[string]float64) {
	r.epochs = append(r.epochs, epoch)
	r.metrics = append(r.metrics, m)
	if r.cancel != nil {
		r.cancel()
	}
}
func (r *recorder) OnArtifact(path, name string) {
	if _, err := os.Stat(path); err == nil {
		r.artifacts = append(r.artifacts, name)
	}
}
func (r *recorder) OnTrainEnd(err error) { r.ended, r.endErr = true, err }

func keys(m map[string]float64) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// TestTrainSmoke trains yolov8n from scratch for two epochs on a tiny
// synthetic dataset and checks the run folder Ultralytics would write,
// the checkpoints, and what an observer is told.
func TestTrainSmoke(t *testing.T) {
	data := synthDataset(t, 20, 64, []string{"red", "green"})
	a := tinyArgs(t, data, 2)
	rec := &recorder{}
	var log strings.Builder
	res, err := Run(context.Background(), a, Options{Log: &log, Observer: rec, Version: "v-test"})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	dir := filepath.Join(a.Project, "train")
	if res.Dir != dir || res.Epochs != 2 {
		t.Errorf("result %+v, want the run in %s after 2 epochs", res, dir)
	}
	for _, f := range []string{
		"args.yaml", "results.csv", "results.png", "PR_curve.png", "F1_curve.png", "P_curve.png", "R_curve.png",
		"confusion_matrix.png", "confusion_matrix_normalized.png",
		"train_batch0.jpg", "train_batch1.jpg", "train_batch2.jpg",
		"val_batch0_labels.jpg", "val_batch0_pred.jpg", "val_batch1_labels.jpg", "val_batch1_pred.jpg",
		"val_batch2_labels.jpg", "val_batch2_pred.jpg",
		"weights/best.safetensors", "weights/last.safetensors",
	} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if mine := f == "args.yaml" || strings.HasPrefix(f, "weights/"); mine && st.Mode().Perm()&0o044 == 0 {
			t.Errorf("%s has mode %v: not readable by others", f, st.Mode())
		}
	}
	for _, f := range []string{"train_batch0.jpg", "val_batch0_pred.jpg"} {
		img, err := imgproc.Load(filepath.Join(dir, f))
		if err != nil || img.W < 64 || img.H < 64 {
			t.Errorf("%s does not decode as an image: %v", f, err)
		}
	}

	r, err := plots.ReadResultsCSV(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Columns, plots.ResultsColumns()) || len(r.Rows) != 2 || r.Rows[0][0] != 1 || r.Rows[1][0] != 2 {
		t.Errorf("results.csv: columns %v, rows %v", r.Columns, r.Rows)
	}
	// auto: AdamW at round(0.002*5/(4+2), 6) = 0.001667, warmup over 100
	// iterations from 0 (warmup_bias_lr is zeroed): 5 batches an epoch,
	// so after epoch 2 (iteration 9, lf(1) = 0.505) lr = 9/100 * 0.001667 * 0.505.
	if len(rec.metrics) < 2 {
		t.Fatalf("observer told of %d epochs", len(rec.metrics))
	}
	if lr := rec.metrics[1]["lr/pg0"]; !near(lr, 0.09*0.001667*0.505) {
		t.Errorf("lr/pg0 after epoch 2 = %v, want %v", lr, 0.09*0.001667*0.505)
	}

	got, err := ReadArgsYAML(filepath.Join(dir, "args.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := a
	want.SaveDir, want.Name = dir, "train"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("args.yaml:\n got %+v\nwant %+v", got, want)
	}

	// Finalised checkpoints: EMA weights only, which predict opens.
	for _, f := range []string{res.Best, res.Last} {
		ck, err := yolo.ReadCheckpoint(f)
		if err != nil {
			t.Fatal(err)
		}
		if !ck.Finalized() || ck.EMA != nil || ck.Optimizer != nil || ck.Meta.Config != (yolo.Config{Scale: "n", NC: 2}) ||
			!slices.Equal(ck.Meta.Names, []string{"red", "green"}) || ck.Meta.Version != "v-test" {
			t.Errorf("%s: finalized %v, ema %v, meta %+v", f, ck.Finalized(), ck.EMA != nil, ck.Meta)
		}
	}
	if _, err := ResumeArgs(res.Last); err == nil || !strings.Contains(err.Error(), "nothing to resume") {
		t.Errorf("resuming a finished training: %v", err)
	}
	e := nn.NewEngine(1)
	defer e.Close()
	w, err := yolo.Open(context.Background(), e, res.Best, nil)
	if err != nil || !slices.Equal(w.Names, []string{"red", "green"}) {
		t.Errorf("opening best for predict: %v %v", w, err)
	}

	// The observer: every argument, MLflow's metric names per epoch and
	// after the final validation, the files, the end.
	if len(rec.params) != reflect.TypeFor[Args]().NumField() || rec.params["optimizer"] != "auto" ||
		rec.params["warmup_bias_lr"] != "0.0" || rec.params["save_dir"] != dir {
		t.Errorf("params %v", rec.params)
	}
	if !slices.Equal(rec.epochs, []int{0, 1, 1}) {
		t.Fatalf("OnEpochEnd epochs %v, want 0, 1 and 1 (final validation)", rec.epochs)
	}
	epochKeys := []string{"lr/pg0", "lr/pg1", "lr/pg2", "metrics/mAP50-95B", "metrics/mAP50B", "metrics/precisionB", "metrics/recallB",
		"train/box_loss", "train/cls_loss", "train/dfl_loss", "val/box_loss", "val/cls_loss", "val/dfl_loss"}
	for i := range 2 {
		if k := keys(rec.metrics[i]); !slices.Equal(k, epochKeys) {
			t.Errorf("epoch %d metric names %v, want %v", i, k, epochKeys)
		}
		// results.csv holds 5 significant digits.
		if math.Abs(rec.metrics[i]["train/box_loss"]-r.Rows[i][1]) > 1e-4*r.Rows[i][1] || math.Abs(rec.metrics[i]["lr/pg2"]-r.Rows[i][13]) > 1e-4*r.Rows[i][13] {
			t.Errorf("epoch %d: observer %v, results.csv %v", i, rec.metrics[i], r.Rows[i])
		}
	}
	if k := keys(rec.metrics[2]); !slices.Equal(k, []string{"metrics/mAP50-95B", "metrics/mAP50B", "metrics/precisionB", "metrics/recallB"}) {
		t.Errorf("final metric names %v", k)
	}
	sort.Strings(rec.artifacts)
	for _, f := range []string{"weights/best.safetensors", "weights/last.safetensors", "results.csv", "results.png", "args.yaml", "train_batch0.jpg", "val_batch0_pred.jpg", "confusion_matrix.png"} {
		if !slices.Contains(rec.artifacts, f) {
			t.Errorf("artifact %s not handed to the observer (got %v)", f, rec.artifacts)
		}
	}
	if !rec.ended || rec.endErr != nil {
		t.Errorf("OnTrainEnd: called %v with %v", rec.ended, rec.endErr)
	}
	for _, s := range []string{"optimizer: AdamW(lr=0.001667, momentum=0.9) with parameter groups 57 weight(decay=0.0), 64 weight(decay=0.0005), 63 bias(decay=0.0)",
		"Epoch    GPU_mem   box_loss   cls_loss   dfl_loss  Instances       Size", "        2/2", "mAP50-95): 100%|██████████|",
		"Speed: ", "Results saved to " + dir} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log.String())
		}
	}
}

// TestRunErrors checks that bad inputs fail before training, naming the
// input, and that a cancelled training ends the observer's run with the
// cancellation.
func TestRunErrors(t *testing.T) {
	data := synthDataset(t, 4, 64, []string{"a"})
	for _, tc := range []struct {
		name string
		set  func(*Args)
		want string
	}{
		{"bad data path", func(a *Args) { a.Data = filepath.Join(t.TempDir(), "none.yaml") }, "none.yaml"},
		{"unknown architecture", func(a *Args) { a.Model = "yolov9n.yaml" }, "yolov9n"},
		{"missing weights", func(a *Args) { a.Model = filepath.Join(t.TempDir(), "w.pt") }, "no such file"},
		{"head from class without weights", func(a *Args) { a.InitHeadFromClass = "person" }, "needs pretrained weights"},
		{"resume missing", func(a *Args) { a.Resume = filepath.Join(t.TempDir(), "last.safetensors") }, "last.safetensors"},
		{"invalid", func(a *Args) { a.Epochs = 0 }, "epochs 0"},
	} {
		a := tinyArgs(t, data, 1)
		tc.set(&a)
		rec := &recorder{}
		_, err := Run(context.Background(), a, Options{Observer: rec})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if rec.params != nil || rec.ended {
			t.Errorf("%s: the observer was told of a run that never started", tc.name)
		}
	}
	a := tinyArgs(t, data, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{cancel: cancel}
	if _, err := Run(ctx, a, Options{Observer: rec}); !errors.Is(err, context.Canceled) || !rec.ended || !errors.Is(rec.endErr, context.Canceled) {
		t.Errorf("cancelled run: %v; observer ended %v with %v", err, rec.ended, rec.endErr)
	}
	if !slices.Equal(rec.epochs, []int{0}) {
		t.Errorf("cancelled after epoch 1, the observer saw epochs %v", rec.epochs)
	}
	if _, err := os.Stat(filepath.Join(a.Project, "train", "weights", "last.safetensors")); err != nil {
		t.Errorf("no checkpoint to resume from: %v", err)
	}
}
