package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/yolops/yolops/imgproc"
)

// Hyp holds the augmentation hyperparameters of Ultralytics 8.2's
// default.yaml that detection training uses (the names in brackets).
// Probabilities are in [0, 1]; the others are fractions or degrees, as
// Ultralytics reads them.
type Hyp struct {
	HSVH        float64 // hue gain, a fraction of the hue circle [hsv_h]
	HSVS        float64 // saturation gain [hsv_s]
	HSVV        float64 // value (brightness) gain [hsv_v]
	Degrees     float64 // rotation, +/- degrees [degrees]
	Translate   float64 // translation, +/- fraction of the image [translate]
	Scale       float64 // scale gain, +/- fraction [scale]
	Shear       float64 // shear, +/- degrees [shear]
	Perspective float64 // perspective, +/- fraction (0 to 0.001 is sensible) [perspective]
	FlipUD      float64 // probability of flipping top to bottom [flipud]
	FlipLR      float64 // probability of flipping left to right [fliplr]
	Mosaic      float64 // probability of a 4-image mosaic [mosaic]
	Mixup       float64 // probability of mixing in a second sample [mixup]
	// CopyPaste is Ultralytics' copy_paste probability. It pastes
	// segmentation masks; detection labels have none, so, as in
	// Ultralytics, it changes nothing here.
	CopyPaste float64
}

// DefaultHyp returns Ultralytics 8.2's defaults (cfg/default.yaml).
func DefaultHyp() Hyp {
	return Hyp{
		HSVH: 0.015, HSVS: 0.7, HSVV: 0.4,
		Translate: 0.1, Scale: 0.5,
		FlipLR: 0.5,
		Mosaic: 1.0,
	}
}

// Validate reports the first hyperparameter that is not finite, is
// negative, or, for a probability, exceeds 1.
func (h Hyp) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
		prob bool
	}{
		{"hsv_h", h.HSVH, false}, {"hsv_s", h.HSVS, false}, {"hsv_v", h.HSVV, false},
		{"degrees", h.Degrees, false}, {"translate", h.Translate, false}, {"scale", h.Scale, false},
		{"shear", h.Shear, false}, {"perspective", h.Perspective, false},
		{"flipud", h.FlipUD, true}, {"fliplr", h.FlipLR, true}, {"mosaic", h.Mosaic, true},
		{"mixup", h.Mixup, true}, {"copy_paste", h.CopyPaste, true},
	} {
		switch {
		case math.IsNaN(f.v) || math.IsInf(f.v, 0):
			return fmt.Errorf("hyperparameter %s = %v: not a finite number", f.name, f.v)
		case f.v < 0:
			return fmt.Errorf("hyperparameter %s = %v: must not be negative", f.name, f.v)
		case f.prob && f.v > 1:
			return fmt.Errorf("hyperparameter %s = %v: a probability, must be at most 1", f.name, f.v)
		}
	}
	return nil
}

// draws is where the augmentations take their random numbers. Each
// method stands for the Python call Ultralytics makes at that point
// (Python's random module or numpy's), so that the same transforms can
// be replayed in tests with the numbers Ultralytics drew.
type draws interface {
	random() float64                  // random.random(), in [0, 1)
	uniform(a, b float64) float64     // random.uniform(a, b)
	choice(pool []int) int            // one pick of random.choices(pool)
	randint(a, b int) int             // random.randint(a, b), both ends included
	uniform3(a, b float64) [3]float64 // np.random.uniform(a, b, 3)
	beta(alpha, beta float64) float64 // np.random.beta(alpha, beta)
}

// rngDraws draws from a math/rand/v2 generator. The numbers are not
// Python's (no Go generator reproduces Mersenne Twister streams cheaply),
// only their distributions are.
type rngDraws struct{ r *rand.Rand }

func (d rngDraws) random() float64              { return d.r.Float64() }
func (d rngDraws) uniform(a, b float64) float64 { return a + (b-a)*d.r.Float64() }
func (d rngDraws) choice(pool []int) int        { return pool[d.r.IntN(len(pool))] }
func (d rngDraws) randint(a, b int) int         { return a + d.r.IntN(b-a+1) }
func (d rngDraws) uniform3(a, b float64) (u [3]float64) {
	for i := range u {
		u[i] = a + (b-a)*d.r.Float64()
	}
	return u
}

// beta draws Beta(alpha, beta) as X/(X+Y) of two gamma variates.
func (d rngDraws) beta(alpha, beta float64) float64 {
	x, y := gamma(d.r, alpha), gamma(d.r, beta)
	return x / (x + y)
}

