package workflow

import (
	"strings"
	"testing"

	"github.com/yolops/yolops/train"
)

func TestRunName(t *testing.T) {
	for _, tc := range []struct {
		model         string
		epochs, imgsz int
		lr0           float64
		seed          int
		want          string
	}{
		{"yolov8n.pt", 3, 416, 0.01, 42, "yolov8n_e3_sz416_lr0.01_s42"},
		{"yolov8n.pt", 3, 320, 0.005, 1, "yolov8n_e3_sz320_lr0.005_s1"},
		{"yolov8n.yaml", 1, 64, 1e-5, 0, "yolov8n_e1_sz64_lr1e-05_s0"},
		{"yolov8s", 10, 640, 0.1, 7, "yolov8s_e10_sz640_lr0.1_s7"},
		{"/w/runs/detect/x/weights/best.safetensors", 3, 416, 0.02, 42, "best_e3_sz416_lr0.02_s42"},
		{"yolov8n.pt", 3, 416, 1, 42, "yolov8n_e3_sz416_lr1.0_s42"},
	} {
		a := train.DefaultArgs()
		a.Model, a.Epochs, a.ImgSz, a.LR0, a.Seed = tc.model, tc.epochs, tc.imgsz, tc.lr0, tc.seed
		if got := RunName(a); got != tc.want {
			t.Errorf("RunName(%s, lr0 %v) = %q, want %q", tc.model, tc.lr0, got, tc.want)
		}
	}
}

func TestGridPoints(t *testing.T) {
	g := &Grid{Base: train.DefaultArgs()}
	for _, s := range []struct {
		key    string
		values []string
	}{
		{"model", []string{"yolov8n.pt"}}, {"epochs", []string{"3"}},
		{"imgsz", []string{"320", "416"}}, {"lr0", []string{"0.005", "0.01"}}, {"seed", []string{"42", "1"}},
	} {
		if err := g.Set(s.key, s.values); err != nil {
			t.Fatal(err)
		}
	}
	points, err := g.Points()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range points {
		names = append(names, PointName(g, p))
	}
	want := []string{
		"yolov8n_e3_sz320_lr0.005_s42", "yolov8n_e3_sz320_lr0.005_s1", "yolov8n_e3_sz320_lr0.01_s42", "yolov8n_e3_sz320_lr0.01_s1",
		"yolov8n_e3_sz416_lr0.005_s42", "yolov8n_e3_sz416_lr0.005_s1", "yolov8n_e3_sz416_lr0.01_s42", "yolov8n_e3_sz416_lr0.01_s1",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("points\n%v\nwant\n%v", names, want)
	}
	// Fixing a swept argument removes its axis; sweeping a new one that
	// RunName does not spell out names it.
	if err := g.Set("imgsz", []string{"416"}); err != nil {
		t.Fatal(err)
	}
	if err := g.Set("optimizer", []string{"SGD", "AdamW"}); err != nil {
		t.Fatal(err)
	}
	points, err = g.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 8 || points[0].ImgSz != 416 || points[0].Optimizer != "SGD" || points[1].Optimizer != "AdamW" {
		t.Fatalf("after fixing imgsz and sweeping optimizer: %d points, first %d/%s", len(points), points[0].ImgSz, points[0].Optimizer)
	}
	if got := PointName(g, points[1]); got != "yolov8n_e3_sz416_lr0.005_s42_optimizerAdamW" {
		t.Errorf("name %q", got)
	}
}

