package nn

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

func TestEMA(t *testing.T) {
	// A weight and a BatchNorm running variance: both are averaged.
	w, rv := tensor.New(2), tensor.New(1)
	w.Data[0], w.Data[1], rv.Data[0] = 1, -2, 1
	e := NewEMA([]*tensor.Tensor{w, rv})
	if e.State()[0] == w || e.State()[0].Data[1] != -2 {
		t.Fatal("NewEMA did not start from a copy of the state")
	}
	// The first update takes almost all of the model: its decay is
	// 0.9999 * (1 - exp(-1/2000)) = 4.99825e-4.
	if d := e.D(); math.Abs(d-4.99825e-4) > 1e-9 {
		t.Fatalf("first decay = %v, want 4.99825e-4", d)
	}
	ema := []float64{1, -2, 1}
	for u := 1; u <= 4; u++ {
		w.Data[0], w.Data[1], rv.Data[0] = float32(u), float32(10*u), float32(u*u)
		d := 0.9999 * (1 - math.Exp(-float64(u)/2000))
		if math.Abs(e.D()-d) > 1e-15 {
			t.Fatalf("update %d: D() = %v, want %v", u, e.D(), d)
		}
		e.Update()
		for i, v := range []float64{float64(u), float64(10 * u), float64(u * u)} {
			ema[i] = d*ema[i] + (1-d)*v
		}
		got := append(append([]float32(nil), e.State()[0].Data...), e.State()[1].Data...)
		for i, want := range ema {
			if math.Abs(float64(got[i])-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("update %d: ema[%d] = %v, want %v", u, i, got[i], want)
			}
		}
	}
	if e.Updates != 4 {
		t.Fatalf("Updates = %d, want 4", e.Updates)
	}
}

func TestEMAConfigurable(t *testing.T) {
	x := tensor.New(1)
	e := NewEMA([]*tensor.Tensor{x})
	e.Decay, e.Tau, e.Updates = 0.5, 1, 10 // resumed from a checkpoint
	x.Data[0] = 8
	want := 0.5 * (1 - math.Exp(-11))
	if math.Abs(e.D()-want) > 1e-15 {
		t.Fatalf("D() = %v, want %v", e.D(), want)
	}
	e.Update()
	if got := float64(e.State()[0].Data[0]); math.Abs(got-(1-want)*8) > 1e-6 {
		t.Fatalf("average = %v, want %v", got, (1-want)*8)
	}
}

func TestEMACopyTo(t *testing.T) {
	a, b := tensor.New(2, 2), tensor.New(3)
	a.Data[3], b.Data[0] = 4, 7
	e := NewEMA([]*tensor.Tensor{a, b})
	a.Data[3], b.Data[0] = 0, 0
	dst := []*tensor.Tensor{tensor.New(2, 2), tensor.New(3)}
	if err := e.CopyTo(dst); err != nil || dst[0].Data[3] != 4 || dst[1].Data[0] != 7 {
		t.Fatalf("CopyTo: %v, %v %v", err, dst[0].Data, dst[1].Data)
	}
	for _, tc := range []struct {
		dst  []*tensor.Tensor
		want string
	}{
		{[]*tensor.Tensor{tensor.New(2, 2)}, "copying 2 averaged tensors into 1"},
		{[]*tensor.Tensor{tensor.New(4), tensor.New(3)}, "tensor 0: shape mismatch: [2 2] vs [4]"},
	} {
		if err := e.CopyTo(tc.dst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CopyTo = %v, want an error containing %q", err, tc.want)
		}
	}
}

func TestEMAPanicsOnResizedState(t *testing.T) {
	x := tensor.New(2, 2)
	e := NewEMA([]*tensor.Tensor{x})
	x.Reshape(5)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "nn.EMA: state tensor 0 changed size from [2 2] to [5]") {
			t.Fatalf("panic = %v", r)
		}
	}()
	e.Update()
}

func TestEMAAllocatesNothing(t *testing.T) {
	state := []*tensor.Tensor{tensor.New(64, 32, 3, 3), tensor.New(64), tensor.New(64)}
	e := NewEMA(state)
	if n := testing.AllocsPerRun(5, e.Update); n != 0 {
		t.Fatalf("Update allocated %v times, want 0", n)
	}
}
