package nn

import (
	"fmt"
	"math"
)

// ParamGroup is a set of parameters sharing hyper-parameters, as in a
// PyTorch optimizer. Ultralytics trains with three (weights with decay,
// BatchNorm weights and biases without) and changes each group's LR, and
// SGD's momentum, at every warmup iteration, so the fields are meant to be
// set between steps.
type ParamGroup struct {
	Name        string
	Params      []*Param
	LR          float64
	WeightDecay float64
	// Momentum is SGD's momentum; the Adam variants ignore it and use
	// their Beta1, as PyTorch's groups hold betas rather than momentum.
	Momentum float64
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with the gradients in Param.Grad.
	Step()
	// Groups returns the parameter groups, for schedules to adjust.
	Groups() []*ParamGroup
}

// ZeroGrads clears the gradients of every parameter of o.
func ZeroGrads(o Optimizer) {
	for _, g := range o.Groups() {
		ZeroGrad(g.Params)
	}
}

func checkGroups(op string, groups []*ParamGroup) {
	for _, g := range groups {
		for _, p := range g.Params {
			if len(p.Grad.Data) != len(p.Value.Data) {
				panic(fmt.Sprintf("%s: parameter %s has %d values but %d gradients", op, p.Name, len(p.Value.Data), len(p.Grad.Data)))
			}
		}
	}
}

// state allocates one float32 slice per parameter, like the parameters.
func state(groups []*ParamGroup) [][][]float32 {
	s := make([][][]float32, len(groups))
	for i, g := range groups {
		s[i] = make([][]float32, len(g.Params))
		for j, p := range g.Params {
			s[i][j] = make([]float32, len(p.Value.Data))
		}
	}
	return s
}

// SGD is stochastic gradient descent with momentum (dampening 0), optional
// Nesterov momentum and L2 weight decay added to the gradient, exactly as
// torch.optim.SGD: g = grad + wd*p; buf = momentum*buf + g (buf = g at the
// first step); g = g + momentum*buf with Nesterov, else buf; p -= lr*g.
type SGD struct {
	Nesterov bool
	groups   []*ParamGroup
	buf      [][][]float32
	steps    int
}

// NewSGD returns SGD over groups; it allocates its momentum buffers now.
func NewSGD(groups []*ParamGroup, nesterov bool) *SGD {
	checkGroups("nn.NewSGD", groups)
	return &SGD{Nesterov: nesterov, groups: groups, buf: state(groups)}
}

// Groups returns the parameter groups.
func (o *SGD) Groups() []*ParamGroup { return o.groups }

// Step applies one update.
func (o *SGD) Step() {
	first := o.steps == 0
	o.steps++
	for gi, g := range o.groups {
		lr, wd, mom := float32(g.LR), float32(g.WeightDecay), float32(g.Momentum)
		for pi, p := range g.Params {
			w, grad, buf := p.Value.Data, p.Grad.Data, o.buf[gi][pi]
			grad, buf = grad[:len(w)], buf[:len(w)]
			for i, v := range w {
				d := grad[i] + wd*v
				if mom != 0 {
					b := d
					if !first {
						b = mom*buf[i] + d
					}
					buf[i] = b
					if o.Nesterov {
						d += mom * b
					} else {
						d = b
					}
				}
				w[i] = v - lr*d
			}
		}
	}
}

// Adam is torch.optim.Adam (Decoupled false: weight decay is L2 added to
// the gradient) or torch.optim.AdamW (Decoupled true: p *= 1 - lr*wd
// before the update), with bias correction:
// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²;
// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
type Adam struct {
	Beta1, Beta2, Eps float64
	Decoupled         bool
	groups            []*ParamGroup
	m, v              [][][]float32
	t                 int
}

// NewAdamW returns AdamW with betas (beta1, beta2) and eps 1e-8, which
// Ultralytics' optimizer=auto picks for short trainings.
func NewAdamW(groups []*ParamGroup, beta1, beta2 float64) *Adam {
	checkGroups("nn.NewAdamW", groups)
	return &Adam{Beta1: beta1, Beta2: beta2, Eps: 1e-8, Decoupled: true, groups: groups, m: state(groups), v: state(groups)}
}

// NewAdam returns Adam (L2 weight decay) with betas (beta1, beta2), eps 1e-8.
func NewAdam(groups []*ParamGroup, beta1, beta2 float64) *Adam {
	o := NewAdamW(groups, beta1, beta2)
	o.Decoupled = false
	return o
}

// Groups returns the parameter groups.
func (o *Adam) Groups() []*ParamGroup { return o.groups }

// Step applies one update.
func (o *Adam) Step() {
	o.t++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	eps := float32(o.Eps)
	rbc2 := float32(1 / math.Sqrt(bc2))
	for gi, g := range o.groups {
		step := float32(g.LR / bc1)
		wd := float32(g.WeightDecay)
		decay := float32(1 - g.LR*g.WeightDecay)
		for pi, p := range g.Params {
			w, grad := p.Value.Data, p.Grad.Data[:len(p.Value.Data)]
			m, v := o.m[gi][pi][:len(w)], o.v[gi][pi][:len(w)]
			for i, x := range w {
				d := grad[i]
				if o.Decoupled {
					x *= decay
				} else {
					d += wd * x
				}
				mi := b1*m[i] + (1-b1)*d
				vi := b2*v[i] + (1-b2)*d*d
				m[i], v[i] = mi, vi
				w[i] = x - step*mi/(float32(math.Sqrt(float64(vi)))*rbc2+eps)
			}
		}
	}
}