// gamma draws Gamma(k, 1) for k >= 1 by Marsaglia and Tsang's method
// (ACM TOMS 26(3), 2000), which MixUp's Beta(32, 32) needs.
func gamma(r *rand.Rand, k float64) float64 {
	dd := k - 1.0/3
	c := 1 / math.Sqrt(9*dd)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+dd*(1-v+math.Log(v)) {
			return dd * v
		}
	}
}

// sample is one image and its labels on their way through the
// transforms, Ultralytics' labels dict. Boxes are kept as Ultralytics'
// Instances keeps them, float32, in the format the last transform left.
type sample struct {
	img   *imgproc.RGB
	owned bool // img may be changed in place (it is not the cached copy)
	cls   []float32
	boxes [][4]float32

	path           string
	origH, origW   int // ori_shape
	shapeH, shapeW int // resized_shape
	ratioPad       *RatioPad
}

// own makes s.img safe to change in place.
func (s *sample) own() {
	if !s.owned {
		s.img = s.img.Clone()
		s.owned = true
	}
}

// Box conversions, each the numpy expression Ultralytics evaluates, in
// float32.

// xywhToXYXY is ops.xywh2xyxy: centre minus and plus half the size.
func xywhToXYXY(b [][4]float32) {
	for i := range b {
		x, y, hw, hh := b[i][0], b[i][1], b[i][2]/2, b[i][3]/2
		b[i] = [4]float32{x - hw, y - hh, x + hw, y + hh}
	}
}

