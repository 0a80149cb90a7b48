package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const refWeights = "../../yolo/testdata/ref/yolov8n_seed0.pt"

func TestPredictFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"imgsz", []string{"predict", "--weights", refWeights, "--source", ".", "--imgsz", "100"}, `invalid argument "100" for "--imgsz" flag: image size 100 is not a positive multiple of 32`},
		{"conf", []string{"predict", "--weights", refWeights, "--source", ".", "--conf", "1.5"}, `invalid argument "1.5" for "--conf" flag: 1.5 is out of range (0, 1]`},
		{"iou", []string{"predict", "--weights", refWeights, "--source", ".", "--iou", "x"}, `invalid argument "x" for "--iou" flag: "x" is not a number`},
		{"max-det", []string{"predict", "--weights", refWeights, "--source", ".", "--max-det", "0"}, `max-det 0 must be at least 1`},
		{"missing", []string{"predict", "--source", "."}, "predict needs --weights and --source"},
		{"no weights file", []string{"predict", "--weights", "nope.pt", "--source", "../../yolo/testdata/ref"}, "weights nope.pt: no such file"},
		{"bad format", []string{"predict", "--weights", "predict.go", "--source", "../../yolo/testdata/ref"}, `unknown format ".go"`},
		{"no images", []string{"predict", "--weights", refWeights, "--source", "."}, "--source .: no .jpg, .jpeg or .png files"},
		{"class out of range", []string{"predict", "--weights", refWeights, "--source", "../../yolo/testdata/ref", "--classes", "80"}, "--classes 80: the model has 80 classes (0-79)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPredictDirectory(t *testing.T) {
	src := t.TempDir()
	// The reference inputs (PNG) stand in for photos; a broken file must be
	// skipped with a message, not stop the run.
	for _, name := range []string{"000000000025_input.png", "000000000030_input.png"} {
		data, err := os.ReadFile(filepath.Join("../../yolo/testdata/ref", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, name), data, 0o644)
	}
	os.WriteFile(filepath.Join(src, "broken.jpg"), []byte("not a jpeg"), 0o644)
	out := t.TempDir()
	stdout, stderr, err := execute(t, "predict", "--weights", refWeights, "--source", src, "--imgsz", "320",
		"--conf", "0.5", "--max-det", "5", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "2 images, results in "+out) {
		t.Errorf("stdout: %s", stdout)
	}
	for _, want := range []string{"image 1/3 " + filepath.Join(src, "000000000025_input.png") + ": ", "image 3/3 " + filepath.Join(src, "broken.jpg") + ": skipped: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "detections.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res []predictResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Width != 320 || res[0].Height != 224 || len(res[0].Detections) != 5 {
		t.Fatalf("detections.json: %+v", res)
	}
	for _, d := range res[0].Detections {
		if d.Score <= 0.5 || d.Box[0] < 0 || d.Box[2] > 320 || d.Name == "" {
			t.Errorf("detection %+v", d)
		}
	}
	for _, name := range []string{"000000000025_input.jpg", "000000000030_input.jpg"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("annotated image %s: %v", name, err)
		}
	}
}
