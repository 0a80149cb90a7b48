package gemmbench

import (
	"strings"
	"testing"
)

// The layer table must be YOLOv8n exactly. Ultralytics prints
// "YOLOv8n summary: 225 layers, 3157200 parameters" for the 80-class
// model: conv weights, BatchNorm weight and bias per Conv block, biases of
// the head's plain 1x1s, and DFL's 16 fixed weights.
func TestConvsMatchYOLOv8nParameters(t *testing.T) {
	params := 16 // DFL
	for _, c := range Convs(640, 80) {
		params += c.Out * c.In * c.Kernel * c.Kernel
		if c.Bias {
			params += c.Out
		} else {
			params += 2 * c.Out
		}
	}
	if params != 3157200 {
		t.Errorf("YOLOv8n (nc=80) from the table has %d parameters, Ultralytics reports 3157200", params)
	}
}

// Ultralytics reports 8.7 GFLOPs for YOLOv8n (nc=80) at 640 px (thop's
// MACs doubled, convolutions only, bias and BatchNorm folded away).
func TestConvsMatchYOLOv8nFLOPs(t *testing.T) {
	var flops float64
	for _, c := range Convs(640, 80) {
		flops += 2 * float64(c.M) * float64(c.N) * float64(c.K)
	}
	if g := flops / 1e9; g < 8.65 || g > 8.75 {
		t.Errorf("YOLOv8n (nc=80) at 640 px from the table: %.3f GFLOPs, Ultralytics reports 8.7", g)
	}
}

func TestShapes(t *testing.T) {
	shapes, err := Shapes(320)
	if err != nil {
		t.Fatal(err)
	}
	convs := 0
	seen := map[[3]int]bool{}
	for _, s := range shapes {
		key := [3]int{s.M, s.N, s.K}
		if seen[key] {
			t.Errorf("shape %s listed twice", s)
		}
		seen[key] = true
		convs += s.Count()
	}
	if want := len(Convs(320, 1)); convs != want {
		t.Errorf("shapes cover %d convs, want %d", convs, want)
	}
	if convs != 63 {
		t.Errorf("YOLOv8n has 63 convolutions, the table %d", convs)
	}
	// The first layer: 3 -> 16 channels, 3x3, stride 2, 160x160 outputs.
	if s := shapes[0]; s.M != 16 || s.N != 160*160 || s.K != 27 || s.Layers[0] != "model.0.conv" {
		t.Errorf("first shape %s %v, want 16x25600x27 [model.0.conv]", s, s.Layers)
	}
	// The class branch ends in one output channel per level.
	var heads []string
	for _, s := range shapes {
		if s.M == 1 {
			heads = append(heads, s.Layers...)
		}
	}
	if got := strings.Join(heads, " "); got != "model.22.cv3.0.2 model.22.cv3.1.2 model.22.cv3.2.2" {
		t.Errorf("single-channel convs %q, want the three cv3 heads", got)
	}
}

func TestCheckImgsz(t *testing.T) {
	for _, tc := range []struct {
		imgsz int
		ok    bool
	}{{32, true}, {320, true}, {640, true}, {1280, true}, {0, false}, {-32, false}, {100, false}, {330, false}, {1312, false}} {
		err := CheckImgsz(tc.imgsz)
		if (err == nil) != tc.ok {
			t.Errorf("CheckImgsz(%d) = %v, want ok=%v", tc.imgsz, err, tc.ok)
		}
		if _, err2 := Shapes(tc.imgsz); (err2 == nil) != tc.ok {
			t.Errorf("Shapes(%d) error %v, want ok=%v", tc.imgsz, err2, tc.ok)
		}
	}
}
