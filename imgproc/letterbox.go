package imgproc

import (
	"fmt"
	"image"
	"math"
)

// PadValue is the grey Ultralytics pads letterboxed images with.
const PadValue = 114

// LetterBox resizes an image keeping its aspect ratio and pads it, as
// Ultralytics 8.2's LetterBox transform (ultralytics/data/augment.py). The
// zero value is not useful: start from NewLetterBox, which sets
// Ultralytics' defaults, and change fields from there.
//
// The predictor uses NewLetterBox(imgsz, imgsz) with Auto = true for a
// single PyTorch model (a 640x480 image at imgsz 320 becomes 320x256);
// training and validation batches use Auto = false (a 320x320 square).
type LetterBox struct {
	// Height and Width are the target shape (new_shape).
	Height, Width int
	// Auto pads only up to the next multiple of Stride (the "minimum
	// rectangle") instead of to Height x Width.
	Auto bool
	// ScaleFill stretches the image to Height x Width without padding,
	// when Auto is false.
	ScaleFill bool
	// ScaleUp allows enlarging; when false the image is only shrunk.
	ScaleUp bool
	// Center splits the padding between both sides; when false the image
	// sits in the top-left corner.
	Center bool
	// Stride is the multiple Auto pads to.
	Stride int
}

// NewLetterBox returns Ultralytics' LetterBox defaults for a target of
// height x width: auto=False, scaleFill=False, scaleup=True, center=True,
// stride=32.
func NewLetterBox(height, width int) LetterBox {
	return LetterBox{Height: height, Width: width, ScaleUp: true, Center: true, Stride: 32}
}

// Letterboxed describes what LetterBox did to an image, with the numbers
// Ultralytics keeps: Ratio for labels and ratio_pad, Pad (the padding
// before rounding) for _update_labels, Left and Top for ratio_pad.
type Letterboxed struct {
	// RatioW and RatioH scale original coordinates to resized ones: both
	// r = min(Height/h0, Width/w0) (capped at 1 without ScaleUp), or
	// Width/w0 and Height/h0 with ScaleFill.
	RatioW, RatioH float64
	// PadW and PadH are dw and dh as LetterBox leaves them: the total
	// padding, halved when Center, before rounding to pixels. Ultralytics'
	// _update_labels adds them to label coordinates (even when Center is
	// false and the image sits at the top-left corner).
	PadW, PadH float64
	// Left, Top, Right and Bottom are the borders actually added.
	Left, Top, Right, Bottom int
	// ResizedW and ResizedH are the size of the image before padding
	// (new_unpad).
	ResizedW, ResizedH int
}

// Plan computes the geometry LetterBox applies to a w0 x h0 image without
// touching pixels. It follows LetterBox.__call__ step by step, in float64
// with Python's round-half-to-even:
//
//	r = min(Height/h0, Width/w0), and min(r, 1) without ScaleUp
//	new_unpad = (round(w0*r), round(h0*r))
//	dw, dh = Width - new_unpad[0], Height - new_unpad[1]
//	Auto: dw, dh = dw mod Stride, dh mod Stride
//	else ScaleFill: dw = dh = 0, new_unpad = (Width, Height)
//	Center: dw, dh = dw/2, dh/2
//	top, bottom = round(dh-0.1) (0 unless Center), round(dh+0.1)
//	left, right = round(dw-0.1) (0 unless Center), round(dw+0.1)
//
// One deliberate difference: where new_unpad would have a zero side (an
// image thousands of times wider than high), Ultralytics fails inside
// cv2.resize, and Plan uses 1 instead. It panics if w0, h0, Height or
// Width is not positive, or Auto is set with a Stride that is not.
func (lb LetterBox) Plan(w0, h0 int) Letterboxed {
	if w0 <= 0 || h0 <= 0 || lb.Width <= 0 || lb.Height <= 0 {
		panic(fmt.Sprintf("imgproc: LetterBox %dx%d of a %dx%d image", lb.Width, lb.Height, w0, h0))
	}
	if lb.Auto && lb.Stride <= 0 {
		panic(fmt.Sprintf("imgproc: LetterBox stride %d", lb.Stride))
	}
	r := math.Min(float64(lb.Height)/float64(h0), float64(lb.Width)/float64(w0))
	if !lb.ScaleUp {
		r = math.Min(r, 1)
	}
	p := Letterboxed{RatioW: r, RatioH: r}
	p.ResizedW = max(1, int(math.RoundToEven(float64(w0)*r)))
	p.ResizedH = max(1, int(math.RoundToEven(float64(h0)*r)))
	dw, dh := lb.Width-p.ResizedW, lb.Height-p.ResizedH
	switch {
	case lb.Auto:
		dw, dh = floorMod(dw, lb.Stride), floorMod(dh, lb.Stride)
	case lb.ScaleFill:
		dw, dh = 0, 0
		p.ResizedW, p.ResizedH = lb.Width, lb.Height
		p.RatioW, p.RatioH = float64(lb.Width)/float64(w0), float64(lb.Height)/float64(h0)
	}
	p.PadW, p.PadH = float64(dw), float64(dh)
	if lb.Center {
		p.PadW /= 2
		p.PadH /= 2
		p.Top = int(math.RoundToEven(p.PadH - 0.1))
		p.Left = int(math.RoundToEven(p.PadW - 0.1))
	}
	p.Bottom = int(math.RoundToEven(p.PadH + 0.1))
	p.Right = int(math.RoundToEven(p.PadW + 0.1))
	return p
}

