package metrics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// refFile is the output of testdata/ref/gen_metrics_ref.py (Ultralytics
// 8.2.82): see testdata/ref/README.md.
type refFile struct {
	NC     int       `json:"nc"`
	IoUV   []float64 `json:"iouv"`
	Images []struct {
		GT      [][4]float64 `json:"gt"`
		GTCls   []int        `json:"gt_cls"`
		Pred    [][4]float64 `json:"pred"`
		PredCls []int        `json:"pred_cls"`
		Conf    []float64    `json:"conf"`
		TP      [][]int      `json:"tp"`
	} `json:"images"`
	PerClass struct {
		Class []int             `json:"class"`
		P     []float64         `json:"p"`
		R     []float64         `json:"r"`
		F1    []float64         `json:"f1"`
		AP    [][NumIoU]float64 `json:"ap"`
	} `json:"per_class"`
	MP       float64   `json:"mp"`
	MR       float64   `json:"mr"`
	MAP50    float64   `json:"map50"`
	MAP75    float64   `json:"map75"`
	MAP      float64   `json:"map"`
	Fitness  float64   `json:"fitness"`
	F1Sample []float64 `json:"f1_curve_mean_sample"`
}

func loadRef(t *testing.T) refFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ref", "metrics_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r refFile
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("metrics_ref.json: %v", err)
	}
	if len(r.Images) == 0 {
		t.Fatal("metrics_ref.json: no images")
	}
	return r
}

func box32(b [4]float64) [4]float32 {
	return [4]float32{float32(b[0]), float32(b[1]), float32(b[2]), float32(b[3])}
}

func (r refFile) image(i int) ([]Detection, []Label) {
	im := r.Images[i]
	preds := make([]Detection, len(im.Pred))
	for k := range im.Pred {
		preds[k] = Detection{Box: box32(im.Pred[k]), Score: float32(im.Conf[k]), Class: im.PredCls[k]}
	}
	labels := make([]Label, len(im.GT))
	for k := range im.GT {
		labels[k] = Label{Box: box32(im.GT[k]), Class: im.GTCls[k]}
	}
	return preds, labels
}

const refTol = 1e-6

func near(a, b float64) bool { return math.Abs(a-b) <= refTol }

func TestIoUThresholdsMatchReference(t *testing.T) {
	r := loadRef(t)
	th := IoUThresholds()
	if len(r.IoUV) != len(th) {
		t.Fatalf("reference has %d thresholds, want %d", len(r.IoUV), len(th))
	}
	for i, v := range r.IoUV {
		if float64(th[i]) != v {
			t.Errorf("threshold %d = %v, reference %v", i, th[i], v)
		}
	}
}

func TestMatchReference(t *testing.T) {
	r := loadRef(t)
	var m matcher
	for i := range r.Images {
		preds, labels := r.image(i)
		got := m.match(preds, labels)
		want := r.Images[i].TP
		if len(got) != len(want) {
			t.Fatalf("image %d: %d rows, want %d", i, len(got), len(want))
		}
		for d := range got {
			for j := range NumIoU {
				if got[d][j] != (want[d][j] == 1) {
					t.Errorf("image %d detection %d IoU %v: tp %v, want %v", i, d, iouv[j], got[d][j], want[d][j] == 1)
				}
			}
		}
	}
}

func TestAccumulatorReference(t *testing.T) {
	r := loadRef(t)
	acc := NewAccumulator(r.NC)
	for i := range r.Images {
		preds, labels := r.image(i)
		if err := acc.Add(preds, labels); err != nil {
			t.Fatal(err)
		}
	}
	m := acc.Result()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"mp", m.Precision, r.MP},
		{"mr", m.Recall, r.MR},
		{"map50", m.MAP50, r.MAP50},
		{"map75", m.MAP75, r.MAP75},
		{"map", m.MAP5095, r.MAP},
		{"fitness", m.Fitness, r.Fitness},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %.12g, want %.12g", c.name, c.got, c.want)
		}
	}
	if len(m.PerClass) != len(r.PerClass.Class) {
		t.Fatalf("%d classes, want %d", len(m.PerClass), len(r.PerClass.Class))
	}
	for ci, cm := range m.PerClass {
		if cm.Class != r.PerClass.Class[ci] {
			t.Errorf("row %d: class %d, want %d", ci, cm.Class, r.PerClass.Class[ci])
		}
		if !near(cm.Precision, r.PerClass.P[ci]) || !near(cm.Recall, r.PerClass.R[ci]) || !near(cm.F1, r.PerClass.F1[ci]) {
			t.Errorf("class %d: P %.9g R %.9g F1 %.9g, want %.9g %.9g %.9g", cm.Class,
				cm.Precision, cm.Recall, cm.F1, r.PerClass.P[ci], r.PerClass.R[ci], r.PerClass.F1[ci])
		}
		for j := range NumIoU {
			if !near(cm.AP[j], r.PerClass.AP[ci][j]) {
				t.Errorf("class %d AP@%v = %.12g, want %.12g", cm.Class, iouv[j], cm.AP[j], r.PerClass.AP[ci][j])
			}
		}
	}
	// f1_curve.mean(0)[::50]
	for k, want := range r.F1Sample {
		got := 0.0
		for ci := range m.Curves.F1 {
			got += m.Curves.F1[ci][50*k]
		}
		got /= float64(len(m.Curves.F1))
		if !near(got, want) {
			t.Errorf("mean F1 at %d = %.12g, want %.12g", 50*k, got, want)
		}
	}
}
