package nn

import (
	"fmt"
	"math"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
)

// softmaxTile is how many neighbouring vectors Softmax handles together
// when the axis is not the last: their elements at one position along the
// axis are contiguous, so a tile reads memory in order instead of striding
// across it once per element.
const softmaxTile = 64

// Softmax normalises along one axis of a tensor of any rank: YOLOv8's DFL
// takes it over the 16 bins of each box side. It subtracts each vector's
// maximum first, so large logits don't overflow.
type Softmax struct {
	Axis int
	name string
	e    *Engine
	// The tensor seen as [outer, size, inner]: size values along the axis,
	// inner apart; tiles is the number of tiles per outer index.
	outer, size, inner, tiles int
	x, y, dx                  *tensor.Tensor
	dy                        []float32
	fwdRun, bwdRun            parallel.Func
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
	s.outer, s.size, s.inner = 1, shape[ax], 1
	for _, d := range shape[:ax] {
		s.outer *= d
	}
	for _, d := range shape[ax+1:] {
		s.inner *= d
	}
	s.tiles = (s.inner + softmaxTile - 1) / softmaxTile
}

// run splits the work into units (tiles, or whole vectors when the axis is
// the last) over the pool.
func (s *Softmax) run(fn parallel.Func) {
	units, per := s.outer*s.tiles, s.size*min(s.inner, softmaxTile)
	if s.inner == 1 {
		units, per = s.outer, s.size
	}
	s.e.Pool.For(units, max(1, elemGrain/(per+1)), fn)
}

// Forward returns exp(x - max) / sum(exp(x - max)) along the axis.
func (s *Softmax) Forward(x *tensor.Tensor) *tensor.Tensor {
	s.layout(x.Shape)
	s.x = x
	fitLike(s.y, x)
	s.run(s.fwdRun)
	s.x = nil
	return s.y
}

func (s *Softmax) fwdPart(_, lo, hi int) {
	x, y := s.x.Data, s.y.Data
	if s.inner == 1 {
		for v := lo; v < hi; v++ {
			softmaxVector(y[v*s.size:(v+1)*s.size], x[v*s.size:(v+1)*s.size])
		}
		return
	}
	var mx, sum [softmaxTile]float32
	for u := lo; u < hi; u++ {
		base, n := s.tile(u)
		m := mx[:n]
		for j := range m {
			m[j] = float32(math.Inf(-1))
		}
		for k := 0; k < s.size; k++ {
			for j, v := range x[base+k*s.inner : base+k*s.inner+n] {
				m[j] = max(m[j], v) // NaN-propagating, as PyTorch's
			}
		}
		sm := sum[:n]
		clear(sm)
		for k := 0; k < s.size; k++ {
			xr, yr := x[base+k*s.inner:base+k*s.inner+n], y[base+k*s.inner:base+k*s.inner+n]
			for j, v := range xr {
				e := float32(math.Exp(float64(v - m[j])))
				yr[j] = e
				sm[j] += e
			}
		}
		for j := range sm {
			sm[j] = 1 / sm[j]
		}
		for k := 0; k < s.size; k++ {
			for j := range y[base+k*s.inner : base+k*s.inner+n] {
				y[base+k*s.inner+j] *= sm[j]
			}
		}
	}
}

// tile returns the offset of tile u's first element and its width.
func (s *Softmax) tile(u int) (base, n int) {
	o, t := u/s.tiles, u%s.tiles
	j0 := t * softmaxTile
	return o*s.size*s.inner + j0, min(s.inner-j0, softmaxTile)
}

// softmaxVector writes the softmax of the contiguous vector x into y.
func softmaxVector(y, x []float32) {
	y = y[:len(x)]
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		y[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range y {
		y[i] *= inv
	}
}

// Backward returns y * (dy - sum(dy*y)) along the axis.
func (s *Softmax) Backward(dy *tensor.Tensor) *tensor.Tensor {
	checkGradShape("nn.Softmax", s.name, dy, s.y)
	s.layout(dy.Shape)
	fitLike(s.dx, dy)
	s.dy = dy.Data
	s.run(s.bwdRun)
	s.dy = nil
	return s.dx
}

func (s *Softmax) bwdPart(_, lo, hi int) {
	y, dy, dx := s.y.Data, s.dy, s.dx.Data
	if s.inner == 1 {
		for v := lo; v < hi; v++ {
			a, b := v*s.size, (v+1)*s.size
			softmaxVectorGrad(dx[a:b], dy[a:b], y[a:b])
		}
		return
	}
	var dots [softmaxTile]float32
	for u := lo; u < hi; u++ {
		base, n := s.tile(u)
		dot := dots[:n]
		clear(dot)
		for k := 0; k < s.size; k++ {
			i := base + k*s.inner
			yr := y[i : i+n]
			for j, g := range dy[i : i+n] {
				dot[j] += g * yr[j]
			}
		}
		for k := 0; k < s.size; k++ {
			i := base + k*s.inner
			yr, gr := y[i:i+n], dy[i:i+n]
			for j := range dx[i : i+n] {
				dx[i+j] = yr[j] * (gr[j] - dot[j])
			}
		}
	}
}

// softmaxVectorGrad writes y * (dy - dot(dy, y)) for one contiguous vector.
func softmaxVectorGrad(dx, dy, y []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	var dot float32
	for i, g := range dy {
		dot += g * y[i]
	}
	for i, g := range dy {
		dx[i] = y[i] * (g - dot)
	}
}
