package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// distinctTensor fills a tensor with a random permutation of values 0.1
// apart, so that no finite-difference step changes which value is larger.
func distinctTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, p := range r.Perm(len(t.Data)) {
		t.Data[i] = float32(p)*0.1 - float32(len(t.Data))*0.05
	}
	return t
}

func TestShapeOpsGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 3))
	for _, k := range []int{1, 3, 5} {
		for _, shape := range [][]int{{2, 3, 5, 7}, {1, 2, 4, 4}} {
			mp := NewMaxPool2d(e, "pool", k)
			checkGrad(t, fmt.Sprintf("MaxPool2d k=%d %v", k, shape), gradCase{
				inputs:   []*tensor.Tensor{distinctTensor(r, shape...)},
				forward:  func(in []*tensor.Tensor) *tensor.Tensor { return mp.Forward(in[0]) },
				backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{mp.Backward(dy)} },
			})
		}
	}
	up := NewUpsample(e, "up")
	checkGrad(t, "Upsample", gradCase{
		inputs:   []*tensor.Tensor{randTensor(r, 2, 3, 4, 5)},
		forward:  func(in []*tensor.Tensor) *tensor.Tensor { return up.Forward(in[0]) },
		backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{up.Backward(dy)} },
	})
	cat := NewConcat(e, "cat")
	checkGrad(t, "Concat", gradCase{
		inputs:   []*tensor.Tensor{randTensor(r, 2, 3, 4, 5), randTensor(r, 2, 1, 4, 5), randTensor(r, 2, 2, 4, 5)},
		forward:  func(in []*tensor.Tensor) *tensor.Tensor { return cat.Forward(in...) },
		backward: func(dy *tensor.Tensor) []*tensor.Tensor { return cat.Backward(dy) },
	})
	// Split feeding a weighted sum of its parts: the second part's gradient
	// is nil, so it must come back as zeros.
	sp := NewSplit(e, "split", 2, 3, 1)
	join := NewConcat(e, "join")
	checkGrad(t, "Split", gradCase{
		inputs: []*tensor.Tensor{randTensor(r, 2, 6, 3, 4)},
		forward: func(in []*tensor.Tensor) *tensor.Tensor {
			parts := sp.Forward(in[0])
			return join.Forward(parts[0], parts[2])
		},
		backward: func(dy *tensor.Tensor) []*tensor.Tensor {
			d := join.Backward(dy)
			return []*tensor.Tensor{sp.Backward(d[0], nil, d[1])}
		},
	})
	add := NewAdd(e, "add")
	checkGrad(t, "Add", gradCase{
		inputs:  []*tensor.Tensor{randTensor(r, 2, 3, 4, 5), randTensor(r, 2, 3, 4, 5)},
		forward: func(in []*tensor.Tensor) *tensor.Tensor { return add.Forward(in[0], in[1]) },
		backward: func(dy *tensor.Tensor) []*tensor.Tensor {
			a, b := add.Backward(dy)
			return []*tensor.Tensor{a, b}
		},
	})
	for _, axis := range []int{0, 1, 2, -1} {
		sm := NewSoftmax(e, "softmax", axis)
		checkGrad(t, fmt.Sprintf("Softmax axis %d", axis), gradCase{
			inputs:   []*tensor.Tensor{randTensor(r, 2, 4, 16, 3)},
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return sm.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{sm.Backward(dy)} },
		})
	}
}

