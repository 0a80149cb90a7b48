package yolo

import "math"

// Box arithmetic of the training loss: Ultralytics 8.2's bbox_iou with
// CIoU=True (utils/metrics.py) and its gradient. Boxes are (x1, y1, x2,
// y2).

// ciouEps is bbox_iou's eps.
const ciouEps = 1e-7

// fourOverPi2 is CIoU's 4/π², the weight of the aspect-ratio term.
const fourOverPi2 = 4 / (math.Pi * math.Pi)

// ciou is bbox_iou(b1, b2, xywh=False, CIoU=True), operation for operation
// in the precision F: the assigner runs it in float32, as PyTorch does, so
// that rankings and ties come out the same. The explicit conversions
// round every product, which keeps the compiler from fusing a
// multiply-add that PyTorch does in two roundings.
func ciou[F float32 | float64](b1, b2 [4]F) F {
	eps := F(ciouEps)
	w1, h1 := b1[2]-b1[0], b1[3]-b1[1]+eps
	w2, h2 := b2[2]-b2[0], b2[3]-b2[1]+eps
	iw := max(min(b1[2], b2[2])-max(b1[0], b2[0]), 0)
	ih := max(min(b1[3], b2[3])-max(b1[1], b2[1]), 0)
	inter := F(iw * ih)
	union := F(w1*h1) + F(w2*h2) - inter + eps
	iou := inter / union
	cw := max(b1[2], b2[2]) - min(b1[0], b2[0])
	ch := max(b1[3], b2[3]) - min(b1[1], b2[1])
	c2 := F(cw*cw) + F(ch*ch) + eps
	dx := b2[0] + b2[2] - b1[0] - b1[2]
	dy := b2[1] + b2[3] - b1[1] - b1[3]
	rho2 := (F(dx*dx) + F(dy*dy)) / 4
	d := F(math.Atan(float64(w2/h2))) - F(math.Atan(float64(w1/h1)))
	v := F(fourOverPi2) * F(d*d)
	alpha := v / (v - iou + F(1+ciouEps))
	return iou - (rho2/c2 + F(v*alpha))
}

// ciouAlpha returns CIoU's trade-off weight alpha = v/(v - IoU + 1 + eps)
// for p and t.
func ciouAlpha(p, t [4]float64) float64 {
	const eps = ciouEps
	w1, h1 := p[2]-p[0], p[3]-p[1]+eps
	w2, h2 := t[2]-t[0], t[3]-t[1]+eps
	inter := max(min(p[2], t[2])-max(p[0], t[0]), 0) * max(min(p[3], t[3])-max(p[1], t[1]), 0)
	iou := inter / (w1*h1 + w2*h2 - inter + eps)
	d := math.Atan(w2/h2) - math.Atan(w1/h1)
	v := fourOverPi2 * d * d
	return v / (v - iou + 1 + eps)
}

// ciouGrad returns CIoU(p, t) computed with the given alpha (ciouAlpha(p,
// t) for CIoU itself) and its gradient with respect to the four
// coordinates of p, as PyTorch's autograd finds it through bbox_iou: alpha
// is a constant (bbox_iou computes it under no_grad), min and max split
// the gradient evenly between equal arguments, and clamp(0) passes it
// where its input is >= 0.
func ciouGrad(p, t [4]float64, alpha float64) (float64, [4]float64) {
	const eps = ciouEps
	w1, h1 := p[2]-p[0], p[3]-p[1]+eps
	w2, h2 := t[2]-t[0], t[3]-t[1]+eps

	ix2, dix2 := minGrad(p[2], t[2])
	ix1, dix1 := maxGrad(p[0], t[0])
	iy2, diy2 := minGrad(p[3], t[3])
	iy1, diy1 := maxGrad(p[1], t[1])
	iwRaw, ihRaw := ix2-ix1, iy2-iy1
	iw, ih := max(iwRaw, 0), max(ihRaw, 0)
	var gw, gh float64
	if iwRaw >= 0 {
		gw = 1
	}
	if ihRaw >= 0 {
		gh = 1
	}
	inter := iw * ih
	union := w1*h1 + w2*h2 - inter + eps
	iou := inter / union

	cx2, dcx2 := maxGrad(p[2], t[2])
	cx1, dcx1 := minGrad(p[0], t[0])
	cy2, dcy2 := maxGrad(p[3], t[3])
	cy1, dcy1 := minGrad(p[1], t[1])
	cw, ch := cx2-cx1, cy2-cy1
	c2 := cw*cw + ch*ch + eps

	dx := t[0] + t[2] - p[0] - p[2]
	dy := t[1] + t[3] - p[1] - p[3]
	rho2 := (dx*dx + dy*dy) / 4

	r := w1 / h1
	d := math.Atan(w2/h2) - math.Atan(r)
	v := fourOverPi2 * d * d
	c := iou - (rho2/c2 + v*alpha)

	// Partial derivatives with respect to (x1, y1, x2, y2) of p.
	dInter := [4]float64{-ih * gw * dix1, -iw * gh * diy1, ih * gw * dix2, iw * gh * diy2}
	dArea := [4]float64{-h1, -w1, h1, w1} // of w1*h1
	dC2 := [4]float64{-2 * cw * dcx1, -2 * ch * dcy1, 2 * cw * dcx2, 2 * ch * dcy2}
	dRho2 := [4]float64{-dx / 2, -dy / 2, -dx / 2, -dy / 2}
	// v = k (atan(w2/h2) - atan(r))², r = w1/h1.
	q := -2 * fourOverPi2 * d / (1 + r*r)
	dV := [4]float64{-q / h1, q * w1 / (h1 * h1), q / h1, -q * w1 / (h1 * h1)}
	var g [4]float64
	for i := range g {
		dUnion := dArea[i] - dInter[i]
		dIoU := dInter[i]/union - inter*dUnion/(union*union)
		g[i] = dIoU - (dRho2[i]/c2 - rho2*dC2[i]/(c2*c2) + alpha*dV[i])
	}
	return c, g
}

// minGrad returns min(a, b) and its derivative with respect to a, as
// torch.minimum's backward: 1 where a is smaller, 1/2 on a tie.
func minGrad(a, b float64) (float64, float64) {
	switch {
	case a < b:
		return a, 1
	case a == b:
		return a, 0.5
	}
	return b, 0
}

// maxGrad returns max(a, b) and its derivative with respect to a.
func maxGrad(a, b float64) (float64, float64) {
	switch {
	case a > b:
		return a, 1
	case a == b:
		return a, 0.5
	}
	return b, 0
}
