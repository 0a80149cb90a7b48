package dataset

import (
	"github.com/yolops/yolops/imgproc"
)

// mosaicBorder is Mosaic's default border, -imgsz // 2 in Python's floor
// division: RandomPerspective crops that much off each side of the
// 2*imgsz canvas.
func mosaicBorder(imgsz int) int {
	b := -imgsz / 2
	if imgsz%2 != 0 {
		b-- // floor, not truncation, for odd sizes
	}
	return b
}

// drawMosaicCentre draws the mosaic centre (yc, xc) as Mosaic._mosaic4
// does: int(random.uniform(-border, 2*imgsz + border)), y first.
func drawMosaicCentre(d draws, imgsz int) (xc, yc int) {
	b := float64(mosaicBorder(imgsz))
	yc = int(d.uniform(-b, 2*float64(imgsz)+b))
	xc = int(d.uniform(-b, 2*float64(imgsz)+b))
	return xc, yc
}

// mosaic4 is Ultralytics' Mosaic._mosaic4 and _cat_labels: the four
// patches (each image resized by load_image, boxes normalised xywh) are
// placed around the centre (xc, yc) of a 2*imgsz square canvas filled
// with grey 114 (top left, top right, bottom left, bottom right, each
// cropped where it would leave the canvas), their boxes moved with them
// into canvas pixels (xyxy), clipped to the canvas, and those left with
// no area dropped. The result carries the first patch's path and
// original shape. canvas, when not nil, is a buffer to reuse for the
// canvas.
func mosaic4(p [4]*sample, imgsz, xc, yc int, canvas *imgproc.RGB) *sample {
	s2 := 2 * imgsz
	if canvas == nil || cap(canvas.Pix) < s2*s2*3 {
		canvas = imgproc.NewRGB(s2, s2)
	}
	canvas.W, canvas.H, canvas.Pix = s2, s2, canvas.Pix[:s2*s2*3]
	fillBytes(canvas.Pix, imgproc.PadValue)
	out := &sample{img: canvas, owned: true, path: p[0].path, origH: p[0].origH, origW: p[0].origW,
		shapeH: s2, shapeW: s2}
	for i, q := range p {
		w, h := q.img.W, q.img.H
		var x1a, y1a, x2a, y2a, x1b, y1b, x2b, y2b int
		switch i {
		case 0: // top left
			x1a, y1a, x2a, y2a = max(xc-w, 0), max(yc-h, 0), xc, yc
			x1b, y1b, x2b, y2b = w-(x2a-x1a), h-(y2a-y1a), w, h
		case 1: // top right
			x1a, y1a, x2a, y2a = xc, max(yc-h, 0), min(xc+w, s2), yc
			x1b, y1b, x2b, y2b = 0, h-(y2a-y1a), min(w, x2a-x1a), h
		case 2: // bottom left
			x1a, y1a, x2a, y2a = max(xc-w, 0), yc, xc, min(s2, yc+h)
			x1b, y1b, x2b, y2b = w-(x2a-x1a), 0, w, min(y2a-y1a, h)
		case 3: // bottom right
			x1a, y1a, x2a, y2a = xc, yc, min(xc+w, s2), min(s2, yc+h)
			x1b, y1b, x2b, y2b = 0, 0, min(w, x2a-x1a), min(y2a-y1a, h)
		}
		pasteRegion(canvas, x1a, y1a, x2a, y2a, q.img, x1b, y1b, x2b, y2b)
		boxes := append([][4]float32(nil), q.boxes...)
		xywhToXYXY(boxes)
		scaleBoxes(boxes, float32(w), float32(h))
		padBoxes(boxes, float32(x1a-x1b), float32(y1a-y1b))
		out.boxes = append(out.boxes, boxes...)
		out.cls = append(out.cls, q.cls...)
	}
	clipBoxes(out.boxes, float32(s2), float32(s2))
	keep := make([]bool, len(out.boxes))
	for i, b := range out.boxes {
		keep[i] = float32(b[2]-b[0])*float32(b[3]-b[1]) > 0
	}
	out.keepBoxes(keep)
	return out
}

// fillBytes sets every byte of b to v, by doubling copies (memmove
// speed).
func fillBytes(b []uint8, v uint8) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// pasteRegion is numpy's dst[y1a:y2a, x1a:x2a] = src[y1b:y2b, x1b:x2b]
// for the regions Mosaic computes. Python slices clamp their bounds and
// an empty or reversed slice copies nothing; both sides have the same
// shape whenever Mosaic's arithmetic gives a non-empty region.
func pasteRegion(dst *imgproc.RGB, x1a, y1a, x2a, y2a int, src *imgproc.RGB, x1b, y1b, x2b, y2b int) {
	x1a, x2a = clampSlice(x1a, x2a, dst.W)
	y1a, y2a = clampSlice(y1a, y2a, dst.H)
	x1b, x2b = clampSlice(x1b, x2b, src.W)
	y1b, y2b = clampSlice(y1b, y2b, src.H)
	w, h := min(x2a-x1a, x2b-x1b), min(y2a-y1a, y2b-y1b)
	if w <= 0 || h <= 0 {
		return
	}
	for y := range h {
		d := dst.Pix[((y1a+y)*dst.W+x1a)*3:]
		s := src.Pix[((y1b+y)*src.W+x1b)*3:]
		copy(d[:w*3], s[:w*3])
	}
}

// clampSlice applies Python's slice rules for non-negative bounds to
// [lo:hi] on a length n: both clamped to n, and hi below lo empties it.
func clampSlice(lo, hi, n int) (int, int) {
	lo, hi = min(max(lo, 0), n), min(max(hi, 0), n)
	return lo, max(lo, hi)
}
