package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
)

// tinyData writes four 64-pixel images, each with a red box labelled as
// class 0 ("thing"), and returns the data YAML.
func tinyData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"images", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		img := imgproc.NewRGB(64, 64)
		imgproc.FillRect(img, 0, 0, 64, 64, [3]uint8{120, 120, 120})
		x := 4 + 8*i
		imgproc.FillRect(img, x, 10, x+24, 40, [3]uint8{220, 30, 30})
		f, err := os.Create(filepath.Join(dir, "images", fmt.Sprintf("%d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := imgproc.EncodePNG(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		label := fmt.Sprintf("0 %f %f %f %f\n", (float64(x)+12)/64, 25.0/64, 24.0/64, 30.0/64)
		if err := os.WriteFile(filepath.Join(dir, "labels", fmt.Sprintf("%d.txt", i)), []byte(label), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "data.yaml")
	if err := os.WriteFile(p, []byte("path: "+dir+"\ntrain: images\nval: images\nnames: [thing]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrainValFlags(t *testing.T) {
	data := tinyData(t)
	cfg := filepath.Join(t.TempDir(), "args.yaml")
	os.WriteFile(cfg, []byte("epochs: 2\nlr00: 1\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no data", []string{"train"}, "train needs --data"},
		{"epochs", []string{"train", "--data", data, "--epochs", "0"}, "epochs 0: want at least 1"},
		{"imgsz", []string{"train", "--data", data, "--imgsz", "100"}, "imgsz 100: want a positive multiple of 32"},
		{"optimizer", []string{"train", "--data", data, "--optimizer", "sgd"}, `optimizer "sgd": want one of auto, SGD, Adam, AdamW`},
		{"not a number", []string{"train", "--data", data, "--lr0", "fast"}, `invalid argument "fast" for "--lr0" flag`},
		{"conf", []string{"train", "--data", data, "--conf", "x"}, `invalid argument "x" for "--conf" flag`},
		{"unknown flag", []string{"train", "--lr", "0.1"}, "unknown flag: --lr"},
		{"single_cls", []string{"train", "--data", data, "--single-cls"}, "single_cls: not supported"},
		{"resume with other flags", []string{"train", "--resume", "last.safetensors", "--epochs", "5"}, "only --imgsz, --batch, --workers and --threads may be given with it, not --epochs"},
		{"resume missing", []string{"train", "--resume", filepath.Join(t.TempDir(), "last.safetensors")}, "no such file"},
		{"resume with cfg", []string{"train", "--resume", "x", "--cfg", cfg}, "--resume and --cfg"},
		{"cfg unknown key", []string{"train", "--cfg", cfg, "--data", data}, `args.yaml:2: unknown argument "lr00"`},
		{"stray argument", []string{"train", "now"}, `unknown command "now"`},
		{"val missing", []string{"val", "--data", data}, "val needs --weights and --data"},
		{"val conf", []string{"val", "--weights", "w", "--data", data, "--conf", "2"}, `invalid argument "2" for "--conf" flag`},
		{"val imgsz", []string{"val", "--weights", "w", "--data", data, "--imgsz", "33"}, "multiple of 32"},
		{"val weights", []string{"val", "--weights", filepath.Join(t.TempDir(), "w.safetensors"), "--data", data}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTrainHelp(t *testing.T) {
	stdout, _, err := execute(t, "train", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--lr0 float", "(default 0.01)", "--warmup-bias-lr", "--close-mosaic int", "--init-head-from-class",
		"--resume string", "--fixed-order", "--cfg string", "--conf float", "best.safetensors"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(stdout, "Ultralytics' ") && strings.Contains(stdout, "--save-dir") {
		t.Error("save_dir is set by the run, not a flag")
	}
}

// TestTrainThenVal trains for one epoch from the command line, then
// validates and predicts with the best checkpoint.
func TestTrainThenVal(t *testing.T) {
	data := tinyData(t)
	project := t.TempDir()
	stdout, stderr, err := execute(t, "train", "--data", data, "--model", "yolov8n.yaml", "--epochs", "1", "--imgsz", "64",
		"--batch", "2", "--workers", "1", "--threads", "1", "--project", project, "--name", "run", "--plots=false")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	best := filepath.Join(project, "run", "weights", "best.safetensors")
	if strings.TrimSpace(stdout) != best {
		t.Errorf("train printed %q, want the best checkpoint %s", stdout, best)
	}
	if strings.ContainsAny(stderr, "\r\x1b") {
		t.Error("progress written with carriage returns to a non-terminal")
	}
	_, stderr, err = execute(t, "val", "--weights", best, "--data", data, "--imgsz", "64", "--batch", "4", "--threads", "1",
		"--project", project)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"Class     Images  Instances      Box(P", "all          4          4", "Speed: ", "ms inference", "Results saved to " + filepath.Join(project, "val")} {
		if !strings.Contains(stderr, want) {
			t.Errorf("val output lacks %q:\n%s", want, stderr)
		}
	}
	for _, f := range []string{"PR_curve.png", "confusion_matrix.png", "val_batch0_labels.jpg", "val_batch0_pred.jpg"} {
		if _, err := os.Stat(filepath.Join(project, "val", f)); err != nil {
			t.Error(err)
		}
	}
	src := filepath.Join(filepath.Dir(data), "images", "0.png")
	if _, stderr, err := execute(t, "predict", "--weights", best, "--source", src, "--imgsz", "64", "--out", t.TempDir()); err != nil {
		t.Fatalf("predict with the checkpoint: %v\n%s", err, stderr)
	}
}

// TestTrainTracked trains with --tracking-uri a folder (the embedded
// store) and reads the run back: Ultralytics' params, per-epoch metrics
// under the MLflow callback's names, the run folder as artifacts.
func TestTrainTracked(t *testing.T) {
	data := tinyData(t)
	project, store := t.TempDir(), t.TempDir()
	t.Setenv("MLFLOW_EXPERIMENT_NAME", "")
	t.Setenv("MLFLOW_RUN", "")
	_, stderr, err := execute(t, "train", "--data", data, "--model", "yolov8n.yaml", "--epochs", "2", "--imgsz", "64",
		"--batch", "2", "--workers", "1", "--threads", "1", "--project", project, "--name", "tracked", "--plots=false",
		"--tracking-uri", store, "--experiment", "cli-train")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ctx := context.Background()
	c, err := client.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, err := c.GetExperimentByName(ctx, "cli-train")
	if err != nil {
		t.Fatal(err)
	}
	runs, _, err := c.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ExperimentID}})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %d, err %v; want 1", len(runs), err)
	}
	r := runs[0]
	if r.Info.RunName != "tracked" || r.Info.Status != tracking.RunFinished {
		t.Errorf("run %q status %s, want tracked FINISHED", r.Info.RunName, r.Info.Status)
	}
	params := map[string]string{}
	for _, p := range r.Data.Params {
		params[p.Key] = p.Value
	}
	if params["imgsz"] != "64" || params["epochs"] != "2" || params["optimizer"] != "auto" {
		t.Errorf("params imgsz %q epochs %q optimizer %q", params["imgsz"], params["epochs"], params["optimizer"])
	}
	hist, _, err := c.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: r.Info.RunID, MetricKey: "train/box_loss"})
	if err != nil || len(hist) != 2 || hist[0].Step != 0 || hist[1].Step != 1 {
		t.Errorf("train/box_loss history %+v (err %v), want steps 0 and 1", hist, err)
	}
	latest := map[string]bool{}
	for _, m := range r.Data.Metrics {
		latest[m.Key] = true
	}
	for _, k := range []string{"metrics/mAP50B", "metrics/mAP50-95B", "metrics/precisionB", "val/cls_loss", "lr/pg0"} {
		if !latest[k] {
			t.Errorf("metric %s not logged", k)
		}
	}
	arts, err := c.ListArtifacts(ctx, r.Info.RunID, "weights")
	if err != nil || len(arts) == 0 {
		t.Fatalf("weights artifacts %v, err %v", arts, err)
	}
}
