package imgproc

import (
	"fmt"
	"math"
)

// OpenCV's fixed-point scale for 8-bit INTER_LINEAR weights
// (INTER_RESIZE_COEF_BITS = 11).
const (
	coefBits  = 11
	coefScale = 1 << coefBits
)

// Resize returns src resized to w x h exactly as OpenCV 4.6's
//
//	cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)
//
// does for an 8-bit three-channel image, byte for byte. It panics if w or
// h is not positive or src is empty, where cv2.resize raises.
//
// For 8-bit images cv2.resize with INTER_LINEAR does not take the
// bit-exact path (that is INTER_LINEAR_EXACT); it runs resizeGeneric_ with
// HResizeLinear and VResizeLinear on fixed-point weights:
//
//   - source position fx = float32((dx+0.5)*scale - 0.5) with
//     scale = 1/(dst/src) in float64 (half-pixel centres), sx = floor(fx),
//     weights round(float32(1-fx)*2048) and round(float32(fx)*2048)
//     (round half to even, as cvRound); horizontally a position left of
//     the first or right of the last source column is clamped to it with
//     weight 2048, vertically the row index is clamped but the weights are
//     kept;
//   - the horizontal pass keeps full precision, S[sx]*a0 + S[sx+1]*a1, a
//     value scaled by 2048;
//   - the vertical pass is VResizeLinear's 8-bit specialisation, which
//     matches its SIMD code rather than a plain (x + 2^21) >> 22:
//     (((b0*(H0>>4))>>16) + ((b1*(H1>>4))>>16) + 2) >> 2.
//
// A downscale by exactly 2 in both directions is routed by OpenCV to its
// INTER_AREA fast path, (a+b+c+d+2)>>2, which the formulas above give too
// (all weights are 1024), so no special case is needed. Equal sizes copy.
// Builds with Intel IPP (pip's opencv-python) take the same path: OpenCV
// skips IPP for 8-bit INTER_LINEAR because it is not bit-exact. Only the
// OpenCL path (cv2.UMat inputs) computes differently.
func Resize(src *RGB, w, h int) *RGB {
	return ResizeInto(nil, src, w, h)
}

// ResizeInto is Resize writing into dst, whose pixel buffer is reused
// when large enough (dst may be nil). dst must not share memory with src.
// It returns the resized image.
func ResizeInto(dst, src *RGB, w, h int) *RGB {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imgproc: Resize to %dx%d", w, h))
	}
	if src.W <= 0 || src.H <= 0 {
		panic(fmt.Sprintf("imgproc: Resize of an empty %dx%d image", src.W, src.H))
	}
	dst = reuseRGB(dst, w, h)
	resizeTo(dst.Pix, w*3, src, w, h)
	return dst
}

// resizeTo writes src resized to w x h into pix, whose rows are stride
// bytes apart: output row dy occupies pix[dy*stride : dy*stride+3*w]. This
// lets LetterBox resize straight into its padded canvas.
func resizeTo(pix []uint8, stride int, src *RGB, w, h int) {
	if w == src.W && h == src.H {
		for y := range h {
			copy(pix[y*stride:y*stride+w*3], src.Pix[y*w*3:(y+1)*w*3])
		}
		return
	}
	xs := linearTaps(src.W, w, true)
	ys := linearTaps(src.H, h, false)

	// Horizontal pass results for the (at most) two source rows the
	// current output row needs, cached by source row as OpenCV does: rows
	// are consumed in increasing order, so most are computed once.
	rowBuf := [2][]int32{make([]int32, w*3), make([]int32, w*3)}
	rowOf := [2]int{-1, -1}
	// hrow returns the horizontal pass of source row sy, computing it into
	// the slot that does not hold row keep.
	hrow := func(sy, keep int) []int32 {
		for k := range rowOf {
			if rowOf[k] == sy {
				return rowBuf[k]
			}
		}
		k := 0
		if rowOf[0] == keep {
			k = 1
		}
		rowOf[k] = sy
		hresize(rowBuf[k], src.Pix[sy*src.W*3:(sy+1)*src.W*3], xs)
		return rowBuf[k]
	}
	for dy := range h {
		t := ys[dy]
		r0 := hrow(t.i0, t.i1)
		r1 := hrow(t.i1, t.i0)
		vresize(pix[dy*stride:dy*stride+w*3], r0, r1, t.a0, t.a1)
	}
}

// tap is one output sample's two source indices and fixed-point weights.
type tap struct {
	i0, i1 int
	a0, a1 int32
}

// linearTaps computes OpenCV's INTER_LINEAR coefficients for one axis
// (resize.cpp, the fixpt branch of hal::resize). horizontal selects the
// column rule, which moves out-of-range positions onto the edge sample
// with weights (2048, 0); rows only clamp the indices (resizeGeneric_
// Invoker's clip) and keep the computed weights.
func linearTaps(srcN, dstN int, horizontal bool) []tap {
	taps := make([]tap, dstN)
	// inv_scale = dst/src as cv::resize computes it, then scale = 1/inv.
	scale := 1 / (float64(dstN) / float64(srcN))
	for d := range taps {
		// float64(...) around the product stops the compiler from fusing
		// the multiply and subtract, which OpenCV's SSE2 build does not.
		f := float32(float64((float64(d)+0.5)*scale) - 0.5)
		s := int(math.Floor(float64(f)))
		f -= float32(s)
		if horizontal {
			if s < 0 {
				f, s = 0, 0
			}
			if s >= srcN-1 {
				f, s = 0, srcN-1
			}
		}
		i0 := max(0, min(s, srcN-1))
		i1 := max(0, min(s+1, srcN-1))
		taps[d] = tap{
			i0: i0, i1: i1,
			a0: int32(math.RoundToEven(float64((1 - f) * coefScale))),
			a1: int32(math.RoundToEven(float64(f * coefScale))),
		}
	}
	return taps
}

// hresize is HResizeLinear for three channels: each output value is the
// two-tap sum scaled by 2048, exact in int32.
func hresize(out []int32, row []uint8, xs []tap) {
	out = out[:len(xs)*3]
	for dx, t := range xs {
		o0, o1 := t.i0*3, t.i1*3
		a0, a1 := t.a0, t.a1
		p0 := row[o0 : o0+3 : o0+3]
		p1 := row[o1 : o1+3 : o1+3]
		o := out[dx*3 : dx*3+3 : dx*3+3]
		o[0] = int32(p0[0])*a0 + int32(p1[0])*a1
		o[1] = int32(p0[1])*a0 + int32(p1[1])*a1
		o[2] = int32(p0[2])*a0 + int32(p1[2])*a1
	}
}

// vresize is VResizeLinear<uchar, int, short, ...>: each row value drops 4
// bits, is multiplied by its 11-bit weight keeping the high 16 bits
// (v_mul_hi in the SIMD code), and the sum is rounded off by 2 more bits.
// The result never exceeds 255, so the uchar cast cannot wrap.
func vresize(out []uint8, s0, s1 []int32, b0, b1 int32) {
	s0 = s0[:len(out)]
	s1 = s1[:len(out)]
	for i := range out {
		out[i] = uint8(((b0*(s0[i]>>4))>>16 + (b1*(s1[i]>>4))>>16 + 2) >> 2)
	}
}
