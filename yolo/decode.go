package yolo

import (
	"fmt"

	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/vmath"
)

// Decode turns the head's maps (from Forward in evaluation mode) into
// Ultralytics' inference output: dst [N, 4+NC, A], for the A anchors of
// P3, P4 and P5 in that order, row-major within each level, rows 0-3 the
// box centre x, y, width and height in input pixels (the expectation of
// each side's DFL distribution, measured from the anchor at the cell
// centre, times the stride) and rows 4.. the class probabilities
// (sigmoid of the logits). It is Detect._inference of Ultralytics 8.2.
func Decode(dst *tensor.Tensor, maps [3]*tensor.Tensor, nc int) {
	no := 4*RegMax + nc
	n, a := 0, 0
	for i, m := range maps {
		mn, mc, h, w, err := m.NCHW()
		if err != nil || mc != no || (i > 0 && mn != n) {
			panic(fmt.Sprintf("yolo.Decode: map %d has shape %v, want [N %d H W]", i, m.Shape, no))
		}
		n = mn
		a += h * w
	}
	if len(dst.Shape) != 3 || dst.Shape[0] != n || dst.Shape[1] != 4+nc || dst.Shape[2] != a {
		dst.Reshape(n, 4+nc, a)
	}
	var dist []float32 // the four sides' expected distances of one level's anchors
	for b := range n {
		out := dst.Data[b*(4+nc)*a : (b+1)*(4+nc)*a]
		off := 0
		for i, m := range maps {
			h, w := m.Shape[2], m.Shape[3]
			hw := h * w
			src := m.Data[b*no*hw : (b+1)*no*hw]
			s := float32(strides[i])
			if cap(dist) < 4*hw {
				dist = make([]float32, 4*hw)
			}
			dist = dist[:4*hw]
			for side := range 4 {
				vmath.DFL16(dist[side*hw:(side+1)*hw], src[side*RegMax*hw:], hw)
			}
			for p := range hw {
				ax, ay := float32(p%w)+0.5, float32(p/w)+0.5
				x1, y1 := ax-dist[p], ay-dist[hw+p]
				x2, y2 := ax+dist[2*hw+p], ay+dist[3*hw+p]
				col := off + p
				out[0*a+col] = (x1 + x2) / 2 * s
				out[1*a+col] = (y1 + y2) / 2 * s
				out[2*a+col] = (x2 - x1) * s
				out[3*a+col] = (y2 - y1) * s
			}
			for c := range nc {
				vmath.Sigmoid(out[(4+c)*a+off:(4+c)*a+off+hw], src[(4*RegMax+c)*hw:(4*RegMax+c+1)*hw])
			}
			off += hw
		}
	}
}
