package yolo

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// TestLossOnFixedMapsMatchesUltralytics checks the loss alone, with no
// model in the way: fixed synthetic head maps (a formula both sides
// compute), loss_ref.json's targets, and Ultralytics' v8DetectionLoss
// value and gradient with respect to each map (loss_maps_ref.json, made by
// gen_loss_maps_ref.py). TestLossMatchesUltralytics goes through the
// network as well, where float32 rounding in PyTorch's forward pass makes
// the comparison looser.
func TestLossOnFixedMapsMatchesUltralytics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "ref", "loss_maps_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		LossSum   float64    `json:"loss_sum_x_bs"`
		LossItems [3]float64 `json:"loss_items"`
		Grads     [3]struct {
			Norm   float64   `json:"norm"`
			Sum    float64   `json:"sum"`
			Values []float64 `json:"values"`
		} `json:"grads"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	ref := readLossRefFile(t, "loss_ref.json")
	const nc = 80
	b, sz := len(ref.Images), ref.Imgsz
	var maps [3]*tensor.Tensor
	for i, s := range []int{8, 16, 32} {
		m := tensor.New(b, 4*RegMax+nc, sz/s, sz/s)
		for j := range m.Data {
			k := int64(j) + int64(i)*1000003
			m.Data[j] = float32(float64((k*7919)%2001-1000) / 250)
		}
		maps[i] = m
	}
	total, items, grads, err := NewLoss(nc, DefaultLossHyp()).Compute(maps, ref.targets())
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-5
	if e := relErr(float64(total), want.LossSum, 1e-6); e > tol {
		t.Errorf("loss.sum() = %v, want %v (relative error %.2g)", total, want.LossSum, e)
	}
	for k, name := range []string{"box", "cls", "dfl"} {
		if e := relErr(float64(items[k]), want.LossItems[k], 1e-6); e > tol {
			t.Errorf("%s item = %v, want %v (relative error %.2g)", name, items[k], want.LossItems[k], e)
		}
	}
	for i, g := range grads {
		var norm, sum float64
		for _, v := range g.Data {
			norm += float64(v) * float64(v)
			sum += float64(v)
		}
		norm = math.Sqrt(norm)
		w := want.Grads[i]
		if e := relErr(norm, w.Norm, 1e-12); e > tol {
			t.Errorf("map %d: gradient norm %v, want %v (relative error %.2g)", i, norm, w.Norm, e)
		}
		if e := relErr(sum, w.Sum, w.Norm); e > tol {
			t.Errorf("map %d: gradient sum %v, want %v (relative error %.2g)", i, sum, w.Sum, e)
		}
		// Single values against the largest gradient value: most are tiny.
		var worst float64
		for k, v := range w.Values {
			worst = max(worst, math.Abs(float64(g.Data[k*97])-v)/w.Norm)
		}
		if worst > tol {
			t.Errorf("map %d: sampled gradient values differ by up to %.2g of the norm", i, worst)
		}
		t.Logf("map %d: norm %.9g (want %.9g), worst sampled value error %.2g of the norm", i, norm, w.Norm, worst)
	}
	t.Logf("loss %.9g (want %.9g), items %v (want %v)", total, want.LossSum, items, want.LossItems)
}