func TestGridErrors(t *testing.T) {
	for _, tc := range []struct {
		key    string
		values []string
		want   string
	}{
		{"imgsz", []string{"320", "abc"}, `imgsz: "abc" is not a valid whole number`},
		{"lr0", []string{"0.01", "1e-2"}, "value 1e-2 is given twice"},
		{"data", []string{"x.yaml"}, `"data" cannot be set here`},
		{"name", []string{"x"}, `"name" cannot be set here`},
		{"lr", []string{"0.1"}, `unknown training argument "lr"`},
		{"seed", nil, "no value"},
		{"plots", []string{"maybe"}, "boolean"},
	} {
		g := &Grid{Base: train.DefaultArgs()}
		err := g.Set(tc.key, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%s, %v) = %v, want an error with %q", tc.key, tc.values, err, tc.want)
		}
	}
	// Values Validate refuses are reported by Points, naming the point.
	g := &Grid{Base: train.DefaultArgs()}
	if err := g.Set("imgsz", []string{"320", "100"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Points(); err == nil || !strings.Contains(err.Error(), "imgsz=100") || !strings.Contains(err.Error(), "multiple of 32") {
		t.Errorf("Points with imgsz 100: %v", err)
	}
}

func TestParseGrid(t *testing.T) {
	entries, err := ParseGrid([]byte("# the user's grid\nepochs: 3\nimgsz: [320, 416]\nlr0:\n  - 0.005\n  - 0.01\nseed: [42, 1]\noptimizer: SGD\n"), "grid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Key+"="+strings.Join(e.Values, ","))
	}
	if want := "epochs=3 imgsz=320,416 lr0=0.005,0.01 seed=42,1 optimizer=SGD"; strings.Join(got, " ") != want {
		t.Errorf("entries %v, want %s", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "grid.yaml: empty"},
		{"- 1\n- 2\n", "grid.yaml:1: want a mapping"},
		{"epochs: 3\nimgsz: [320, x]\n", `grid.yaml:2: imgsz: "x" is not a valid whole number`},
		{"epochs: 3\nepochs: 4\n", "grid.yaml:2: epochs is set twice (first on line 1)"},
		{"imgsz: []\n", "grid.yaml:1: imgsz: empty list"},
		{"imgsz: {a: 1}\n", "grid.yaml:1: imgsz: want a value or a list"},
		{"imgsz: [[320]]\n", "grid.yaml:1: imgsz: want a list of plain values"},
		{"save_dir: x\n", `grid.yaml:1: argument "save_dir" cannot be set here`},
		{"imgsz: [320\n", "grid.yaml: yaml:"},
	} {
		_, err := ParseGrid([]byte(tc.in), "grid.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseGrid(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseGrid(f *testing.F) {
	f.Add("epochs: 3\nimgsz: [320, 416]\nlr0: [0.005, 0.01]\nseed: [42, 1]\n")
	f.Add("conf: 0.25\nplots: false\nfreeze: None\n")
	f.Add("imgsz: &a [320]\nbatch: *a\n")
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := ParseGrid([]byte(in), "fuzz.yaml")
		if err != nil {
			return
		}
		g := &Grid{Base: train.DefaultArgs()}
		for _, e := range entries {
			if err := g.Set(e.Key, e.Values); err != nil {
				t.Fatalf("entry %v parsed but not set: %v", e, err)
			}
		}
		if g.Size() <= 10000 {
			g.Points() // may refuse values Validate rejects; must not panic
		}
	})
}

func TestTrainParams(t *testing.T) {
	a := train.DefaultArgs()
	a.Data, a.Threads, a.Workers, a.Name = "x/data.yaml", 3, 2, "run"
	p := trainParams(a)
	for _, k := range notKeyed {
		if _, ok := p[k]; ok {
			t.Errorf("trainer params hold %s, which must not be in the cache key", k)
		}
	}
	// optimizer=auto: warmup_bias_lr as the training logs it.
	if p["warmup_bias_lr"] != "0.0" || p["lr0"] != "0.01" || p["imgsz"] != "640" || p["optimizer"] != "auto" {
		t.Errorf("params %v", p)
	}
	a.Optimizer = "SGD"
	if p := trainParams(a); p["warmup_bias_lr"] != "0.1" {
		t.Errorf("SGD: warmup_bias_lr %s, want 0.1", p["warmup_bias_lr"])
	}
	// Every other argument is keyed.
	if len(p)+len(notKeyed) != len(a.Params()) {
		t.Errorf("%d params + %d not keyed != %d arguments", len(p), len(notKeyed), len(a.Params()))
	}
}

func TestSplitList(t *testing.T) {
	got, err := SplitList(" 320, 416 ")
	if err != nil || strings.Join(got, "|") != "320|416" {
		t.Errorf("SplitList = %v, %v", got, err)
	}
	if _, err := SplitList("320,,416"); err == nil {
		t.Error("an empty item was accepted")
	}
}
