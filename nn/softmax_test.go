package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// softmaxRef is the softmax of x along axis, in float64.
func softmaxRef(x *tensor.Tensor, axis int) []float64 {
	if axis < 0 {
		axis += len(x.Shape)
	}
	outer, size, inner := 1, x.Shape[axis], 1
	for _, d := range x.Shape[:axis] {
		outer *= d
	}
	for _, d := range x.Shape[axis+1:] {
		inner *= d
	}
	y := make([]float64, len(x.Data))
	for o := range outer {
		for j := range inner {
			at := func(k int) int { return (o*size+k)*inner + j }
			m := math.Inf(-1)
			for k := range size {
				m = math.Max(m, float64(x.Data[at(k)]))
			}
			var sum float64
			for k := range size {
				sum += math.Exp(float64(x.Data[at(k)]) - m)
			}
			for k := range size {
				y[at(k)] = math.Exp(float64(x.Data[at(k)])-m) / sum
			}
		}
	}
	return y
}

// softmaxCases cover the last axis (contiguous vectors), inner sizes below,
// at and above a tile (64), a one-element axis and DFL's [B, 16, 4, A]-like
// layout.
var softmaxCases = []struct {
	shape []int
	axis  int
}{
	{[]int{7}, 0},
	{[]int{3, 5}, -1},
	{[]int{3, 5}, 0},
	{[]int{2, 3, 5, 7}, 1},
	{[]int{2, 3, 5, 7}, 2},
	{[]int{2, 3, 5, 7}, 3},
	{[]int{2, 3, 1, 5}, 2},
	{[]int{2, 3, 70}, 1},
	{[]int{1, 5, 64}, 1},
	{[]int{2, 16, 4, 9}, 1},
}

func TestSoftmaxGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(8, 1))
	for _, tc := range softmaxCases {
		sm := NewSoftmax(e, "softmax", tc.axis)
		checkGrad(t, fmt.Sprintf("Softmax %v axis %d", tc.shape, tc.axis), gradCase{
			inputs:   []*tensor.Tensor{randTensor(r, tc.shape...)},
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return sm.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{sm.Backward(dy)} },
		})
	}
}

func TestSoftmaxValues(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(8, 2))
	for _, tc := range append(softmaxCases, struct {
		shape []int
		axis  int
	}{[]int{4, 16, 4, 300}, 1}) {
		// Logits up to ±100 would overflow exp without the max shift.
		x := randTensor(r, tc.shape...)
		for i := range x.Data {
			x.Data[i] *= 40
		}
		y := NewSoftmax(e, "softmax", tc.axis).Forward(x)
		for i, want := range softmaxRef(x, tc.axis) {
			if got := float64(y.Data[i]); math.Abs(got-want) > 1e-6+1e-5*want {
				t.Fatalf("%v axis %d: y[%d] = %v, want %v", tc.shape, tc.axis, i, got, want)
			}
		}
	}
	s, _ := tensor.FromData([]float32{0, float32(math.Log(3)), 1000, 1000, float32(math.NaN()), 0}, 3, 2)
	got := NewSoftmax(e, "softmax", 1).Forward(s).Data
	for i, want := range []float64{0.25, 0.75, 0.5, 0.5} {
		if math.Abs(float64(got[i])-want) > 1e-6 {
			t.Errorf("softmax = %v, want [0.25 0.75 0.5 0.5 ...]", got)
		}
	}
	if !math.IsNaN(float64(got[4])) || !math.IsNaN(float64(got[5])) {
		t.Errorf("softmax of a vector holding NaN = %v, want NaNs", got[4:])
	}
}

func TestSoftmaxPanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"axis", "nn.Softmax s: axis 2 out of range for shape [2 2]", func() { NewSoftmax(e, "s", 2).Forward(tensor.New(2, 2)) }},
		{"negative axis", "nn.Softmax s: axis -3 out of range for shape [2 2]", func() { NewSoftmax(e, "s", -3).Forward(tensor.New(2, 2)) }},
		{"gradient shape", "nn.Softmax s Backward: output gradient shape [2 3], want the output's [3 2]", func() {
			s := NewSoftmax(e, "s", 1)
			s.Forward(tensor.New(3, 2))
			s.Backward(tensor.New(2, 3))
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

func TestSoftmaxAllocatesNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 11))
	big, small := randTensor(r, 4, 16, 4, 500), randTensor(r, 2, 16, 4, 500)
	last := randTensor(r, 4, 500, 16)
	sm, sl := NewSoftmax(e, "softmax", 1), NewSoftmax(e, "softmax", -1)
	step := func() {
		sm.Backward(sm.Forward(big))
		sm.Backward(sm.Forward(small))
		sl.Backward(sl.Forward(last))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("steady-state Forward+Backward allocated %v times, want 0", n)
	}
}

// BenchmarkSoftmaxDFL times forward and backward of the DFL softmax for
// YOLOv8 at batch 16, 640 pixels (8400 anchors), over the bins axis.
func BenchmarkSoftmaxDFL(b *testing.B) {
	for _, tc := range []struct {
		name  string
		shape []int
		axis  int
	}{{"bins-inner", []int{16, 16, 4, 8400}, 1}, {"bins-last", []int{16, 8400, 4, 16}, -1}} {
		b.Run(tc.name, func(b *testing.B) {
			e := NewEngine(0)
			defer e.Close()
			x := randTensor(rand.New(rand.NewPCG(1, 2)), tc.shape...)
			sm := NewSoftmax(e, "softmax", tc.axis)
			for b.Loop() {
				sm.Backward(sm.Forward(x))
			}
		})
	}
}
