package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/vmath"
)

// naiveConv is the definition of a convolution, in float64.
func naiveConv(x, w, bias *tensor.Tensor, stride, pad int) *tensor.Tensor {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oc, k := w.Shape[0], w.Shape[2]
	oh, ow := (h+2*pad-k)/stride+1, (wd+2*pad-k)/stride+1
	y := tensor.New(n, oc, oh, ow)
	for i := range n {
		for o := range oc {
			for oy := range oh {
				for ox := range ow {
					var s float64
					if bias != nil {
						s = float64(bias.Data[o])
					}
					for ci := range c {
						for ki := range k {
							for kj := range k {
								iy, ix := oy*stride-pad+ki, ox*stride-pad+kj
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(x.Data[((i*c+ci)*h+iy)*wd+ix]) * float64(w.Data[((o*c+ci)*k+ki)*k+kj])
							}
						}
					}
					y.Data[((i*oc+o)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y
}

type convCase struct {
	n, inC, outC, h, w, k, stride, pad int
	bias                               bool
}

func (c convCase) String() string {
	return fmt.Sprintf("n%d_%dto%d_%dx%d_k%d_s%d_p%d_bias%v", c.n, c.inC, c.outC, c.h, c.w, c.k, c.stride, c.pad, c.bias)
}

var convCases = []convCase{
	{2, 3, 4, 5, 7, 1, 1, 0, true},  // pointwise: no im2col
	{2, 3, 4, 5, 7, 1, 1, 0, false}, //
	{2, 3, 4, 5, 7, 1, 2, 0, true},  // 1x1 but strided: im2col
	{2, 3, 4, 5, 7, 1, 1, 1, false}, // 1x1 but padded
	{2, 3, 4, 5, 7, 3, 1, 1, true},
	{2, 3, 4, 5, 7, 3, 2, 1, false},
	{2, 3, 4, 5, 7, 3, 1, 0, true},
	{2, 3, 4, 5, 7, 3, 2, 0, true},
	{1, 2, 3, 7, 6, 5, 3, 2, true},
	{3, 5, 2, 4, 4, 2, 1, 0, false},
}

func TestConv2dForwardMatchesNaive(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) { testConv2dForward(t, threads) })
	}
}

func testConv2dForward(t *testing.T, threads int) {
	e := NewEngine(threads)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range append(convCases, convCase{3, 16, 24, 19, 23, 3, 2, 1, true}, convCase{2, 32, 16, 12, 9, 1, 1, 0, true},
		// Images large enough to be cut into several bands of output,
		// the last one partial.
		convCase{1, 3, 4, 211, 205, 1, 1, 0, true}, convCase{2, 8, 4, 67, 130, 3, 1, 1, true},
		// Images cut into chunks of rows for the workers (see split).
		convCase{3, 4, 5, 40, 33, 3, 1, 1, false}, convCase{1, 4, 6, 50, 41, 3, 2, 1, true},
		// Implicit convolutions (3x3, stride 1, W >= implicitMinW): several K
		// blocks and bands, partial tiles of M and N, odd batches.
		convCase{2, 32, 13, 100, 64, 3, 1, 1, true}, convCase{1, 40, 70, 37, 32, 3, 1, 1, false},
		convCase{5, 3, 12, 34, 47, 3, 1, 1, true}, convCase{1, 64, 8, 100, 40, 3, 1, 1, true}, // 3 bands, the last short
		// The same at stride 2 (output width >= implicitMinW): odd and
		// even sizes, two bands and two K blocks in the first.
		convCase{2, 32, 13, 101, 65, 3, 2, 1, true}, convCase{1, 40, 70, 37, 32, 3, 2, 1, false},
		convCase{5, 3, 12, 34, 47, 3, 2, 1, true}, convCase{3, 5, 7, 64, 64, 3, 2, 1, false},
		// Small maps, several images per GEMM (see groupSize): even and
		// uneven groups, 3x3, 1x1 and stride 2.
		convCase{8, 16, 12, 20, 20, 3, 1, 1, true}, convCase{9, 24, 10, 10, 10, 1, 1, 0, false},
		convCase{8, 16, 32, 20, 20, 3, 2, 1, true}) {
		t.Run(tc.String(), func(t *testing.T) {
			c := NewConv2d(e, "conv", tc.inC, tc.outC, tc.k, tc.stride, tc.pad, tc.bias)
			c.Init(r)
			x := randTensor(r, tc.n, tc.inC, tc.h, tc.w)
			var b *tensor.Tensor
			if c.Bias != nil {
				b = c.Bias.Value
			}
			want := naiveConv(x, c.Weight.Value, b, tc.stride, tc.pad)
			got := c.Forward(x)
			if !got.SameShape(want) {
				t.Fatalf("output shape %v, want %v", got.Shape, want.Shape)
			}
			for i := range want.Data {
				if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-4 {
					t.Fatalf("y[%d] = %v, want %v", i, got.Data[i], want.Data[i])
				}
			}
		})
	}
}

func TestConv2dGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range convCases {
		c := NewConv2d(e, "conv", tc.inC, tc.outC, tc.k, tc.stride, tc.pad, tc.bias)
		c.Init(r)
		if c.Bias != nil { // away from zero, to see its gradient path
			for i := range c.Bias.Value.Data {
				c.Bias.Value.Data[i] = float32(r.NormFloat64())
			}
		}
		checkGrad(t, tc.String(), gradCase{
			inputs:   []*tensor.Tensor{randTensor(r, tc.n, tc.inC, tc.h, tc.w)},
			params:   c.Params(),
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return c.Forward(in[0]) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{c.Backward(dy)} },
		})
	}
}

// TestConv2dGradientsAccumulate checks that parameter gradients add up
// over Backward calls instead of being overwritten, and that
// SkipInputGrad changes nothing but the input gradient.
func TestConv2dGradientsAccumulate(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(3, 3))
	for _, k := range []int{1, 3} {
		c := NewConv2d(e, "conv", 3, 4, k, 1, k/2, true)
		c.Init(r)
		x, dy := randTensor(r, 2, 3, 5, 7), randTensor(r, 2, 4, 5, 7)
		c.Forward(x)
		c.Backward(dy)
		once := []*tensor.Tensor{c.Weight.Grad.Clone(), c.Bias.Grad.Clone()}
		c.SkipInputGrad = true
		if dx := c.Backward(dy); dx != nil {
			t.Errorf("k=%d: Backward with SkipInputGrad returned %v, want nil", k, dx)
		}
		for j, p := range c.Params() {
			for i, g := range p.Grad.Data {
				if want := 2 * once[j].Data[i]; math.Abs(float64(g-want)) > 1e-5*max(1, math.Abs(float64(want))) {
					t.Fatalf("k=%d: %s grad[%d] after two Backwards = %v, want %v", k, p.Name, i, g, want)
				}
			}
		}
	}
}

