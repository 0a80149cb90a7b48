package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

func TestUpsampleGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(3, 1))
	for _, shape := range [][]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 2, 3, 1}, {3, 1, 1, 4}} {
		u := NewUpsample(e, "up")
		checkGrad(t, fmt.Sprintf("Upsample %v", shape), gradCase{
			inputs:   []*tensor.Tensor{randTensor(r, shape...)},
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return u.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{u.Backward(dy)} },
		})
	}
}

func TestUpsampleValues(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	u := NewUpsample(e, "up")
	x, _ := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 1, 3)
	y := u.Forward(x)
	want := "[1 2 2 6] [1 1 2 2 3 3 1 1 2 2 3 3 4 4 5 5 6 6 4 4 5 5 6 6]"
	if got := fmt.Sprint(y.Shape, y.Data); got != want {
		t.Errorf("Upsample = %s, want %s", got, want)
	}
	dy := tensor.New(1, 2, 2, 6)
	for i := range dy.Data {
		dy.Data[i] = float32(i)
	}
	// Block sums: (0+1+6+7), (2+3+8+9), ... of the row-major gradient.
	if got := fmt.Sprint(u.Backward(dy).Data); got != "[14 22 30 62 70 78]" {
		t.Errorf("Upsample backward = %s, want [14 22 30 62 70 78]", got)
	}
	if u.ForwardInto(x, nil) != y {
		t.Error("Upsample ForwardInto(x, nil) is not into the layer's own buffer")
	}
	into := tensor.New(0)
	if y := u.ForwardInto(x, into); y != into || fmt.Sprint(y.Shape, y.Data) != want {
		t.Errorf("Upsample ForwardInto = %v %v, want %s", y.Shape, y.Data, want)
	}
	if got := fmt.Sprint(u.Backward(dy).Data); got != "[14 22 30 62 70 78]" {
		t.Errorf("Upsample backward after ForwardInto = %s", got)
	}
}

func TestUpsamplePanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"not 4-D", "nn.Upsample u: input shape [2 3 4], want [N C H W]", func() { NewUpsample(e, "u").Forward(tensor.New(2, 3, 4)) }},
		{"backward first", "nn.Upsample u: Backward before Forward", func() { NewUpsample(e, "u").Backward(tensor.New(1, 1, 2, 2)) }},
		{"gradient shape", "nn.Upsample u Backward: output gradient shape [1 1 2 3], want the output's [1 1 2 2]", func() {
			u := NewUpsample(e, "u")
			u.Forward(tensor.New(1, 1, 1, 1))
			u.Backward(tensor.New(1, 1, 2, 3))
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

func TestUpsampleAllocatesNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 8))
	big, small := randTensor(r, 4, 8, 20, 20), randTensor(r, 2, 8, 20, 20)
	u := NewUpsample(e, "up")
	step := func() {
		u.Backward(u.Forward(big))
		u.Backward(u.Forward(small))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("steady-state Forward+Backward allocated %v times, want 0", n)
	}
}
