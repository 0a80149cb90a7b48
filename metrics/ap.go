package metrics

import "sort"

// Points on the confidence (and recall) axis of the curves, as
// Ultralytics' np.linspace(0, 1, 1000).
const curvePoints = 1000

// eps is ap_per_class's guard against division by zero.
const eps = 1e-16

// computeAP is Ultralytics' compute_ap with method "interp": the recall
// and precision curves get sentinels (recall 0 and 1, precision 1 and
// 0), precision becomes its envelope (the running maximum from the
// right), and AP is the trapezoid integral of the envelope sampled at
// 101 recall points (COCO's interpolation). It returns AP, the envelope
// and the recall with sentinels.
func computeAP(recall, precision []float64, x101 []float64) (ap float64, mpre, mrec []float64) {
	n := len(recall) + 2
	mrec = make([]float64, n)
	mpre = make([]float64, n)
	mrec[n-1] = 1
	copy(mrec[1:], recall)
	mpre[0] = 1
	copy(mpre[1:], precision)
	for i := n - 2; i >= 0; i-- {
		mpre[i] = max(mpre[i], mpre[i+1])
	}
	y := make([]float64, len(x101))
	interp(y, x101, mrec, mpre, mpre[0], mpre[n-1])
	return trapz(y, x101), mpre, mrec
}

// apResult is what ap_per_class returns, per class that has labels
// (classes ascending).
type apResult struct {
	classes []int
	nt      []int
	ap      [][NumIoU]float64
	// Curves on px: precision, recall and F1 against confidence, and
	// precision against recall at IoU 0.5 (nil for a class without
	// predictions, which ap_per_class skips).
	px           []float64
	p, r, f1, pr [][]float64
	// best is the index in px of the maximum of the smoothed mean F1,
	// where P, R and F1 are read.
	best int
}

// apPerClass is Ultralytics' ap_per_class: predictions (true positives
// at each IoU, confidence, class) sorted by confidence, highest first,
// and per class with labels the recall and precision curves, AP at each
// IoU threshold and the P, R, F1 curves against confidence. Classes
// that only occur in predictions are ignored, as there.
func apPerClass(tp [][NumIoU]bool, conf []float32, predCls, targetCls []int) apResult {
	order := make([]int, len(conf))
	for i := range order {
		order[i] = i
	}
	// np.argsort(-conf); stable where numpy leaves ties unspecified.
	sort.SliceStable(order, func(i, j int) bool { return conf[order[i]] > conf[order[j]] })

	counts := map[int]int{}
	for _, c := range targetCls {
		counts[c]++
	}
	var res apResult
	for c := range counts {
		res.classes = append(res.classes, c)
	}
	sort.Ints(res.classes)
	nc := len(res.classes)
	res.nt = make([]int, nc)
	index := make(map[int]int, nc)
	for ci, c := range res.classes {
		res.nt[ci] = counts[c]
		index[c] = ci
	}
	byClass := make([][]int, nc)
	for _, i := range order {
		if ci, ok := index[predCls[i]]; ok {
			byClass[ci] = append(byClass[ci], i)
		}
	}

	res.px = linspace(0, 1, curvePoints)
	negPx := make([]float64, curvePoints)
	for i, v := range res.px {
		negPx[i] = -v
	}
	x101 := linspace(0, 1, 101)
	res.ap = make([][NumIoU]float64, nc)
	res.p, res.r, res.f1, res.pr = make([][]float64, nc), make([][]float64, nc), make([][]float64, nc), make([][]float64, nc)
	for ci := range nc {
		res.p[ci] = make([]float64, curvePoints)
		res.r[ci] = make([]float64, curvePoints)
		res.f1[ci] = make([]float64, curvePoints)
		idx := byClass[ci]
		nl, np := res.nt[ci], len(idx)
		if np == 0 || nl == 0 {
			continue
		}
		var recall, precision [NumIoU][]float64
		for j := range NumIoU {
			recall[j] = make([]float64, np)
			precision[j] = make([]float64, np)
		}
		xp := make([]float64, np)
		var tpc, fpc [NumIoU]int
		for k, i := range idx {
			xp[k] = -float64(conf[i])
			for j := range NumIoU {
				if tp[i][j] {
					tpc[j]++
				} else {
					fpc[j]++
				}
				recall[j][k] = float64(tpc[j]) / (float64(nl) + eps)
				precision[j][k] = float64(tpc[j]) / float64(tpc[j]+fpc[j])
			}
		}
		// xp is -conf, increasing, so the curves are read at -px.
		interp(res.r[ci], negPx, xp, recall[0], 0, recall[0][np-1])
		interp(res.p[ci], negPx, xp, precision[0], 1, precision[0][np-1])
		for j := range NumIoU {
			var mpre, mrec []float64
			res.ap[ci][j], mpre, mrec = computeAP(recall[j], precision[j], x101)
			if j == 0 {
				res.pr[ci] = make([]float64, curvePoints)
				interp(res.pr[ci], res.px, mrec, mpre, mpre[0], mpre[len(mpre)-1])
			}
		}
	}
	meanF1 := make([]float64, curvePoints)
	for ci := range nc {
		for i := range curvePoints {
			p, r := res.p[ci][i], res.r[ci][i]
			res.f1[ci][i] = float64(2*p*r) / (p + r + eps)
			meanF1[i] += res.f1[ci][i]
		}
	}
	if nc > 0 {
		for i := range meanF1 {
			meanF1[i] /= float64(nc)
		}
	}
	res.best = argmax(Smooth(meanF1, 0.1))
	return res
}
