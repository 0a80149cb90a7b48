package nn

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// scalarParam is a one-value parameter for hand-checked optimizer steps.
func scalarParam(v float32) *Param {
	p := NewParam("p", GroupWeight, 1)
	p.Value.Data[0] = v
	return p
}

// optimGrads is the gradient sequence the scalar tests feed.
var optimGrads = []float64{0.5, -1.0, 0.25, 2.0, 1e-3, -3}

func TestSGD(t *testing.T) {
	// Reference: torch.optim.SGD's update written out in float64.
	for _, c := range []struct {
		lr, wd   float64
		mom      []float64 // per step, as warmup changes it; nil: none
		nesterov bool
	}{
		{lr: 0.1},
		{lr: 0.1, wd: 5e-4},
		{lr: 0.1, mom: []float64{0.9}},
		{lr: 0.1, mom: []float64{0.9}, nesterov: true},
		{lr: 0.01, mom: []float64{0.937}, wd: 5e-4, nesterov: true},
		{lr: 0.05, mom: []float64{0.8}, wd: 1e-2},
		// Ultralytics' warmup raises momentum from 0.8 towards 0.937.
		{lr: 0.01, mom: []float64{0.8, 0.83, 0.86, 0.89, 0.92, 0.937}, wd: 5e-4, nesterov: true},
	} {
		name := fmt.Sprintf("lr=%v wd=%v momentum=%v nesterov=%v", c.lr, c.wd, c.mom, c.nesterov)
		p := scalarParam(1.5)
		g := &ParamGroup{Params: []*Param{p}, LR: c.lr, WeightDecay: c.wd}
		o := NewSGD([]*ParamGroup{g}, c.nesterov)
		w, buf := 1.5, 0.0
		for step, grad := range optimGrads {
			mom := 0.0
			if c.mom != nil {
				mom = c.mom[min(step, len(c.mom)-1)]
			}
			g.Momentum = mom
			p.Grad.Data[0] = float32(grad)
			o.Step()
			d := grad + c.wd*w
			if mom != 0 {
				if step == 0 {
					buf = d
				} else {
					buf = mom*buf + d
				}
				if c.nesterov {
					d += mom * buf
				} else {
					d = buf
				}
			}
			w -= c.lr * d
			if got := float64(p.Value.Data[0]); math.Abs(got-w) > 1e-6 {
				t.Fatalf("%s step %d: w = %v, want %v", name, step, got, w)
			}
		}
	}
}

// TestSGDValues pins two steps to numbers worked out by hand.
func TestSGDValues(t *testing.T) {
	p := scalarParam(1)
	o := NewSGD([]*ParamGroup{{Params: []*Param{p}, LR: 0.1, WeightDecay: 0.5, Momentum: 0.9}}, true)
	p.Grad.Data[0] = 1
	o.Step() // g = 1 + 0.5 = 1.5; buf = 1.5; g = 1.5 + 0.9*1.5 = 2.85; w = 1 - 0.285
	if got := p.Value.Data[0]; math.Abs(float64(got)-0.715) > 1e-6 {
		t.Fatalf("step 1: w = %v, want 0.715", got)
	}
	o.Step() // g = 1 + 0.3575 = 1.3575; buf = 1.35 + 1.3575 = 2.7075; g = 1.3575 + 2.43675 = 3.79425
	if got := p.Value.Data[0]; math.Abs(float64(got)-(0.715-0.379425)) > 1e-6 {
		t.Fatalf("step 2: w = %v, want %v", got, 0.715-0.379425)
	}
}

func TestAdam(t *testing.T) {
	for _, decoupled := range []bool{true, false} {
		for _, c := range []struct{ lr, b1, b2, wd float64 }{
			{0.002, 0.9, 0.999, 0},
			{0.002, 0.937, 0.999, 5e-4},
			{0.1, 0.8, 0.99, 0.1},
			{0.01, 0.3, 0.9, 0.05}, // beta1 < 0.5: lerp from the other end
		} {
			p := scalarParam(-0.7)
			groups := []*ParamGroup{{Params: []*Param{p}, LR: c.lr, WeightDecay: c.wd}}
			o := NewAdamW(groups, c.b1, c.b2)
			if !decoupled {
				o = NewAdam(groups, c.b1, c.b2)
			}
			w, m, v := -0.7, 0.0, 0.0
			for step, g := range optimGrads {
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
				w -= c.lr * (m / (1 - math.Pow(c.b1, tt))) / (math.Sqrt(v/(1-math.Pow(c.b2, tt))) + 1e-8)
				if got := float64(p.Value.Data[0]); math.Abs(got-w) > 1e-6 {
					t.Fatalf("decoupled=%v %+v step %d: w = %v, want %v", decoupled, c, step, got, w)
				}
			}
		}
	}
}

// TestAdamWValues pins the first steps, where bias correction dominates:
// m̂ = g and v̂ = g² at step 1, so every parameter moves by lr (minus its
// decay) whatever its gradient's size.
func TestAdamWValues(t *testing.T) {
	a, b := scalarParam(1), scalarParam(1)
	o := NewAdamW([]*ParamGroup{{Params: []*Param{a, b}, LR: 0.01, WeightDecay: 0.1}}, 0.9, 0.999)
	a.Grad.Data[0], b.Grad.Data[0] = 1e-3, -50
	o.Step()
	if got := a.Value.Data[0]; math.Abs(float64(got)-(0.999-0.01)) > 1e-6 {
		t.Errorf("a after step 1 = %v, want %v", got, 0.999-0.01)
	}
	if got := b.Value.Data[0]; math.Abs(float64(got)-(0.999+0.01)) > 1e-6 {
		t.Errorf("b after step 1 = %v, want %v", got, 0.999+0.01)
	}
	// Step 2 with the same gradient: m̂ = g and v̂ = g² again.
	o.Step()
	if got, want := a.Value.Data[0], 0.989*0.999-0.01; math.Abs(float64(got)-want) > 1e-6 {
		t.Errorf("a after step 2 = %v, want %v", got, want)
	}
}

