package nn

import (
	"fmt"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
)

// MaxPool2d is max pooling with a k x k window, stride 1 and padding k/2
// (k odd), so that the output has the input's size: the pooling of
// YOLOv8's SPPF block (k=5). Padding never wins, as PyTorch pads with -inf.
type MaxPool2d struct {
	K    int
	name string
	e    *Engine

	x, y, dx *tensor.Tensor
	// arg[i] is the index within its plane of the input that won output i.
	arg    []int32
	dy     []float32
	fwdRun parallel.Func
	bwdRun parallel.Func
}

// NewMaxPool2d returns the pooling for an odd kernel size k.
func NewMaxPool2d(e *Engine, name string, k int) *MaxPool2d {
	if k < 1 || k%2 == 0 {
		panic(fmt.Sprintf("nn.NewMaxPool2d %s: kernel %d, want an odd size >= 1", name, k))
	}
	m := &MaxPool2d{K: k, name: name, e: e, y: tensor.New(0, 0, 0, 0), dx: tensor.New(0, 0, 0, 0)}
	m.fwdRun, m.bwdRun = m.fwdPart, m.bwdPart
	return m
}

// Forward pools x [N, C, H, W] into [N, C, H, W].
func (m *MaxPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w, err := x.NCHW()
	if err != nil {
		panic(fmt.Sprintf("nn.MaxPool2d %s: input shape %v, want [N C H W]", m.name, x.Shape))
	}
	m.x = x
	fitLike(m.y, x)
	m.arg = fitInt32(m.arg, len(x.Data))
	m.e.Pool.For(n*c, max(1, elemGrain/(h*w+1)), m.fwdRun)
	return m.y
}

// fwdPart pools planes [lo, hi).
func (m *MaxPool2d) fwdPart(_, lo, hi int) {
	h, w := m.x.Shape[2], m.x.Shape[3]
	r := m.K / 2
	for pl := lo; pl < hi; pl++ {
		x := m.x.Data[pl*h*w : (pl+1)*h*w]
		y := m.y.Data[pl*h*w : (pl+1)*h*w]
		arg := m.arg[pl*h*w : (pl+1)*h*w]
		for oy := 0; oy < h; oy++ {
			y0, y1 := max(oy-r, 0), min(oy+r+1, h)
			for ox := 0; ox < w; ox++ {
				x0, x1 := max(ox-r, 0), min(ox+r+1, w)
				// Scan in PyTorch's order, keeping the first maximum; a NaN
				// wins, as in PyTorch, so that it shows downstream.
				best, bi := x[y0*w+x0], y0*w+x0
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						if v := x[iy*w+ix]; v > best || (v != v && best == best) {
							best, bi = v, iy*w+ix
						}
					}
				}
				y[oy*w+ox], arg[oy*w+ox] = best, int32(bi)
			}
		}
	}
}

// Backward routes each output gradient to the input that won its window.
func (m *MaxPool2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if m.x == nil {
		panic(fmt.Sprintf("nn.MaxPool2d %s: Backward before Forward", m.name))
	}
	checkGradShape("nn.MaxPool2d", m.name, dy, m.y)
	fitLike(m.dx, m.x)
	m.dy = dy.Data
	n, c, h, w := m.x.Shape[0], m.x.Shape[1], m.x.Shape[2], m.x.Shape[3]
	m.e.Pool.For(n*c, max(1, elemGrain/(h*w+1)), m.bwdRun)
	m.dy = nil
	return m.dx
}

func (m *MaxPool2d) bwdPart(_, lo, hi int) {
	hw := m.x.Shape[2] * m.x.Shape[3]
	for pl := lo; pl < hi; pl++ {
		dx := m.dx.Data[pl*hw : (pl+1)*hw]
		clear(dx)
		dy, arg := m.dy[pl*hw:(pl+1)*hw], m.arg[pl*hw:(pl+1)*hw]
		for i, g := range dy {
			dx[arg[i]] += g
		}
	}
}

// fitInt32 returns s resized to n elements, reallocated only to grow.
func fitInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
