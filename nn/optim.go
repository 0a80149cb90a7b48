package nn

import (
	"fmt"
	"math"
)

// ParamGroup is a set of parameters sharing hyper-parameters, as in a
// PyTorch optimizer. Ultralytics trains with three (biases; weights with
// decay; BatchNorm weights without) and changes each group's LR, and SGD's
// momentum, at every warmup iteration, so the fields are meant to be set
// between steps. Parameters may be added to a group between steps too:
// optimizer state is kept per parameter and created at its first update,
// as PyTorch does.
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
	// ZeroGrad clears the gradients of every parameter.
	ZeroGrad()
}

var (
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adam)(nil)
)

// ZeroGrads clears the gradients of every parameter of o; it is
// o.ZeroGrad().
func ZeroGrads(o Optimizer) { o.ZeroGrad() }

func zeroGroups(groups []*ParamGroup) {
	for _, g := range groups {
		ZeroGrad(g.Params)
	}
}

// checkParam panics unless p's gradient, and its state (when it has any),
// have as many elements as its value. The message is built only on
// failure, keeping Step free of allocations.
func checkParam(op string, p *Param, state int) {
	n := len(p.Value.Data)
	if len(p.Grad.Data) != n || (state >= 0 && state != n) {
		panic(fmt.Sprintf("%s: parameter %s: value %v, gradient %v, state of %d elements", op, p.Name, p.Value.Shape, p.Grad.Shape, state))
	}
}

// SGD is stochastic gradient descent with momentum (dampening 0), optional
// Nesterov momentum and L2 weight decay added to the gradient, exactly as
// torch.optim.SGD: g = grad + wd*p; buf = momentum*buf + g (buf = g at a
// parameter's first step with momentum); g = g + momentum*buf with
// Nesterov, else buf; p -= lr*g. Arithmetic is in float32, as PyTorch's on
// float32 parameters.
type SGD struct {
	Nesterov bool
	groups   []*ParamGroup
	// buf is each parameter's momentum buffer, created when it is first
	// updated with a non-zero momentum.
	buf map[*Param][]float32
}

// NewSGD returns SGD over groups.
func NewSGD(groups []*ParamGroup, nesterov bool) *SGD {
	return &SGD{Nesterov: nesterov, groups: groups, buf: make(map[*Param][]float32)}
}

// Groups returns the parameter groups.
func (o *SGD) Groups() []*ParamGroup { return o.groups }

// AddGroup appends a parameter group, as torch's add_param_group.
func (o *SGD) AddGroup(g *ParamGroup) { o.groups = append(o.groups, g) }

// ZeroGrad clears the gradients of every parameter.
func (o *SGD) ZeroGrad() { zeroGroups(o.groups) }

// Step applies one update.
func (o *SGD) Step() {
	for _, g := range o.groups {
		lr, wd, mom := float32(g.LR), float32(g.WeightDecay), float32(g.Momentum)
		for _, p := range g.Params {
			w := p.Value.Data
			if mom == 0 {
				checkParam("nn.SGD", p, -1)
				grad := p.Grad.Data[:len(w)]
				for i, v := range w {
					w[i] = v - lr*(grad[i]+wd*v)
				}
				continue
			}
			buf, ok := o.buf[p]
			if !ok {
				buf = make([]float32, len(w))
			}
			checkParam("nn.SGD", p, len(buf))
			grad, buf := p.Grad.Data[:len(w)], buf[:len(w)]
			for i, v := range w {
				d := grad[i] + wd*v
				b := d
				if ok {
					b = mom*buf[i] + d
				}
				buf[i] = b
				if o.Nesterov {
					d += mom * b
				} else {
					d = b
				}
				w[i] = v - lr*d
			}
			if !ok {
				o.buf[p] = buf
			}
		}
	}
}

// adamState is one parameter's moments and step count: PyTorch counts
// steps per parameter, which matters for bias correction when parameters
// join late.
type adamState struct {
	m, v []float32
	t    int
}

// Adam is torch.optim.Adam (Decoupled false: weight decay is L2 added to
// the gradient) or torch.optim.AdamW (Decoupled true: p *= 1 - lr*wd
// before the update), with bias correction, as PyTorch computes it:
// m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g²;
// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
// Scalars are formed in float64 and element arithmetic is in float32, as
// in PyTorch.
type Adam struct {
	Beta1, Beta2, Eps float64
	Decoupled         bool
	groups            []*ParamGroup
	state             map[*Param]*adamState
}

// NewAdamW returns AdamW with betas (beta1, beta2) and eps 1e-8, which
// Ultralytics' optimizer=auto picks for short trainings.
func NewAdamW(groups []*ParamGroup, beta1, beta2 float64) *Adam {
	return &Adam{Beta1: beta1, Beta2: beta2, Eps: 1e-8, Decoupled: true, groups: groups, state: make(map[*Param]*adamState)}
}

// NewAdam returns Adam (L2 weight decay) with betas (beta1, beta2), eps 1e-8.
func NewAdam(groups []*ParamGroup, beta1, beta2 float64) *Adam {
	o := NewAdamW(groups, beta1, beta2)
	o.Decoupled = false
	return o
}

// Groups returns the parameter groups.
func (o *Adam) Groups() []*ParamGroup { return o.groups }

// AddGroup appends a parameter group, as torch's add_param_group.
func (o *Adam) AddGroup(g *ParamGroup) { o.groups = append(o.groups, g) }

// ZeroGrad clears the gradients of every parameter.
func (o *Adam) ZeroGrad() { zeroGroups(o.groups) }

// Step applies one update.
func (o *Adam) Step() {
	b1w := float32(1 - o.Beta1) // lerp weight
	b2, rb2 := float32(o.Beta2), float32(1-o.Beta2)
	eps := float32(o.Eps)
	for _, g := range o.groups {
		wd := float32(g.WeightDecay)
		decay := float32(1 - g.LR*g.WeightDecay)
		for _, p := range g.Params {
			st := o.state[p]
			if st == nil {
				n := len(p.Value.Data)
				st = &adamState{m: make([]float32, n), v: make([]float32, n)}
				o.state[p] = st
			}
			checkParam("nn.Adam", p, len(st.m))
			st.t++
			t := float64(st.t)
			step := float32(g.LR / (1 - math.Pow(o.Beta1, t)))
			bc2 := float32(math.Sqrt(1 - math.Pow(o.Beta2, t)))
			w := p.Value.Data
			grad, m, v := p.Grad.Data[:len(w)], st.m[:len(w)], st.v[:len(w)]
			for i, x := range w {
				d := grad[i]
				if o.Decoupled {
					x *= decay
				} else {
					d += wd * x
				}
				m[i] = lerp32(m[i], d, b1w)
				vi := b2*v[i] + rb2*d*d
				v[i] = vi
				w[i] = x - step*(m[i]/(float32(math.Sqrt(float64(vi)))/bc2+eps))
			}
		}
	}
}

// lerp32 is torch.lerp(a, b, w) with PyTorch's rounding: it interpolates
// from the nearer end.
func lerp32(a, b, w float32) float32 {
	if w < 0.5 {
		return a + w*(b-a)
	}
	return b - (b-a)*(1-w)
}
