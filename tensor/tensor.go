// Package tensor holds dense float32 tensors in row-major (NCHW for images)
// layout and the loops that move their data (im2col/col2im). Matrix
// products live in tensor/gemm, vectorised element-wise math in
// tensor/vmath.
package tensor

import (
	"fmt"
	"slices"
)

// Tensor is a dense row-major float32 array. Data has exactly Size()
// elements. Tensors are plain values: operations that produce a tensor
// take a destination so that hot loops reuse memory.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape. It panics on a negative
// dimension.
func New(shape ...int) *Tensor {
	n := numel(shape)
	return &Tensor{Shape: slices.Clone(shape), Data: make([]float32, n)}
}

// FromData wraps data in a tensor of the given shape, without copying.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	if n := numel(shape); n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d values, got %d", shape, n, len(data))
	}
	return &Tensor{Shape: slices.Clone(shape), Data: data}, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			// A copy in the message keeps shape from escaping, so that
			// callers' variadic shapes stay on the stack.
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", slices.Clone(shape)))
		}
		n *= d
	}
	return n
}

// Size is the number of elements.
func (t *Tensor) Size() int { return len(t.Data) }

// Dims is the number of dimensions.
func (t *Tensor) Dims() int { return len(t.Shape) }

// String describes the tensor's shape, for error messages.
func (t *Tensor) String() string { return fmt.Sprintf("tensor%v", t.Shape) }

// SameShape reports whether t and u have equal shapes.
func (t *Tensor) SameShape(u *Tensor) bool { return slices.Equal(t.Shape, u.Shape) }

// Reshape makes t hold shape, reusing its storage when it is large enough.
// The contents are unspecified afterwards. It is how layers keep one output
// buffer across batches of different sizes.
func (t *Tensor) Reshape(shape ...int) {
	n := numel(shape)
	t.Shape = append(t.Shape[:0], shape...)
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// NCHW returns the four dimensions of a 4-D tensor, or an error naming its
// shape.
func (t *Tensor) NCHW() (n, c, h, w int, err error) {
	if len(t.Shape) != 4 {
		return 0, 0, 0, 0, fmt.Errorf("tensor: want a 4-D NCHW tensor, got shape %v", t.Shape)
	}
	return t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3], nil
}

// MustSameShape panics with both shapes when a and b differ; op names the
// caller in the message.
func MustSameShape(op string, a, b *Tensor) {
	if !a.SameShape(b) {
		panic(fmt.Sprintf("%s: shape mismatch: %v vs %v", op, a.Shape, b.Shape))
	}
}
