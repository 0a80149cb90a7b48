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
	out    *tensor.Tensor // y or ForwardInto's destination: the last output
	fwdRun parallel.Func
}

// NewAdd returns an element-wise sum.
func NewAdd(e *Engine, name string) *Add {
	a := &Add{name: name, e: e, y: tensor.New(0)}
	a.fwdRun = a.fwdPart
	return a
}

// Forward returns a + b.
func (l *Add) Forward(a, b *tensor.Tensor) *tensor.Tensor { return l.ForwardInto(a, b, l.y) }

// ForwardInto is Forward with the sum written into y, resized to a's
// shape if it differs, instead of the layer's own buffer (nil: that
// buffer); y may be a or b.
func (l *Add) ForwardInto(a, b, y *tensor.Tensor) *tensor.Tensor {
	if y == nil {
		y = l.y
	}
	if !a.SameShape(b) {
		panic(fmt.Sprintf("nn.Add %s: shape mismatch: %v vs %v", l.name, a.Shape, b.Shape))
	}
	l.a, l.b, l.out = a, b, y
	fitLike(y, a)
	l.e.Pool.For(len(a.Data), elemGrain, l.fwdRun)
	l.a, l.b = nil, nil
	return y
}

func (l *Add) fwdPart(_, lo, hi int) {
	y, a, b := l.out.Data[lo:hi], l.a.Data[lo:hi], l.b.Data[lo:hi]
	b = b[:len(a)]
	y = y[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// Backward returns the gradient for both inputs, which is dy itself: the
// caller must not change it while either input's branch still needs it.
func (l *Add) Backward(dy *tensor.Tensor) (da, db *tensor.Tensor) {
	if l.out == nil {
		panic(fmt.Sprintf("nn.Add %s: Backward before Forward", l.name))
	}
	checkGradShape("nn.Add", l.name, dy, l.out)
	return dy, dy
}
