package yolo

import (
	"fmt"
	"math"

	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/vmath"
)

// LossHyp holds the gains of the three loss terms: Ultralytics' box, cls
// and dfl hyperparameters.
type LossHyp struct {
	Box, Cls, DFL float64
}

// DefaultLossHyp returns Ultralytics' defaults (cfg/default.yaml): box
// 7.5, cls 0.5, dfl 1.5.
func DefaultLossHyp() LossHyp { return LossHyp{Box: 7.5, Cls: 0.5, DFL: 1.5} }

// Targets are the ground-truth boxes of a batch in the layout of
// Ultralytics' collate function: one entry per box, the three slices in
// step. The batch size is the maps' first dimension.
type Targets struct {
	Cls      []float32 // class index of each box
	Boxes    []float32 // 4 per box: centre x, centre y, width, height, as fractions of the input's width and height
	BatchIdx []float32 // index in the batch of each box's image
}

// dflMax is DFLoss's clamp, reg_max - 1 - 0.01: the right bin of a target
// distance is at most RegMax-1.
const dflMax = float32(RegMax - 1 - 0.01)

// Loss is Ultralytics 8.2's v8DetectionLoss with its backward pass: the
// task-aligned assigner, BCE on the class logits, CIoU on the decoded
// boxes and the distribution focal loss on the DFL logits, for the raw
// head maps of Model.Forward in training mode. Like a Model, a Loss serves
// one goroutine and reuses its buffers from batch to batch, so that a
// training step in steady state allocates nothing. A step:
//
//	maps := model.Forward(x) // model.SetTrain(true)
//	total, items, grads, err := loss.Compute(maps, targets)
//	nn.ZeroGrad(params)
//	model.Backward(grads)
type Loss struct {
	nc  int
	hyp LossHyp

	grads  [3]*tensor.Tensor
	levels [3]level
	na     int // anchors over the three levels

	gts     []gtBox // the batch's boxes, grouped by image in input order
	gtStart []int   // image b's boxes are gts[gtStart[b]:gtStart[b+1]]
	fg      []fgAnchor

	// The assigner's scratch space.
	cnt          []int32 // per anchor: how many boxes ranked it
	pd           [][4]float32
	pdStamp      []uint32 // pd[a] is valid for the current image when pdStamp[a] == stamp
	stamp        uint32
	cand         []candidate
	heap         []heapItem
	pos, fin     []pair
	posAl, posOv []float32

	// frozenAlpha makes the loss reuse each foreground anchor's CIoU alpha
	// from the last Compute: with it, the loss is the function whose
	// gradient Compute returns, which gradient checks need.
	frozenAlpha bool
}

// NewLoss returns the loss for a model with nc classes. It panics if nc <
// 1.
func NewLoss(nc int, hyp LossHyp) *Loss {
	if nc < 1 {
		panic(fmt.Sprintf("yolo.NewLoss: %d classes, want at least 1", nc))
	}
	l := &Loss{nc: nc, hyp: hyp, heap: make([]heapItem, talTopK)}
	for i := range l.grads {
		l.grads[i] = tensor.New(0)
	}
	return l
}

// Compute returns, for the head maps of Model.Forward in training mode
// and the batch's targets, what Ultralytics' v8DetectionLoss returns: the
// total that backward differentiates, (box + cls + dfl) times the batch
// size, and the three gained items (box, cls, dfl) it logs; and the
// gradients of the total with respect to the three maps, ready for
// Model.Backward. The gradients are owned by l and valid until its next
// Compute.
//
// As in PyTorch, the assignment of targets to anchors is a constant for
// the gradient (Ultralytics computes it under no_grad), and so is CIoU's
// aspect-ratio trade-off weight alpha; every other term (the decoded
// boxes' CIoU, the DFL cross-entropies and the BCE) carries gradients to
// the maps. The input size is that of the maps (P3's size times 8), as in
// Ultralytics.
//
// Compute fails, leaving the maps untouched, when the maps' shapes are not
// those of one model's three levels with l's classes, or when a target
// has a class or batch index out of range or a non-finite coordinate.
func (l *Loss) Compute(maps [3]*tensor.Tensor, t Targets) (total float32, items [3]float32, grads [3]*tensor.Tensor, err error) {
	fm, bs, err := l.setup(maps)
	if err != nil {
		return 0, items, grads, err
	}
	if err := l.setTargets(t, bs); err != nil {
		return 0, items, grads, err
	}
	l.sigmoid(fm, bs)
	l.fg = l.fg[:0]
	for b := range bs {
		g0, g1 := l.gtStart[b], l.gtStart[b+1]
		if g1 > g0 {
			l.assignImage(fm, b, l.gts[g0:g1], g0)
		}
	}
	it := l.losses(fm, bs)
	for i, v := range it {
		items[i] = float32(v)
	}
	return float32(float64(bs) * (it[0] + it[1] + it[2])), items, l.grads, nil
}

