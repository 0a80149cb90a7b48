package nn

import (
	"fmt"
	"math"

	"github.com/yolops/yolops/tensor"
)

// EMA keeps an exponential moving average of a model's state, as
// Ultralytics' ModelEMA (8.2): after each optimizer step,
// ema = d*ema + (1-d)*model with d = Decay*(1 - exp(-updates/Tau)), over
// every floating-point tensor of the state: parameters and BatchNorm
// running statistics alike. The average, not the raw weights, is what
// Ultralytics validates and saves as best.pt.
type EMA struct {
	Decay, Tau float64
	Updates    int
	src, avg   []*tensor.Tensor
}

// NewEMA starts an average of state (the model's tensors, in a fixed
// order) from their current values, with Ultralytics' decay 0.9999 and
// tau 2000.
func NewEMA(state []*tensor.Tensor) *EMA {
	e := &EMA{Decay: 0.9999, Tau: 2000, src: state, avg: make([]*tensor.Tensor, len(state))}
	for i, t := range state {
		e.avg[i] = t.Clone()
	}
	return e
}

// D is the decay the next Update uses.
func (e *EMA) D() float64 {
	return e.Decay * (1 - math.Exp(-float64(e.Updates+1)/e.Tau))
}

// Update folds the model's current state into the average.
func (e *EMA) Update() {
	d := e.D()
	e.Updates++
	df, rf := float32(d), float32(1-d)
	for i, a := range e.avg {
		s := e.src[i].Data
		if len(s) != len(a.Data) {
			panic(fmt.Sprintf("nn.EMA: state tensor %d changed size from %v to %v", i, a.Shape, e.src[i].Shape))
		}
		for j, v := range a.Data {
			a.Data[j] = df*v + rf*s[j]
		}
	}
}

// State returns the averaged tensors, in the order of the model's state.
func (e *EMA) State() []*tensor.Tensor { return e.avg }

// CopyTo writes the average into dst, tensors of the same shapes as the
// model's state: to evaluate or save the averaged model.
func (e *EMA) CopyTo(dst []*tensor.Tensor) error {
	if len(dst) != len(e.avg) {
		return fmt.Errorf("nn.EMA: copying %d averaged tensors into %d", len(e.avg), len(dst))
	}
	for i, a := range e.avg {
		if !a.SameShape(dst[i]) {
			return fmt.Errorf("nn.EMA: tensor %d: shape mismatch: %v vs %v", i, a.Shape, dst[i].Shape)
		}
	}
	for i, a := range e.avg {
		copy(dst[i].Data, a.Data)
	}
	return nil
}
