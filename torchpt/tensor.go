package torchpt

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/yolops/yolops/tensor"
)

// Storage is a tensor storage: a flat array of elements kept in the
// checkpoint archive as the entry <archive>/data/<Key>. Several tensors
// (views) may share one storage.
type Storage struct {
	Key      string
	DType    DType
	Len      int64  // number of elements, as the pickle declares it
	Location string // the device it was saved from, such as "cpu" or "cuda:0"

	src io.ReaderAt // the entry's bytes, at least Len*DType.Size() of them
}

// Bytes reads the whole storage.
func (s *Storage) Bytes() ([]byte, error) {
	return s.read(0, s.Len)
}

// read returns n elements starting at element off.
func (s *Storage) read(off, n int64) ([]byte, error) {
	es := int64(s.DType.Size())
	if off < 0 || n < 0 || off > s.Len || n > s.Len-off {
		return nil, fmt.Errorf("torchpt: storage %q: elements [%d, %d) out of range [0, %d)", s.Key, off, off+n, s.Len)
	}
	if s.src == nil {
		return nil, fmt.Errorf("torchpt: storage %q has no data", s.Key)
	}
	buf := make([]byte, n*es)
	// A ReaderAt may report io.EOF along with a full read at the end.
	if m, err := s.src.ReadAt(buf, off*es); err != nil && !(err == io.EOF && m == len(buf)) {
		return nil, fmt.Errorf("torchpt: storage %q: %w", s.Key, err)
	}
	return buf, nil
}

// Tensor is a tensor (or nn.Parameter) from a checkpoint: a strided view of
// a Storage. Its data is read from the archive on demand.
type Tensor struct {
	DType  DType
	Shape  []int
	Stride []int // in elements, one per dimension
	Offset int   // storage offset, in elements

	RequiresGrad bool
	Parameter    bool // saved as an nn.Parameter
	// State holds the Python attributes that some tensors carry (set by
	// _rebuild_parameter_with_state or _rebuild_from_type_v2); usually nil.
	State any

	Storage *Storage
}

// maxExpand bounds the element count of a tensor that has more elements
// than its storage (a broadcast view, with zero strides), so that a crafted
// shape cannot make a conversion allocate without limit.
const maxExpand = 1 << 24

// NumElements returns the product of the tensor's dimensions (1 for a
// scalar).
func (t *Tensor) NumElements() int {
	n, _ := numElements(t.Shape)
	return n
}

// numElements multiplies dims, reporting overflow (past 2⁶²) as !ok.
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, true
		}
		if n > (1<<62)/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// IsContiguous reports whether the tensor's elements lie in its storage in
// row-major order without gaps, so that they can be read as one block.
func (t *Tensor) IsContiguous() bool {
	if len(t.Stride) != len(t.Shape) {
		return false
	}
	want := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] == 1 { // the stride of a size-1 dimension never matters
			continue
		}
		if t.Stride[i] != want {
			return false
		}
		want *= t.Shape[i]
	}
	return true
}

// span returns the number of storage elements from the tensor's first
// element to its last, inclusive; 0 for an empty tensor. It fails on
// malformed or overflowing geometry.
func span(shape, stride []int) (int, error) {
	if len(shape) != len(stride) {
		return 0, fmt.Errorf("shape has %d dimensions but stride %d", len(shape), len(stride))
	}
	n, ok := numElements(shape)
	if !ok {
		return 0, fmt.Errorf("shape %v is invalid or too large", shape)
	}
	if n == 0 {
		return 0, nil
	}
	last := 0
	for i, d := range shape {
		s := stride[i]
		if s < 0 {
			return 0, fmt.Errorf("negative stride %v", stride)
		}
		if s != 0 && d-1 > (1<<62-last)/s {
			return 0, fmt.Errorf("shape %v with stride %v is too large", shape, stride)
		}
		last += (d - 1) * s
	}
	return last + 1, nil
}

