// Package metrics scores object detections the way Ultralytics 8.2.82's
// DetectionValidator does: true positives at the ten IoU thresholds
// 0.50:0.05:0.95 by its greedy matcher, AP by 101-point interpolation,
// precision and recall at the confidence of maximum mean F1, mAP50,
// mAP50-95, fitness, and the confusion matrix at conf 0.25, IoU 0.45.
//
// The arithmetic follows numpy's step by step (float32 IoU as torch
// computes it, float64 elsewhere, np.interp's rules, pairwise sums), so
// the numbers agree with Ultralytics' to rounding; testdata/ref holds
// the reference vectors. Where numpy sorts equal keys in an unspecified
// order (argsort of tied confidences or IoUs), a stable sort is used.
package metrics

import (
	"fmt"
	"math"
)

// Label is a ground-truth object: a box (x1, y1, x2, y2) in pixels and
// its class.
type Label struct {
	Box   [4]float32
	Class int
}

// Detection is a predicted object: a box (x1, y1, x2, y2) in pixels, its
// confidence and class. Its fields are those of yolo.Detection, so one
// converts to the other.
type Detection struct {
	Box   [4]float32
	Score float32
	Class int
}

// NumIoU is the number of IoU thresholds a prediction is scored at.
const NumIoU = 10

// iouv is torch.linspace(0.5, 0.95, 10) in float32, as the validator's
// iouv; each value is the float32 nearest the decimal.
var iouv = [NumIoU]float32{0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95}

// IoUThresholds returns the IoU thresholds, 0.50 to 0.95 in steps of 0.05.
func IoUThresholds() [NumIoU]float32 { return iouv }

// BoxIoU is the intersection over union of two xyxy boxes, computed in
// float32 in the order of Ultralytics' box_iou (with its eps of 1e-7), so
// that a pair at a threshold falls on the same side as there.
func BoxIoU(a, b [4]float32) float32 {
	w := max(min(a[2], b[2])-max(a[0], b[0]), 0)
	h := max(min(a[3], b[3])-max(a[1], b[1]), 0)
	// The conversions keep the compiler from fusing products into FMAs,
	// which would round differently from torch.
	inter := float32(w * h)
	areaA := float32((a[2] - a[0]) * (a[3] - a[1]))
	areaB := float32((b[2] - b[0]) * (b[3] - b[1]))
	return inter / (areaA + areaB - inter + 1e-7)
}

// checkImage reports the first detection or label that cannot be scored:
// a class outside [0, nc) or a coordinate or confidence that is NaN or
// infinite.
func checkImage(nc int, preds []Detection, labels []Label) error {
	for i, d := range preds {
		if d.Class < 0 || d.Class >= nc {
			return fmt.Errorf("detection %d: class %d outside [0, %d)", i, d.Class, nc)
		}
		if !finite32(d.Score) {
			return fmt.Errorf("detection %d: confidence %v is not finite", i, d.Score)
		}
		for _, v := range d.Box {
			if !finite32(v) {
				return fmt.Errorf("detection %d: box %v is not finite", i, d.Box)
			}
		}
	}
	for i, l := range labels {
		if l.Class < 0 || l.Class >= nc {
			return fmt.Errorf("label %d: class %d outside [0, %d)", i, l.Class, nc)
		}
		for _, v := range l.Box {
			if !finite32(v) {
				return fmt.Errorf("label %d: box %v is not finite", i, l.Box)
			}
		}
	}
	return nil
}

func finite32(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}
