package nn

import (
	"fmt"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
)

// Concat joins NCHW tensors of equal N, H and W along channels, as
// torch.cat(xs, 1) does in YOLOv8's C2f, SPPF and neck.
type Concat struct {
	name   string
	e      *Engine
	xs     []*tensor.Tensor // inputs of the last Forward
	chans  []int            // their channel counts
	y      *tensor.Tensor
	slots  []*tensor.Tensor // views of y, see Slots
	dxs    []*tensor.Tensor
	dy     []float32
	fwdRun parallel.Func
	bwdRun parallel.Func
}

// NewConcat returns a channel concatenation.
func NewConcat(e *Engine, name string) *Concat {
	c := &Concat{name: name, e: e, y: tensor.New(0, 0, 0, 0)}
	c.fwdRun, c.bwdRun = c.fwdPart, c.bwdPart
	return c
}

// Forward returns the inputs joined along channels.
func (c *Concat) Forward(xs ...*tensor.Tensor) *tensor.Tensor {
	if len(xs) == 0 {
		panic(fmt.Sprintf("nn.Concat %s: no inputs", c.name))
	}
	n, _, h, w, err := xs[0].NCHW()
	if err != nil {
		panic(fmt.Sprintf("nn.Concat %s: input 0 shape %v, want [N C H W]", c.name, xs[0].Shape))
	}
	total := 0
	for i, x := range xs {
		xn, xc, xh, xw, err := x.NCHW()
		if err != nil || xn != n || xh != h || xw != w {
			panic(fmt.Sprintf("nn.Concat %s: shape mismatch: input 0 %v vs input %d %v", c.name, xs[0].Shape, i, x.Shape))
		}
		total += xc
	}
	c.xs = append(c.xs[:0], xs...)
	c.chans = c.chans[:0]
	for _, x := range xs {
		c.chans = append(c.chans, x.Shape[1])
	}
	fitNCHW(c.y, n, total, h, w)
	c.e.Pool.For(n, 1, c.fwdRun)
	return c.y
}

// Slots returns, for inputs of one image of h x w with the given channel
// counts, views of the output Forward will join them into, one per
// input in order: a layer that writes input i into slot i spares Forward
// copying it (the views stay valid until the next Slots). An input may
// be its own slot but must not overlap another. For several images,
// whose parts of the output are not contiguous, Slots returns nil.
func (c *Concat) Slots(n, h, w int, chans ...int) []*tensor.Tensor {
	if n != 1 {
		return nil
	}
	total := 0
	for _, ch := range chans {
		total += ch
	}
	fitNCHW(c.y, 1, total, h, w)
	for len(c.slots) < len(chans) {
		c.slots = append(c.slots, &tensor.Tensor{})
	}
	channelViews(c.slots, c.y.Data, h, w, chans)
	return c.slots[:len(chans)]
}

// channelViews points views[i] at the i-th run of chans[i] channels of
// one h x w image held in data: [1, chans[i], h, w] tensors sharing its
// memory, each capped at its own end.
func channelViews(views []*tensor.Tensor, data []float32, h, w int, chans []int) {
	off := 0
	for i, ch := range chans {
		v, size := views[i], ch*h*w
		v.Shape = append(v.Shape[:0], 1, ch, h, w)
		v.Data = data[off : off+size : off+size]
		off += size
	}
}

func (c *Concat) fwdPart(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		joinImage(c.y.Data, c.xs, c.chans, i, c.y.Shape[2]*c.y.Shape[3])
	}
}

// Backward splits dy into the gradients of the inputs, in order.
func (c *Concat) Backward(dy *tensor.Tensor) []*tensor.Tensor {
	if len(c.xs) == 0 {
		panic(fmt.Sprintf("nn.Concat %s: Backward before Forward", c.name))
	}
	checkGradShape("nn.Concat", c.name, dy, c.y)
	for len(c.dxs) < len(c.xs) {
		c.dxs = append(c.dxs, tensor.New(0, 0, 0, 0))
	}
	c.dxs = c.dxs[:len(c.xs)]
	for i, x := range c.xs {
		fitLike(c.dxs[i], x)
	}
	c.dy = dy.Data
	c.e.Pool.For(dy.Shape[0], 1, c.bwdRun)
	c.dy = nil
	return c.dxs
}

func (c *Concat) bwdPart(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		cutImage(c.dy, c.dxs, c.chans, i, c.y.Shape[2]*c.y.Shape[3])
	}
}

// joinImage copies image i of each part into image i of whole, their
// channels one after another; a nil part stands for zeros.
func joinImage(whole []float32, parts []*tensor.Tensor, chans []int, i, hw int) {
	total := 0
	for _, c := range chans {
		total += c
	}
	off := i * total * hw
	for j, c := range chans {
		size := c * hw
		switch {
		case parts[j] == nil:
			clear(whole[off : off+size])
		case size > 0 && &whole[off] == &parts[j].Data[i*size]:
			// Already in place: written into a slot (see Concat.Slots).
		default:
			copy(whole[off:off+size], parts[j].Data[i*size:(i+1)*size])
		}
		off += size
	}
}

