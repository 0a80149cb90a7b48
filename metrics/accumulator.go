package metrics

import (
	"fmt"
	"slices"
)

// Keys are the names Ultralytics gives DetMetrics' four means in
// results.csv and its metric logs, in the order of MeanResults.
func Keys() []string {
	return []string{"metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)"}
}

// DetMetrics are the scores of a validation run, as Ultralytics'
// DetMetrics and DetectionValidator report them.
type DetMetrics struct {
	// Precision and Recall are the means over classes with labels of
	// their values at the confidence where the smoothed mean F1 peaks.
	Precision, Recall float64
	// MAP50, MAP75 and MAP5095 are the mean AP at IoU 0.5, 0.75 and
	// averaged over 0.50:0.05:0.95.
	MAP50, MAP75, MAP5095 float64
	// Fitness is 0.1 mAP50 + 0.9 mAP50-95, which picks best.pt.
	Fitness float64
	// PerClass has one entry per class with labels, classes ascending;
	// empty when no prediction was a true positive (Ultralytics then
	// leaves every metric at 0).
	PerClass []ClassMetrics
	// Images is the number of images added; Instances the number of
	// labels.
	Images, Instances int
	// ClassImages and ClassInstances count, for every class 0..nc-1, the
	// images that have a label of it and its labels.
	ClassImages, ClassInstances []int
	// Curves are those behind the metrics, for plotting.
	Curves Curves
}

// MeanResults returns precision, recall, mAP50 and mAP50-95, in the
// order of Keys.
func (m DetMetrics) MeanResults() []float64 {
	return []float64{m.Precision, m.Recall, m.MAP50, m.MAP5095}
}

// ClassMetrics are the scores of one class.
type ClassMetrics struct {
	Class             int
	Images, Instances int
	// Precision, Recall and F1 at the confidence where the smoothed mean
	// F1 over all classes peaks.
	Precision, Recall, F1 float64
	// AP at each IoU threshold of IoUThresholds; AP50 is AP[0] and
	// AP5095 their mean.
	AP           [NumIoU]float64
	AP50, AP5095 float64
}

// Curves are Ultralytics' curves_results: each row is one class of
// Classes, sampled at the 1000 points of X (0 to 1).
type Curves struct {
	X       []float64
	Classes []int
	// Precision, Recall and F1 against the confidence threshold X.
	Precision, Recall, F1 [][]float64
	// PR is precision against recall X at IoU 0.5 (the envelope whose
	// integral is AP50); nil for a class that has no prediction, which
	// Ultralytics leaves out of its PR plot and its mean.
	PR [][]float64
	// AP50 of each class, for the PR plot's legend.
	AP50 []float64
	// BestIndex is the index in X of the maximum of the smoothed mean F1.
	BestIndex int
}

// Accumulator collects the predictions and labels of a validation run
// image by image, as DetectionValidator.update_metrics, and scores them
// at the end. The zero value is not usable; use NewAccumulator.
type Accumulator struct {
	nc     int
	images int
	// The stats of update_metrics, concatenated over images.
	tp        [][NumIoU]bool
	conf      []float32
	predCls   []int
	targetCls []int
	classImgs []int
	cm        *ConfusionMatrix
	m         matcher
}

// NewAccumulator returns an empty accumulator for nc classes, with a
// confusion matrix at Ultralytics' conf 0.25 and IoU 0.45.
func NewAccumulator(nc int) *Accumulator {
	if nc < 1 {
		panic(fmt.Sprintf("metrics.NewAccumulator: %d classes, want at least 1", nc))
	}
	return &Accumulator{nc: nc, classImgs: make([]int, nc), cm: NewConfusionMatrix(nc)}
}

// Add scores one image: its predictions (after NMS, boxes in the same
// pixels as the labels) against its labels. It returns an error, and
// records nothing, when a class is outside [0, nc) or a number is not
// finite.
//
// As update_metrics, an image without predictions adds only its labels
// (to recall and to the confusion matrix's missed row), one without
// labels adds its predictions as false positives to the AP but not to
// the confusion matrix, and one with neither counts only as seen.
func (a *Accumulator) Add(preds []Detection, labels []Label) error {
	if err := checkImage(a.nc, preds, labels); err != nil {
		return fmt.Errorf("metrics: image %d: %w", a.images, err)
	}
	a.images++
	if len(labels) > 0 {
		seen := make([]bool, a.nc)
		for _, l := range labels {
			a.targetCls = append(a.targetCls, l.Class)
			if !seen[l.Class] {
				seen[l.Class] = true
				a.classImgs[l.Class]++
			}
		}
		a.cm.process(preds, labels)
	}
	if len(preds) == 0 {
		return nil
	}
	a.tp = append(a.tp, a.m.match(preds, labels)...)
	for _, p := range preds {
		a.conf = append(a.conf, p.Score)
		a.predCls = append(a.predCls, p.Class)
	}
	return nil
}

// ConfusionMatrix returns the confusion matrix of the images added so
// far; it is the accumulator's own, so Add keeps changing it.
func (a *Accumulator) ConfusionMatrix() *ConfusionMatrix { return a.cm }

// Result scores what has been added, as DetectionValidator.get_stats and
// DetMetrics.process. It can be called more than once.
func (a *Accumulator) Result() DetMetrics {
	m := DetMetrics{
		Images:         a.images,
		Instances:      len(a.targetCls),
		ClassImages:    slices.Clone(a.classImgs),
		ClassInstances: make([]int, a.nc),
	}
	for _, c := range a.targetCls {
		m.ClassInstances[c]++
	}
	anyTP := false
	for _, t := range a.tp {
		for _, v := range t {
			anyTP = anyTP || v
		}
	}
	if !anyTP {
		return m
	}
	r := apPerClass(a.tp, a.conf, a.predCls, a.targetCls)
	nc := len(r.classes)
	p, rc := make([]float64, nc), make([]float64, nc)
	ap50, ap75 := make([]float64, nc), make([]float64, nc)
	all := make([]float64, 0, nc*NumIoU)
	m.PerClass = make([]ClassMetrics, nc)
	for ci, c := range r.classes {
		cmet := ClassMetrics{
			Class:     c,
			Images:    a.classImgs[c],
			Instances: r.nt[ci],
			Precision: r.p[ci][r.best],
			Recall:    r.r[ci][r.best],
			F1:        r.f1[ci][r.best],
			AP:        r.ap[ci],
			AP50:      r.ap[ci][0],
			AP5095:    mean(r.ap[ci][:]),
		}
		m.PerClass[ci] = cmet
		p[ci], rc[ci] = cmet.Precision, cmet.Recall
		ap50[ci], ap75[ci] = r.ap[ci][0], r.ap[ci][5]
		all = append(all, r.ap[ci][:]...)
	}
	m.Precision, m.Recall = mean(p), mean(rc)
	m.MAP50, m.MAP75, m.MAP5095 = mean(ap50), mean(ap75), mean(all)
	// Metric.fitness: the weighted sum [0, 0, 0.1, 0.9] of mean_results.
	m.Fitness = float64(m.MAP50*0.1) + float64(m.MAP5095*0.9)
	m.Curves = Curves{
		X: r.px, Classes: r.classes,
		Precision: r.p, Recall: r.r, F1: r.f1, PR: r.pr,
		AP50: ap50, BestIndex: r.best,
	}
	return m
}
