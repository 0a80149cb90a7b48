package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

func TestAddGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(4, 1))
	for _, shape := range [][]int{{1}, {3, 5}, {2, 3, 5, 7}, {1, 1, 1, 1}, {3, 1, 4, 9}} {
		add := NewAdd(e, "add")
		checkGrad(t, fmt.Sprintf("Add %v", shape), gradCase{
			inputs:  []*tensor.Tensor{randTensor(r, shape...), randTensor(r, shape...)},
			forward: func(in []*tensor.Tensor) *tensor.Tensor { return add.Forward(in[0], in[1]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor {
				a, b := add.Backward(dy)
				return []*tensor.Tensor{a, b}
			},
		})
	}
}

// TestAddLarge covers the parallel path, which splits the elements.
func TestAddLarge(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(4, 2))
	a, b := randTensor(r, 3, 7, 31, 29), randTensor(r, 3, 7, 31, 29)
	y := NewAdd(e, "add").Forward(a, b)
	for i := range y.Data {
		if y.Data[i] != a.Data[i]+b.Data[i] {
			t.Fatalf("y[%d] = %v, want %v", i, y.Data[i], a.Data[i]+b.Data[i])
		}
	}
}

// TestAddForwardInto: the sum lands in the given tensor, resized to the
// inputs' shape, which may be one of the inputs.
func TestAddForwardInto(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(4, 3))
	a, b := randTensor(r, 2, 3, 17, 19), randTensor(r, 2, 3, 17, 19)
	want := NewAdd(e, "ref").Forward(a, b).Clone()
	add := NewAdd(e, "add")
	y := tensor.New(0)
	if got := add.ForwardInto(a, b, y); got != y || !got.SameShape(want) || !slices.Equal(got.Data, want.Data) {
		t.Fatalf("ForwardInto: %v, want %v with the sum", got.Shape, want.Shape)
	}
	if own := add.Forward(a, b); add.ForwardInto(a, b, nil) != own {
		t.Fatal("ForwardInto(a, b, nil) is not into the layer's own buffer")
	}
	if got := add.ForwardInto(a, b, a); got != a || !slices.Equal(a.Data, want.Data) {
		t.Fatal("ForwardInto its first input: not the sum")
	}
	if da, _ := add.Backward(want); da != want {
		t.Fatal("Backward after ForwardInto: not the output gradient")
	}
}

func TestAddPanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"forward", "nn.Add a: shape mismatch: [2 3 4 5] vs [2 3 4 6]", func() { NewAdd(e, "a").Forward(tensor.New(2, 3, 4, 5), tensor.New(2, 3, 4, 6)) }},
		{"same size", "nn.Add a: shape mismatch: [2 3] vs [3 2]", func() { NewAdd(e, "a").Forward(tensor.New(2, 3), tensor.New(3, 2)) }},
		{"gradient shape", "nn.Add a Backward: output gradient shape [2 2], want the output's [2 3]", func() {
			a := NewAdd(e, "a")
			a.Forward(tensor.New(2, 3), tensor.New(2, 3))
			a.Backward(tensor.New(2, 2))
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

func TestAddAllocatesNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 9))
	a, b := randTensor(r, 4, 8, 20, 20), randTensor(r, 4, 8, 20, 20)
	c, d := randTensor(r, 2, 8, 20, 20), randTensor(r, 2, 8, 20, 20)
	add := NewAdd(e, "add")
	step := func() {
		add.Backward(add.Forward(a, b))
		add.Backward(add.Forward(c, d))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("steady-state Forward+Backward allocated %v times, want 0", n)
	}
}
