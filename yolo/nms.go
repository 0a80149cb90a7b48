package yolo

import (
	"fmt"
	"sort"

	"github.com/yolops/yolops/tensor"
)

// Detection is one detected object: a box (x1, y1, x2, y2) in pixels, its
// confidence and class.
type Detection struct {
	Box   [4]float32
	Score float32
	Class int
}

// NMSOptions are the knobs of non-maximum suppression, with Ultralytics'
// names; DefaultNMS gives its predict defaults.
type NMSOptions struct {
	Conf, IoU float32
	MaxDet    int
	// Agnostic suppresses overlapping boxes across classes too.
	Agnostic bool
	// Classes, when not empty, keeps only these classes.
	Classes []int
	// MultiLabel makes every class scoring above Conf a candidate, not
	// only an anchor's best one, as Ultralytics' validator asks
	// (multi_label=True): a box may then be reported under two classes.
	MultiLabel bool
}

// DefaultNMS returns the defaults of Ultralytics' predict: conf 0.25,
// IoU 0.7, at most 300 detections, per class.
func DefaultNMS() NMSOptions { return NMSOptions{Conf: 0.25, IoU: 0.7, MaxDet: 300} }

// Ultralytics' limits: boxes kept before NMS, and the offset that
// separates classes (larger than any image side).
const (
	maxNMS = 30000
	maxWH  = 7680
)

// NMS is Ultralytics 8.2's non_max_suppression for one image of Decode's
// output (pred [N, 4+NC, A], image b), best class per box: candidates
// whose best class probability exceeds Conf, sorted by it, then greedy
// suppression of any box whose IoU with a kept box of the same class
// exceeds IoU, as torchvision.ops.nms. Boxes are in input pixels.
func NMS(pred *tensor.Tensor, b int, opt NMSOptions) []Detection {
	if len(pred.Shape) != 3 || pred.Shape[1] < 5 || b < 0 || b >= pred.Shape[0] {
		panic(fmt.Sprintf("yolo.NMS: prediction shape %v, image %d: want [N 4+NC A] and 0 <= image < N", pred.Shape, b))
	}
	nc, a := pred.Shape[1]-4, pred.Shape[2]
	p := pred.Data[b*(4+nc)*a : (b+1)*(4+nc)*a]
	keepClass := func(int) bool { return true }
	if len(opt.Classes) > 0 {
		set := map[int]bool{}
		for _, c := range opt.Classes {
			set[c] = true
		}
		keepClass = func(c int) bool { return set[c] }
	}
	var cand []Detection
	box := func(j int) [4]float32 {
		cx, cy, w, h := p[j], p[a+j], p[2*a+j], p[3*a+j]
		return [4]float32{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
	}
	if opt.MultiLabel {
		for j := range a {
			// In anchor order, then class order, as torch.where lists them.
			for c := range nc {
				if v := p[(4+c)*a+j]; v > opt.Conf && keepClass(c) {
					cand = append(cand, Detection{Box: box(j), Score: v, Class: c})
				}
			}
		}
	} else {
		// Each anchor's best class (the first of equal scores), found a
		// block of anchors at a time so that each class's scores are read
		// in order rather than 4+NC rows apart.
		const blockSize = 256
		var best [blockSize]float32
		var cls [blockSize]int32
		for j0 := 0; j0 < a; j0 += blockSize {
			n := min(blockSize, a-j0)
			copy(best[:n], p[4*a+j0:][:n])
			clear(cls[:n])
			for c := 1; c < nc; c++ {
				row := p[(4+c)*a+j0:][:n]
				for i, v := range row {
					if v > best[i] {
						best[i], cls[i] = v, int32(c)
					}
				}
			}
			for i := range n {
				if best[i] > opt.Conf && keepClass(int(cls[i])) {
					cand = append(cand, Detection{Box: box(j0 + i), Score: best[i], Class: int(cls[i])})
				}
			}
		}
	}
	sort.SliceStable(cand, func(i, j int) bool { return cand[i].Score > cand[j].Score })
	if len(cand) > maxNMS {
		cand = cand[:maxNMS]
	}
	// Offsetting each class's boxes by class*maxWH keeps classes apart.
	off := func(d Detection) [4]float32 {
		if opt.Agnostic {
			return d.Box
		}
		o := float32(d.Class * maxWH)
		return [4]float32{d.Box[0] + o, d.Box[1] + o, d.Box[2] + o, d.Box[3] + o}
	}
	var kept []Detection
	var keptBoxes [][4]float32
	for _, d := range cand {
		if opt.MaxDet > 0 && len(kept) >= opt.MaxDet {
			break
		}
		bx := off(d)
		suppressed := false
		for _, k := range keptBoxes {
			if iou(bx, k) > opt.IoU {
				suppressed = true
				break
			}
		}
		if !suppressed {
			kept = append(kept, d)
			keptBoxes = append(keptBoxes, bx)
		}
	}
	return kept
}

// iou is the intersection over union of two xyxy boxes, computed as
// torchvision's nms_kernel does.
func iou(a, b [4]float32) float32 {
	areaA := (a[2] - a[0]) * (a[3] - a[1])
	areaB := (b[2] - b[0]) * (b[3] - b[1])
	w := max(0, min(a[2], b[2])-max(a[0], b[0]))
	h := max(0, min(a[3], b[3])-max(a[1], b[1]))
	inter := w * h
	return inter / (areaA + areaB - inter)
}