// fmap is a head map [N, 4*RegMax+nc, H, W] as the loss reads it.
type fmap struct {
	data   []float32
	no, hw int
}

// idx is the offset of channel ch at cell p of image b.
func (m fmap) idx(b, ch, p int) int { return (b*m.no+ch)*m.hw + p }

// cls reads class c's value at cell p of image b from buf, a tensor of
// the map's shape.
func (m fmap) cls(buf []float32, b, c, p int) float32 { return buf[m.idx(b, 4*RegMax+c, p)] }

// softmax returns the expectation Σ k·softmax_k of one side's RegMax DFL
// logits at cell p of image b and their log-sum-exp, and stores the
// softmax in prob unless it is nil.
func (m fmap) softmax(b, side, p int, prob *[RegMax]float64) (mean, lse float64) {
	base := m.idx(b, side*RegMax, p)
	var z [RegMax]float64
	mx := math.Inf(-1)
	for k := range z {
		z[k] = float64(m.data[base+k*m.hw])
		mx = max(mx, z[k])
	}
	var sum, wsum float64
	for k := range z {
		e := math.Exp(z[k] - mx)
		z[k] = e
		sum += e
		wsum += e * float64(k)
	}
	if prob != nil {
		for k := range z {
			prob[k] = z[k] / sum
		}
	}
	return wsum / sum, mx + math.Log(sum)
}

// expectation is the decoded distance of one side (softmax's mean).
func (m fmap) expectation(b, side, p int, prob *[RegMax]float64) float64 {
	mean, _ := m.softmax(b, side, p, prob)
	return mean
}

// setup checks the maps' shapes, sizes the gradients and the per-anchor
// buffers, and returns the maps' views and the batch size.
func (l *Loss) setup(maps [3]*tensor.Tensor) (fm [3]fmap, bs int, err error) {
	no := 4*RegMax + l.nc
	var h0, w0 int
	na := 0
	for i, m := range maps {
		if m == nil {
			return fm, 0, fmt.Errorf("yolo: loss: map %d is nil", i)
		}
		n, c, h, w, err := m.NCHW()
		if err != nil {
			return fm, 0, fmt.Errorf("yolo: loss: map %d: %w", i, err)
		}
		if i == 0 {
			bs, h0, w0 = n, h, w
		}
		s := strides[i] / strides[0]
		if n != bs || c != no || n < 1 || h < 1 || w < 1 || h*s != h0 || w*s != w0 {
			return fm, 0, fmt.Errorf("yolo: loss: map %d has shape %v, want [%d %d %d %d] (P%d of %d classes, batch and size from map 0 %v)",
				i, m.Shape, bs, no, h0/s, w0/s, i+3, l.nc, maps[0].Shape)
		}
		l.levels[i] = level{h: h, w: w, off: na, stride: float32(strides[i])}
		na += h * w
		fm[i] = fmap{data: m.Data, no: no, hw: h * w}
		l.grads[i].Reshape(m.Shape...)
	}
	l.na = na
	if cap(l.cnt) < na {
		l.cnt = make([]int32, na)
		l.pd = make([][4]float32, na)
		l.pdStamp = make([]uint32, na)
	}
	l.cnt, l.pd, l.pdStamp = l.cnt[:na], l.pd[:na], l.pdStamp[:na]
	return fm, bs, nil
}

