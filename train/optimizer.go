package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// Parameter groups in the optimizer's order, which is Ultralytics': the
// biases first (the group warmup treats apart), then the weights that
// decay, then the BatchNorm weights. results.csv's lr/pg0..2 follow it.
const (
	pgBias   = 0
	pgWeight = 1
	pgNorm   = 2
)

// groupOf maps a parameter to its group as build_optimizer does: any
// name with "bias" (convolution biases and BatchNorm's beta) first, then
// BatchNorm weights, then every other weight.
func groupOf(p *nn.Param) int {
	switch p.Group {
	case nn.GroupBias:
		return pgBias
	case nn.GroupNorm:
		return pgNorm
	}
	return pgWeight
}

// paramGroups splits the model's trainable parameters into the three
// groups, leaving out the frozen ones; counts are the group sizes as
// Ultralytics reports them, frozen parameters included (the DFL's fixed
// weight, always frozen, counts as a decaying weight there).
func paramGroups(m *yolo.Model, frozen func(name string) bool) (groups [3][]*nn.Param, counts [3]int) {
	for _, p := range m.Params() {
		g := groupOf(p)
		counts[g]++
		if !frozen(p.Name) {
			groups[g] = append(groups[g], p)
		}
	}
	counts[pgWeight]++ // model.22.dfl.conv.weight
	return groups, counts
}

// frozenLayers returns the freeze test for the first n layers
// (model.0. ... model.<n-1>.), Ultralytics' freeze=n.
func frozenLayers(n int) func(string) bool {
	return func(name string) bool {
		for i := range n {
			if strings.HasPrefix(name, fmt.Sprintf("model.%d.", i)) {
				return true
			}
		}
		return false
	}
}

// newOptimizer builds the optimizer over the groups: biases and BatchNorm
// weights without weight decay, the other weights with decay, all at
// learning rate lr. Adam and AdamW take momentum as beta1 (beta2 0.999);
// SGD uses Nesterov momentum.
func newOptimizer(c optimizerChoice, decay float64, groups [3][]*nn.Param) (nn.Optimizer, error) {
	pgs := make([]*nn.ParamGroup, 3)
	for i, name := range []string{"bias", "weight", "norm"} {
		pgs[i] = &nn.ParamGroup{Name: name, Params: groups[i], LR: c.LR, Momentum: c.Momentum}
	}
	pgs[pgWeight].WeightDecay = decay
	switch c.Name {
	case "SGD":
		return nn.NewSGD(pgs, true), nil
	case "Adam":
		return nn.NewAdam(pgs, c.Momentum, 0.999), nil
	case "AdamW":
		return nn.NewAdamW(pgs, c.Momentum, 0.999), nil
	}
	return nil, fmt.Errorf("train: optimizer %q: want SGD, Adam or AdamW", c.Name)
}

// clipGradNorm scales the gradients of ps so that their global L2 norm is
// at most maxNorm, as torch.nn.utils.clip_grad_norm_ (coefficient
// maxNorm/(norm+1e-6), at most 1, applied only when below 1; multiplying
// by 1 changes nothing). It returns the norm before clipping.
func clipGradNorm(ps []*nn.Param, maxNorm float64) float64 {
	var sq float64
	for _, p := range ps {
		var s float64
		for _, g := range p.Grad.Data {
			s += float64(g) * float64(g)
		}
		n := float64(float32(math.Sqrt(s))) // each tensor's norm, in float32 as torch's
		sq += n * n
	}
	total := float64(float32(math.Sqrt(sq)))
	coef := float32(maxNorm / (total + 1e-6))
	if coef < 1 {
		for _, p := range ps {
			for i := range p.Grad.Data {
				p.Grad.Data[i] *= coef
			}
		}
	}
	return total
}

// optimizerState returns the optimizer's per-parameter tensors under
// PyTorch's state names, and Adam's step counts.
func optimizerState(opt nn.Optimizer) ([]yolo.Named, map[string]int) {
	var out []yolo.Named
	steps := map[string]int{}
	add := func(name string, p *nn.Param, data []float32) {
		t, _ := tensor.FromData(append([]float32(nil), data...), p.Value.Shape...)
		out = append(out, yolo.Named{Name: p.Name + "." + name, Tensor: t})
	}
	for _, g := range opt.Groups() {
		for _, p := range g.Params {
			switch o := opt.(type) {
			case *nn.SGD:
				if b := o.MomentumBuffer(p); b != nil {
					add("momentum_buffer", p, b)
				}
			case *nn.Adam:
				if m, v, step := o.Moments(p); m != nil {
					add("exp_avg", p, m)
					add("exp_avg_sq", p, v)
					steps[p.Name] = step
				}
			}
		}
	}
	return out, steps
}

// restoreOptimizer gives opt the state a checkpoint saved; every tensor
// of the checkpoint must find its parameter.
func restoreOptimizer(opt nn.Optimizer, ck *yolo.Checkpoint) error {
	byName := map[string]*nn.Param{}
	for _, g := range opt.Groups() {
		for _, p := range g.Params {
			byName[p.Name] = p
		}
	}
	state := map[string]map[string][]float32{}
	for _, n := range ck.Optimizer {
		i := strings.LastIndexByte(n.Name, '.')
		pname, kind := n.Name[:i], n.Name[i+1:]
		if byName[pname] == nil {
			return fmt.Errorf("optimizer state for %s, which this training does not optimise (frozen?)", pname)
		}
		if state[pname] == nil {
			state[pname] = map[string][]float32{}
		}
		state[pname][kind] = n.Tensor.Data
	}
	for pname, st := range state {
		p := byName[pname]
		switch o := opt.(type) {
		case *nn.SGD:
			b, ok := st["momentum_buffer"]
			if !ok || len(st) != 1 {
				return fmt.Errorf("optimizer state of %s is not SGD's momentum_buffer", pname)
			}
			if err := o.SetMomentumBuffer(p, b); err != nil {
				return err
			}
		case *nn.Adam:
			m, okm := st["exp_avg"]
			v, okv := st["exp_avg_sq"]
			if !okm || !okv || len(st) != 2 {
				return fmt.Errorf("optimizer state of %s is not Adam's exp_avg and exp_avg_sq", pname)
			}
			if err := o.SetMoments(p, m, v, ck.Meta.OptimizerSteps[pname]); err != nil {
				return err
			}
		}
	}
	groups := opt.Groups()
	if len(ck.Meta.OptimizerGroups) != len(groups) {
		return fmt.Errorf("the checkpoint has %d optimizer groups, the optimizer %d", len(ck.Meta.OptimizerGroups), len(groups))
	}
	for i, g := range ck.Meta.OptimizerGroups {
		groups[i].LR, groups[i].Momentum = g.LR, g.Momentum
	}
	return nil
}