// cutImage copies image i of whole into image i of each part, the inverse
// of joinImage.
func cutImage(whole []float32, parts []*tensor.Tensor, chans []int, i, hw int) {
	total := 0
	for _, c := range chans {
		total += c
	}
	off := i * total * hw
	for j, c := range chans {
		size := c * hw
		copy(parts[j].Data[i*size:(i+1)*size], whole[off:off+size])
		off += size
	}
}

// Split cuts an NCHW tensor along channels into parts of the given sizes,
// as tensor.split (C2f's chunk(2, 1)) does.
type Split struct {
	Sizes  []int
	name   string
	e      *Engine
	x      *tensor.Tensor
	ys     []*tensor.Tensor // the parts, copied out, for a batch of several images
	views  []*tensor.Tensor // the parts of a single image: views of x
	out    []*tensor.Tensor // ys or views, whichever the last Forward returned
	dx     *tensor.Tensor
	dys    []*tensor.Tensor
	fwdRun parallel.Func
	bwdRun parallel.Func
}

// NewSplit returns a split into parts of sizes channels.
func NewSplit(e *Engine, name string, sizes ...int) *Split {
	if len(sizes) == 0 {
		panic(fmt.Sprintf("nn.NewSplit %s: no sizes", name))
	}
	s := &Split{Sizes: append([]int(nil), sizes...), name: name, e: e, dx: tensor.New(0, 0, 0, 0)}
	for _, sz := range sizes {
		if sz < 1 {
			panic(fmt.Sprintf("nn.NewSplit %s: sizes %v must be positive", name, sizes))
		}
		s.ys = append(s.ys, tensor.New(0, 0, 0, 0))
		s.views = append(s.views, &tensor.Tensor{})
	}
	s.fwdRun, s.bwdRun = s.fwdPart, s.bwdPart
	return s
}

// NewChunk returns the split torch.chunk(x, chunks, 1) makes of a tensor
// with the given number of channels: parts of ceil(channels/chunks)
// channels, the last smaller when they don't divide, and so possibly fewer
// than chunks parts. C2f's chunk(2, 1) is NewChunk(e, name, 2*c, 2).
func NewChunk(e *Engine, name string, channels, chunks int) *Split {
	if channels < 1 || chunks < 1 {
		panic(fmt.Sprintf("nn.NewChunk %s: %d channels in %d chunks, want both positive", name, channels, chunks))
	}
	size := (channels + chunks - 1) / chunks
	var sizes []int
	for c := channels; c > 0; c -= size {
		sizes = append(sizes, min(size, c))
	}
	return NewSplit(e, name, sizes...)
}

func (s *Split) channels() int {
	t := 0
	for _, sz := range s.Sizes {
		t += sz
	}
	return t
}

// Forward returns the parts of x, owned by the layer. The parts of a
// single image are contiguous in x and are returned as views of it,
// valid while x is: single-image inference then copies nothing.
func (s *Split) Forward(x *tensor.Tensor) []*tensor.Tensor {
	n, c, h, w, err := x.NCHW()
	if err != nil || c != s.channels() {
		panic(fmt.Sprintf("nn.Split %s: input shape %v, want [N %d H W] for sizes %v", s.name, x.Shape, s.channels(), s.Sizes))
	}
	s.x = x
	if n == 1 {
		channelViews(s.views, x.Data, h, w, s.Sizes)
		s.out = s.views
		return s.out
	}
	for i, sz := range s.Sizes {
		fitNCHW(s.ys[i], n, sz, h, w)
	}
	s.e.Pool.For(n, 1, s.fwdRun)
	s.out = s.ys
	return s.out
}

func (s *Split) fwdPart(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		cutImage(s.x.Data, s.ys, s.Sizes, i, s.x.Shape[2]*s.x.Shape[3])
	}
}

// Backward joins the parts' gradients into the input's; a nil part
// contributes zeros (a part nothing consumed).
func (s *Split) Backward(dys ...*tensor.Tensor) *tensor.Tensor {
	if s.x == nil {
		panic(fmt.Sprintf("nn.Split %s: Backward before Forward", s.name))
	}
	if len(dys) != len(s.ys) {
		panic(fmt.Sprintf("nn.Split %s: %d gradients for %d parts", s.name, len(dys), len(s.ys)))
	}
	for i, d := range dys {
		if d != nil {
			checkGradShape("nn.Split", s.name, d, s.out[i])
		}
	}
	fitLike(s.dx, s.x)
	s.dys = append(s.dys[:0], dys...)
	s.e.Pool.For(s.x.Shape[0], 1, s.bwdRun)
	clear(s.dys) // drop references to the callers' tensors
	return s.dx
}

func (s *Split) bwdPart(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		joinImage(s.dx.Data, s.dys, s.Sizes, i, s.x.Shape[2]*s.x.Shape[3])
	}
}