// setTargets checks t and turns its boxes into pixel xyxy boxes grouped by
// image, as v8DetectionLoss.preprocess does.
func (l *Loss) setTargets(t Targets, bs int) error {
	n := len(t.Cls)
	if len(t.BatchIdx) != n || len(t.Boxes) != 4*n {
		return fmt.Errorf("yolo: loss: targets have %d classes, %d batch indices and %d box values, want n, n and 4n",
			n, len(t.BatchIdx), len(t.Boxes))
	}
	if cap(l.gtStart) < bs+1 {
		l.gtStart = make([]int, bs+1)
	}
	start := l.gtStart[:bs+1]
	clear(start)
	for i := range n {
		b, c := t.BatchIdx[i], t.Cls[i]
		if b != float32(int(b)) || b < 0 || int(b) >= bs {
			return fmt.Errorf("yolo: loss: target %d: batch index %v, want an integer in [0, %d)", i, b, bs)
		}
		if c != float32(int(c)) || c < 0 || int(c) >= l.nc {
			return fmt.Errorf("yolo: loss: target %d: class %v, want an integer in [0, %d)", i, c, l.nc)
		}
		for k, v := range t.Boxes[4*i : 4*i+4] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("yolo: loss: target %d: box coordinate %d is %v", i, k, v)
			}
		}
		start[int(b)+1]++
	}
	posMax := 0
	for b := range bs {
		posMax = max(posMax, start[b+1])
		start[b+1] += start[b]
	}
	if cap(l.gts) < n {
		l.gts = make([]gtBox, n)
	}
	l.gts = l.gts[:n]
	if cap(l.posAl) < posMax {
		l.posAl, l.posOv = make([]float32, posMax), make([]float32, posMax)
	}
	l.posAl, l.posOv = l.posAl[:posMax], l.posOv[:posMax]
	// Scale by the input size (w, h, w, h), then centre-size to corners,
	// in float32 as preprocess does; boxes keep their order within an
	// image. start[b] serves as image b's cursor and ends as image b+1's
	// start, so it is shifted back afterwards.
	iw := float32(l.levels[0].w) * l.levels[0].stride
	ih := float32(l.levels[0].h) * l.levels[0].stride
	for i := range n {
		b := int(t.BatchIdx[i])
		bx := t.Boxes[4*i : 4*i+4]
		x, y, w, h := bx[0]*iw, bx[1]*ih, bx[2]*iw, bx[3]*ih
		hw, hh := w/2, h/2
		g := gtBox{box: [4]float32{x - hw, y - hh, x + hw, y + hh}, cls: int32(t.Cls[i])}
		for _, v := range g.box {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("yolo: loss: target %d: box %v is out of range", i, bx)
			}
		}
		g.valid = g.box[0]+g.box[1]+g.box[2]+g.box[3] > 0
		l.gts[start[b]] = g
		start[b]++
	}
	copy(start[1:], start[:bs])
	start[0] = 0
	return nil
}

// sigmoid stores the class probabilities in the class channels of the
// gradient buffers, where the assigner reads them and the BCE turns them
// into gradients.
func (l *Loss) sigmoid(fm [3]fmap, bs int) {
	for i, m := range fm {
		g := l.grads[i].Data
		for b := range bs {
			lo, hi := m.idx(b, 4*RegMax, 0), m.idx(b+1, 0, 0)
			vmath.Sigmoid(g[lo:hi], m.data[lo:hi])
		}
	}
}

// locate returns the level of anchor a and its cell in that level.
func (l *Loss) locate(a int32) (int, int) {
	li := l.levelOf(int(a))
	return li, int(a) - l.levels[li].off
}

// losses computes the three gained loss terms for the assignment in l.fg
// and writes the gradient of the total into l.grads, whose class channels
// hold the class probabilities on entry.
func (l *Loss) losses(fm [3]fmap, bs int) [3]float64 {
	var sum float64
	for i := range l.fg {
		sum += float64(l.fg[i].score)
	}
	tss := float64(max(float32(sum), 1)) // max(target_scores.sum(), 1)
	kBox := l.hyp.Box * float64(bs) / tss
	kCls := l.hyp.Cls * float64(bs) / tss
	kDFL := l.hyp.DFL * float64(bs) / tss

	// Classification: BCE with logits summed over every anchor and class,
	// the targets being 0 except a foreground anchor's score at its box's
	// class. The sum Σ softplus(x) - x·y is taken as Σ softplus(x) over
	// everything minus Σ x·y over the foreground.
	for i := range l.fg {
		f := &l.fg[i]
		li, p := l.locate(f.anchor)
		f.sig = fm[li].cls(l.grads[li].Data, int(f.img), int(l.gts[f.gt].cls), p)
	}
	var cls float64
	for i, m := range fm {
		g := l.grads[i].Data
		for b := range bs {
			lo, hi := m.idx(b, 4*RegMax, 0), m.idx(b+1, 0, 0)
			cls += softplusSum(g[lo:hi], m.data[lo:hi], float32(kCls))
		}
	}
	for i := range l.fg {
		f := &l.fg[i]
		li, p := l.locate(f.anchor)
		j := fm[li].idx(int(f.img), 4*RegMax+int(l.gts[f.gt].cls), p)
		cls -= float64(fm[li].data[j]) * float64(f.score)
		l.grads[li].Data[j] = float32(kCls * float64(f.sig-f.score))
	}

	// Boxes: CIoU and DFL on the foreground anchors only.
	for i, m := range fm {
		g := l.grads[i].Data
		for b := range bs {
			clear(g[m.idx(b, 0, 0):m.idx(b, 4*RegMax, 0)])
		}
	}
	var box, dfl float64
	for i := range l.fg {
		bi, di := l.boxTerms(fm, &l.fg[i], kBox, kDFL)
		box += bi
		dfl += di
	}
	return [3]float64{l.hyp.Box * box / tss, l.hyp.Cls * cls / tss, l.hyp.DFL * dfl / tss}
}

