package nn

import (
	"math"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// scalarParam is a one-value parameter for hand-checked optimizer steps.
func scalarParam(v float32) *Param {
	p := NewParam("p", GroupWeight, 1)
	p.Value.Data[0] = v
	return p
}

func TestSGD(t *testing.T) {
	// Reference: torch.optim.SGD's update written out in float64.
	type cfg struct {
		lr, mom, wd float64
		nesterov    bool
	}
	grads := []float64{0.5, -1.0, 0.25, 2.0}
	for _, c := range []cfg{{0.1, 0, 0, false}, {0.1, 0.9, 0, false}, {0.01, 0.937, 5e-4, true}, {0.05, 0.8, 1e-2, false}} {
		p := scalarParam(1.5)
		o := NewSGD([]*ParamGroup{{Params: []*Param{p}, LR: c.lr, WeightDecay: c.wd, Momentum: c.mom}}, c.nesterov)
		w, buf := 1.5, 0.0
		for step, g := range grads {
			p.Grad.Data[0] = float32(g)
			o.Step()
			d := g + c.wd*w
			if c.mom != 0 {
				if step == 0 {
					buf = d
				} else {
					buf = c.mom*buf + d
				}
				if c.nesterov {
					d += c.mom * buf
				} else {
					d = buf
				}
			}
			w -= c.lr * d
			if got := float64(p.Value.Data[0]); math.Abs(got-w) > 1e-6 {
				t.Fatalf("%+v step %d: w = %v, want %v", c, step, got, w)
			}
		}
	}
}

func TestAdam(t *testing.T) {
	grads := []float64{0.5, -1.0, 0.25, 2.0, 1e-3}
	for _, decoupled := range []bool{true, false} {
		for _, c := range []struct{ lr, b1, b2, wd float64 }{{0.002, 0.9, 0.999, 0}, {0.002, 0.937, 0.999, 5e-4}, {0.1, 0.8, 0.99, 0.1}} {
			p := scalarParam(-0.7)
			groups := []*ParamGroup{{Params: []*Param{p}, LR: c.lr, WeightDecay: c.wd}}
			o := NewAdamW(groups, c.b1, c.b2)
			if !decoupled {
				o = NewAdam(groups, c.b1, c.b2)
			}
			w, m, v := -0.7, 0.0, 0.0
			for step, g := range grads {
				p.Grad.Data[0] = float32(g)
				o.Step()
				if decoupled {
					w *= 1 - c.lr*c.wd
				} else {
					g += c.wd * w
				}
				m = c.b1*m + (1-c.b1)*g
				v = c.b2*v + (1-c.b2)*g*g
				tt := float64(step + 1)
				bc1, bc2 := 1-math.Pow(c.b1, tt), 1-math.Pow(c.b2, tt)
				w -= c.lr / bc1 * m / (math.Sqrt(v)/math.Sqrt(bc2) + 1e-8)
				if got := float64(p.Value.Data[0]); math.Abs(got-w) > 1e-6 {
					t.Fatalf("decoupled=%v %+v step %d: w = %v, want %v", decoupled, c, step, got, w)
				}
			}
		}
	}
}

func TestGroupsAreIndependent(t *testing.T) {
	a, b := scalarParam(1), scalarParam(1)
	o := NewSGD([]*ParamGroup{{Params: []*Param{a}, LR: 0.1, WeightDecay: 0.5}, {Params: []*Param{b}, LR: 0.2}}, false)
	a.Grad.Data[0], b.Grad.Data[0] = 1, 1
	o.Step()
	if a.Value.Data[0] != 1-0.1*1.5 || b.Value.Data[0] != float32(1-0.2) {
		t.Fatalf("after one step a=%v b=%v, want 0.85 and 0.8", a.Value.Data[0], b.Value.Data[0])
	}
	o.Groups()[1].LR = 0 // a schedule changes one group between steps
	o.Step()
	if b.Value.Data[0] != float32(1-0.2) {
		t.Fatalf("b moved with LR 0: %v", b.Value.Data[0])
	}
	ZeroGrads(o)
	if a.Grad.Data[0] != 0 || b.Grad.Data[0] != 0 {
		t.Fatal("ZeroGrads left gradients")
	}
}

func TestOptimizersAllocateNothing(t *testing.T) {
	p := NewParam("w", GroupWeight, 64, 32, 3, 3)
	for _, o := range []Optimizer{
		NewSGD([]*ParamGroup{{Params: []*Param{p}, LR: 0.01, Momentum: 0.9}}, true),
		NewAdamW([]*ParamGroup{{Params: []*Param{p}, LR: 0.01}}, 0.9, 0.999),
	} {
		if n := testing.AllocsPerRun(5, o.Step); n != 0 {
			t.Errorf("%T.Step allocated %v times, want 0", o, n)
		}
	}
}

func TestEMA(t *testing.T) {
	w := tensor.New(2)
	w.Data[0], w.Data[1] = 1, -2
	e := NewEMA([]*tensor.Tensor{w})
	ema := []float64{1, -2}
	for u := 1; u <= 3; u++ {
		w.Data[0], w.Data[1] = float32(u), float32(10*u)
		d := 0.9999 * (1 - math.Exp(-float64(u)/2000))
		if math.Abs(e.D()-d) > 1e-15 {
			t.Fatalf("update %d: D() = %v, want %v", u, e.D(), d)
		}
		e.Update()
		ema[0] = d*ema[0] + (1-d)*float64(u)
		ema[1] = d*ema[1] + (1-d)*float64(10*u)
		for i, want := range ema {
			if got := float64(e.State()[i/2].Data[i]); math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("update %d: ema[%d] = %v, want %v", u, i, got, want)
			}
		}
	}
	if e.Updates != 3 {
		t.Fatalf("Updates = %d, want 3", e.Updates)
	}
	dst := tensor.New(2)
	if err := e.CopyTo([]*tensor.Tensor{dst}); err != nil || dst.Data[0] != e.State()[0].Data[0] {
		t.Fatalf("CopyTo: %v, %v", err, dst.Data)
	}
	if err := e.CopyTo([]*tensor.Tensor{tensor.New(3)}); err == nil {
		t.Fatal("CopyTo into a tensor of another shape succeeded")
	}
}
