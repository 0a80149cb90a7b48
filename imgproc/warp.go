package imgproc

import (
	"fmt"
	"math"
)

// OpenCV's fixed-point geometry for warps (imgproc.hpp, imgwarp.cpp):
// source positions are kept to 1/32 pixel (INTER_BITS = 5) and the affine
// increments to 1/1024 (AB_BITS = 10).
const (
	interBits   = 5
	interTab    = 1 << interBits
	abBits      = 10
	abScale     = 1 << abBits
	roundDelta  = abScale / interTab / 2
	remapShift  = 2 * interBits // bilinear weights (32-fx)*(32-fy)... sum to 1024
	remapRound  = 1 << (remapShift - 1)
	blockPersp  = 32 // WarpPerspectiveInvoker's BLOCK_SZ
	maxInt32f   = float64(math.MaxInt32)
	minInt32f   = float64(math.MinInt32)
	shortMax    = math.MaxInt16
	shortMin    = math.MinInt16
	halfBlockPx = blockPersp / 2
)

// WarpAffine returns src mapped through the 2x3 matrix m onto a w x h
// image, as OpenCV 4.6's
//
//	cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR,
//	               borderMode=cv2.BORDER_CONSTANT, borderValue=(v, v, v))
//
// does for an 8-bit three-channel image, byte for byte (Ultralytics'
// RandomPerspective calls it with v = 114). m maps source to destination
// coordinates; it is given in float64 because OpenCV converts the
// (float32) matrix Ultralytics builds to double before using it. It
// panics if w or h is not positive or src is empty.
//
// OpenCV inverts m (a singular m becomes all zeros), then for each
// destination pixel computes the source position in fixed point:
//
//	adelta[x] = round(m0*x*1024), bdelta[x] = round(m3*x*1024)
//	X0 = round((m1*y + m2)*1024) + 16, Y0 = round((m4*y + m5)*1024) + 16
//	X = (X0 + adelta[x]) >> 5, Y = (Y0 + bdelta[x]) >> 5
//
// (round half to even), so the position is (X>>5, Y>>5) plus (X&31,
// Y&31)/32; remap then blends the four neighbours with the weights
// (32-fx)(32-fy), fx(32-fy), (32-fx)fy, fx*fy out of 1024, rounding to
// nearest. Neighbours outside the image take the border value, and a
// pixel whose neighbourhood lies wholly outside is the border value.
// (OpenCV's table stores the weights scaled by 32 in int16 and saturates
// the single weight 32768; the results are the same.)
func WarpAffine(src *RGB, m [6]float64, w, h int, border uint8) *RGB {
	return WarpAffineInto(nil, src, m, w, h, border)
}

// WarpAffineInto is WarpAffine writing into dst, whose buffer is reused
// when large enough (dst may be nil, and must not share memory with src).
func WarpAffineInto(dst, src *RGB, m [6]float64, w, h int, border uint8) *RGB {
	checkWarp(src, w, h)
	inv := invertAffine(m)
	dst = reuseRGB(dst, w, h)
	adelta := make([]int32, w)
	bdelta := make([]int32, w)
	for x := range w {
		// The explicit float64 conversions stop Go from fusing the
		// multiply with anything else; OpenCV's baseline build has no FMA.
		adelta[x] = cvRoundInt(float64(inv[0]*float64(x)) * abScale)
		bdelta[x] = cvRoundInt(float64(inv[3]*float64(x)) * abScale)
	}
	row := make([]int32, 2*w) // per pixel: source x and y in 1/32 pixel
	for y := range h {
		x0 := cvRoundInt(float64(float64(inv[1]*float64(y))+inv[2])*abScale) + roundDelta
		y0 := cvRoundInt(float64(float64(inv[4]*float64(y))+inv[5])*abScale) + roundDelta
		for x := range w {
			row[2*x] = (x0 + adelta[x]) >> (abBits - interBits)
			row[2*x+1] = (y0 + bdelta[x]) >> (abBits - interBits)
		}
		remapRow(dst.Pix[y*w*3:(y+1)*w*3], src, row, border)
	}
	return dst
}

