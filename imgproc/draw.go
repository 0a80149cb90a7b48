package imgproc

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
)

// palette is Ultralytics' default colour palette (ultralytics/utils/
// plotting.py, Colors), in RGB; class c is drawn in palette[c % 20].
var palette = [20][3]uint8{
	{0x04, 0x2A, 0xFF}, {0x0B, 0xDB, 0xEB}, {0xF3, 0xF3, 0xF3}, {0x00, 0xDF, 0xB7},
	{0x11, 0x1F, 0x68}, {0xFF, 0x6F, 0xDD}, {0xFF, 0x44, 0x4F}, {0xCC, 0xED, 0x00},
	{0x00, 0xF3, 0x44}, {0xBD, 0x00, 0xFF}, {0x00, 0xB4, 0xFF}, {0xDD, 0x00, 0xBA},
	{0x00, 0xFF, 0xFF}, {0x26, 0xC0, 0x00}, {0x01, 0xFF, 0xB3}, {0x7D, 0x24, 0xFF},
	{0x7B, 0x00, 0x68}, {0xFF, 0x1B, 0x6C}, {0xFC, 0x6D, 0x2F}, {0xA2, 0xFF, 0x0B},
}

// darkText marks the palette entries light enough that Annotator writes
// labels on them in dark blue rather than white (its dark_colors set,
// given there in BGR); darkTextColor is that blue, (104, 31, 17) in BGR.
var (
	darkText      = [20]bool{1: true, 2: true, 3: true, 5: true, 7: true, 8: true, 12: true, 14: true, 19: true}
	darkTextColor = [3]uint8{17, 31, 104}
	whiteText     = [3]uint8{255, 255, 255}
)

// ClassColor returns the RGB colour Ultralytics draws class c in.
func ClassColor(c int) [3]uint8 {
	return palette[classSlot(c)]
}

func classSlot(c int) int {
	return (c%len(palette) + len(palette)) % len(palette)
}

// LineWidth is Annotator's default line width for a w x h image:
// max(round(sum(im.shape) / 2 * 0.003), 2). im.shape is (h, w, 3), so the
// channel count takes part in the sum; round is Python's, half to even.
func LineWidth(w, h int) int {
	return max(int(math.RoundToEven(float64(h+w+3)/2*0.003)), 2)
}

// Label is the text Ultralytics puts on a detection: the class name and
// the confidence with two decimals, e.g. "person 0.87".
func Label(name string, conf float32) string {
	return fmt.Sprintf("%s %.2f", name, conf)
}

// Box is a detection to draw: corners in image pixels, the class (which
// picks the colour) and the label text (empty for none).
type Box struct {
	X1, Y1, X2, Y2 float32
	Class          int
	Label          string
}

// Draw draws boxes on img in place, in the manner of Ultralytics'
// Annotator.box_label with its OpenCV backend: a rectangle in the class
// colour LineWidth pixels thick, and the label in a filled box of the same
// colour at the top-left corner, above the rectangle when there is room
// and inside it otherwise, moved left to stay within the image. Corners
// are truncated to integers as Annotator does. Boxes are drawn last to
// first, as Results.plot iterates reversed(boxes), so that the first box
// (the most confident, in NMS order) ends up on top.
//
// The pixels are not OpenCV's: lines are not antialiased and the label
// uses a built-in bitmap font (scaled by the line width so that it reads
// as large as OpenCV's Hershey font at Annotator's font scale, lw/3).
func Draw(img *RGB, boxes []Box) {
	lw := LineWidth(img.W, img.H)
	for i := len(boxes) - 1; i >= 0; i-- {
		drawBox(img, boxes[i], lw)
	}
}

func drawBox(img *RGB, b Box, lw int) {
	slot := classSlot(b.Class)
	c := palette[slot]
	x1, y1, x2, y2 := truncInt(b.X1), truncInt(b.Y1), truncInt(b.X2), truncInt(b.Y2)
	// A line of thickness lw centred on each edge, as cv2.rectangle draws.
	lo, hi := lw/2, lw-lw/2                      // pixels before and after the edge line
	fillRect(img, x1-lo, y1-lo, x2+hi, y1+hi, c) // top
	fillRect(img, x1-lo, y2-lo, x2+hi, y2+hi, c) // bottom
	fillRect(img, x1-lo, y1-lo, x1+hi, y2+hi, c) // left
	fillRect(img, x2-lo, y1-lo, x2+hi, y2+hi, c) // right
	if b.Label == "" {
		return
	}
	k := lw // font scale: 7*lw pixel capitals ~ Hershey's 22*lw/3
	margin := max(1, k/2)
	w := textWidth(b.Label, k) + 2*margin
	h := glyphH*k + 2*margin
	x, y := x1, y1
	if x > img.W-w {
		x = max(0, img.W-w)
	}
	top := y // label inside the box, below its top edge
	if y >= h {
		top = y - h // above the box
	}
	fillRect(img, x, top, x+w, top+h, c)
	tc := whiteText
	if darkText[slot] {
		tc = darkTextColor
	}
	drawText(img, b.Label, x+margin, top+margin, k, tc)
}

// truncInt is Python's int() of a float: truncation toward zero, with
// values beyond the int32 range pinned (a stray box must not overflow the
// drawing arithmetic).
func truncInt(v float32) int {
	switch {
	case v != v: // NaN
		return 0
	case v > math.MaxInt32:
		return math.MaxInt32
	case v < math.MinInt32:
		return math.MinInt32
	}
	return int(v)
}

// fillRect fills [x0, x1) x [y0, y1), clipped to the image.
func fillRect(img *RGB, x0, y0, x1, y1 int, c [3]uint8) {
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, img.W), min(y1, img.H)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	for y := y0; y < y1; y++ {
		row := img.Pix[(y*img.W+x0)*3 : (y*img.W+x1)*3]
		for i := 0; i < len(row); i += 3 {
			row[i], row[i+1], row[i+2] = c[0], c[1], c[2]
		}
	}
}

// EncodeJPEG writes img as a baseline JPEG (4:2:0, as Go's encoder
// writes). quality is 1 to 100; cv2.imwrite, which Ultralytics saves
// predictions with, uses 95.
func EncodeJPEG(w io.Writer, img *RGB, quality int) error {
	if err := jpeg.Encode(w, toRGBA(img), &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("encode JPEG: %w", err)
	}
	return nil
}

// EncodePNG writes img as an 8-bit RGB PNG.
func EncodePNG(w io.Writer, img *RGB) error {
	if err := png.Encode(w, toRGBA(img)); err != nil {
		return fmt.Errorf("encode PNG: %w", err)
	}
	return nil
}

// toRGBA copies img into an opaque image.RGBA, the type the standard
// encoders have fast paths for (a generic image.Image goes through At for
// every pixel).
func toRGBA(img *RGB) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; i < len(img.Pix); i, j = i+3, j+4 {
		dst.Pix[j], dst.Pix[j+1], dst.Pix[j+2], dst.Pix[j+3] = img.Pix[i], img.Pix[i+1], img.Pix[i+2], 0xff
	}
	return dst
}
