package train

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPyFloat(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0.01, "0.01"}, {3, "3.0"}, {0, "0.0"}, {-2, "-2.0"}, {0.0005, "0.0005"}, {0.0001, "0.0001"},
		{1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {1e16, "1e+16"}, {123456789, "123456789.0"},
		{0.30000000000000004, "0.30000000000000004"}, {0.937, "0.937"}, {1e-100, "1e-100"},
	} {
		if got := pyFloat(tc.x); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, want %q (Python's repr)", tc.x, got, tc.want)
		}
	}
}

func TestParams(t *testing.T) {
	a := DefaultArgs()
	a.Data = "person.yaml"
	p := a.Params()
	if n := reflect.TypeFor[Args]().NumField(); len(p) != n {
		t.Errorf("%d params for %d arguments", len(p), n)
	}
	// As str() gives them for Ultralytics' trainer.args.
	for k, want := range map[string]string{
		"epochs": "100", "lr0": "0.01", "warmup_epochs": "3.0", "amp": "True", "rect": "False",
		"conf": "None", "resume": "False", "project": "None", "freeze": "None", "data": "person.yaml",
		"optimizer": "auto", "weight_decay": "0.0005", "fraction": "1.0", "imgsz": "640",
	} {
		if p[k] != want {
			t.Errorf("param %s = %q, want %q", k, p[k], want)
		}
	}
}

func TestArgsYAMLRoundTrip(t *testing.T) {
	a := DefaultArgs()
	a.Data, a.Epochs, a.LR0, a.Optimizer, a.Freeze = "d.yaml", 3, 0.005, "SGD", 10
	conf := 0.25
	a.Conf, a.Resume, a.SaveDir, a.InitHeadFromClass = &conf, "runs/x/weights/last.safetensors", "runs/x", "person"
	var b bytes.Buffer
	if err := a.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"task: detect\n", "lr0: 0.005\n", "warmup_epochs: 3.0\n", "conf: 0.25\n", "amp: true\n", "project: null\n"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("args.yaml lacks %q:\n%s", line, b.String())
		}
	}
	if !strings.HasPrefix(b.String(), "task: detect\nmode: train\nmodel: yolov8n.pt\ndata: d.yaml\nepochs: 3\n") {
		t.Errorf("args.yaml is not in default.yaml's order:\n%s", b.String())
	}
	got, err := parseArgsYAML(b.Bytes(), "args.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, a)
	}
	// The defaults, with Ultralytics' false and null for an unset resume
	// and freeze, read back too.
	b.Reset()
	if err := DefaultArgs().WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "resume: false\n") || !strings.Contains(b.String(), "freeze: null\n") {
		t.Errorf("defaults:\n%s", b.String())
	}
	got, err = parseArgsYAML(b.Bytes(), "args.yaml")
	if err != nil || !reflect.DeepEqual(got, DefaultArgs()) {
		t.Errorf("defaults round trip: %v\n got %+v", err, got)
	}
}

func TestReadArgsYAMLErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, data, want string }{
		{"unknown key", "epochs: 3\nlr00: 0.1\n", `args.yaml:2: unknown argument "lr00"`},
		{"wrong type", "epochs: many\n", "args.yaml"},
		{"not a mapping", "- 1\n- 2\n", "want a mapping"},
		{"bad yaml", "epochs: [\n", "args.yaml"},
	} {
		p := filepath.Join(dir, "args.yaml")
		if err := os.WriteFile(p, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadArgsYAML(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadArgsYAML(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("a missing file gave no error")
	}
	// Missing keys keep their defaults.
	got, err := parseArgsYAML([]byte("epochs: 7\n"), "x.yaml")
	want := DefaultArgs()
	want.Epochs = 7
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("partial file: %v %+v", err, got)
	}
}

func FuzzParseArgsYAML(f *testing.F) {
	var b bytes.Buffer
	DefaultArgs().WriteYAML(&b)
	f.Add(b.Bytes())
	f.Add([]byte("epochs: 3\nconf: null\nresume: false\n"))
	f.Add([]byte("imgsz: [320, 320]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseArgsYAML(data, "fuzz.yaml")
		if err != nil {
			return
		}
		// Whatever parses writes and reads back the same.
		var out bytes.Buffer
		if err := a.WriteYAML(&out); err != nil {
			t.Fatalf("writing parsed args: %v", err)
		}
		if _, err := parseArgsYAML(out.Bytes(), "again.yaml"); err != nil {
			t.Fatalf("re-reading written args: %v\n%s", err, out.String())
		}
	})
}

func TestArgsValidate(t *testing.T) {
	ok := DefaultArgs()
	ok.Data = "d.yaml"
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults with data: %v", err)
	}
	neg := -0.5
	for _, tc := range []struct {
		set  func(*Args)
		want string
	}{
		{func(a *Args) { a.Epochs = 0 }, "epochs 0"},
		{func(a *Args) { a.Batch = -1 }, "AutoBatch"},
		{func(a *Args) { a.ImgSz = 100 }, "imgsz 100"},
		{func(a *Args) { a.Optimizer = "sgd" }, `optimizer "sgd"`},
		{func(a *Args) { a.Data = "" }, "data is empty"},
		{func(a *Args) { a.Task = "segment" }, "detection models only"},
		{func(a *Args) { a.SingleCls = true }, "single_cls"},
		{func(a *Args) { a.MultiScale = true }, "multi_scale"},
		{func(a *Args) { a.Device = "0" }, "CPU only"},
		{func(a *Args) { a.Fraction = 0 }, "fraction 0"},
		{func(a *Args) { a.Conf = &neg }, "conf -0.5"},
		{func(a *Args) { a.Momentum = 1 }, "momentum 1"},
		{func(a *Args) { a.Mosaic = 1.5 }, "mosaic"},
		{func(a *Args) { a.Split = "dev" }, `split "dev"`},
		{func(a *Args) { a.Freeze = 23 }, "freeze 23"},
	} {
		a := ok
		tc.set(&a)
		err := a.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
}

func TestRunDir(t *testing.T) {
	project := t.TempDir()
	for _, want := range []string{"train", "train2", "train3"} {
		got, err := runDir(project, "", "train", false)
		if err != nil || got != filepath.Join(project, want) {
			t.Fatalf("runDir = %s, %v; want %s", got, err, want)
		}
	}
	if got, err := runDir(project, "train", "train", true); err != nil || got != filepath.Join(project, "train") {
		t.Errorf("exist_ok: %s, %v", got, err)
	}
	if got, err := runDir(project, "", "val", false); err != nil || got != filepath.Join(project, "val") {
		t.Errorf("val: %s, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(project, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runDir(project, "file", "train", true); err == nil {
		t.Error("exist_ok accepted a file as the run folder")
	}
}

func TestSanitize(t *testing.T) {
	got := sanitize(map[string]float64{"metrics/mAP50-95(B)": 1, "train/box_loss": 2})
	if len(got) != 2 || got["metrics/mAP50-95B"] != 1 || got["train/box_loss"] != 2 {
		t.Errorf("sanitize = %v", got)
	}
}

func TestStopper(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	s := stopper{patience: 2}
	for i, tc := range []struct {
		fitness  *float64
		stop     bool
		possible bool
	}{
		{f(0.1), false, false}, // epoch 1: best
		{f(0.1), false, false}, // epoch 2: as good counts as better
		{f(0.05), false, true}, // epoch 3: one without improvement
		{nil, false, true},     // epoch 4: not validated, no change
		{f(0.09), true, true},  // epoch 5: three epochs since the best, epoch 2
	} {
		if got := s.step(i+1, tc.fitness); got != tc.stop || s.possibleStop != tc.possible {
			t.Errorf("epoch %d: stop %v possible %v, want %v %v", i+1, got, s.possibleStop, tc.stop, tc.possible)
		}
	}
	never := stopper{}
	for e := 1; e < 50; e++ {
		if never.step(e, f(0)) || never.step(e, f(-1)) {
			t.Fatal("patience 0 stopped")
		}
	}
}