func TestConv2dInit(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	c := NewConv2d(NewEngine(1), "conv", 16, 32, 3, 1, 1, true)
	c.Init(r)
	bound := 1 / math.Sqrt(16*9)
	for _, p := range c.Params() {
		var lo, hi float64
		for _, v := range p.Value.Data {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		if lo < -bound || hi > bound || hi-lo < bound { // spread over most of the range
			t.Errorf("%s in [%v, %v], want spread over [-%v, %v]", p.Name, lo, hi, bound, bound)
		}
	}
	if c.Weight.Group != GroupWeight || c.Bias.Group != GroupBias {
		t.Errorf("groups %v, %v; want weight, bias", c.Weight.Group, c.Bias.Group)
	}
	if got := c.Weight.Value.Shape; fmt.Sprint(got) != "[32 16 3 3]" {
		t.Errorf("weight shape %v, want [32 16 3 3]", got)
	}
}

// checkPanics runs fn and checks that it panics with a message containing
// every one of want.
func checkPanics(t *testing.T, name string, fn func(), want ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		rec := recover()
		if rec == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		msg := fmt.Sprint(rec)
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: panic %q does not mention %q", name, msg, w)
			}
		}
	}()
	fn()
}

func TestConv2dShapePanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	c := NewConv2d(e, "stem", 3, 4, 3, 2, 1, false)
	checkPanics(t, "channels", func() { c.Forward(tensor.New(2, 5, 8, 8)) }, "stem", "[2 5 8 8]", "[N 3 H W]")
	checkPanics(t, "3-D", func() { c.Forward(tensor.New(3, 8, 8)) }, "stem", "[3 8 8]")
	checkPanics(t, "too small", func() { NewConv2d(e, "big", 1, 1, 5, 1, 0, false).Forward(tensor.New(1, 1, 4, 9)) }, "big", "[1 1 4 9]")
	checkPanics(t, "backward first", func() { c.Backward(tensor.New(2, 4, 4, 4)) }, "stem", "before Forward")
	c.Forward(tensor.New(2, 3, 8, 8))
	checkPanics(t, "dy", func() { c.Backward(tensor.New(2, 4, 8, 8)) }, "stem", "[2 4 8 8]", "[2 4 4 4]")
}

func TestConvBNSiLUGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct {
		k, stride int
		train     bool
	}{{1, 1, true}, {3, 1, true}, {3, 2, true}, {1, 1, false}, {3, 2, false}} {
		b := NewConvBNSiLU(e, "blk", 3, 4, tc.k, tc.stride)
		b.Init(r)
		perturbBN(r, b.BN)
		b.SetTrain(tc.train)
		checkGrad(t, fmt.Sprintf("k%d_s%d_train%v", tc.k, tc.stride, tc.train), gradCase{
			inputs: []*tensor.Tensor{randTensor(r, 2, 3, 5, 7)},
			params: b.Params(),
			forward: func(in []*tensor.Tensor) *tensor.Tensor {
				// The check perturbs the weights between passes: in
				// evaluation mode that needs SetTrain again (see SetFrozen).
				b.SetTrain(tc.train)
				return b.Forward(in[0])
			},
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{b.Backward(dy)} },
		})
	}
}

// TestConvBNSiLUForwardInto: in both modes the output written into a
// given tensor is Forward's, and Backward still works.
func TestConvBNSiLUForwardInto(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 7))
	for _, train := range []bool{true, false} {
		blk := NewConvBNSiLU(e, "blk", 4, 5, 3, 2)
		blk.Init(r)
		perturbBN(r, blk.BN)
		blk.SetTrain(train)
		x := randTensor(r, 1, 4, 33, 34)
		want := blk.Forward(x).Clone()
		y := tensor.New(0)
		if got := blk.ForwardInto(x, y); got != y || !got.SameShape(want) || !slices.Equal(y.Data, want.Data) {
			t.Fatalf("train=%v: ForwardInto differs from Forward", train)
		}
		if own := blk.Forward(x); blk.ForwardInto(x, nil) != own || !slices.Equal(own.Data, want.Data) {
			t.Fatalf("train=%v: ForwardInto(x, nil) is not Forward into the block's own buffer", train)
		}
		dy := randTensor(r, want.Shape...)
		if dx := blk.Backward(dy); !dx.SameShape(x) {
			t.Fatalf("train=%v: Backward after ForwardInto: shape %v", train, dx.Shape)
		}
	}
}

// TestConv2dForwardInto: the output written into a given tensor is
// Forward's, and Backward checks the gradient against that output.
func TestConv2dForwardInto(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 8))
	c := NewConv2d(e, "conv", 4, 5, 1, 1, 0, true)
	c.Init(r)
	x := randTensor(r, 1, 4, 6, 7)
	want := c.Forward(x).Clone()
	y := tensor.New(0)
	if got := c.ForwardInto(x, y); got != y || !got.SameShape(want) || !slices.Equal(y.Data, want.Data) {
		t.Fatal("ForwardInto differs from Forward")
	}
	if own := c.Forward(x); c.ForwardInto(x, nil) != own {
		t.Fatal("ForwardInto(x, nil) is not into the layer's own buffer")
	}
	if dx := c.Backward(randTensor(r, want.Shape...)); !dx.SameShape(x) {
		t.Fatalf("Backward after ForwardInto: shape %v", dx.Shape)
	}
}

// TestConvBNSiLUEvalFoldsBatchNorm: in evaluation mode the block computes
// what Ultralytics' fused Conv computes, the convolution with weights
// W*γ/√(σ²+ε) and bias β-γμ/√(σ²+ε) (float32, in fuse_conv_and_bn's
// order) followed by SiLU, exactly; and a Backward in between, which
// redoes the pass unfused, leaves the next Forward unchanged.
func TestConvBNSiLUEvalFoldsBatchNorm(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 9))
	for _, k := range []int{1, 3} {
		blk := NewConvBNSiLU(e, "blk", 6, 5, k, 1)
		blk.Init(r)
		perturbBN(r, blk.BN)
		blk.SetTrain(false)
		fused := NewConv2d(e, "fused", 6, 5, k, 1, k/2, true)
		rows := 6 * k * k
		bn := blk.BN
		for o := range 5 {
			den := float32(math.Sqrt(float64(bn.RunningVar.Data[o] + bn.Eps)))
			g := bn.Weight.Value.Data[o]
			for i := range rows {
				fused.Weight.Value.Data[o*rows+i] = blk.Conv.Weight.Value.Data[o*rows+i] * (g / den)
			}
			fused.Bias.Value.Data[o] = bn.Bias.Value.Data[o] - float32(g*bn.RunningMean.Data[o])/den
		}
		x := randTensor(r, 2, 6, 21, 23)
		want := fused.Forward(x).Clone()
		vmath.SiLUAffineInfer(want.Data, want.Data, 1, 0)
		got := blk.Forward(x).Clone()
		if !slices.Equal(got.Data, want.Data) {
			t.Fatalf("k=%d: evaluation output is not the fused convolution's", k)
		}
		blk.Backward(randTensor(r, got.Shape...))
		if again := blk.Forward(x); !slices.Equal(again.Data, got.Data) {
			t.Fatalf("k=%d: Forward after Backward differs", k)
		}
	}
}

