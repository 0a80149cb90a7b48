package nn

import (
	"fmt"
	"math"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
)

// Softmax normalises along one axis of a tensor of any rank: YOLOv8's DFL
// takes it over the 16 bins of each box side.
type Softmax struct {
	Axis int
	name string
	e    *Engine
	// The tensor seen as [in, size, inner]: size values along the axis,
	// inner apart.
	in, size, inner int
	x, y, dx        *tensor.Tensor
	dy              []float32
	fwdRun, bwdRun  parallel.Func
}

// NewSoftmax returns a softmax along axis (negative counts from the end).
func NewSoftmax(e *Engine, name string, axis int) *Softmax {
	s := &Softmax{Axis: axis, name: name, e: e, y: tensor.New(0), dx: tensor.New(0)}
	s.fwdRun, s.bwdRun = s.fwdPart, s.bwdPart
	return s
}

func (s *Softmax) layout(shape []int) {
	ax := s.Axis
	if ax < 0 {
		ax += len(shape)
	}
	if ax < 0 || ax >= len(shape) {
		panic(fmt.Sprintf("nn.Softmax %s: axis %d out of range for shape %v", s.name, s.Axis, shape))
	}
	s.in, s.size, s.inner = 1, shape[ax], 1
	for _, d := range shape[:ax] {
		s.in *= d
	}
	for _, d := range shape[ax+1:] {
		s.inner *= d
	}
}

// Forward returns exp(x - max) / sum(exp(x - max)) along the axis.
func (s *Softmax) Forward(x *tensor.Tensor) *tensor.Tensor {
	s.layout(x.Shape)
	s.x = x
	fitLike(s.y, x)
	s.e.Pool.For(s.in*s.inner, max(1, elemGrain/(s.size+1)), s.fwdRun)
	s.x = nil
	return s.y
}

// fwdPart handles the vectors [lo, hi), numbered outer*inner + inner.
func (s *Softmax) fwdPart(_, lo, hi int) {
	for v := lo; v < hi; v++ {
		base := (v/s.inner)*s.size*s.inner + v%s.inner
		x, y := s.x.Data, s.y.Data
		m := float32(math.Inf(-1))
		for k := 0; k < s.size; k++ {
			m = max(m, x[base+k*s.inner])
		}
		var sum float32
		for k := 0; k < s.size; k++ {
			e := float32(math.Exp(float64(x[base+k*s.inner] - m)))
			y[base+k*s.inner] = e
			sum += e
		}
		inv := 1 / sum
		for k := 0; k < s.size; k++ {
			y[base+k*s.inner] *= inv
		}
	}
}

// Backward returns y * (dy - sum(dy*y)) along the axis.
func (s *Softmax) Backward(dy *tensor.Tensor) *tensor.Tensor {
	checkGradShape("nn.Softmax", s.name, dy, s.y)
	s.layout(dy.Shape)
	fitLike(s.dx, dy)
	s.dy = dy.Data
	s.e.Pool.For(s.in*s.inner, max(1, elemGrain/(s.size+1)), s.bwdRun)
	s.dy = nil
	return s.dx
}

func (s *Softmax) bwdPart(_, lo, hi int) {
	y, dy, dx := s.y.Data, s.dy, s.dx.Data
	for v := lo; v < hi; v++ {
		base := (v/s.inner)*s.size*s.inner + v%s.inner
		var dot float32
		for k := 0; k < s.size; k++ {
			i := base + k*s.inner
			dot += dy[i] * y[i]
		}
		for k := 0; k < s.size; k++ {
			i := base + k*s.inner
			dx[i] = y[i] * (dy[i] - dot)
		}
	}
}
