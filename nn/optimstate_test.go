package nn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOptimizerStateRestore checks that an optimizer rebuilt from another
// one's state continues bit for bit as the original does.
func TestOptimizerStateRestore(t *testing.T) {
	newParams := func() []*Param {
		ps := []*Param{NewParam("w", GroupWeight, 3, 4), NewParam("b", GroupBias, 3)}
		r := rand.New(rand.NewPCG(1, 2))
		for _, p := range ps {
			for i := range p.Value.Data {
				p.Value.Data[i] = float32(r.NormFloat64())
			}
		}
		return ps
	}
	grads := func(ps []*Param, step int) {
		r := rand.New(rand.NewPCG(3, uint64(step)))
		for _, p := range ps {
			for i := range p.Grad.Data {
				p.Grad.Data[i] = float32(r.NormFloat64())
			}
		}
	}
	for _, tc := range []struct {
		name string
		make func([]*Param) Optimizer
		copy func(dst, src Optimizer, ps, qs []*Param) error
	}{
		{"sgd", func(ps []*Param) Optimizer {
			return NewSGD([]*ParamGroup{{Params: ps, LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}}, true)
		}, func(dst, src Optimizer, ps, qs []*Param) error {
			for i, p := range ps {
				if err := dst.(*SGD).SetMomentumBuffer(qs[i], src.(*SGD).MomentumBuffer(p)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"adamw", func(ps []*Param) Optimizer {
			return NewAdamW([]*ParamGroup{{Params: ps, LR: 0.002, WeightDecay: 5e-4}}, 0.9, 0.999)
		}, func(dst, src Optimizer, ps, qs []*Param) error {
			for i, p := range ps {
				m, v, step := src.(*Adam).Moments(p)
				if err := dst.(*Adam).SetMoments(qs[i], m, v, step); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newParams()
			a := tc.make(ps)
			for s := range 3 {
				grads(ps, s)
				a.Step()
			}
			// A second optimizer over a copy of the parameters, given a's state.
			qs := newParams()
			for i := range qs {
				copy(qs[i].Value.Data, ps[i].Value.Data)
			}
			b := tc.make(qs)
			if err := tc.copy(b, a, ps, qs); err != nil {
				t.Fatal(err)
			}
			for s := 3; s < 6; s++ {
				grads(ps, s)
				grads(qs, s)
				a.Step()
				b.Step()
			}
			for i := range ps {
				if !slices.Equal(ps[i].Value.Data, qs[i].Value.Data) {
					t.Errorf("parameter %s: restored optimizer gives %v, original %v", ps[i].Name, qs[i].Value.Data, ps[i].Value.Data)
				}
			}
		})
	}
}

func TestOptimizerStateErrors(t *testing.T) {
	p := NewParam("w", GroupWeight, 2, 2)
	if err := NewSGD(nil, false).SetMomentumBuffer(p, make([]float32, 3)); err == nil {
		t.Error("SGD accepted a momentum buffer of the wrong size")
	}
	o := NewAdamW(nil, 0.9, 0.999)
	if err := o.SetMoments(p, make([]float32, 4), make([]float32, 4), 0); err == nil {
		t.Error("Adam accepted moments after 0 steps")
	}
	if err := o.SetMoments(p, make([]float32, 4), make([]float32, 5), 1); err == nil {
		t.Error("Adam accepted a second moment of the wrong size")
	}
	if m, v, s := o.Moments(p); m != nil || v != nil || s != 0 {
		t.Errorf("a parameter never updated has moments %v %v after %d steps", m, v, s)
	}
}
