package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// gradCase describes a function for checkGrad: forward maps the inputs to an
// output (it may read params), backward takes dL/doutput and returns dL/dinput
// for each input while adding parameter gradients into their Grad.
type gradCase struct {
	inputs   []*tensor.Tensor
	params   []*Param
	forward  func(inputs []*tensor.Tensor) *tensor.Tensor
	backward func(dy *tensor.Tensor) []*tensor.Tensor
	// eps is the finite-difference step (default 1e-2); tol the allowed
	// error relative to the gradient's scale (default 1e-2).
	eps, tol float64
}

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

// checkGrad compares the analytic gradients of L = sum(output * R), for a
// random R, with central finite differences computed in float64 from the
// float32 forward pass.
func checkGrad(t *testing.T, name string, c gradCase) {
	t.Helper()
	eps, tol := c.eps, c.tol
	if eps == 0 {
		eps = 1e-2
	}
	if tol == 0 {
		tol = 1e-2
	}
	r := rand.New(rand.NewPCG(7, 11))
	out := c.forward(c.inputs)
	weights := randTensor(r, out.Shape...)
	loss := func() float64 {
		y := c.forward(c.inputs)
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(weights.Data[i])
		}
		return s
	}
	for _, p := range c.params {
		p.Grad.Zero()
	}
	c.forward(c.inputs)
	dy := weights.Clone()
	dxs := c.backward(dy)
	if len(dxs) != len(c.inputs) {
		t.Fatalf("%s: backward returned %d gradients for %d inputs", name, len(dxs), len(c.inputs))
	}
	// Snapshot analytic gradients before the finite differences run forward again.
	type target struct {
		label    string
		values   []float32
		analytic []float32
	}
	var targets []target
	for i, x := range c.inputs {
		if dxs[i] == nil {
			continue
		}
		if !dxs[i].SameShape(x) {
			t.Fatalf("%s: gradient of input %d has shape %v, input %v", name, i, dxs[i].Shape, x.Shape)
		}
		targets = append(targets, target{"input", x.Data, append([]float32(nil), dxs[i].Data...)})
	}
	for _, p := range c.params {
		targets = append(targets, target{"param " + p.Name, p.Value.Data, append([]float32(nil), p.Grad.Data...)})
	}
	for _, tg := range targets {
		var scale float64
		for _, g := range tg.analytic {
			scale = math.Max(scale, math.Abs(float64(g)))
		}
		scale = math.Max(scale, 1e-3)
		// Check every element of small tensors, a sample of large ones.
		idx := make([]int, 0, len(tg.values))
		if len(tg.values) <= 64 {
			for i := range tg.values {
				idx = append(idx, i)
			}
		} else {
			for range 64 {
				idx = append(idx, r.IntN(len(tg.values)))
			}
		}
		for _, i := range idx {
			orig := tg.values[i]
			tg.values[i] = orig + float32(eps)
			up := loss()
			tg.values[i] = orig - float32(eps)
			down := loss()
			tg.values[i] = orig
			num := (up - down) / (2 * eps)
			if d := math.Abs(num - float64(tg.analytic[i])); d > tol*scale {
				t.Errorf("%s: %s[%d]: analytic %.6g, numeric %.6g (scale %.3g)", name, tg.label, i, tg.analytic[i], num, scale)
			}
		}
	}
}