// WarpPerspective returns src mapped through the 3x3 matrix m (row-major)
// onto a w x h image, as OpenCV 4.6's cv2.warpPerspective with
// INTER_LINEAR and a constant border of v, byte for byte. Like
// WarpAffine it takes m in float64 and panics on an empty size.
//
// OpenCV inverts m (in double, see invertPerspective) and walks the output in blocks of at most 32x16 pixels (1024 in all):
// the projective sums are formed at each block's left edge and stepped by
// m0, m3, m6 per pixel, so the block layout is part of the arithmetic and
// is reproduced here. Each position is (X0 + m0*x1)*W with W = 32/(W0 +
// m6*x1) (0 when the denominator is 0), clamped to the int32 range and
// rounded half to even, then blended as in WarpAffine.
func WarpPerspective(src *RGB, m [9]float64, w, h int, border uint8) *RGB {
	checkWarp(src, w, h)
	inv := invertPerspective(m)
	dst := NewRGB(w, h)
	bh0 := min(halfBlockPx, h)
	bw0 := min(blockPersp*blockPersp/bh0, w)
	bh0 = min(blockPersp*blockPersp/bw0, h)
	row := make([]int32, 2*w)
	// OpenCV processes block rows of bh0 lines; within a row of blocks
	// each line's sums start again at every block's left edge, so a line
	// is computed block by block here.
	for y := range h {
		for bx := 0; bx < w; bx += bw0 {
			bw := min(bw0, w-bx)
			fx, fy := float64(bx), float64(y)
			X0 := float64(float64(float64(inv[0]*fx)+float64(inv[1]*fy)) + inv[2])
			Y0 := float64(float64(float64(inv[3]*fx)+float64(inv[4]*fy)) + inv[5])
			W0 := float64(float64(float64(inv[6]*fx)+float64(inv[7]*fy)) + inv[8])
			for x1 := range bw {
				fx1 := float64(x1)
				W := float64(W0 + float64(inv[6]*fx1))
				if W != 0 {
					W = interTab / W
				}
				X := cvRoundClamp(float64(float64(X0+float64(inv[0]*fx1)) * W))
				Y := cvRoundClamp(float64(float64(Y0+float64(inv[3]*fx1)) * W))
				row[2*(bx+x1)] = X
				row[2*(bx+x1)+1] = Y
			}
		}
		remapRow(dst.Pix[y*w*3:(y+1)*w*3], src, row, border)
	}
	return dst
}

func checkWarp(src *RGB, w, h int) {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imgproc: warp to %dx%d", w, h))
	}
	if src.W <= 0 || src.H <= 0 {
		panic(fmt.Sprintf("imgproc: warp of an empty %dx%d image", src.W, src.H))
	}
}

// invertAffine is the inversion at the top of cv::warpAffine.
func invertAffine(m [6]float64) [6]float64 {
	d := float64(m[0]*m[4]) - float64(m[1]*m[3])
	if d != 0 {
		d = 1 / d
	}
	a11, a22 := float64(m[4]*d), float64(m[0]*d)
	m[0], m[1] = a11, float64(m[1]*-d)
	m[3], m[4] = float64(m[3]*-d), a22
	b1 := float64(-m[0]*m[2]) - float64(m[1]*m[5])
	b2 := float64(-m[3]*m[2]) - float64(m[4]*m[5])
	m[2], m[5] = b1, b2
	return m
}

// invertPerspective is cv::invert(M, M, DECOMP_LU) as warpPerspective
// calls it: for a 3x3 double matrix OpenCV uses the adjugate over the
// determinant (det3 expanded along the first row), and zeros when the
// determinant is 0.
func invertPerspective(m [9]float64) [9]float64 {
	at := func(r, c int) float64 { return m[r*3+c] }
	// cof is a 2x2 minor a*b - c*d with each product rounded, as C
	// without FMA contraction computes it.
	cof := func(a, b, c, d float64) float64 { return float64(a*b) - float64(c*d) }
	d := float64(at(0, 0)*cof(at(1, 1), at(2, 2), at(1, 2), at(2, 1))) -
		float64(at(0, 1)*cof(at(1, 0), at(2, 2), at(1, 2), at(2, 0))) +
		float64(at(0, 2)*cof(at(1, 0), at(2, 1), at(1, 1), at(2, 0)))
	if d == 0 {
		return [9]float64{}
	}
	d = 1 / d
	return [9]float64{
		float64(cof(at(1, 1), at(2, 2), at(1, 2), at(2, 1)) * d),
		float64(cof(at(0, 2), at(2, 1), at(0, 1), at(2, 2)) * d),
		float64(cof(at(0, 1), at(1, 2), at(0, 2), at(1, 1)) * d),
		float64(cof(at(1, 2), at(2, 0), at(1, 0), at(2, 2)) * d),
		float64(cof(at(0, 0), at(2, 2), at(0, 2), at(2, 0)) * d),
		float64(cof(at(0, 2), at(1, 0), at(0, 0), at(1, 2)) * d),
		float64(cof(at(1, 0), at(2, 1), at(1, 1), at(2, 0)) * d),
		float64(cof(at(0, 1), at(2, 0), at(0, 0), at(2, 1)) * d),
		float64(cof(at(0, 0), at(1, 1), at(0, 1), at(1, 0)) * d),
	}
}

