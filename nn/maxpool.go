package nn

import (
	"fmt"
	"math"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/vmath"
)

// MaxPool2d is max pooling with a k x k window, stride 1 and padding k/2
// (k odd), so that the output has the input's size: the pooling of
// YOLOv8's SPPF block (k=5). Padding never wins, as PyTorch pads with -inf.
//
// The window is searched as a row pass and then a column pass (2k instead
// of k² comparisons per output). Both passes keep the first maximum and
// let any NaN replace it, so the winner is the one PyTorch's raster scan
// picks: the first maximum in row-major order, or the last NaN.
//
// In evaluation mode (SetTrain(false)) no winners are recorded, for
// Backward has none to route, and each pass is a running maximum over
// shifted rows (vmath.MaxInto, vectorised): the same values, up to the
// sign of a zero.
type MaxPool2d struct {
	K    int
	name string
	e    *Engine
	// infer is evaluation mode; inferred says the last Forward ran in it.
	infer, inferred bool

	x, y, dx *tensor.Tensor
	// arg[i] is the index within its plane of the input that won output i.
	arg []int32
	// rowMax and rowArg hold one plane of the row pass per worker.
	rowMax   [][]float32
	rowArg   [][]int32
	dy       []float32
	fwdRun   parallel.Func
	bwdRun   parallel.Func
	inferRun parallel.Func
}

// NewMaxPool2d returns the pooling for an odd kernel size k.
func NewMaxPool2d(e *Engine, name string, k int) *MaxPool2d {
	if k < 1 || k%2 == 0 {
		panic(fmt.Sprintf("nn.NewMaxPool2d %s: kernel %d, want an odd size >= 1", name, k))
	}
	nw := e.Pool.Workers()
	m := &MaxPool2d{K: k, name: name, e: e, y: tensor.New(0, 0, 0, 0), dx: tensor.New(0, 0, 0, 0),
		rowMax: make([][]float32, nw), rowArg: make([][]int32, nw)}
	m.fwdRun, m.bwdRun, m.inferRun = m.fwdPart, m.bwdPart, m.inferPart
	return m
}

// SetTrain selects training mode (true, the default), which records
// each window's winner for Backward, or evaluation mode, which does not.
func (m *MaxPool2d) SetTrain(train bool) { m.infer = !train }

// Forward pools x [N, C, H, W] into [N, C, H, W].
func (m *MaxPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w, err := x.NCHW()
	if err != nil {
		panic(fmt.Sprintf("nn.MaxPool2d %s: input shape %v, want [N C H W]", m.name, x.Shape))
	}
	m.x, m.inferred = x, m.infer
	fitLike(m.y, x)
	for i := range m.rowMax {
		m.rowMax[i] = fitFloats(m.rowMax[i], h*w)
	}
	grain := max(1, elemGrain/(2*m.K*h*w+1))
	if m.infer {
		m.e.Pool.For(n*c, grain, m.inferRun)
		return m.y
	}
	m.arg = fitInt32(m.arg, len(x.Data))
	for i := range m.rowArg {
		m.rowArg[i] = fitInt32(m.rowArg[i], h*w)
	}
	m.e.Pool.For(n*c, grain, m.fwdRun)
	return m.y
}

// inferPart pools planes [lo, hi) on worker wk without recording
// winners, with vmath.MaxInto: a NaN wins as in the training path; of
// two zeros either sign may.
func (m *MaxPool2d) inferPart(wk, lo, hi int) {
	h, w := m.x.Shape[2], m.x.Shape[3]
	hw := h * w
	r := m.K / 2
	rmax := m.rowMax[wk][:hw]
	for pl := lo; pl < hi; pl++ {
		x := m.x.Data[pl*hw : (pl+1)*hw]
		y := m.y.Data[pl*hw : (pl+1)*hw]
		// Row pass: each output takes the maximum with the inputs d
		// columns to its left and right, d = 1..r.
		copy(rmax, x)
		for iy := range h {
			row, out := x[iy*w:(iy+1)*w], rmax[iy*w:(iy+1)*w]
			for d := 1; d <= r && d < w; d++ {
				vmath.MaxInto(out[d:], row[:w-d])
				vmath.MaxInto(out[:w-d], row[d:])
			}
		}
		// Column pass: the same with the rows d above and below, whole
		// planes at a time (a shift by whole rows crosses no edge).
		copy(y, rmax)
		for d := 1; d <= r && d < h; d++ {
			vmath.MaxInto(y[d*w:], rmax[:(h-d)*w])
			vmath.MaxInto(y[:(h-d)*w], rmax[d*w:])
		}
	}
}

// fwdPart pools planes [lo, hi) on worker wk.
func (m *MaxPool2d) fwdPart(wk, lo, hi int) {
	h, w := m.x.Shape[2], m.x.Shape[3]
	hw := h * w
	r := m.K / 2
	rmax, rarg := m.rowMax[wk][:hw], m.rowArg[wk][:hw]
	negInf := float32(math.Inf(-1))
	for pl := lo; pl < hi; pl++ {
		x := m.x.Data[pl*hw : (pl+1)*hw]
		y := m.y.Data[pl*hw : (pl+1)*hw]
		arg := m.arg[pl*hw : (pl+1)*hw]
		// Row pass: the maximum of each row window and its input index.
		for iy := 0; iy < h; iy++ {
			row := x[iy*w : (iy+1)*w]
			for ox := 0; ox < w; ox++ {
				x0, x1 := max(ox-r, 0), min(ox+r+1, w)
				best, bi := negInf, x0
				for ix := x0; ix < x1; ix++ {
					if v := row[ix]; v > best || v != v {
						best, bi = v, ix
					}
				}
				rmax[iy*w+ox], rarg[iy*w+ox] = best, int32(iy*w+bi)
			}
		}
		// Column pass over the row maxima, a whole output row at a time so
		// that memory is read in order.
		for oy := 0; oy < h; oy++ {
			y0, y1 := max(oy-r, 0), min(oy+r+1, h)
			yr, ar := y[oy*w:(oy+1)*w], arg[oy*w:(oy+1)*w]
			copy(yr, rmax[y0*w:(y0+1)*w])
			copy(ar, rarg[y0*w:(y0+1)*w])
			for iy := y0 + 1; iy < y1; iy++ {
				mr, mi := rmax[iy*w:(iy+1)*w], rarg[iy*w:(iy+1)*w]
				mr, mi = mr[:len(yr)], mi[:len(yr)]
				for ox, v := range mr {
					if v > yr[ox] || v != v {
						yr[ox], ar[ox] = v, mi[ox]
					}
				}
			}
		}
	}
}

// Backward routes each output gradient to the input that won its window.
func (m *MaxPool2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if m.x == nil {
		panic(fmt.Sprintf("nn.MaxPool2d %s: Backward before Forward", m.name))
	}
	if m.inferred {
		panic(fmt.Sprintf("nn.MaxPool2d %s: Backward after a Forward in evaluation mode", m.name))
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
