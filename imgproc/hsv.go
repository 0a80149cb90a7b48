package imgproc

import "math"

// HSV conversions as OpenCV 4.6 does them for 8-bit images with the hue
// range 180 (cv2.COLOR_BGR2HSV and cv2.COLOR_HSV2BGR), which Ultralytics'
// RandomHSV uses. An HSV pixel is stored as (H, S, V) with H in [0, 180)
// and S, V in [0, 255]. OpenCV's BGR order and imgproc's RGB order give
// the same HSV values, so these work on RGB images.

// hsvShift is RGB2HSV_b's fixed-point precision.
const hsvShift = 12

// sdivTable and hdivTable are RGB2HSV_b's reciprocal tables:
// round((255<<12)/i) and round((180<<12)/(6i)).
var sdivTable, hdivTable = func() (s, h [256]int32) {
	for i := 1; i < 256; i++ {
		s[i] = int32(math.RoundToEven(float64(255<<hsvShift) / float64(i)))
		h[i] = int32(math.RoundToEven(float64(180<<hsvShift) / (6 * float64(i))))
	}
	return s, h
}()

// RGBToHSV converts img in place from RGB to HSV (hue range 180), as
// cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV) does, byte for byte: integer
// arithmetic with the reciprocal tables above,
//
//	V = max, diff = max - min, S = (diff*sdiv[V] + 2048) >> 12
//	H = (h*hdiv[diff] + 2048) >> 12 (+180 when negative), where h is
//	G-B when V = R, B-R+2diff when V = G, else R-G+4diff.
func RGBToHSV(img *RGB) {
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		r, g, b := int32(p[i]), int32(p[i+1]), int32(p[i+2])
		v := max(r, g, b)
		diff := v - min(r, g, b)
		s := (diff*sdivTable[v] + 1<<(hsvShift-1)) >> hsvShift
		var h int32
		switch v {
		case r:
			h = g - b
		case g:
			h = b - r + 2*diff
		default:
			h = r - g + 4*diff
		}
		h = (h*hdivTable[diff] + 1<<(hsvShift-1)) >> hsvShift
		if h < 0 {
			h += 180
		}
		p[i], p[i+1], p[i+2] = uint8(h), uint8(s), uint8(v)
	}
}

// HSVToRGB converts img in place from HSV (hue range 180) to RGB, as
// cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) does, byte for byte. OpenCV works
// in float32: h*(6/180) gives the sector and its fraction f, s and v are
// scaled by 1/255, the channels are v, v(1-s), v(1-s*f) and v(1-s(1-f))
// in an order set by the sector, and each is multiplied by 255.
//
// OpenCV's two code paths differ, and both are reproduced: its vector
// loop (AVX2, 32 pixels at a time) truncates to an integer, the scalar
// loop that finishes each row rounds half to even, and they fuse
// different multiply-adds (see hsvToRGB).
// So in every row the first W - W%32 pixels are truncated and the last
// W%32 rounded; with Ultralytics' image sizes (multiples of 32) every
// pixel is truncated. Hues of 180 and more wrap modulo 180.
func HSVToRGB(img *RGB) {
	w := img.W
	vec := w - w%hsvBlock
	for y := range img.H {
		row := img.Pix[y*w*3 : (y+1)*w*3]
		hsvToRGBRow(row[:vec*3], true)
		hsvToRGBRow(row[vec*3:], false)
	}
}

// hsvBlock is the number of pixels OpenCV's AVX2 HSV2RGB_b loop converts
// at once (4 vectors of 8 float32).
const hsvBlock = 32

// hsvSectors gives, for each hue sector, which of the four values
// (v, v(1-s), v(1-s*f), v(1-s(1-f))) is blue, green and red (OpenCV's
// sector_data).
var hsvSectors = [6][3]uint8{{1, 3, 0}, {1, 0, 2}, {3, 0, 1}, {0, 2, 1}, {0, 1, 3}, {2, 1, 0}}

const hsvHScale = float32(6.0 / 180)

// Per-byte parts of the conversion: s or v scaled by 1/255 and 1-s; the
// hue's sector (mod 6), its fraction f and 1-f, all in float32 as OpenCV
// computes them.
var hsvUnit, hsvOneMinusS, hsvFrac, hsvOneMinusFrac, hsvSector = func() (u, oms, f, omf [256]float32, sec [256]uint8) {
	for i := range 256 {
		u[i] = float32(float32(i) * (1.0 / 255))
		oms[i] = float32(1 - u[i])
		h := float32(float32(i) * hsvHScale)
		k := int(h) // h >= 0: truncation is floor
		f[i] = float32(h - float32(k))
		omf[i] = float32(1 - f[i])
		sec[i] = uint8(k % 6)
	}
	return
}()

// hsvToRGBRow converts the pixels of p in place; vec selects OpenCV's
// vector path over its scalar path. Both are compiled for AVX2 with FMA
// contraction, and the compiler fused differently: the vector code
// computes both 1 - s*f and 1 - s*(1-f) with one rounding, the scalar
// code only the first; the vector code truncates the result, the scalar
// code rounds half to even.
func hsvToRGBRow(p []uint8, vec bool) {
	for i := 0; i+2 < len(p); i += 3 {
		hb, sb, vb := p[i], p[i+1], p[i+2]
		s, v, f := hsvUnit[sb], hsvUnit[vb], hsvFrac[hb]
		var tab [4]float32
		tab[0] = v
		tab[1] = float32(v * hsvOneMinusS[sb])
		tab[2] = float32(v * fnmadd1(s, f))
		if vec {
			tab[3] = float32(v * fnmadd1(s, hsvOneMinusFrac[hb]))
		} else {
			tab[3] = float32(v * float32(1-float32(s*hsvOneMinusFrac[hb])))
		}
		sd := &hsvSectors[hsvSector[hb]]
		r, g, b := float32(tab[sd[2]]*255), float32(tab[sd[1]]*255), float32(tab[sd[0]]*255)
		if vec {
			p[i], p[i+1], p[i+2] = trunc8(r), trunc8(g), trunc8(b)
		} else {
			p[i], p[i+1], p[i+2] = round8(r), round8(g), round8(b)
		}
	}
}

// trunc8 is v_trunc then packing to uchar with saturation, for x >= 0.
func trunc8(x float32) uint8 {
	return uint8(min(int32(x), 255))
}

// round8 is saturate_cast<uchar>(x): round half to even, for x >= 0.
func round8(x float32) uint8 {
	return uint8(min(math.RoundToEven(float64(x)), 255))
}

// fnmadd1 is 1 - a*b as a fused multiply-add computes it in float32.
// a*b is exact in float64 (two 24-bit significands); the subtraction
// rounds to float64 and then to float32. That double rounding could in
// principle differ from FMA's single rounding, but the exhaustive test
// against OpenCV over every input HSVToRGB can see shows it does not.
func fnmadd1(a, b float32) float32 {
	return float32(1 - float64(a)*float64(b))
}