// xyxyToXYWH is ops.xyxy2xywh.
func xyxyToXYWH(b [][4]float32) {
	for i := range b {
		x1, y1, x2, y2 := b[i][0], b[i][1], b[i][2], b[i][3]
		b[i] = [4]float32{(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1}
	}
}

// scaleBoxes is Instances.scale / denormalize: x by sx, y by sy.
func scaleBoxes(b [][4]float32, sx, sy float32) {
	for i := range b {
		b[i][0] *= sx
		b[i][1] *= sy
		b[i][2] *= sx
		b[i][3] *= sy
	}
}

// padBoxes is Instances.add_padding (xyxy).
func padBoxes(b [][4]float32, px, py float32) {
	for i := range b {
		b[i][0] += px
		b[i][1] += py
		b[i][2] += px
		b[i][3] += py
	}
}

// clipBoxes is Instances.clip (xyxy): x to [0, w], y to [0, h].
func clipBoxes(b [][4]float32, w, h float32) {
	for i := range b {
		b[i][0] = min(max(b[i][0], 0), w)
		b[i][1] = min(max(b[i][1], 0), h)
		b[i][2] = min(max(b[i][2], 0), w)
		b[i][3] = min(max(b[i][3], 0), h)
	}
}

// keepBoxes keeps the boxes (and classes) for which keep is true, in
// order.
func (s *sample) keepBoxes(keep []bool) {
	n := 0
	for i, k := range keep {
		if k {
			s.boxes[n], s.cls[n] = s.boxes[i], s.cls[i]
			n++
		}
	}
	s.boxes, s.cls = s.boxes[:n], s.cls[:n]
}

// letterbox is Ultralytics' LetterBox transform on a sample whose boxes
// are normalised xywh: the image is resized (keeping its aspect ratio)
// and padded to h x w, and the boxes, in pixels, follow: scaled by the
// ratio and shifted by the padding before rounding (dw/2, dh/2), as
// LetterBox._update_labels does, half a pixel off the image's rounded
// border when the padding is odd. Boxes leave as xyxy pixels. ratio_pad
// is completed when the sample carries one (validation).
func (s *sample) letterbox(h, w int, scaleUp bool) {
	lb := imgproc.NewLetterBox(h, w)
	lb.ScaleUp = scaleUp
	img, geo := lb.Apply(s.img)
	xywhToXYXY(s.boxes)
	scaleBoxes(s.boxes, float32(s.img.W), float32(s.img.H))
	scaleBoxes(s.boxes, float32(geo.RatioW), float32(geo.RatioH))
	padBoxes(s.boxes, float32(geo.PadW), float32(geo.PadH))
	if s.ratioPad != nil {
		s.ratioPad.PadX, s.ratioPad.PadY = geo.Left, geo.Top
	}
	s.img, s.owned = img, true
	s.shapeH, s.shapeW = h, w
}

// affineDraws are RandomPerspective's eight draws, in the order it makes
// them.
type affineDraws struct {
	px, py       float64 // perspective
	angle, scale float64 // degrees, scale factor
	shx, shy     float64 // shear, degrees
	tx, ty       float64 // translation as a fraction of the output size
}

func drawAffine(d draws, hp *Hyp) affineDraws {
	var a affineDraws
	a.px = d.uniform(-hp.Perspective, hp.Perspective)
	a.py = d.uniform(-hp.Perspective, hp.Perspective)
	a.angle = d.uniform(-hp.Degrees, hp.Degrees)
	a.scale = d.uniform(1-hp.Scale, 1+hp.Scale)
	a.shx = d.uniform(-hp.Shear, hp.Shear)
	a.shy = d.uniform(-hp.Shear, hp.Shear)
	a.tx = d.uniform(0.5-hp.Translate, 0.5+hp.Translate)
	a.ty = d.uniform(0.5-hp.Translate, 0.5+hp.Translate)
	return a
}

type mat3 [9]float32

// mul is numpy's float32 matrix product as Ultralytics' numpy gets it
// from OpenBLAS: each element accumulated over k in order with fused
// multiply-adds (a0*b0, then fma(a1, b1, .), then fma(a2, b2, .)).
// Multiplying and adding separately changes the last bit of some
// entries when there is rotation or perspective.
func (a mat3) mul(b mat3) (c mat3) {
	for i := range 3 {
		for j := range 3 {
			s := float32(a[3*i] * b[j])
			s = fma32(a[3*i+1], b[3+j], s)
			c[3*i+j] = fma32(a[3*i+2], b[6+j], s)
		}
	}
	return c
}

// fma32 is a*b + c rounded once to float32. The product is exact in
// float64; the sum is rounded to float64 with round-to-odd (from its
// exact error), which makes the final rounding to float32 correct.
func fma32(a, b, c float32) float32 {
	p, q := float64(a)*float64(b), float64(c)
	s := p + q
	t := s - p
	e := (p - (s - t)) + (q - t) // s + e == p + q exactly (TwoSum)
	if e != 0 {
		bits := math.Float64bits(s)
		if bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

func identity3() mat3 { return mat3{1, 0, 0, 0, 1, 0, 0, 0, 1} }

// affineMatrix is RandomPerspective.affine_transform's matrix for an
// input of w x h and an output of outW x outH: M = T S R P C in float32,
// multiplied left to right as numpy evaluates T @ S @ R @ P @ C. C moves
// the centre to the origin, P adds perspective, R rotates and scales
// (cv2.getRotationMatrix2D about the origin, in float64, then stored in
// float32), S shears and T translates to a random point near the output
// centre.
func affineMatrix(a affineDraws, w, h, outW, outH int) mat3 {
	c := identity3()
	c[2], c[5] = float32(-float64(w)/2), float32(-float64(h)/2)
	p := identity3()
	p[6], p[7] = float32(a.px), float32(a.py)
	r := identity3()
	rad := a.angle * (math.Pi / 180) // OpenCV: angle *= CV_PI/180
	alpha, beta := math.Cos(rad)*a.scale, math.Sin(rad)*a.scale
	r[0], r[1], r[3], r[4] = float32(alpha), float32(beta), float32(-beta), float32(alpha)
	s := identity3()
	s[1] = float32(math.Tan(a.shx * math.Pi / 180))
	s[3] = float32(math.Tan(a.shy * math.Pi / 180))
	t := identity3()
	t[2], t[5] = float32(a.tx*float64(outW)), float32(a.ty*float64(outH))
	return t.mul(s).mul(r).mul(p).mul(c)
}

// randomPerspective is Ultralytics' RandomPerspective on a sample whose
// boxes are xyxy pixels: the image is warped onto an output border*2
// pixels smaller in each direction (border is negative after a mosaic:
// the central imgsz x imgsz of the 2*imgsz canvas, and 0 otherwise),
// the boxes' corners follow the matrix and are clipped, and boxes that
// became too small, too thin or lost too much area are dropped
// (box_candidates).
func (s *sample) randomPerspective(a affineDraws, borderY, borderX int, perspective bool) {
	outW, outH := s.img.W+2*borderX, s.img.H+2*borderY
	m := affineMatrix(a, s.img.W, s.img.H, outW, outH)
	if borderX != 0 || borderY != 0 || m != identity3() {
		var img *imgproc.RGB
		if perspective {
			var m64 [9]float64
			for i, v := range m {
				m64[i] = float64(v)
			}
			img = imgproc.WarpPerspective(s.img, m64, outW, outH, imgproc.PadValue)
		} else {
			img = imgproc.WarpAffine(s.img, [6]float64{float64(m[0]), float64(m[1]), float64(m[2]),
				float64(m[3]), float64(m[4]), float64(m[5])}, outW, outH, imgproc.PadValue)
		}
		s.img, s.owned = img, true
	}
	n := len(s.boxes)
	moved := make([][4]float32, n)
	for i, b := range s.boxes {
		// Corners x1y1, x2y2, x1y2, x2y1 through M, then the enclosing box.
		xs := [4]float32{b[0], b[2], b[0], b[2]}
		ys := [4]float32{b[1], b[3], b[3], b[1]}
		var qx, qy [4]float32
		for k := range 4 {
			// (x, y, 1) @ M.T, as mat3.mul accumulates.
			qx[k] = fma32(1, m[2], fma32(ys[k], m[1], float32(xs[k]*m[0])))
			qy[k] = fma32(1, m[5], fma32(ys[k], m[4], float32(xs[k]*m[3])))
			if perspective {
				z := fma32(1, m[8], fma32(ys[k], m[7], float32(xs[k]*m[6])))
				qx[k] /= z
				qy[k] /= z
			}
		}
		moved[i] = [4]float32{min(qx[0], qx[1], qx[2], qx[3]), min(qy[0], qy[1], qy[2], qy[3]),
			max(qx[0], qx[1], qx[2], qx[3]), max(qy[0], qy[1], qy[2], qy[3])}
	}
	clipBoxes(moved, float32(outW), float32(outH))
	sc := float32(a.scale)
	keep := make([]bool, n)
	for i, b := range s.boxes {
		w1, h1 := float32(b[2]*sc)-float32(b[0]*sc), float32(b[3]*sc)-float32(b[1]*sc)
		keep[i] = boxCandidate(w1, h1, moved[i][2]-moved[i][0], moved[i][3]-moved[i][1])
	}
	s.boxes = moved
	s.keepBoxes(keep)
	s.ratioPad = nil // RandomPerspective drops ratio_pad
	s.shapeH, s.shapeW = outH, outW
}

// boxCandidate is RandomPerspective.box_candidates with its defaults
// (wh_thr 2, ar_thr 100, area_thr 0.1, eps 1e-16) for one box of w1 x h1
// before (scaled by the augmentation's scale) and w2 x h2 after, in
// float32 as numpy computes it: both sides longer than 2 pixels, an
// aspect ratio under 100 and more than 10% of the area kept.
func boxCandidate(w1, h1, w2, h2 float32) bool {
	const eps = float32(1e-16)
	ar := max(w2/(h2+eps), h2/(w2+eps))
	return w2 > 2 && h2 > 2 && float32(w2*h2)/(float32(w1*h1)+eps) > float32(0.1) && ar < 100
}

// hsvLUTs are RandomHSV's lookup tables for gains g (each 1 + a draw in
// [-gain, gain]): hue (x*g0) mod 180, saturation and value x*g clipped to
// [0, 255], all truncated to integers, in float64 as numpy computes them.
func hsvLUTs(g [3]float64) (hue, sat, val [256]uint8) {
	for x := range 256 {
		fx := float64(x)
		hue[x] = uint8(math.Mod(fx*g[0], 180))
		sat[x] = uint8(min(max(fx*g[1], 0), 255))
		val[x] = uint8(min(max(fx*g[2], 0), 255))
	}
	return hue, sat, val
}

// augmentHSV is RandomHSV.__call__ with the gains already drawn:
// cv2.cvtColor to HSV, the three lookup tables, and back.
func augmentHSV(img *imgproc.RGB, g [3]float64) {
	hue, sat, val := hsvLUTs(g)
	imgproc.RGBToHSV(img)
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		p[i], p[i+1], p[i+2] = hue[p[i]], sat[p[i+1]], val[p[i+2]]
	}
	imgproc.HSVToRGB(img)
}

// flipLR mirrors img left to right in place.
func flipLR(img *imgproc.RGB) {
	w := img.W
	for y := range img.H {
		row := img.Pix[y*w*3 : (y+1)*w*3]
		for l, r := 0, w-1; l < r; l, r = l+1, r-1 {
			row[3*l], row[3*r] = row[3*r], row[3*l]
			row[3*l+1], row[3*r+1] = row[3*r+1], row[3*l+1]
			row[3*l+2], row[3*r+2] = row[3*r+2], row[3*l+2]
		}
	}
}

// flipUD mirrors img top to bottom in place.
func flipUD(img *imgproc.RGB) {
	stride := img.W * 3
	tmp := make([]uint8, stride)
	for t, b := 0, img.H-1; t < b; t, b = t+1, b-1 {
		rt, rb := img.Pix[t*stride:(t+1)*stride], img.Pix[b*stride:(b+1)*stride]
		copy(tmp, rt)
		copy(rt, rb)
		copy(rb, tmp)
	}
}

// mixup is MixUp._mix_transform: the images blended with weight r (in
// float64, truncated to bytes as numpy's astype(uint8) does) and the
// labels concatenated. Both samples' boxes are xyxy pixels and their
// images the same size.
func (s *sample) mixup(o *sample, r float64) {
	s.own()
	for i, v := range s.img.Pix {
		s.img.Pix[i] = uint8(float64(float64(v)*r) + float64(float64(o.img.Pix[i])*(1-r)))
	}
	s.boxes = append(s.boxes, o.boxes...)
	s.cls = append(s.cls, o.cls...)
}