// floorMod is Python's (and numpy's) %, whose result has the divisor's
// sign.
func floorMod(a, b int) int {
	m := a % b
	if m != 0 && (m < 0) != (b < 0) {
		m += b
	}
	return m
}

// Apply letterboxes src into a new image; see ApplyInto.
func (lb LetterBox) Apply(src *RGB) (*RGB, Letterboxed) {
	return lb.ApplyInto(nil, src)
}

// ApplyInto letterboxes src as Ultralytics' LetterBox(...)(image=src):
// cv2.resize with INTER_LINEAR when the size changes (Resize reproduces it
// byte for byte), then cv2.copyMakeBorder with the constant (114, 114,
// 114). The result is written into dst, whose buffer is reused when large
// enough (dst may be nil, and must not share memory with src); the
// resize goes straight into the padded canvas, without an intermediate
// image. It returns the letterboxed image and its geometry.
func (lb LetterBox) ApplyInto(dst, src *RGB) (*RGB, Letterboxed) {
	p := lb.Plan(src.W, src.H)
	w, h := p.Left+p.ResizedW+p.Right, p.Top+p.ResizedH+p.Bottom
	dst = reuseRGB(dst, w, h)
	stride := w * 3
	// Borders: top and bottom rows whole, left and right runs per row.
	for y := 0; y < h; y++ {
		row := dst.Pix[y*stride : (y+1)*stride]
		if y < p.Top || y >= p.Top+p.ResizedH {
			fill(row, PadValue)
			continue
		}
		fill(row[:p.Left*3], PadValue)
		fill(row[(p.Left+p.ResizedW)*3:], PadValue)
	}
	resizeTo(dst.Pix[p.Top*stride+p.Left*3:], stride, src, p.ResizedW, p.ResizedH)
	return dst, p
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}

// ScaleBoxes maps boxes (x1, y1, x2, y2) found in a letterboxed image of
// size from back onto the original image of size to, in place, as
// Ultralytics' ops.scale_boxes(img1_shape, boxes, img0_shape) does for the
// predictor (ratio_pad=None, padding=True, xyxy): the gain and padding are
// recomputed from the two sizes, not taken from the letterbox,
//
//	gain = min(h1/h0, w1/w0)
//	pad = (round((w1 - w0*gain)/2 - 0.1), round((h1 - h0*gain)/2 - 0.1))
//
// then the boxes are shifted by pad, divided by gain and clipped to the
// image. gain and pad are float64 (Python floats, round half to even);
// the boxes are float32 like the predictor's tensors, so the division is
// by float32(gain) in float32, as PyTorch divides a float tensor by a
// Python number. Sizes are image.Point{X: width, Y: height}.
func ScaleBoxes(boxes [][4]float32, from, to image.Point) {
	gain := math.Min(float64(from.Y)/float64(to.Y), float64(from.X)/float64(to.X))
	padX := math.RoundToEven((float64(from.X)-float64(to.X)*gain)/2 - 0.1)
	padY := math.RoundToEven((float64(from.Y)-float64(to.Y)*gain)/2 - 0.1)
	ScaleBoxesWith(boxes, gain, padX, padY, to)
}

// ScaleBoxesWith is scale_boxes with an explicit ratio_pad, as the
// validator calls it: boxes are shifted by (padX, padY), divided by gain
// and clipped to an image of size to.
func ScaleBoxesWith(boxes [][4]float32, gain, padX, padY float64, to image.Point) {
	g, px, py := float32(gain), float32(padX), float32(padY)
	w, h := float32(to.X), float32(to.Y)
	for i := range boxes {
		b := &boxes[i]
		b[0] = clampf((b[0]-px)/g, w)
		b[1] = clampf((b[1]-py)/g, h)
		b[2] = clampf((b[2]-px)/g, w)
		b[3] = clampf((b[3]-py)/g, h)
	}
}

// clampf is torch.clamp(v, 0, hi).
func clampf(v, hi float32) float32 {
	if v < 0 {
		return 0
	}
	if v > hi {
		return hi
	}
	return v
}
