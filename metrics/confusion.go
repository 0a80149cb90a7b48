package metrics

import (
	"fmt"
	"slices"
	"sort"
)

// ConfusionMatrix counts, as Ultralytics' ConfusionMatrix for detection,
// predicted class (rows) against true class (columns) over nc classes
// plus a background row and column: row nc holds the labels no
// prediction found, column nc the predictions that found no label.
type ConfusionMatrix struct {
	nc   int
	conf float32 // predictions at or below this confidence are ignored
	iou  float32 // a prediction matches a label above this IoU
	m    []float64
}

// NewConfusionMatrix returns an empty matrix for nc classes with
// Ultralytics' thresholds: confidence above 0.25, IoU above 0.45.
func NewConfusionMatrix(nc int) *ConfusionMatrix {
	if nc < 1 {
		panic(fmt.Sprintf("metrics.NewConfusionMatrix: %d classes, want at least 1", nc))
	}
	return &ConfusionMatrix{nc: nc, conf: 0.25, iou: 0.45, m: make([]float64, (nc+1)*(nc+1))}
}

// NumClasses returns nc, the number of classes without background.
func (cm *ConfusionMatrix) NumClasses() int { return cm.nc }

// Process adds one image, as ConfusionMatrix.process_batch. It returns
// an error, and adds nothing, when a class is outside [0, nc) or a
// number is not finite.
func (cm *ConfusionMatrix) Process(preds []Detection, labels []Label) error {
	if err := checkImage(cm.nc, preds, labels); err != nil {
		return fmt.Errorf("metrics: confusion matrix: %w", err)
	}
	cm.process(preds, labels)
	return nil
}

func (cm *ConfusionMatrix) add(pred, actual int) { cm.m[pred*(cm.nc+1)+actual]++ }

// process is process_batch on checked input. Labels and predictions are
// paired greedily by IoU whatever their classes; a label paired with a
// prediction counts in that prediction's row, an unpaired one in the
// background row. Unpaired predictions count in the background column
// only when at least one pair was found, a quirk of Ultralytics kept
// here.
func (cm *ConfusionMatrix) process(preds []Detection, labels []Label) {
	kept := make([]Detection, 0, len(preds))
	for _, p := range preds {
		if p.Score > cm.conf {
			kept = append(kept, p)
		}
	}
	if len(labels) == 0 {
		for _, p := range kept {
			cm.add(p.Class, cm.nc)
		}
		return
	}
	var matches []pair
	for l, lb := range labels {
		for d, p := range kept {
			if v := BoxIoU(lb.Box, p.Box); v > cm.iou {
				matches = append(matches, pair{l, d, v})
			}
		}
	}
	if len(matches) > 1 {
		byIoUDesc := func() {
			sort.SliceStable(matches, func(i, j int) bool { return matches[i].iou < matches[j].iou })
			slices.Reverse(matches)
		}
		byIoUDesc()
		matches = firstOf(matches, len(kept), func(p pair) int { return p.d })
		byIoUDesc()
		matches = firstOf(matches, len(labels), func(p pair) int { return p.l })
	}
	// After firstOf by label, each label has at most one pair.
	labelPred := make([]int, len(labels))
	for i := range labelPred {
		labelPred[i] = -1
	}
	predUsed := make([]bool, len(kept))
	for _, p := range matches {
		labelPred[p.l] = p.d
		predUsed[p.d] = true
	}
	for l, lb := range labels {
		if d := labelPred[l]; d >= 0 {
			cm.add(kept[d].Class, lb.Class)
		} else {
			cm.add(cm.nc, lb.Class)
		}
	}
	if len(matches) > 0 {
		for d, p := range kept {
			if !predUsed[d] {
				cm.add(p.Class, cm.nc)
			}
		}
	}
}

// firstOf is np.unique(key, return_index=True) applied to the pairs: the
// first pair of each key, ordered by key.
func firstOf(ps []pair, n int, key func(pair) int) []pair {
	first := make([]int, n)
	for i := range first {
		first[i] = -1
	}
	for i, p := range ps {
		if k := key(p); first[k] < 0 {
			first[k] = i
		}
	}
	out := make([]pair, 0, len(ps))
	for _, i := range first {
		if i >= 0 {
			out = append(out, ps[i])
		}
	}
	return out
}

// Matrix returns a copy of the counts: Matrix()[pred][true], nc+1 rows
// and columns, the last being background.
func (cm *ConfusionMatrix) Matrix() [][]float64 {
	n := cm.nc + 1
	out := make([][]float64, n)
	for i := range out {
		out[i] = slices.Clone(cm.m[i*n : (i+1)*n])
	}
	return out
}

// Normalized returns the matrix with each column divided by its sum
// (plus 1e-9, as Ultralytics' plot), so that a column shows where the
// labels of one true class went.
func (cm *ConfusionMatrix) Normalized() [][]float64 {
	out := cm.Matrix()
	n := cm.nc + 1
	for c := range n {
		s := 0.0
		for r := range n {
			s += out[r][c]
		}
		for r := range n {
			out[r][c] /= s + 1e-9
		}
	}
	return out
}

// TPFP returns, per class, the true positives (the diagonal) and false
// positives (the rest of its row, background included), as tp_fp.
func (cm *ConfusionMatrix) TPFP() (tp, fp []float64) {
	n := cm.nc + 1
	tp, fp = make([]float64, cm.nc), make([]float64, cm.nc)
	for c := range cm.nc {
		row := cm.m[c*n : (c+1)*n]
		s := 0.0
		for _, v := range row {
			s += v
		}
		tp[c] = row[c]
		fp[c] = s - row[c]
	}
	return tp, fp
}
