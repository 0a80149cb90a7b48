package imgproc

import "image"

// libjpeg-turbo's YCbCr->RGB tables (jdcolor.c, build_ycc_rgb_table): 16
// fractional bits, Cr->R and Cb->B rounded per entry, the two green terms
// summed before one rounding shift. Go's color.YCbCrToRGB rounds
// differently and disagrees by one level on many pixels; these are read
// only after init.
var yccTab = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	const scale = 16
	fix := func(x float64) int32 { return int32(x*(1<<scale) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + 1<<(scale-1)) >> scale
		t.cbB[i] = (fix(1.77200)*x + 1<<(scale-1)) >> scale
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + 1<<(scale-1)
	}
	return t
}()

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrToRGB converts a decoded JPEG to RGB the way libjpeg-turbo does
// with its default settings (which OpenCV keeps): chroma subsampled 2:1
// horizontally and/or vertically is upsampled with the "fancy" triangle
// filter (3/4 nearer sample + 1/4 further one, jdsample.c), other ratios
// by replication, then converted with libjpeg's tables. image/jpeg
// returns the chroma planes at their stored resolution, which makes this
// possible; its own At method replicates chroma instead, which blurs
// colour edges differently from OpenCV by up to tens of levels.
func ycbcrToRGB(m *image.YCbCr) *RGB {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := NewRGB(w, h)
	// Chroma plane size in samples, as libjpeg computes downsampled_width
	// and _height: ceil(image size * factor / max factor).
	var hs, vs int // horizontal and vertical subsampling factors
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio422:
		hs, vs = 2, 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		hs, vs = 1, 2
	case image.YCbCrSubsampleRatio411:
		hs, vs = 4, 1
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	default:
		return FromImage(m)
	}
	cw, ch := (w+hs-1)/hs, (h+vs-1)/vs
	// libjpeg falls back to replication when the chroma is 2 samples wide
	// or less (jinit_upsampler: "downsampled_width > 2"); h1v2 has no such
	// condition. 4:1:1 and 4:1:0 are always replicated.
	fancyH := hs == 2 && cw > 2
	fancyV := vs == 2 && (hs == 1 || fancyH)
	cb := upsample(m.Cb, m.CStride, cw, ch, w, h, hs, vs, fancyH, fancyV)
	cr := upsample(m.Cr, m.CStride, cw, ch, w, h, hs, vs, fancyH, fancyV)
	t := &yccTab
	for y := range h {
		yrow := m.Y[(b.Min.Y-m.Rect.Min.Y+y)*m.YStride+(b.Min.X-m.Rect.Min.X):]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		crow, rrow := cb[y*w:(y+1)*w], cr[y*w:(y+1)*w]
		for x := range w {
			yy := int32(yrow[x])
			cbv, crv := crow[x], rrow[x]
			out[3*x] = clamp8(yy + t.crR[crv])
			out[3*x+1] = clamp8(yy + (t.cbG[cbv]+t.crG[crv])>>16)
			out[3*x+2] = clamp8(yy + t.cbB[cbv])
		}
	}
	return dst
}

// upsample expands one chroma plane (cw x ch samples, row stride stride)
// to w x h. With fancyH/fancyV it applies libjpeg-turbo's
// h2v1_fancy_upsample, h1v2_fancy_upsample or h2v2_fancy_upsample,
// including their alternating rounding biases and the replicated context
// rows above the first and below the last chroma row; otherwise every
// sample is replicated hs x vs times.
func upsample(p []uint8, stride, cw, ch, w, h, hs, vs int, fancyH, fancyV bool) []uint8 {
	out := make([]uint8, w*h)
	if !fancyH && !fancyV {
		for y := range h {
			row := p[(y/vs)*stride:]
			o := out[y*w : (y+1)*w]
			for x := range o {
				o[x] = row[x/hs]
			}
		}
		return out
	}
	// Each output row: the nearest chroma row (weight 3) and the next
	// nearest (weight 1), or just the nearest when not fancy vertically.
	tmp := make([]uint8, 2*cw) // one fancy-upsampled row, 2*cw wide
	sums := make([]int32, cw)
	for y := range h {
		cy := y / vs
		near := p[cy*stride : cy*stride+cw]
		if !fancyV {
			if hs == 2 { // h2v1
				h2v1(tmp, near)
				copy(out[y*w:(y+1)*w], tmp[:w])
			} else { // h1v1 horizontally: not reached (444 returns earlier)
				copy(out[y*w:(y+1)*w], near[:w])
			}
			continue
		}
		// The row above for even output rows, below for odd ones, with the
		// first and last chroma rows standing in beyond the edges.
		fy := cy - 1
		if y%2 == 1 {
			fy = cy + 1
		}
		fy = max(0, min(fy, ch-1))
		far := p[fy*stride : fy*stride+cw]
		for i := range cw {
			sums[i] = 3*int32(near[i]) + int32(far[i])
		}
		o := out[y*w : (y+1)*w]
		if hs == 1 { // h1v2: bias 1 for the upper row of a pair, 2 for the lower
			bias := int32(1)
			if y%2 == 1 {
				bias = 2
			}
			for x := range o {
				o[x] = uint8((sums[x] + bias) >> 2)
			}
			continue
		}
		h2v2(tmp, sums)
		copy(o, tmp[:w])
	}
	return out
}

// h2v1 is libjpeg-turbo's h2v1_fancy_upsample for one row (len(in) > 2).
func h2v1(out, in []uint8) {
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((3*int32(in[0]) + int32(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int32(in[i])
		out[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
	}
	v := 3 * int32(in[n-1])
	out[2*n-2] = uint8((v + int32(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// h2v2 is the horizontal half of libjpeg-turbo's h2v2_fancy_upsample, on
// column sums already weighted 3:1 vertically (len(s) > 2).
func h2v2(out []uint8, s []int32) {
	n := len(s)
	out[0] = uint8((s[0]*4 + 8) >> 4)
	out[1] = uint8((s[0]*3 + s[1] + 7) >> 4)
	for i := 1; i < n-1; i++ {
		out[2*i] = uint8((s[i]*3 + s[i-1] + 8) >> 4)
		out[2*i+1] = uint8((s[i]*3 + s[i+1] + 7) >> 4)
	}
	out[2*n-2] = uint8((s[n-1]*3 + s[n-2] + 8) >> 4)
	out[2*n-1] = uint8((s[n-1]*4 + 7) >> 4)
}
