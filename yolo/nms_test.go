package yolo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// predOf builds Decode's layout [1, 4+nc, A] from per-anchor rows
// (cx, cy, w, h, p0, p1, ...).
func predOf(nc int, rows ...[]float32) *tensor.Tensor {
	a := len(rows)
	t := tensor.New(1, 4+nc, a)
	for j, r := range rows {
		for k, v := range r {
			t.Data[k*a+j] = v
		}
	}
	return t
}

func TestNMS(t *testing.T) {
	pred := predOf(2,
		[]float32{50, 50, 20, 20, 0.9, 0.1},  // kept
		[]float32{52, 50, 20, 20, 0.8, 0.1},  // IoU 0.82 with the first: suppressed
		[]float32{52, 50, 20, 20, 0.1, 0.7},  // same place, other class: kept unless agnostic
		[]float32{200, 50, 20, 20, 0.2, 0.1}, // below conf
		[]float32{100, 100, 10, 40, 0.3, 0.6},
	)
	for _, tc := range []struct {
		name string
		opt  NMSOptions
		want []Detection
	}{
		{"default", DefaultNMS(), []Detection{
			{[4]float32{40, 40, 60, 60}, 0.9, 0}, {[4]float32{42, 40, 62, 60}, 0.7, 1}, {[4]float32{95, 80, 105, 120}, 0.6, 1}}},
		{"agnostic", NMSOptions{Conf: 0.25, IoU: 0.7, MaxDet: 300, Agnostic: true}, []Detection{
			{[4]float32{40, 40, 60, 60}, 0.9, 0}, {[4]float32{95, 80, 105, 120}, 0.6, 1}}},
		{"max_det", NMSOptions{Conf: 0.25, IoU: 0.7, MaxDet: 1}, []Detection{{[4]float32{40, 40, 60, 60}, 0.9, 0}}},
		{"classes", NMSOptions{Conf: 0.25, IoU: 0.7, MaxDet: 300, Classes: []int{1}}, []Detection{
			{[4]float32{42, 40, 62, 60}, 0.7, 1}, {[4]float32{95, 80, 105, 120}, 0.6, 1}}},
		// Anchor 5's two classes both pass 0.25: multi-label keeps both.
		{"multi_label", NMSOptions{Conf: 0.25, IoU: 0.7, MaxDet: 300, MultiLabel: true}, []Detection{
			{[4]float32{40, 40, 60, 60}, 0.9, 0}, {[4]float32{42, 40, 62, 60}, 0.7, 1}, {[4]float32{95, 80, 105, 120}, 0.6, 1}, {[4]float32{95, 80, 105, 120}, 0.3, 0}}},
		{"iou 0.9 keeps the overlap", NMSOptions{Conf: 0.25, IoU: 0.9, MaxDet: 300}, []Detection{
			{[4]float32{40, 40, 60, 60}, 0.9, 0}, {[4]float32{42, 40, 62, 60}, 0.8, 0}, {[4]float32{42, 40, 62, 60}, 0.7, 1}, {[4]float32{95, 80, 105, 120}, 0.6, 1}}},
	} {
		got := NMS(pred, 0, tc.opt)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d detections %v, want %v", tc.name, len(got), got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: detection %d = %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

// TestNMSBestClass: over several blocks of anchors, with tied and NaN
// scores, each anchor's candidate is its first best class, as a scan of
// the anchor's scores in class order finds it.
func TestNMSBestClass(t *testing.T) {
	const nc, a = 5, 700
	r := rand.New(rand.NewPCG(8, 1))
	pred := tensor.New(1, 4+nc, a)
	for j := range a {
		pred.Data[j], pred.Data[a+j] = float32(j), 0 // boxes far apart
		pred.Data[2*a+j], pred.Data[3*a+j] = 0.5, 0.5
		for c := range nc {
			v := float32(r.IntN(5)) / 4 // many ties
			if r.IntN(30) == 0 {
				v = float32(math.NaN())
			}
			pred.Data[(4+c)*a+j] = v
		}
	}
	var want []Detection
	for j := range a {
		best, cls := pred.Data[4*a+j], 0
		for c := 1; c < nc; c++ {
			if v := pred.Data[(4+c)*a+j]; v > best {
				best, cls = v, c
			}
		}
		if best > 0.3 {
			want = append(want, Detection{Box: [4]float32{float32(j) - 0.25, -0.25, float32(j) + 0.25, 0.25}, Score: best, Class: cls})
		}
	}
	sort.SliceStable(want, func(i, j int) bool { return want[i].Score > want[j].Score })
	got := NMS(pred, 0, NMSOptions{Conf: 0.3, IoU: 0.7, Agnostic: true})
	if !slices.Equal(got, want) {
		t.Fatalf("%d detections, want %d; first differing: %v", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(got, want []Detection) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("[%d] %v, want %v", i, got[i], want[i])
		}
	}
	return "none in the common length"
}

func TestDecode(t *testing.T) {
	// A 64x64 input: P3 8x8, P4 4x4, P5 2x2 cells. All DFL logits equal
	// except where set, class logit 0 (probability 0.5).
	nc := 1
	no := 4*RegMax + nc
	var maps [3]*tensor.Tensor
	for i, s := range []int{8, 4, 2} {
		maps[i] = tensor.New(1, no, s, s)
	}
	// P4 cell (x=1, y=2): distances left 2, top 3, right 4, bottom 5 via
	// sharply peaked bins; class logit 2.
	hw, p := 16, 2*4+1
	for side, d := range []int{2, 3, 4, 5} {
		maps[1].Data[(side*RegMax+d)*hw+p] = 50
	}
	maps[1].Data[(4*RegMax)*hw+p] = 2
	out := tensor.New(0)
	Decode(out, maps, nc)
	a := 64 + 16 + 4
	if out.Shape[0] != 1 || out.Shape[1] != 5 || out.Shape[2] != a {
		t.Fatalf("shape %v", out.Shape)
	}
	col := 64 + p
	// anchor (1.5, 2.5) in stride-16 units: x1 = -0.5, y1 = -0.5, x2 = 5.5, y2 = 7.5.
	want := []float64{2.5 * 16, 3.5 * 16, 6 * 16, 8 * 16, 1 / (1 + math.Exp(-2))}
	for k, w := range want {
		if got := float64(out.Data[k*a+col]); math.Abs(got-w) > 1e-4*math.Abs(w) {
			t.Errorf("row %d = %v, want %v", k, got, w)
		}
	}
	// A cell with uniform bins: every side 7.5 bins; P3 cell 0 at (0.5, 0.5).
	for k, w := range []float64{0.5 * 8, 0.5 * 8, 15 * 8, 15 * 8, 0.5} {
		if got := float64(out.Data[k*a]); math.Abs(got-w) > 1e-4*math.Abs(w) {
			t.Errorf("uniform cell row %d = %v, want %v", k, got, w)
		}
	}
}
