package nn

import (
	"fmt"
	"math"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/vmath"
)

// BatchNorm2d normalises each channel of an NCHW tensor, PyTorch's
// nn.BatchNorm2d with the eps and momentum Ultralytics' initialize_weights
// sets (1e-3 and 0.03).
//
// In training mode (the default, as in PyTorch) it normalises with the
// batch's mean and biased variance and moves the running statistics
// towards them, the variance unbiased; in evaluation mode it normalises
// with the running statistics. Work is split over channels, which are
// independent in both passes.
type BatchNorm2d struct {
	Weight *Param // gamma [c], initialised to 1
	Bias   *Param // beta [c], initialised to 0

	// RunningMean and RunningVar are the statistics evaluation mode uses,
	// updated by every training-mode Forward.
	RunningMean, RunningVar *tensor.Tensor

	Eps, Momentum float32

	train bool
	// batchStats records whether the last Forward used batch statistics,
	// so that Backward matches it even if SetTrain came in between.
	batchStats bool
	// silu applies x*sigmoid(x) to the output in the same pass, for
	// ConvBNSiLU: it saves a round trip through memory both ways.
	silu bool

	name string
	e    *Engine

	x     *tensor.Tensor // input of the last Forward
	y, dx *tensor.Tensor // output, input gradient
	dy    []float32      // argument of bwdPart
	// Per channel, from the last Forward: the mean and 1/sqrt(var+eps) it
	// normalised with, and the scale and shift it applied.
	mean, inv, scale, shift []float32
	n, c, hw                int

	fwdRun, bwdRun parallel.Func
}

// NewBatchNorm2d returns a batch norm over c channels in training mode.
func NewBatchNorm2d(e *Engine, name string, c int) *BatchNorm2d {
	if c < 1 {
		panic(fmt.Sprintf("nn.NewBatchNorm2d %s: invalid channel count %d", name, c))
	}
	b := &BatchNorm2d{
		Weight:      NewParam(name+".weight", GroupNorm, c),
		Bias:        NewParam(name+".bias", GroupBias, c),
		RunningMean: tensor.New(c),
		RunningVar:  tensor.New(c),
		Eps:         1e-3,
		Momentum:    0.03,
		train:       true,
		name:        name,
		e:           e,
		y:           tensor.New(0, c, 0, 0),
		dx:          tensor.New(0, c, 0, 0),
		mean:        make([]float32, c),
		inv:         make([]float32, c),
		scale:       make([]float32, c),
		shift:       make([]float32, c),
	}
	b.Reset()
	b.fwdRun = b.fwdPart
	b.bwdRun = b.bwdPart
	return b
}

// Reset sets gamma to 1, beta to 0 and the running statistics to mean 0,
// variance 1, as a freshly built PyTorch layer has them.
func (b *BatchNorm2d) Reset() {
	fillConst(b.Weight.Value.Data, 1)
	fillConst(b.Bias.Value.Data, 0)
	fillConst(b.RunningMean.Data, 0)
	fillConst(b.RunningVar.Data, 1)
}

