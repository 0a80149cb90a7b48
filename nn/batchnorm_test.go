package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// perturbBN moves gamma, beta and the running statistics away from their
// initial values, so that tests see every term.
func perturbBN(r *rand.Rand, b *BatchNorm2d) {
	for i := range b.Weight.Value.Data {
		b.Weight.Value.Data[i] = 0.5 + r.Float32()
		b.Bias.Value.Data[i] = float32(r.NormFloat64())
		b.RunningMean.Data[i] = float32(r.NormFloat64())
		b.RunningVar.Data[i] = 0.5 + r.Float32()
	}
}

func TestBatchNorm2dGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n, c, h, w int
		train      bool
		silu       bool
	}{
		{2, 3, 5, 7, true, false},
		{2, 3, 5, 7, false, false},
		{1, 3, 1, 3, true, false}, // three values per channel
		{3, 2, 3, 3, true, false},
		{2, 3, 5, 7, true, true},
		{2, 3, 5, 7, false, true},
	} {
		name := fmt.Sprintf("%dx%dx%dx%d_train%v_silu%v", tc.n, tc.c, tc.h, tc.w, tc.train, tc.silu)
		b := NewBatchNorm2d(e, "bn", tc.c)
		b.silu = tc.silu
		perturbBN(r, b)
		b.SetTrain(tc.train)
		x := randTensor(r, tc.n, tc.c, tc.h, tc.w)
		for i := range x.Data { // an offset mean, as convolutions produce
			x.Data[i] = 3 + 2*x.Data[i]
		}
		checkGrad(t, name, gradCase{
			inputs:   []*tensor.Tensor{x},
			params:   b.Params(),
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return b.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{b.Backward(dy)} },
		})
	}
}