// TestAdamStepsPerParameter checks PyTorch's per-parameter step count: a
// group added after two steps starts its bias correction at t=1.
func TestAdamStepsPerParameter(t *testing.T) {
	a, b := scalarParam(0), scalarParam(0)
	o := NewAdamW([]*ParamGroup{{Params: []*Param{a}, LR: 0.1}}, 0.9, 0.999)
	a.Grad.Data[0], b.Grad.Data[0] = 1, 1
	o.Step()
	o.Step()
	o.AddGroup(&ParamGroup{Params: []*Param{b}, LR: 0.1})
	o.Step()
	if got := b.Value.Data[0]; math.Abs(float64(got)+0.1) > 1e-6 {
		t.Fatalf("late parameter after its first step = %v, want -0.1", got)
	}
	if got := a.Value.Data[0]; math.Abs(float64(got)+0.3) > 1e-6 {
		t.Fatalf("first parameter after three steps = %v, want -0.3", got)
	}
}

// TestSGDMomentumPerParameter checks that a parameter added later starts
// its momentum buffer from its own first gradient.
func TestSGDMomentumPerParameter(t *testing.T) {
	a, b := scalarParam(0), scalarParam(0)
	o := NewSGD([]*ParamGroup{{Params: []*Param{a}, LR: 1, Momentum: 0.5}}, false)
	a.Grad.Data[0], b.Grad.Data[0] = 1, 1
	o.Step()
	o.AddGroup(&ParamGroup{Params: []*Param{b}, LR: 1, Momentum: 0.5})
	o.Step()
	if a.Value.Data[0] != -2.5 || b.Value.Data[0] != -1 {
		t.Fatalf("a = %v, b = %v, want -2.5 and -1", a.Value.Data[0], b.Value.Data[0])
	}
}

func TestGroupsAreIndependent(t *testing.T) {
	a, b := scalarParam(1), scalarParam(1)
	for _, o := range []Optimizer{
		NewSGD([]*ParamGroup{{Params: []*Param{a}, LR: 0.1, WeightDecay: 0.5}, {Params: []*Param{b}, LR: 0.2}}, false),
		NewAdamW([]*ParamGroup{{Params: []*Param{a}, LR: 0.1, WeightDecay: 0.5}, {Params: []*Param{b}, LR: 0.2}}, 0.9, 0.999),
	} {
		a.Value.Data[0], b.Value.Data[0] = 1, 1
		a.Grad.Data[0], b.Grad.Data[0] = 1, 1
		o.Step()
		before := b.Value.Data[0]
		if a.Value.Data[0] == before {
			t.Fatalf("%T: groups with different settings moved alike: %v", o, before)
		}
		o.Groups()[1].LR = 0 // a schedule changes one group between steps
		o.Step()
		if b.Value.Data[0] != before {
			t.Fatalf("%T: parameter moved with LR 0: %v to %v", o, before, b.Value.Data[0])
		}
		o.ZeroGrad()
		if a.Grad.Data[0] != 0 || b.Grad.Data[0] != 0 {
			t.Fatalf("%T: ZeroGrad left gradients", o)
		}
	}
}

func TestOptimizerPanics(t *testing.T) {
	bad := &Param{Name: "w", Value: NewParam("w", GroupWeight, 2, 3).Value, Grad: NewParam("w", GroupWeight, 5).Grad}
	for _, o := range []Optimizer{
		NewSGD([]*ParamGroup{{Params: []*Param{bad}, LR: 0.1}}, false),
		NewSGD([]*ParamGroup{{Params: []*Param{bad}, LR: 0.1, Momentum: 0.9}}, false),
		NewAdam([]*ParamGroup{{Params: []*Param{bad}, LR: 0.1}}, 0.9, 0.999),
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "parameter w: value [2 3], gradient [5]") {
					t.Errorf("%T: panic = %v, want one naming both shapes", o, r)
				}
			}()
			o.Step()
		}()
	}
}

func TestOptimizersAllocateNothing(t *testing.T) {
	params := func() []*ParamGroup {
		return []*ParamGroup{
			{Params: []*Param{NewParam("w", GroupWeight, 64, 32, 3, 3)}, LR: 0.01, WeightDecay: 5e-4, Momentum: 0.9},
			{Params: []*Param{NewParam("g", GroupNorm, 64), NewParam("b", GroupBias, 64)}, LR: 0.01, Momentum: 0.9},
		}
	}
	for _, o := range []Optimizer{
		NewSGD(params(), true),
		NewSGD(params(), false),
		NewAdamW(params(), 0.9, 0.999),
		NewAdam(params(), 0.9, 0.999),
	} {
		step := func() {
			o.Step()
			o.ZeroGrad()
		}
		if n := testing.AllocsPerRun(5, step); n != 0 {
			t.Errorf("%T.Step allocated %v times, want 0", o, n)
		}
	}
}
