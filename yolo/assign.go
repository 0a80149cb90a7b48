package yolo

import "math"

// The task-aligned assigner of Ultralytics 8.2 (utils/tal.py
// TaskAlignedAssigner, as v8DetectionLoss builds it: topk 10, alpha 0.5,
// beta 6, eps 1e-9). For every ground-truth box it ranks the anchors whose
// centres lie strictly inside the box by the alignment metric
// score^alpha * CIoU^beta (score: the predicted probability of the box's
// class; CIoU between the box and the anchor's predicted box, clamped at
// 0), keeps the top k, gives an anchor claimed by several boxes to the one
// it overlaps most, and scores each foreground anchor with its metric
// normalised so that the box's best anchor gets the box's best CIoU.
//
// Ultralytics computes the metric for every (box, anchor) pair and masks
// it; here only the anchors inside a box are visited, which gives the same
// result because the metric of every other anchor is 0, and a 0 never
// displaces a member of PyTorch's top-k heap (see topK). The arithmetic
// that decides rankings (box corners, CIoU, the metric, the
// normalisation) is done in float32 in PyTorch's order; the predicted
// distances are computed in float64 and rounded.
const (
	talTopK = 10
	talEps  = 1e-9
	// alpha 0.5 and beta 6 are written into metric's arithmetic.
)

// gtBox is one ground-truth box in input pixels, as v8DetectionLoss's
// preprocess makes it: normalised xywh times the image size, then xyxy,
// in float32.
type gtBox struct {
	box   [4]float32
	cls   int32
	valid bool // Ultralytics' mask_gt: x1+y1+x2+y2 > 0
}

// level is one detection level's anchor grid.
type level struct {
	h, w, off int // grid size and the index of its first anchor
	stride    float32
}

// candidate is an anchor inside a box, with the box's CIoU with the
// anchor's predicted box and the alignment metric.
type candidate struct {
	anchor     int32
	ov, metric float32
}

// heapItem is an entry of PyTorch's top-k queue: a metric and an anchor;
// cand is the candidate's index, or -1 for an anchor outside the box.
type heapItem struct {
	v      float32
	anchor int32
	cand   int32
}

// pair is a (box, anchor) assignment with its CIoU and metric.
type pair struct {
	gt, anchor int32
	ov, metric float32
}

// fgAnchor is a foreground anchor: the image, the anchor (over the three
// levels), the box it is assigned (an index into Loss.gts) and its target
// score. sig keeps the predicted probability of the box's class, needed
// for the classification gradient after the buffer holding it is scaled;
// alpha is CIoU's trade-off weight, a constant for the gradient.
type fgAnchor struct {
	img, anchor, gt int32
	score, sig      float32
	alpha           float64
}

// assignImage runs the assigner on image b, whose boxes are gts (indices
// gtBase.. in Loss.gts), and appends its foreground anchors to l.fg. The
// class probabilities are in l.grads (cls channels), the DFL logits in
// maps.
func (l *Loss) assignImage(maps [3]fmap, b int, gts []gtBox, gtBase int) {
	cnt := l.cnt[:l.na]
	clear(cnt)
	l.stamp++
	if l.stamp == 0 { // wrapped: forget every cached box
		clear(l.pdStamp)
		l.stamp = 1
	}
	l.pos = l.pos[:0]
	for g := range gts {
		if !gts[g].valid {
			continue
		}
		l.candidates(maps, b, &gts[g])
		for _, it := range l.topK() {
			if it.cand < 0 {
				continue // an anchor outside the box: masked by mask_in_gts
			}
			c := l.cand[it.cand]
			l.pos = append(l.pos, pair{int32(g), c.anchor, c.ov, c.metric})
			cnt[c.anchor]++
		}
	}
	// select_highest_overlaps: an anchor in the top k of several boxes goes
	// to the box with the largest CIoU among all boxes of the image (the
	// first on a tie, or box 0 when every CIoU is 0), whether or not that
	// box ranked it.
	l.fin = l.fin[:0]
	for _, p := range l.pos {
		switch c := cnt[p.anchor]; {
		case c == 1:
			l.fin = append(l.fin, p)
		case c > 1:
			cnt[p.anchor] = -1 // resolved once
			best := pair{gt: 0, anchor: p.anchor}
			for g := range gts {
				var ov, m float32
				if gts[g].valid && l.inside(&gts[g], int(p.anchor)) {
					ov, m = l.metric(maps, b, &gts[g], int(p.anchor))
				}
				if g == 0 || ov > best.ov {
					best = pair{int32(g), p.anchor, ov, m}
				}
			}
			l.fin = append(l.fin, best)
		}
	}
	// Normalise: each box's anchors scaled so the best metric maps to the
	// best CIoU among the box's final anchors.
	posAl, posOv := l.posAl[:len(gts)], l.posOv[:len(gts)]
	clear(posAl)
	clear(posOv)
	for _, p := range l.fin {
		posAl[p.gt] = max(posAl[p.gt], p.metric)
		posOv[p.gt] = max(posOv[p.gt], p.ov)
	}
	for _, p := range l.fin {
		score := float32(p.metric*posOv[p.gt]) / float32(posAl[p.gt]+float32(talEps))
		l.fg = append(l.fg, fgAnchor{img: int32(b), anchor: p.anchor, gt: int32(gtBase) + p.gt, score: score})
	}
}

