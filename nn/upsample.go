package nn

import (
	"fmt"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
)

// Upsample doubles the height and width of an NCHW tensor by nearest
// neighbour, nn.Upsample(scale_factor=2, mode="nearest") in YOLOv8's neck.
type Upsample struct {
	name     string
	e        *Engine
	x, y, dx *tensor.Tensor
	out      *tensor.Tensor // y or ForwardInto's destination: the last output
	dy       []float32
	fwdRun   parallel.Func
	bwdRun   parallel.Func
}

// NewUpsample returns a 2x nearest-neighbour upsampling.
func NewUpsample(e *Engine, name string) *Upsample {
	u := &Upsample{name: name, e: e, y: tensor.New(0, 0, 0, 0), dx: tensor.New(0, 0, 0, 0)}
	u.fwdRun, u.bwdRun = u.fwdPart, u.bwdPart
	return u
}

// Forward maps [N, C, H, W] to [N, C, 2H, 2W].
func (u *Upsample) Forward(x *tensor.Tensor) *tensor.Tensor { return u.ForwardInto(x, u.y) }

// ForwardInto is Forward with the output written into y, resized if its
// shape differs, instead of the layer's own buffer (nil: that buffer).
func (u *Upsample) ForwardInto(x, y *tensor.Tensor) *tensor.Tensor {
	if y == nil {
		y = u.y
	}
	n, c, h, w, err := x.NCHW()
	if err != nil {
		panic(fmt.Sprintf("nn.Upsample %s: input shape %v, want [N C H W]", u.name, x.Shape))
	}
	u.x, u.out = x, y
	fitNCHW(y, n, c, 2*h, 2*w)
	u.e.Pool.For(n*c, max(1, elemGrain/(4*h*w+1)), u.fwdRun)
	return y
}

func (u *Upsample) fwdPart(_, lo, hi int) {
	h, w := u.x.Shape[2], u.x.Shape[3]
	for pl := lo; pl < hi; pl++ {
		x := u.x.Data[pl*h*w : (pl+1)*h*w]
		y := u.out.Data[pl*4*h*w : (pl+1)*4*h*w]
		for iy := 0; iy < h; iy++ {
			row := y[2*iy*2*w : (2*iy+1)*2*w]
			for ix, v := range x[iy*w : (iy+1)*w] {
				row[2*ix], row[2*ix+1] = v, v
			}
			copy(y[(2*iy+1)*2*w:(2*iy+2)*2*w], row)
		}
	}
}

// Backward sums the gradient over each 2x2 block.
func (u *Upsample) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if u.x == nil {
		panic(fmt.Sprintf("nn.Upsample %s: Backward before Forward", u.name))
	}
	checkGradShape("nn.Upsample", u.name, dy, u.out)
	fitLike(u.dx, u.x)
	u.dy = dy.Data
	n, c, h, w := u.x.Shape[0], u.x.Shape[1], u.x.Shape[2], u.x.Shape[3]
	u.e.Pool.For(n*c, max(1, elemGrain/(4*h*w+1)), u.bwdRun)
	u.dy = nil
	return u.dx
}

func (u *Upsample) bwdPart(_, lo, hi int) {
	h, w := u.x.Shape[2], u.x.Shape[3]
	for pl := lo; pl < hi; pl++ {
		dx := u.dx.Data[pl*h*w : (pl+1)*h*w]
		dy := u.dy[pl*4*h*w : (pl+1)*4*h*w]
		for iy := 0; iy < h; iy++ {
			r0, r1 := dy[2*iy*2*w:(2*iy+1)*2*w], dy[(2*iy+1)*2*w:(2*iy+2)*2*w]
			out := dx[iy*w : (iy+1)*w]
			for ix := range out {
				out[ix] = r0[2*ix] + r0[2*ix+1] + r1[2*ix] + r1[2*ix+1]
			}
		}
	}
}
