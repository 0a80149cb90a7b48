package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/tensor"
)

func TestActivationValues(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 3))
	x := randTensor(r, 3, 5, 40, 41) // large enough to split over workers
	for i := range x.Data {
		x.Data[i] *= 6
	}
	silu, sig := NewSiLU(e, "silu"), NewSigmoid(e, "sig")
	ys, yg := silu.Forward(x), sig.Forward(x)
	if !ys.SameShape(x) || !yg.SameShape(x) {
		t.Fatalf("output shapes %v %v, want %v", ys.Shape, yg.Shape, x.Shape)
	}
	for i, v := range x.Data {
		s := 1 / (1 + math.Exp(-float64(v)))
		if d := math.Abs(float64(yg.Data[i]) - s); d > 2e-7 {
			t.Fatalf("sigmoid(%v) = %v, want %v", v, yg.Data[i], s)
		}
		if d := math.Abs(float64(ys.Data[i]) - float64(v)*s); d > 1e-6*max(1, math.Abs(float64(v))) {
			t.Fatalf("silu(%v) = %v, want %v", v, ys.Data[i], float64(v)*s)
		}
	}
}

func TestActivationGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 3))
	for _, shape := range [][]int{{2, 3, 5, 7}, {7}, {4, 9}} {
		x := randTensor(r, shape...)
		for i := range x.Data {
			x.Data[i] *= 3
		}
		silu, sig := NewSiLU(e, "silu"), NewSigmoid(e, "sig")
		checkGrad(t, "silu", gradCase{
			inputs:   []*tensor.Tensor{x},
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return silu.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{silu.Backward(dy)} },
		})
		checkGrad(t, "sigmoid", gradCase{
			inputs:   []*tensor.Tensor{x},
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return sig.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{sig.Backward(dy)} },
		})
	}
}

func TestActivationShapePanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	silu, sig := NewSiLU(e, "act1"), NewSigmoid(e, "act2")
	checkPanics(t, "silu first", func() { silu.Backward(tensor.New(2)) }, "act1", "before Forward")
	checkPanics(t, "sigmoid first", func() { sig.Backward(tensor.New(2)) }, "act2", "before Forward")
	silu.Forward(tensor.New(2, 3))
	sig.Forward(tensor.New(2, 3))
	checkPanics(t, "silu dy", func() { silu.Backward(tensor.New(3, 2)) }, "act1", "[3 2]", "[2 3]")
	checkPanics(t, "sigmoid dy", func() { sig.Backward(tensor.New(6)) }, "act2", "[6]", "[2 3]")
}

func TestActivationAllocatesNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(4, 3))
	x, dy := randTensor(r, 2, 8, 64, 64), randTensor(r, 2, 8, 64, 64)
	silu, sig := NewSiLU(e, "silu"), NewSigmoid(e, "sig")
	step := func() {
		silu.Backward(dy)
		sig.Backward(dy)
		silu.Forward(x)
		sig.Forward(x)
	}
	silu.Forward(x)
	sig.Forward(x)
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Errorf("%v allocations per step, want 0", a)
	}
}