func fillConst(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// SetTrain selects batch statistics (true) or running statistics (false).
func (b *BatchNorm2d) SetTrain(train bool) { b.train = train }

// Params returns gamma and beta.
func (b *BatchNorm2d) Params() []*Param { return []*Param{b.Weight, b.Bias} }

// Forward normalises x [N, C, H, W].
func (b *BatchNorm2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w, err := x.NCHW()
	if err != nil || c != len(b.mean) {
		panic(fmt.Sprintf("nn.BatchNorm2d %s: input shape %v, want [N %d H W]", b.name, x.Shape, len(b.mean)))
	}
	if b.train && n*h*w < 2 {
		panic(fmt.Sprintf("nn.BatchNorm2d %s: input shape %v has one value per channel, too few to train on", b.name, x.Shape))
	}
	b.x, b.n, b.c, b.hw = x, n, c, h*w
	b.batchStats = b.train
	fitNCHW(b.y, n, c, h, w)
	b.e.Pool.For(c, 1, b.fwdRun)
	return b.y
}

// fold sets scale and shift to what Ultralytics' fuse_conv_and_bn folds
// the running statistics into, in float32 and in its order of operations:
// scale = γ/√(σ²+ε) multiplies the convolution's weights and shift =
// β - γμ/√(σ²+ε) becomes its bias. Inference with folded weights then
// rounds as Ultralytics' fused model does.
func (b *BatchNorm2d) fold() {
	for ch := range b.scale {
		den := float32(math.Sqrt(float64(b.RunningVar.Data[ch] + b.Eps)))
		g := b.Weight.Value.Data[ch]
		b.scale[ch] = g / den
		// The conversion keeps the product rounded on its own, as
		// PyTorch's mul, rather than fused into the division.
		b.shift[ch] = b.Bias.Value.Data[ch] - float32(g*b.RunningMean.Data[ch])/den
	}
}

// plane returns the h*w values of channel ch in image i of t.
func (b *BatchNorm2d) plane(t []float32, i, ch int) []float32 {
	o := (i*b.c + ch) * b.hw
	return t[o : o+b.hw]
}

func (b *BatchNorm2d) fwdPart(_, lo, hi int) {
	x := b.x.Data
	m := float64(b.n * b.hw)
	for ch := lo; ch < hi; ch++ {
		var mean, variance float64
		if b.batchStats {
			// Sums of x - x0 rather than x, so that a channel whose mean is
			// large next to its spread does not lose the variance to
			// cancellation.
			x0 := x[ch*b.hw]
			var s, ss float64
			for i := range b.n {
				a, aa := vmath.ShiftedSums(b.plane(x, i, ch), x0)
				s += a
				ss += aa
			}
			d := s / m
			mean = float64(x0) + d
			variance = max(ss/m-d*d, 0)
			mom := float64(b.Momentum)
			rm, rv := &b.RunningMean.Data[ch], &b.RunningVar.Data[ch]
			*rm = float32((1-mom)*float64(*rm) + mom*mean)
			*rv = float32((1-mom)*float64(*rv) + mom*variance*m/(m-1))
		} else {
			mean, variance = float64(b.RunningMean.Data[ch]), float64(b.RunningVar.Data[ch])
		}
		inv := 1 / math.Sqrt(variance+float64(b.Eps))
		b.mean[ch], b.inv[ch] = float32(mean), float32(inv)
		scale := float64(b.Weight.Value.Data[ch]) * inv
		b.scale[ch] = float32(scale)
		b.shift[ch] = float32(float64(b.Bias.Value.Data[ch]) - mean*scale)
		for i := range b.n {
			xp, yp := b.plane(x, i, ch), b.plane(b.y.Data, i, ch)
			if b.silu {
				vmath.SiLUAffineInfer(yp, xp, b.scale[ch], b.shift[ch])
			} else {
				bnAffine(yp, xp, b.scale[ch], b.shift[ch])
			}
		}
	}
}

// Backward returns dL/dx and adds dL/dgamma and dL/dbeta into the
// parameters' gradients. In training mode the gradient flows through the
// batch statistics too; in evaluation mode the layer is affine.
func (b *BatchNorm2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if b.x == nil {
		panic(fmt.Sprintf("nn.BatchNorm2d %s: Backward before Forward", b.name))
	}
	checkGradShape("nn.BatchNorm2d", b.name, dy, b.y)
	fitNCHW(b.dx, b.n, b.c, b.x.Shape[2], b.x.Shape[3])
	b.dy = dy.Data
	b.e.Pool.For(b.c, 1, b.bwdRun)
	b.dy = nil
	return b.dx
}

func (b *BatchNorm2d) bwdPart(_, lo, hi int) {
	x := b.x.Data
	m := float64(b.n * b.hw)
	for ch := lo; ch < hi; ch++ {
		mean, inv := b.mean[ch], float64(b.inv[ch])
		gamma := float64(b.Weight.Value.Data[ch])
		scale, shift := b.scale[ch], b.shift[ch]
		// First pass: dz, the gradient at the normalised output (after
		// SiLU's when fused), and its sums Σdz and Σdz*(x-mean). With
		// SiLU, dz is stored in dx; without, it is dy itself.
		var sdz, sdzx float64
		for i := range b.n {
			xp, dyp := b.plane(x, i, ch), b.plane(b.dy, i, ch)
			var a, ax float32
			if b.silu {
				a, ax = vmath.SiLUGradSums(b.plane(b.dx.Data, i, ch), dyp, xp, scale, shift, mean)
			} else {
				a, ax = vmath.GradSums(dyp, xp, mean)
			}
			sdz += float64(a)
			sdzx += float64(ax)
		}
		b.Weight.Grad.Data[ch] += float32(sdzx * inv) // Σ dz * xhat
		b.Bias.Grad.Data[ch] += float32(sdz)
		// Second pass: dx = ka*dz + kx*(x-mean) + k0. In training mode,
		// dx = gamma*inv*(dz - mean(dz) - xhat*mean(dz*xhat)).
		ka, kx, k0 := float64(scale), 0.0, 0.0
		if b.batchStats {
			kx = -gamma * inv * inv * inv * sdzx / m
			k0 = -gamma * inv * sdz / m
		}
		for i := range b.n {
			dz := b.plane(b.dy, i, ch)
			if b.silu {
				dz = b.plane(b.dx.Data, i, ch)
			}
			vmath.Combine(b.plane(b.dx.Data, i, ch), dz, b.plane(x, i, ch), float32(ka), float32(kx), mean, float32(k0))
		}
	}
}

// bnAffine sets y = x*scale + shift.
func bnAffine(y, x []float32, scale, shift float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v*scale + shift
	}
}