// TestBatchNorm2dValues checks outputs and the running-statistic update
// against numbers worked out by hand.
func TestBatchNorm2dValues(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	b := NewBatchNorm2d(e, "bn", 2)
	// Channel 0 holds 1, 2, 3, 4 (two per image); channel 1 holds 10, 10, 10, 14.
	x, _ := tensor.FromData([]float32{1, 2, 10, 10, 3, 4, 10, 14}, 2, 2, 1, 2)
	b.Weight.Value.Data[1] = 2
	b.Bias.Value.Data[1] = -1
	y := b.Forward(x)
	// Channel 0: mean 2.5, biased variance 1.25, unbiased 5/3.
	// Channel 1: mean 11, biased variance 3, unbiased 4.
	inv0, inv1 := 1/math.Sqrt(1.25+1e-3), 1/math.Sqrt(3+1e-3)
	want := []float64{
		-1.5 * inv0, -0.5 * inv0, 2*-1*inv1 - 1, 2*-1*inv1 - 1,
		0.5 * inv0, 1.5 * inv0, 2*-1*inv1 - 1, 2*3*inv1 - 1,
	}
	for i, w := range want {
		if math.Abs(float64(y.Data[i])-w) > 1e-5 {
			t.Errorf("train y[%d] = %v, want %v", i, y.Data[i], w)
		}
	}
	// running = 0.97*running + 0.03*batch, with the unbiased variance.
	wantMean := []float64{0.03 * 2.5, 0.03 * 11}
	wantVar := []float64{0.97 + 0.03*5.0/3, 0.97 + 0.03*4}
	for c := range 2 {
		if math.Abs(float64(b.RunningMean.Data[c])-wantMean[c]) > 1e-6 ||
			math.Abs(float64(b.RunningVar.Data[c])-wantVar[c]) > 1e-6 {
			t.Errorf("channel %d: running mean %v var %v, want %v %v",
				c, b.RunningMean.Data[c], b.RunningVar.Data[c], wantMean[c], wantVar[c])
		}
	}
	// A second step compounds: 0.97*first + 0.03*batch.
	b.Forward(x)
	if got, want := float64(b.RunningMean.Data[1]), 0.97*0.33+0.03*11; math.Abs(got-want) > 1e-5 {
		t.Errorf("running mean after two steps %v, want %v", got, want)
	}
	if got, want := float64(b.RunningVar.Data[0]), 0.97*(0.97+0.05)+0.05; math.Abs(got-want) > 1e-5 {
		t.Errorf("running var after two steps %v, want %v", got, want)
	}

	// Evaluation mode uses the running statistics and leaves them alone.
	b.SetTrain(false)
	rm, rv := b.RunningMean.Clone(), b.RunningVar.Clone()
	y = b.Forward(x)
	for i, v := range x.Data {
		c := i / 2 % 2
		w := (float64(v)-float64(rm.Data[c]))/math.Sqrt(float64(rv.Data[c])+1e-3)*float64(b.Weight.Value.Data[c]) + float64(b.Bias.Value.Data[c])
		if math.Abs(float64(y.Data[i])-w) > 1e-4 {
			t.Errorf("eval y[%d] = %v, want %v", i, y.Data[i], w)
		}
	}
	if !sameFloats(rm.Data, b.RunningMean.Data) || !sameFloats(rv.Data, b.RunningVar.Data) {
		t.Errorf("eval changed running stats: %v %v -> %v %v", rm.Data, rv.Data, b.RunningMean.Data, b.RunningVar.Data)
	}
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBatchNorm2dLargeMean checks that a channel whose mean dwarfs its
// spread keeps its variance: naive sums of squares in float32 lose it.
func TestBatchNorm2dLargeMean(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(3, 4))
	b := NewBatchNorm2d(e, "bn", 1)
	x := randTensor(r, 4, 1, 64, 64)
	var s, ss float64
	for i := range x.Data {
		x.Data[i] = 1000 + 0.01*x.Data[i]
		s += float64(x.Data[i])
	}
	mean := s / float64(len(x.Data))
	for _, v := range x.Data {
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	b.Momentum = 1
	b.Forward(x)
	want := ss / float64(len(x.Data)-1)
	if got := float64(b.RunningVar.Data[0]); math.Abs(got-want) > 1e-3*want {
		t.Errorf("variance %v, want %v", got, want)
	}
}

func TestBatchNorm2dDefaults(t *testing.T) {
	b := NewBatchNorm2d(NewEngine(1), "bn", 3)
	if b.Eps != 1e-3 || b.Momentum != 0.03 || !b.train {
		t.Errorf("eps %v momentum %v train %v, want 1e-3 0.03 true", b.Eps, b.Momentum, b.train)
	}
	if !sameFloats(b.Weight.Value.Data, []float32{1, 1, 1}) || !sameFloats(b.Bias.Value.Data, []float32{0, 0, 0}) ||
		!sameFloats(b.RunningMean.Data, []float32{0, 0, 0}) || !sameFloats(b.RunningVar.Data, []float32{1, 1, 1}) {
		t.Errorf("initial gamma %v beta %v mean %v var %v", b.Weight.Value.Data, b.Bias.Value.Data, b.RunningMean.Data, b.RunningVar.Data)
	}
	if b.Weight.Group != GroupNorm || b.Bias.Group != GroupBias {
		t.Errorf("groups %v %v, want norm bias", b.Weight.Group, b.Bias.Group)
	}
}

func TestBatchNorm2dShapePanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	b := NewBatchNorm2d(e, "bn1", 4)
	checkPanics(t, "channels", func() { b.Forward(tensor.New(2, 3, 5, 5)) }, "bn1", "[2 3 5 5]", "[N 4 H W]")
	checkPanics(t, "2-D", func() { b.Forward(tensor.New(2, 4)) }, "bn1", "[2 4]")
	checkPanics(t, "one value", func() { b.Forward(tensor.New(1, 4, 1, 1)) }, "bn1", "[1 4 1 1]")
	checkPanics(t, "backward first", func() { b.Backward(tensor.New(1, 4, 1, 1)) }, "bn1", "before Forward")
	b.Forward(tensor.New(2, 4, 3, 3))
	checkPanics(t, "dy", func() { b.Backward(tensor.New(2, 4, 3, 4)) }, "bn1", "[2 4 3 4]", "[2 4 3 3]")
	b.SetTrain(false)
	b.Forward(tensor.New(1, 4, 1, 1)) // one value per channel is fine in eval mode
}