// candidates fills l.cand with the anchors whose centres lie strictly
// inside box (select_candidates_in_gts), in anchor order, with their
// CIoU and metric.
func (l *Loss) candidates(maps [3]fmap, b int, gt *gtBox) {
	l.cand = l.cand[:0]
	for li := range l.levels {
		lv := &l.levels[li]
		c0, c1 := insideRange(gt.box[0], gt.box[2], lv.w, lv.stride)
		r0, r1 := insideRange(gt.box[1], gt.box[3], lv.h, lv.stride)
		for r := r0; r < r1; r++ {
			for c := c0; c < c1; c++ {
				a := lv.off + r*lv.w + c
				ov, m := l.metric(maps, b, gt, a)
				l.cand = append(l.cand, candidate{anchor: int32(a), ov: ov, metric: m})
			}
		}
	}
}

// insideRange returns the cells [i0, i1) of a row of n cells of size s
// whose centres (i+0.5)*s lie strictly between lo and hi, with PyTorch's
// test: both differences, in float32, above eps 1e-9.
func insideRange(lo, hi float32, n int, s float32) (int, int) {
	i0, i1 := n, n
	for i := range n {
		if centreInside(lo, hi, i, s) {
			i0 = i
			break
		}
	}
	for i := i0; i < n; i++ {
		if !centreInside(lo, hi, i, s) {
			i1 = i
			break
		}
	}
	return i0, i1
}

func centreInside(lo, hi float32, i int, s float32) bool {
	c := (float32(i) + 0.5) * s
	return c-lo > float32(talEps) && hi-c > float32(talEps)
}

// inside reports whether anchor a's centre lies inside gt.
func (l *Loss) inside(gt *gtBox, a int) bool {
	lv := &l.levels[l.levelOf(a)]
	p := a - lv.off
	return centreInside(gt.box[0], gt.box[2], p%lv.w, lv.stride) &&
		centreInside(gt.box[1], gt.box[3], p/lv.w, lv.stride)
}

// metric returns the clamped CIoU between gt and anchor a's predicted box
// and the alignment metric score^alpha * CIoU^beta.
func (l *Loss) metric(maps [3]fmap, b int, gt *gtBox, a int) (ov, m float32) {
	pb := l.predBox(maps, b, a)
	ov = ciou(gt.box, pb)
	if ov < 0 {
		ov = 0 // clamp_(0), which leaves NaN alone
	}
	li := l.levelOf(a)
	s := maps[li].cls(l.grads[li].Data, b, int(gt.cls), a-l.levels[li].off)
	sa := float32(math.Sqrt(float64(s))) // s^alpha, alpha 0.5
	o := float64(ov)
	o3 := o * o * o
	ob := float32(o3 * o3) // ov^beta, beta 6, within 2 float64 roundings
	return ov, sa * ob
}

// predBox returns anchor a's predicted box in input pixels (the
// expectation of each side's DFL distribution, measured from the cell
// centre, times the stride: bbox_decode, then the assigner's pd_bboxes),
// cached for the image being assigned.
func (l *Loss) predBox(maps [3]fmap, b, a int) [4]float32 {
	if l.pdStamp[a] == l.stamp {
		return l.pd[a]
	}
	li := l.levelOf(a)
	lv := &l.levels[li]
	p := a - lv.off
	ax, ay := float32(p%lv.w)+0.5, float32(p/lv.w)+0.5
	var d [4]float32
	for side := range d {
		d[side] = maps[li].dist(b, side, p)
	}
	s := lv.stride
	box := [4]float32{(ax - d[0]) * s, (ay - d[1]) * s, (ax + d[2]) * s, (ay + d[3]) * s}
	l.pd[a], l.pdStamp[a] = box, l.stamp
	return box
}

