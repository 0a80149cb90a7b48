package metrics

import (
	"slices"
	"sort"
)

// pair is a candidate match of label l and detection d.
type pair struct {
	l, d int
	iou  float32
}

// matcher holds the buffers of matchPredictions between images.
type matcher struct {
	cand, kept []pair
	firstDet   []int
	firstLabel []int
	iou        []float32
}

// match is BaseValidator.match_predictions (without scipy) on one image:
// row t of the result says which detections are true positives at IoU
// threshold iouv[t].
//
// For each threshold the pairs of equal class with IoU >= threshold, in
// row-major (label, detection) order, are sorted by IoU, highest first;
// each detection keeps its first pair, which leaves them ordered by
// detection index; then each label keeps its first remaining pair, that
// is the one with the lowest detection index, not the highest IoU:
// Ultralytics does not sort again between the two steps, and neither does
// this.
func (m *matcher) match(preds []Detection, labels []Label) [][NumIoU]bool {
	nl, nd := len(labels), len(preds)
	correct := make([][NumIoU]bool, nd)
	if nl == 0 || nd == 0 {
		return correct
	}
	m.iou = slices.Grow(m.iou[:0], nl*nd)[:nl*nd]
	for l, lb := range labels {
		for d, p := range preds {
			v := float32(0) // iou * correct_class zeroes other classes
			if lb.Class == p.Class {
				v = BoxIoU(lb.Box, p.Box)
			}
			m.iou[l*nd+d] = v
		}
	}
	m.firstDet = slices.Grow(m.firstDet[:0], nd)[:nd]
	m.firstLabel = slices.Grow(m.firstLabel[:0], nl)[:nl]
	for t, thr := range iouv {
		m.cand = m.cand[:0]
		for l := range nl {
			for d := range nd {
				if v := m.iou[l*nd+d]; v >= thr {
					m.cand = append(m.cand, pair{l, d, v})
				}
			}
		}
		switch len(m.cand) {
		case 0:
			continue
		case 1:
			correct[m.cand[0].d][t] = true
			continue
		}
		// argsort()[::-1]: numpy sorts ascending and the result is
		// reversed, so among equal IoUs the later pair comes first.
		sort.SliceStable(m.cand, func(i, j int) bool { return m.cand[i].iou < m.cand[j].iou })
		slices.Reverse(m.cand)
		// np.unique(..., return_index=True) keeps the first occurrence of
		// each value and orders the result by value.
		for d := range m.firstDet {
			m.firstDet[d] = -1
		}
		for i, p := range m.cand {
			if m.firstDet[p.d] < 0 {
				m.firstDet[p.d] = i
			}
		}
		m.kept = m.kept[:0]
		for _, i := range m.firstDet {
			if i >= 0 {
				m.kept = append(m.kept, m.cand[i])
			}
		}
		for l := range m.firstLabel {
			m.firstLabel[l] = -1
		}
		for i, p := range m.kept {
			if m.firstLabel[p.l] < 0 {
				m.firstLabel[p.l] = i
			}
		}
		for _, i := range m.firstLabel {
			if i >= 0 {
				correct[m.kept[i].d][t] = true
			}
		}
	}
	return correct
}