// TestConvBNSiLUMatchesParts checks the fused block against Conv2d,
// BatchNorm2d and SiLU run one after the other.
func TestConvBNSiLUMatchesParts(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 6))
	for _, tc := range []struct {
		train bool
		h, w  int
	}{{true, 9, 11}, {false, 9, 11}, {true, 35, 40}, {false, 35, 40}} {
		train := tc.train
		blk := NewConvBNSiLU(e, "blk", 5, 6, 3, 1)
		blk.Init(r)
		perturbBN(r, blk.BN)
		conv := NewConv2d(e, "conv", 5, 6, 3, 1, 1, false)
		copy(conv.Weight.Value.Data, blk.Conv.Weight.Value.Data)
		bn := NewBatchNorm2d(e, "bn", 6)
		for i, p := range blk.BN.Params() {
			copy(bn.Params()[i].Value.Data, p.Value.Data)
		}
		copy(bn.RunningMean.Data, blk.BN.RunningMean.Data)
		copy(bn.RunningVar.Data, blk.BN.RunningVar.Data)
		act := NewSiLU(e, "act")
		blk.SetTrain(train)
		bn.SetTrain(train)

		x, dy := randTensor(r, 2, 5, tc.h, tc.w), randTensor(r, 2, 6, tc.h, tc.w)
		y := blk.Forward(x)
		got := y.Clone()
		want := act.Forward(bn.Forward(conv.Forward(x)))
		gotDx := blk.Backward(dy).Clone()
		wantDx := conv.Backward(bn.Backward(act.Backward(dy)))
		compare := func(what string, got, want []float32) {
			t.Helper()
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("train=%v: %s[%d] = %v, want %v", train, what, i, got[i], want[i])
				}
			}
		}
		compare("y", got.Data, want.Data)
		// In evaluation mode Backward redoes the forward pass unfused:
		// the output handed out before must not change.
		compare("y after Backward", y.Data, want.Data)
		compare("dx", gotDx.Data, wantDx.Data)
		compare("dW", blk.Conv.Weight.Grad.Data, conv.Weight.Grad.Data)
		compare("dgamma", blk.BN.Weight.Grad.Data, bn.Weight.Grad.Data)
		compare("dbeta", blk.BN.Bias.Grad.Data, bn.Bias.Grad.Data)
		compare("running mean", blk.BN.RunningMean.Data, bn.RunningMean.Data)
		compare("running var", blk.BN.RunningVar.Data, bn.RunningVar.Data)
	}
}

func TestConvBNSiLUParams(t *testing.T) {
	b := NewConvBNSiLU(NewEngine(1), "model.0", 3, 16, 3, 2)
	var names []string
	for _, p := range b.Params() {
		names = append(names, fmt.Sprintf("%s:%v", p.Name, p.Group))
	}
	if got, want := strings.Join(names, " "), "model.0.conv.weight:weight model.0.bn.weight:norm model.0.bn.bias:bias"; got != want {
		t.Errorf("params %q, want %q", got, want)
	}
	if b.Conv.Pad != 1 || b.Conv.Bias != nil {
		t.Errorf("conv pad %d bias %v, want pad 1 and no bias", b.Conv.Pad, b.Conv.Bias)
	}
}

// TestConvStepAllocatesNothing checks the promise of the package doc: once
// buffers have grown, a training step allocates nothing, GEMM timing on
// or off. AllocsPerRun truncates the average, so the odd allocation the
// runtime makes when a pool worker parks on a busy machine (a sudog)
// does not fail it, while one per step would.
func TestConvStepAllocatesNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(7, 7))
	var timer GemmTimer
	for _, tc := range []struct {
		name  string
		k, s  int
		timed bool
	}{{"k3s2", 3, 2, false}, {"k1", 1, 1, false}, {"k3s1/timed", 3, 1, true}} {
		b := NewConvBNSiLU(e, "blk", 8, 16, tc.k, tc.s)
		b.Init(r)
		if tc.timed {
			b.Conv.GemmTime = &timer
		}
		x := randTensor(r, 2, 8, 40, 40)
		dy := tensor.New(b.Forward(x).Shape...)
		fillConst(dy.Data, 1)
		step := func() {
			b.Forward(x)
			b.Backward(dy)
		}
		step()
		if a := testing.AllocsPerRun(10, step); a != 0 {
			t.Errorf("%s: %v allocations per Forward+Backward, want 0", tc.name, a)
		}
	}
	if timer.Calls == 0 || timer.Elapsed <= 0 {
		t.Errorf("GEMM timer saw %d calls, %v", timer.Calls, timer.Elapsed)
	}
	c := NewConv2d(e, "conv", 8, 4, 3, 1, 1, true)
	x := randTensor(r, 2, 8, 10, 10)
	dy := randTensor(r, 2, 4, 10, 10)
	step := func() { c.Backward(dy); c.Forward(x) }
	c.Forward(x)
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Errorf("Conv2d with bias: %v allocations per step, want 0", a)
	}
}
