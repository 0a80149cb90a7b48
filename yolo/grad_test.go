package yolo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// TestModelGradient checks Backward against central finite differences of
// L = Σ maps·R, for a sample of parameters across the network, with the
// BatchNorms in training mode. A single image takes another path than a
// batch: its C2f parts are written straight into the concatenation.
func TestModelGradient(t *testing.T) {
	// One image of 128 pixels: its 4x4 maps give the BatchNorms as many
	// values as two of 64, too few making finite differences unreliable.
	for _, tc := range []struct{ batch, size int }{{2, 64}, {1, 128}} {
		t.Run(fmt.Sprintf("batch=%d", tc.batch), func(t *testing.T) { testModelGradient(t, tc.batch, tc.size) })
	}
}

func testModelGradient(t *testing.T, batch, size int) {
	e := nn.NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(3, 4))
	m, err := New(e, Config{"n", 2}, r)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(batch, 3, size, size)
	for i := range x.Data {
		x.Data[i] = r.Float32()
	}
	maps := m.Forward(x)
	var weights [3]*tensor.Tensor
	for i, mp := range maps {
		weights[i] = tensor.New(mp.Shape...)
		for j := range weights[i].Data {
			weights[i].Data[j] = float32(r.NormFloat64())
		}
	}
	loss := func() float64 {
		var s float64
		for i, mp := range m.Forward(x) {
			for j, v := range mp.Data {
				s += float64(v) * float64(weights[i].Data[j])
			}
		}
		return s
	}
	params := m.Params()
	nn.ZeroGrad(params)
	m.Forward(x)
	m.Backward(weights)
	byName := map[string]*nn.Param{}
	for _, p := range params {
		byName[p.Name] = p
	}
	for _, name := range []string{
		"model.0.conv.weight", "model.0.bn.weight", "model.2.m.0.cv1.conv.weight", "model.4.cv2.bn.bias",
		"model.6.m.1.cv2.conv.weight", "model.9.cv1.conv.weight", "model.9.cv2.bn.weight",
		"model.12.cv1.conv.weight", "model.15.m.0.cv2.bn.weight", "model.16.conv.weight",
		"model.18.cv2.conv.weight", "model.21.m.0.cv1.bn.bias",
		"model.22.cv2.0.0.conv.weight", "model.22.cv2.1.2.weight", "model.22.cv3.2.2.bias", "model.22.cv3.0.1.bn.weight",
	} {
		p := byName[name]
		if p == nil {
			t.Fatalf("no parameter %s", name)
		}
		scale := 0.0
		for _, g := range p.Grad.Data {
			scale = math.Max(scale, math.Abs(float64(g)))
		}
		for k := 0; k < 3; k++ {
			i := r.IntN(len(p.Value.Data))
			orig := p.Value.Data[i]
			// Small enough for the curvature of 20 layers, large enough
			// for float32 forward passes.
			const eps = float32(2e-3)
			p.Value.Data[i] = orig + eps
			up := loss()
			p.Value.Data[i] = orig - eps
			down := loss()
			p.Value.Data[i] = orig
			num := (up - down) / (2 * float64(eps))
			if d := math.Abs(num - float64(p.Grad.Data[i])); d > 0.03*scale+1e-3 {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g (largest gradient %.3g)", name, i, p.Grad.Data[i], num, scale)
			}
		}
	}
}
