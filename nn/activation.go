package nn

import (
	"fmt"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/vmath"
)

// elemGrain is how many elements an element-wise loop hands a worker at
// least: below a few thousand, waking the second core costs more than it
// saves.
const elemGrain = 1 << 13

// SiLU is the activation x*sigmoid(x) (also called swish), element-wise on
// a tensor of any shape.
type SiLU struct {
	name string
	e    *Engine

	x      *tensor.Tensor // input of the last Forward
	y, s   *tensor.Tensor // output and sigmoid(x), kept for Backward
	dx     *tensor.Tensor
	dy     []float32 // argument of bwdPart
	fwdRun parallel.Func
	bwdRun parallel.Func
}

// NewSiLU returns a SiLU layer; name only labels its panics.
func NewSiLU(e *Engine, name string) *SiLU {
	a := &SiLU{name: name, e: e, y: tensor.New(0), s: tensor.New(0), dx: tensor.New(0)}
	a.fwdRun = a.fwdPart
	a.bwdRun = a.bwdPart
	return a
}

// Forward returns x*sigmoid(x).
func (a *SiLU) Forward(x *tensor.Tensor) *tensor.Tensor {
	a.x = x
	fitLike(a.y, x)
	fitLike(a.s, x)
	a.e.Pool.For(len(x.Data), elemGrain, a.fwdRun)
	return a.y
}

func (a *SiLU) fwdPart(_, lo, hi int) {
	vmath.SiLUAffine(a.y.Data[lo:hi], a.s.Data[lo:hi], a.x.Data[lo:hi], 1, 0)
}

// Backward returns dy * (s + x*s*(1-s)), s = sigmoid(x).
func (a *SiLU) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if a.x == nil {
		panic(fmt.Sprintf("nn.SiLU %s: Backward before Forward", a.name))
	}
	checkGradShape("nn.SiLU", a.name, dy, a.y)
	fitLike(a.dx, a.x)
	a.dy = dy.Data
	a.e.Pool.For(len(dy.Data), elemGrain, a.bwdRun)
	a.dy = nil
	return a.dx
}

func (a *SiLU) bwdPart(_, lo, hi int) {
	dy := a.dy[lo:hi]
	x, s, dx := a.x.Data[lo:hi], a.s.Data[lo:hi], a.dx.Data[lo:hi]
	x, s, dx = x[:len(dy)], s[:len(dy)], dx[:len(dy)]
	for i, d := range dy {
		g := s[i]
		dx[i] = d * g * (1 + x[i]*(1-g))
	}
}

// Sigmoid is the logistic function 1/(1+exp(-x)), element-wise.
type Sigmoid struct {
	name string
	e    *Engine

	x      *tensor.Tensor
	y, dx  *tensor.Tensor
	dy     []float32
	fwdRun parallel.Func
	bwdRun parallel.Func
}

// NewSigmoid returns a Sigmoid layer; name only labels its panics.
func NewSigmoid(e *Engine, name string) *Sigmoid {
	a := &Sigmoid{name: name, e: e, y: tensor.New(0), dx: tensor.New(0)}
	a.fwdRun = a.fwdPart
	a.bwdRun = a.bwdPart
	return a
}

// Forward returns sigmoid(x).
func (a *Sigmoid) Forward(x *tensor.Tensor) *tensor.Tensor {
	a.x = x
	fitLike(a.y, x)
	a.e.Pool.For(len(x.Data), elemGrain, a.fwdRun)
	return a.y
}

func (a *Sigmoid) fwdPart(_, lo, hi int) {
	vmath.Sigmoid(a.y.Data[lo:hi], a.x.Data[lo:hi])
}

// Backward returns dy * y * (1-y).
func (a *Sigmoid) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if a.x == nil {
		panic(fmt.Sprintf("nn.Sigmoid %s: Backward before Forward", a.name))
	}
	checkGradShape("nn.Sigmoid", a.name, dy, a.y)
	fitLike(a.dx, a.x)
	a.dy = dy.Data
	a.e.Pool.For(len(dy.Data), elemGrain, a.bwdRun)
	a.dy = nil
	return a.dx
}

func (a *Sigmoid) bwdPart(_, lo, hi int) {
	dy := a.dy[lo:hi]
	y, dx := a.y.Data[lo:hi], a.dx.Data[lo:hi]
	y, dx = y[:len(dy)], dx[:len(dy)]
	for i, d := range dy {
		g := y[i]
		dx[i] = d * g * (1 - g)
	}
}

// fitLike gives t the shape of ref unless it has it already (passing an
// existing slice to Reshape allocates nothing but a grown buffer).
func fitLike(t, ref *tensor.Tensor) {
	if !t.SameShape(ref) {
		t.Reshape(ref.Shape...)
	}
}
