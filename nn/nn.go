// Package nn holds the layers YOLOv8 is built from, each with a forward and
// a hand-written backward pass, and the optimizers that train them.
//
// Conventions, shared by every layer:
//   - Layers are built once with an *Engine and reused for every batch.
//     Forward returns a tensor owned by the layer, valid until its next
//     Forward; Backward likewise returns a gradient it owns. Buffers grow to
//     the largest batch seen and are then reused, so a training step in
//     steady state allocates nothing.
//   - Forward keeps what Backward needs. Backward takes the gradient of the
//     loss with respect to the layer's output, adds the gradients of the
//     layer's parameters into Param.Grad (callers zero them between steps)
//     and returns the gradient with respect to the input.
//   - Shapes are checked at the layer boundary: a tensor of the wrong shape
//     makes Forward or Backward panic with a message naming the layer, the
//     expected shape and the one it got, as gonum does for matrices. The
//     model-building code above guarantees shapes, so an error value on
//     every call would only add noise to the hot path.
package nn

import (
	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/gemm"
)

// Engine is the compute context layers run on: a worker pool and a GEMM
// with its packing buffers. An Engine serves one model on one goroutine.
type Engine struct {
	Pool *parallel.Pool
	Gemm *gemm.Gemm
	// Solo holds one single-threaded GEMM per worker, for layers that
	// deal whole images out to the workers instead of sharing each
	// image's GEMM among them (see Conv2d.Forward).
	Solo []*gemm.Gemm

	// Scratch shared by the layers of the engine's models, used only
	// within one layer's Backward: the column matrix of a convolution's
	// backward pass, and the gradient at a ConvBNSiLU's convolution
	// output, which that layer's convolution consumes at once. Layers
	// owning them would keep one of each per layer for the whole run.
	bwdCol []float32
	bnDx   *tensor.Tensor
	// foldW holds a convolution's weights with a batch norm folded in,
	// while Forward packs them (see Conv2d.fold).
	foldW []float32
}

// NewEngine returns an engine with the given number of threads (<= 0: one
// per CPU).
func NewEngine(threads int) *Engine {
	p := parallel.New(threads)
	e := &Engine{Pool: p, Gemm: gemm.New(p), Solo: make([]*gemm.Gemm, p.Workers()), bnDx: tensor.New(0, 0, 0, 0)}
	for i := range e.Solo {
		e.Solo[i] = gemm.New(nil)
	}
	return e
}

// Close stops the engine's workers.
func (e *Engine) Close() { e.Pool.Close() }

// Group says how an optimizer treats a parameter, as Ultralytics'
// build_optimizer splits them: weights decay, norm weights and biases don't.
type Group int

const (
	GroupWeight Group = iota // convolution weights: weight decay applies
	GroupNorm                // BatchNorm weights (gamma): no decay
	GroupBias                // biases and BatchNorm beta: no decay
)

func (g Group) String() string {
	switch g {
	case GroupWeight:
		return "weight"
	case GroupNorm:
		return "norm"
	case GroupBias:
		return "bias"
	}
	return "unknown"
}

// Param is a learnable tensor and the gradient accumulated for it.
type Param struct {
	Name  string
	Value *tensor.Tensor
	Grad  *tensor.Tensor
	Group Group
}

// NewParam returns a zeroed parameter of the given shape.
func NewParam(name string, g Group, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(shape...), Grad: tensor.New(shape...), Group: g}
}

// ZeroGrad clears the gradients of ps.
func ZeroGrad(ps []*Param) {
	for _, p := range ps {
		p.Grad.Zero()
	}
}