// Raw returns the tensor's elements in row-major order as little-endian
// bytes of its DType, gathering them if the tensor is not contiguous.
func (t *Tensor) Raw() ([]byte, error) {
	if t.Storage == nil {
		return nil, fmt.Errorf("torchpt: tensor has no storage")
	}
	es := t.DType.Size()
	if es == 0 || t.Storage.DType.Size() != es {
		return nil, fmt.Errorf("torchpt: tensor of unsupported dtype %q", t.DType)
	}
	n, ok := numElements(t.Shape)
	sp, err := span(t.Shape, t.Stride)
	if !ok || err != nil {
		return nil, fmt.Errorf("torchpt: tensor shape %v stride %v is invalid", t.Shape, t.Stride)
	}
	if n == 0 {
		return []byte{}, nil
	}
	if n > sp && n > maxExpand {
		return nil, fmt.Errorf("torchpt: tensor of %d elements is a broadcast view of %d; refusing to expand it", n, sp)
	}
	if t.Offset < 0 || int64(t.Offset) > t.Storage.Len || int64(sp) > t.Storage.Len-int64(t.Offset) {
		return nil, fmt.Errorf("torchpt: tensor needs %d bytes but storage %q has %d", (int64(t.Offset)+int64(sp))*int64(es), t.Storage.Key, t.Storage.Len*int64(es))
	}
	src, err := t.Storage.read(int64(t.Offset), int64(sp))
	if err != nil {
		return nil, err
	}
	if n == sp && t.IsContiguous() {
		return src, nil
	}
	return gather(src, t.Shape, t.Stride, n, es), nil
}

// gather copies the n elements of size es that shape and stride select in
// src into a new row-major buffer.
func gather(src []byte, shape, stride []int, n, es int) []byte {
	dst := make([]byte, n*es)
	if n == 0 {
		return dst
	}
	nd := len(shape)
	if nd == 0 {
		copy(dst, src[:es])
		return dst
	}
	// Walk the outer dimensions with an odometer and copy the innermost one
	// in a tight loop.
	inner, innerStride := shape[nd-1], stride[nd-1]*es
	idx := make([]int, nd-1)
	off, o := 0, 0
	for o < len(dst) {
		p := off * es
		for range inner {
			copy(dst[o:o+es], src[p:p+es])
			o += es
			p += innerStride
		}
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			off += stride[d]
			if idx[d] < shape[d] {
				break
			}
			off -= stride[d] * shape[d]
			idx[d] = 0
		}
	}
	return dst
}

// Float32 returns the tensor's elements in row-major order converted to
// float32. Half, bfloat16 and float32 values convert exactly, as do
// integers up to 2²⁴; float64 values are rounded.
func (t *Tensor) Float32() ([]float32, error) {
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(raw)/max(t.DType.Size(), 1))
	le := binary.LittleEndian
	switch t.DType {
	case Float16:
		for i := range out {
			out[i] = tensor.Float16(le.Uint16(raw[2*i:]))
		}
	case BFloat16:
		for i := range out {
			out[i] = tensor.BFloat16(le.Uint16(raw[2*i:]))
		}
	case Float32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	default:
		f64, err := toFloat64(raw, t.DType)
		if err != nil {
			return nil, err
		}
		for i, v := range f64 {
			out[i] = float32(v)
		}
	}
	return out, nil
}

// Float64 returns the tensor's elements in row-major order converted to
// float64, exactly for every real type but int64 values beyond 2⁵³.
func (t *Tensor) Float64() ([]float64, error) {
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	return toFloat64(raw, t.DType)
}

func toFloat64(raw []byte, dt DType) ([]float64, error) {
	le := binary.LittleEndian
	switch dt {
	case Float16, BFloat16, Float32:
		out := make([]float64, len(raw)/dt.Size())
		for i := range out {
			switch dt {
			case Float16:
				out[i] = float64(tensor.Float16(le.Uint16(raw[2*i:])))
			case BFloat16:
				out[i] = float64(tensor.BFloat16(le.Uint16(raw[2*i:])))
			default:
				out[i] = float64(math.Float32frombits(le.Uint32(raw[4*i:])))
			}
		}
		return out, nil
	case Float64:
		out := make([]float64, len(raw)/8)
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return out, nil
	}
	ints, err := decodeInts(raw, dt)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(ints))
	for i, v := range ints {
		out[i] = float64(v)
	}
	return out, nil
}

// Int64 returns the elements of an integer or bool tensor in row-major
// order.
func (t *Tensor) Int64() ([]int64, error) {
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	return decodeInts(raw, t.DType)
}

func decodeInts(raw []byte, dt DType) ([]int64, error) {
	es := dt.Size()
	if es == 0 {
		return nil, fmt.Errorf("torchpt: tensor of unsupported dtype %q", dt)
	}
	out := make([]int64, len(raw)/es)
	le := binary.LittleEndian
	switch dt {
	case Int8:
		for i := range out {
			out[i] = int64(int8(raw[i]))
		}
	case Uint8, Bool:
		for i := range out {
			out[i] = int64(raw[i])
		}
	case Int16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(raw[2*i:])))
		}
	case Int32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(raw[4*i:])))
		}
	case Int64:
		for i := range out {
			out[i] = int64(le.Uint64(raw[8*i:]))
		}
	default:
		return nil, fmt.Errorf("torchpt: %s tensor is not an integer tensor", dt)
	}
	return out, nil
}