func TestShapeOpsValues(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	x, _ := tensor.FromData([]float32{
		1, 9, 2,
		3, 4, 8,
		7, 5, 6,
	}, 1, 1, 3, 3)
	if got := NewMaxPool2d(e, "p", 3).Forward(x).Data; fmt.Sprint(got) != "[9 9 9 9 9 9 7 8 8]" {
		t.Errorf("MaxPool2d(3) = %v", got)
	}
	nan := float32(math.NaN())
	xn, _ := tensor.FromData([]float32{1, nan, 2}, 1, 1, 1, 3)
	if got := NewMaxPool2d(e, "p", 3).Forward(xn).Data; !math.IsNaN(float64(got[0])) || !math.IsNaN(float64(got[2])) {
		t.Errorf("MaxPool2d lost a NaN: %v", got)
	}
	u, _ := tensor.FromData([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	if got := NewUpsample(e, "u").Forward(u).Data; fmt.Sprint(got) != "[1 1 2 2 1 1 2 2 3 3 4 4 3 3 4 4]" {
		t.Errorf("Upsample = %v", got)
	}
	a, _ := tensor.FromData([]float32{1, 2, 3, 4}, 2, 1, 1, 2)
	b, _ := tensor.FromData([]float32{5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 1, 2)
	y := NewConcat(e, "c").Forward(a, b)
	if fmt.Sprint(y.Shape, y.Data) != "[2 3 1 2] [1 2 5 6 7 8 3 4 9 10 11 12]" {
		t.Errorf("Concat = %v %v", y.Shape, y.Data)
	}
	parts := NewSplit(e, "s", 1, 2).Forward(y)
	if fmt.Sprint(parts[0].Data, parts[1].Data) != "[1 2 3 4] [5 6 7 8 9 10 11 12]" {
		t.Errorf("Split = %v %v", parts[0].Data, parts[1].Data)
	}
	s, _ := tensor.FromData([]float32{0, float32(math.Log(3)), 1000, 1000}, 2, 2)
	got := NewSoftmax(e, "sm", 1).Forward(s).Data
	for i, want := range []float64{0.25, 0.75, 0.5, 0.5} {
		if math.Abs(float64(got[i])-want) > 1e-6 {
			t.Errorf("Softmax = %v, want [0.25 0.75 0.5 0.5]", got)
			break
		}
	}
}

func TestShapeOpsPanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"add", "nn.Add a: shape mismatch: [2 3 4 5] vs [2 3 4 6]", func() { NewAdd(e, "a").Forward(tensor.New(2, 3, 4, 5), tensor.New(2, 3, 4, 6)) }},
		{"concat", "shape mismatch: input 0 [1 2 3 3] vs input 1 [1 2 4 3]", func() { NewConcat(e, "c").Forward(tensor.New(1, 2, 3, 3), tensor.New(1, 2, 4, 3)) }},
		{"split", "input shape [1 5 2 2], want [N 4 H W]", func() { NewSplit(e, "s", 2, 2).Forward(tensor.New(1, 5, 2, 2)) }},
		{"pool kernel", "kernel 4, want an odd size", func() { NewMaxPool2d(e, "p", 4) }},
		{"pool grad", "output gradient shape [1 1 2 2], want the output's [1 1 3 3]", func() {
			p := NewMaxPool2d(e, "p", 3)
			p.Forward(tensor.New(1, 1, 3, 3))
			p.Backward(tensor.New(1, 1, 2, 2))
		}},
		{"softmax axis", "axis 3 out of range for shape [2 2]", func() { NewSoftmax(e, "s", 3).Forward(tensor.New(2, 2)) }},
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

func TestShapeOpsAllocateNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 2))
	x := randTensor(r, 4, 8, 20, 20)
	x2 := randTensor(r, 4, 8, 20, 20)
	mp, up, cat, sp, add, sm := NewMaxPool2d(e, "p", 5), NewUpsample(e, "u"), NewConcat(e, "c"), NewSplit(e, "s", 3, 5), NewAdd(e, "a"), NewSoftmax(e, "sm", 1)
	step := func() {
		mp.Backward(mp.Forward(x))
		up.Backward(up.Forward(x))
		cat.Backward(cat.Forward(x, x2))
		parts := sp.Forward(x)
		sp.Backward(parts[0], nil)
		add.Backward(add.Forward(x, x2))
		sm.Backward(sm.Forward(x))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("steady-state Forward+Backward allocated %v times, want 0", n)
	}
}
