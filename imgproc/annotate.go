package imgproc

// Lower-level drawing for annotated grids (Ultralytics' plot_images:
// train_batch*.jpg, val_batch*_labels.jpg and _pred.jpg), where the line
// width and text size follow the whole grid rather than one image.

// DrawBoxes is Draw with an explicit line width lw (at least 1), which
// also sets the label's text scale.
func DrawBoxes(img *RGB, boxes []Box, lw int) {
	lw = max(lw, 1)
	for i := len(boxes) - 1; i >= 0; i-- {
		drawBox(img, boxes[i], lw)
	}
}

// DrawText draws s in colour c with the top-left corner of its first
// character cell at (x, y), each pixel of the built-in bitmap font
// drawn as a scale x scale block (scale at least 1). Text beyond the
// image is clipped.
func DrawText(img *RGB, s string, x, y, scale int, c [3]uint8) {
	drawText(img, s, x, y, max(scale, 1), c)
}

// TextSize is the width and height in pixels of s drawn at scale by
// DrawText (the height includes descenders).
func TextSize(s string, scale int) (w, h int) {
	scale = max(scale, 1)
	return textWidth(s, scale), glyphH * scale
}

// StrokeRect draws the outline of the rectangle [x0, x1) x [y0, y1), lw
// pixels thick inside it, in colour c, clipped to the image.
func StrokeRect(img *RGB, x0, y0, x1, y1, lw int, c [3]uint8) {
	if lw <= 0 || x0 >= x1 || y0 >= y1 {
		return
	}
	fillRect(img, x0, y0, x1, min(y0+lw, y1), c) // top
	fillRect(img, x0, max(y1-lw, y0), x1, y1, c) // bottom
	fillRect(img, x0, y0, min(x0+lw, x1), y1, c) // left
	fillRect(img, max(x1-lw, x0), y0, x1, y1, c) // right
}

// FillRect fills the rectangle [x0, x1) x [y0, y1) with colour c,
// clipped to the image.
func FillRect(img *RGB, x0, y0, x1, y1 int, c [3]uint8) {
	fillRect(img, x0, y0, x1, y1, c)
}