// dist is the distance one side's DFL distribution at cell p of image b
// predicts, Σ k·softmax_k, for the assigner: computed in float64 and
// rounded to float32. The DFL expectations of every anchor inside a box
// are most of the assigner's time, so e^x is written out here, which
// takes half the time of calling math.Exp: for x <= 0, e^x = 2^(k/64)·e^r
// with k = round(64x/ln2), |r| <= ln2/128 and e^r by its Taylor series to
// r^4 (relative error below 1e-13); 0 below -700.
func (m fmap) dist(b, side, p int) float32 {
	const (
		round = 0x1.8p52 // adding it rounds |t| < 2^51 to an integer
		ln2Hi = 6.93147180369123816490e-01 / 64
		ln2Lo = 1.90821492927058770002e-10 / 64
	)
	base := m.idx(b, side*RegMax, p)
	var z [RegMax]float32
	mx := m.data[base]
	for k := range z {
		z[k] = m.data[base+k*m.hw]
		mx = max(mx, z[k])
	}
	var sum, wsum float64
	for k, v := range z {
		x := float64(v - mx)
		var e float64
		if x >= -700 {
			f := x*(64/math.Ln2) + round
			n := int64(math.Float64bits(f) - math.Float64bits(round))
			kf := f - round
			r := x - kf*ln2Hi - kf*ln2Lo
			e = exp2Tab[n&63] * (1 + r*(1+r*(1./2+r*(1./6+r*(1./24)))))
			e = math.Float64frombits(math.Float64bits(e) + uint64(n>>6)<<52)
		} else if x != x {
			e = x
		}
		sum += e
		wsum += e * float64(k)
	}
	return float32(wsum / sum)
}

// exp2Tab holds 2^(j/64), j = 0..63. Read-only.
var exp2Tab = func() (t [64]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 64)
	}
	return t
}()

// levelOf returns the level of anchor a.
func (l *Loss) levelOf(a int) int {
	switch {
	case a < l.levels[1].off:
		return 0
	case a < l.levels[2].off:
		return 1
	}
	return 2
}

// topK returns the k entries PyTorch's torch.topk(metric, 10) selects
// among all anchors for one box, from the candidates in l.cand (every
// other anchor has metric 0). For a dimension of at least 64*k entries,
// PyTorch 1.13 (the reference's version) runs libstdc++'s
// std::partial_sort on CPU, whose heap selection this follows step by
// step: build a heap of the first k anchors, then let each later anchor
// whose metric is larger than the heap's minimum replace it. With fewer
// than k positive metrics the zeros that stay are those the heap happens
// to keep; which ones matters, since such an anchor inside the box becomes
// foreground (with target score 0). Below 640 anchors (inputs under 192
// px) PyTorch uses nth_element instead, and later versions replace the
// heap's top by pop_heap and push_heap: either may keep other zeros.
func (l *Loss) topK() []heapItem {
	h := l.heap[:talTopK]
	for j := range h {
		h[j] = heapItem{anchor: int32(j), cand: -1}
	}
	ci := 0
	for ; ci < len(l.cand) && int(l.cand[ci].anchor) < talTopK; ci++ {
		c := &l.cand[ci]
		h[c.anchor] = heapItem{c.metric, c.anchor, int32(ci)}
	}
	makeHeap(h)
	for ; ci < len(l.cand); ci++ {
		c := &l.cand[ci]
		it := heapItem{c.metric, c.anchor, int32(ci)}
		if topGreater(it, h[0]) {
			adjustHeap(h, 0, it)
		}
	}
	return h
}

// topGreater is torch.topk's comparator for largest=True: NaN first,
// then larger values.
func topGreater(x, y heapItem) bool {
	xn, yn := x.v != x.v, y.v != y.v
	return (xn && !yn) || x.v > y.v
}

// makeHeap is libstdc++'s std::__make_heap with comparator topGreater (a
// heap with the smallest metric on top).
func makeHeap(h []heapItem) {
	n := len(h)
	if n < 2 {
		return
	}
	for parent := (n - 2) / 2; ; parent-- {
		adjustHeap(h, parent, h[parent])
		if parent == 0 {
			return
		}
	}
}

// adjustHeap is libstdc++'s std::__adjust_heap: it moves the hole at
// index hole down to a leaf along the smaller children, then pushes v up
// from there.
func adjustHeap(h []heapItem, hole int, v heapItem) {
	n := len(h)
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if topGreater(h[child], h[child-1]) {
			child--
		}
		h[hole] = h[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		h[hole] = h[child-1]
		hole = child - 1
	}
	parent := (hole - 1) / 2
	for hole > top && topGreater(h[parent], v) {
		h[hole] = h[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	h[hole] = v
}