// boxTerms returns foreground anchor f's weighted CIoU loss (1-CIoU)·w and
// DFL loss, and writes their gradients, times kBox and kDFL, into the DFL
// channels of l.grads.
func (l *Loss) boxTerms(fm [3]fmap, f *fgAnchor, kBox, kDFL float64) (box, dfl float64) {
	li, p := l.locate(f.anchor)
	m, lv := fm[li], &l.levels[li]
	g := l.grads[li].Data
	b := int(f.img)
	w := float64(f.score)

	var prob [4][RegMax]float64
	var dist, lse [4]float64
	for side := range 4 {
		dist[side], lse[side] = m.softmax(b, side, p, &prob[side])
	}
	ax32, ay32 := float32(p%lv.w)+0.5, float32(p/lv.w)+0.5
	ax, ay := float64(ax32), float64(ay32)
	pred := [4]float64{ax - dist[0], ay - dist[1], ax + dist[2], ay + dist[3]}
	gt := &l.gts[f.gt]
	var tb [4]float32 // the box in grid units (target_bboxes /= stride)
	var tb64 [4]float64
	for k := range tb {
		tb[k] = gt.box[k] / lv.stride
		tb64[k] = float64(tb[k])
	}
	if !l.frozenAlpha {
		f.alpha = ciouAlpha(pred, tb64)
	}
	c, dc := ciouGrad(pred, tb64, f.alpha)
	box = (1 - c) * w
	// x1 = ax - dist[0], x2 = ax + dist[2] (and y): the chain to the
	// distances, with d(total)/d(CIoU) = -kBox·w.
	kb := kBox * w
	ddist := [4]float64{kb * dc[0], kb * dc[1], -kb * dc[2], -kb * dc[3]}

	// DFL: target distances (bbox2dist, clamped to [0, 14.99]) split
	// between the two bins around them.
	ltrb := [4]float32{ax32 - tb[0], ay32 - tb[1], tb[2] - ax32, tb[3] - ay32}
	kd := kDFL * w / 4 // DFLoss averages the four sides
	for side := range 4 {
		t := min(max(ltrb[side], 0), dflMax)
		tl := int(t)
		wl := float32(tl+1) - t
		wr := 1 - wl
		z := func(k int) float64 { return float64(m.data[m.idx(b, side*RegMax+k, p)]) }
		dfl += ((lse[side]-z(tl))*float64(wl) + (lse[side]-z(tl+1))*float64(wr)) * w / 4
		wsum := float64(wl) + float64(wr)
		for k := range RegMax {
			pk := prob[side][k]
			gk := ddist[side]*pk*(float64(k)-dist[side]) + kd*wsum*pk
			switch k {
			case tl:
				gk -= kd * float64(wl)
			case tl + 1:
				gk -= kd * float64(wr)
			}
			g[m.idx(b, side*RegMax+k, p)] = float32(gk)
		}
	}
	return box, dfl
}

// softplusSum returns Σ softplus(x) = Σ log(1+e^x) for logits x whose
// sigmoids are in g, and replaces g by k·g (the BCE gradient for a target
// of 0). softplus(x) = max(x, 0) - log σ(|x|), and σ(|x|) is in [1/2, 1],
// so the logarithm is taken once per 64 elements, of their product.
func softplusSum(g, x []float32, k float32) float64 {
	g = g[:len(x)]
	var relu, logs float64
	prod := 1.0
	for i, v := range x {
		s := g[i]
		a := float64(s)
		if v < 0 {
			a = 1 - a
		}
		relu += float64(max(v, 0))
		prod *= a
		g[i] = s * k
		if i&63 == 63 {
			logs += math.Log(prod)
			prod = 1
		}
	}
	return relu - logs - math.Log(prod)
}
