package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// maxPoolRef is PyTorch's CPU max_pool2d loop (stride 1, padding k/2): a
// raster scan of each window from -inf that takes a value when it is
// larger or NaN. It returns the output and each output's winning index
// within its plane.
// distinctTensor fills a tensor with a random permutation of values 0.1
// apart, so that no finite-difference step changes which value is larger.
func distinctTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, p := range r.Perm(len(t.Data)) {
		t.Data[i] = float32(p)*0.1 - float32(len(t.Data))*0.05
	}
	return t
}

func maxPoolRef(x *tensor.Tensor, k int) ([]float32, []int32) {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	y, arg := make([]float32, len(x.Data)), make([]int32, len(x.Data))
	r := k / 2
	for pl := range n * c {
		plane := x.Data[pl*h*w : (pl+1)*h*w]
		for oy := range h {
			for ox := range w {
				y0, x0 := max(oy-r, 0), max(ox-r, 0)
				best, bi := float32(math.Inf(-1)), y0*w+x0
				for iy := y0; iy < min(oy+r+1, h); iy++ {
					for ix := x0; ix < min(ox+r+1, w); ix++ {
						if v := plane[iy*w+ix]; v > best || math.IsNaN(float64(v)) {
							best, bi = v, iy*w+ix
						}
					}
				}
				y[pl*h*w+oy*w+ox], arg[pl*h*w+oy*w+ox] = best, int32(bi)
			}
		}
	}
	return y, arg
}

func TestMaxPool2dGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(5, 1))
	for _, k := range []int{1, 3, 5, 7} {
		for _, shape := range [][]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 2, 3, 1}, {3, 1, 4, 6}} {
			m := NewMaxPool2d(e, "pool", k)
			// Distinct values 0.1 apart: no finite-difference step changes
			// which input wins a window.
			checkGrad(t, fmt.Sprintf("MaxPool2d k=%d %v", k, shape), gradCase{
				inputs:   []*tensor.Tensor{distinctTensor(r, shape...)},
				forward:  func(in []*tensor.Tensor) *tensor.Tensor { return m.Forward(in[0]) },
				backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{m.Backward(dy)} },
			})
		}
	}
}

// TestMaxPool2dMatchesRasterScan checks values and winners against
// PyTorch's loop on inputs full of ties, infinities and NaNs, where the
// separable search must still pick the same element.
func TestMaxPool2dMatchesRasterScan(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(9, 9))
	special := []float32{float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN())}
	for _, k := range []int{1, 3, 5, 9} {
		for _, shape := range [][]int{{2, 3, 7, 5}, {1, 1, 1, 6}, {1, 2, 9, 1}, {3, 4, 13, 11}} {
			x := tensor.New(shape...)
			for i := range x.Data {
				x.Data[i] = float32(r.IntN(3))
				if r.IntN(20) == 0 {
					x.Data[i] = special[r.IntN(len(special))]
				}
			}
			m := NewMaxPool2d(e, "pool", k)
			y := m.Forward(x)
			wantY, wantArg := maxPoolRef(x, k)
			sameBits := func(a, b float32) bool { return a == b || (a != a && b != b) }
			if !slices.EqualFunc(y.Data, wantY, sameBits) {
				t.Errorf("k=%d %v: output %v, want %v", k, shape, y.Data, wantY)
			}
			if !slices.Equal(m.arg, wantArg) {
				t.Errorf("k=%d %v: winners %v, want %v", k, shape, m.arg, wantArg)
			}
			// Evaluation mode: the same values without winners.
			m.SetTrain(false)
			if y := m.Forward(x); !slices.EqualFunc(y.Data, wantY, sameBits) {
				t.Errorf("k=%d %v: output in evaluation mode %v, want %v", k, shape, y.Data, wantY)
			}
			m.SetTrain(true)
		}
	}
}

func TestMaxPool2dBackwardAfterEvaluation(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	m := NewMaxPool2d(e, "sppf.m0", 3)
	x := tensor.New(1, 2, 4, 4)
	m.Forward(x)
	m.SetTrain(false)
	m.Forward(x)
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "sppf.m0: Backward after a Forward in evaluation mode") {
			t.Fatalf("panic = %q, want one naming the layer and evaluation mode", r)
		}
	}()
	m.Backward(tensor.New(1, 2, 4, 4))
}

func TestMaxPool2dTiesGoToFirst(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	m := NewMaxPool2d(e, "pool", 3)
	x := tensor.New(1, 1, 3, 3) // all equal: each window's first element wins
	m.Forward(x)
	dy := tensor.New(1, 1, 3, 3)
	for i := range dy.Data {
		dy.Data[i] = 1
	}
	if got := fmt.Sprint(m.Backward(dy).Data); got != "[4 2 0 2 1 0 0 0 0]" {
		t.Errorf("gradient of a constant plane = %v, want [4 2 0 2 1 0 0 0 0]", got)
	}
}

func TestMaxPool2dPanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"even kernel", "nn.NewMaxPool2d p: kernel 4, want an odd size >= 1", func() { NewMaxPool2d(e, "p", 4) }},
		{"not 4-D", "nn.MaxPool2d p: input shape [3 3], want [N C H W]", func() { NewMaxPool2d(e, "p", 3).Forward(tensor.New(3, 3)) }},
		{"backward first", "nn.MaxPool2d p: Backward before Forward", func() { NewMaxPool2d(e, "p", 3).Backward(tensor.New(1, 1, 3, 3)) }},
		{"gradient shape", "nn.MaxPool2d p Backward: output gradient shape [1 1 2 3], want the output's [1 1 3 3]", func() {
			m := NewMaxPool2d(e, "p", 3)
			m.Forward(tensor.New(1, 1, 3, 3))
			m.Backward(tensor.New(1, 1, 2, 3))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic = %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestMaxPool2dAllocatesNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 7))
	// Alternate batch sizes: buffers sized for the larger are reused.
	big, small := randTensor(r, 4, 8, 20, 20), randTensor(r, 2, 8, 20, 20)
	m := NewMaxPool2d(e, "pool", 5)
	step := func() {
		m.Backward(m.Forward(big))
		m.Backward(m.Forward(small))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("steady-state Forward+Backward allocated %v times, want 0", n)
	}
}

// BenchmarkMaxPool2dSPPF times forward and backward of one of SPPF's
// pools for YOLOv8n at batch 16, 640 pixels.
func BenchmarkMaxPool2dSPPF(b *testing.B) {
	e := NewEngine(0)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	x, dy := randTensor(r, 16, 128, 20, 20), randTensor(r, 16, 128, 20, 20)
	m := NewMaxPool2d(e, "pool", 5)
	b.Run("train", func(b *testing.B) {
		for b.Loop() {
			m.Forward(x)
			m.Backward(dy)
		}
	})
	m.SetTrain(false)
	b.Run("eval", func(b *testing.B) {
		for b.Loop() {
			m.Forward(x)
		}
	})
}
