package nn

import (
	"fmt"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
)

// Add sums two tensors of the same shape: the shortcut of YOLOv8's
// bottleneck blocks.
type Add struct {
	name   string
	e      *Engine
	a, b   *tensor.Tensor
	y      *tensor.Tensor
	fwdRun parallel.Func
}

// NewAdd returns an element-wise sum.
func NewAdd(e *Engine, name string) *Add {
	a := &Add{name: name, e: e, y: tensor.New(0)}
	a.fwdRun = a.fwdPart
	return a
}

// Forward returns a + b.
func (l *Add) Forward(a, b *tensor.Tensor) *tensor.Tensor {
	if !a.SameShape(b) {
		panic(fmt.Sprintf("nn.Add %s: shape mismatch: %v vs %v", l.name, a.Shape, b.Shape))
	}
	l.a, l.b = a, b
	fitLike(l.y, a)
	l.e.Pool.For(len(a.Data), elemGrain, l.fwdRun)
	l.a, l.b = nil, nil
	return l.y
}

func (l *Add) fwdPart(_, lo, hi int) {
	y, a, b := l.y.Data[lo:hi], l.a.Data[lo:hi], l.b.Data[lo:hi]
	b = b[:len(a)]
	y = y[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// Backward returns the gradient for both inputs, which is dy itself: the
// caller must not change it while either input's branch still needs it.
func (l *Add) Backward(dy *tensor.Tensor) (da, db *tensor.Tensor) {
	checkGradShape("nn.Add", l.name, dy, l.y)
	return dy, dy
}