// remapRow is remapBilinear for one output row of three-channel pixels:
// row holds each pixel's source position in 1/32 pixel (x, y pairs).
func remapRow(out []uint8, src *RGB, row []int32, border uint8) {
	sw, sh := src.W, src.H
	stride := sw * 3
	pix := src.Pix
	// Interior test as OpenCV's: the 2x2 neighbourhood is inside.
	// Positions are saturated to int16 first (OpenCV stores them as
	// shorts); for images under 32767 pixels a side that cannot turn an
	// outside position into an inside one, so it is applied only on the
	// border path.
	w1, h1 := uint32(max(sw-1, 0)), uint32(max(sh-1, 0))
	for x := 0; x < len(out)/3; x++ {
		X, Y := row[2*x], row[2*x+1]
		fx, fy := X&(interTab-1), Y&(interTab-1)
		w00 := (interTab - fx) * (interTab - fy)
		w01 := fx * (interTab - fy)
		w10 := (interTab - fx) * fy
		w11 := fx * fy
		o := out[3*x : 3*x+3 : 3*x+3]
		if sx, sy := X>>interBits, Y>>interBits; uint32(sx) < w1 && uint32(sy) < h1 && sw <= shortMax {
			i := int(sy)*stride + int(sx)*3
			p0 := pix[i : i+6 : i+6]
			p1 := pix[i+stride : i+stride+6 : i+stride+6]
			o[0] = uint8((int32(p0[0])*w00 + int32(p0[3])*w01 + int32(p1[0])*w10 + int32(p1[3])*w11 + remapRound) >> remapShift)
			o[1] = uint8((int32(p0[1])*w00 + int32(p0[4])*w01 + int32(p1[1])*w10 + int32(p1[4])*w11 + remapRound) >> remapShift)
			o[2] = uint8((int32(p0[2])*w00 + int32(p0[5])*w01 + int32(p1[2])*w10 + int32(p1[5])*w11 + remapRound) >> remapShift)
			continue
		}
		sx, sy := satShort(X>>interBits), satShort(Y>>interBits)
		if uint(sx) < uint(sw-1) && uint(sy) < uint(sh-1) {
			// Inside only after saturation (an image over 32767 pixels wide).
			i := sy*stride + sx*3
			for c := range 3 {
				v := int32(pix[i+c])*w00 + int32(pix[i+3+c])*w01 + int32(pix[i+stride+c])*w10 + int32(pix[i+stride+3+c])*w11
				o[c] = uint8((v + remapRound) >> remapShift)
			}
			continue
		}
		if sx >= sw || sx+1 < 0 || sy >= sh || sy+1 < 0 {
			o[0], o[1], o[2] = border, border, border
			continue
		}
		// Partly outside: each neighbour is a source pixel or the border.
		ws := [4]int32{w00, w01, w10, w11}
		var off [4]int // offset of each neighbour's pixel, -1 for the border
		for k, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			px, py := sx+d[0], sy+d[1]
			off[k] = -1
			if px >= 0 && py >= 0 && px < sw && py < sh {
				off[k] = py*stride + px*3
			}
		}
		for c := range 3 {
			var v int32
			for k := range 4 {
				s := int32(border)
				if off[k] >= 0 {
					s = int32(pix[off[k]+c])
				}
				v += s * ws[k]
			}
			o[c] = uint8((v + remapRound) >> remapShift)
		}
	}
}

// satShort is saturate_cast<short> of a position, returned as int.
func satShort(v int32) int {
	return int(max(shortMin, min(shortMax, v)))
}

// cvRoundInt is saturate_cast<int>(double): round half to even, clamped
// to the int32 range (OpenCV's cvRound leaves out-of-range values
// undefined; such positions are far outside any image either way).
func cvRoundInt(v float64) int32 {
	return cvRoundClamp(v)
}

func cvRoundClamp(v float64) int32 {
	v = math.RoundToEven(v)
	switch {
	case v != v:
		return math.MinInt32 // what x86's cvtsd2si gives for NaN
	case v >= maxInt32f:
		return math.MaxInt32
	case v <= minInt32f:
		return math.MinInt32
	}
	return int32(v)
}
