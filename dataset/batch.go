package dataset

import (
	"github.com/yolops/yolops/imgproc"
)

// RatioPad is Ultralytics' ratio_pad of a validation image: how loading
// and letterboxing changed it. The validator maps boxes found in the
// batch image back onto the original with it (ops.scale_boxes with
// ratio_pad, which divides by RatioH for both axes after removing the
// padding).
type RatioPad struct {
	RatioH, RatioW float64 // resized size / original size, per side, as the image was loaded
	PadX, PadY     int     // left and top padding the letterbox added, in pixels
}

// Batch is one batch in the layout of Ultralytics' collate_fn. Its
// slices belong to the caller.
type Batch struct {
	Epoch, Index int // the epoch, and the batch's number in it, from 0

	// N images of H x W pixels, as float32 RGB planes scaled to [0, 1]:
	// image i, channel c, row y, column x is at ((i*3+c)*H+y)*W+x.
	N, H, W int
	Images  []float32

	// One entry per box, the boxes of image 0 first, then image 1...
	Cls      []float32    // class
	Boxes    [][4]float32 // centre x, centre y, width, height, normalised to W and H
	BatchIdx []float32    // the image (0 to N-1) the box belongs to

	// One entry per image.
	Paths []string
	// OrigShapes are the images' sizes as read, (height, width).
	OrigShapes [][2]int
	// ResizedShapes are Ultralytics' resized_shape, (height, width): the
	// letterbox target for validation, the output size after
	// augmentation.
	ResizedShapes [][2]int
	// RatioPads are set for batches made without augmentation
	// (validation), nil otherwise: Ultralytics' RandomPerspective drops
	// them.
	RatioPads []RatioPad
}

// Image returns image i's planes, a slice of b.Images.
func (b *Batch) Image(i int) []float32 {
	n := 3 * b.H * b.W
	return b.Images[i*n : (i+1)*n : (i+1)*n]
}

// Labels returns the classes and boxes of image i (slices of b.Cls and
// b.Boxes).
func (b *Batch) Labels(i int) (cls []float32, boxes [][4]float32) {
	lo := 0
	for lo < len(b.BatchIdx) && int(b.BatchIdx[lo]) < i {
		lo++
	}
	hi := lo
	for hi < len(b.BatchIdx) && int(b.BatchIdx[hi]) == i {
		hi++
	}
	return b.Cls[lo:hi:hi], b.Boxes[lo:hi:hi]
}

// finishLabels is Format's box step: xywh (converted from xyxy unless
// already xywh) normalised by the image size, in float32.
func (s *sample) finishLabels(xywh bool) {
	if !xywh {
		xyxyToXYWH(s.boxes)
	}
	w, h := float32(s.img.W), float32(s.img.H)
	for i := range s.boxes {
		s.boxes[i][0] /= w
		s.boxes[i][1] /= h
		s.boxes[i][2] /= w
		s.boxes[i][3] /= h
	}
}

// newBatch allocates a batch of n images of h x w.
func newBatch(epoch, index, n, h, w int, ratioPads bool) *Batch {
	b := &Batch{Epoch: epoch, Index: index, N: n, H: h, W: w,
		Images:        make([]float32, n*3*h*w),
		Paths:         make([]string, n),
		OrigShapes:    make([][2]int, n),
		ResizedShapes: make([][2]int, n),
	}
	if ratioPads {
		b.RatioPads = make([]RatioPad, n)
	}
	return b
}

// put stores sample s as image i of b (its pixels; labels are gathered
// by collate, in image order).
func (b *Batch) put(i int, s *sample) {
	imgproc.ToCHW(b.Image(i), s.img)
	b.Paths[i] = s.path
	b.OrigShapes[i] = [2]int{s.origH, s.origW}
	b.ResizedShapes[i] = [2]int{s.shapeH, s.shapeW}
	if b.RatioPads != nil && s.ratioPad != nil {
		b.RatioPads[i] = *s.ratioPad
	}
}

// collate concatenates the samples' labels in image order, as
// collate_fn does (batch_idx holds each box's image index).
func (b *Batch) collate(samples []*sample) {
	n := 0
	for _, s := range samples {
		n += len(s.cls)
	}
	b.Cls = make([]float32, 0, n)
	b.Boxes = make([][4]float32, 0, n)
	b.BatchIdx = make([]float32, 0, n)
	for i, s := range samples {
		b.Cls = append(b.Cls, s.cls...)
		b.Boxes = append(b.Boxes, s.boxes...)
		for range s.cls {
			b.BatchIdx = append(b.BatchIdx, float32(i))
		}
	}
}
