package yolo

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// state collects a module's tensors under PyTorch's state_dict names, in
// state_dict order (parameters, then buffers, then submodules).
type state func(name string, t *tensor.Tensor)

// conv is Ultralytics' Conv: convolution, batch norm, SiLU.
type conv = nn.ConvBNSiLU

func newConv(e *nn.Engine, name string, c1, c2, k, s int) *conv {
	return nn.NewConvBNSiLU(e, name, c1, c2, k, s)
}

func convState(c *conv, name string, add state) {
	add(name+".conv.weight", c.Conv.Weight.Value)
	add(name+".bn.weight", c.BN.Weight.Value)
	add(name+".bn.bias", c.BN.Bias.Value)
	add(name+".bn.running_mean", c.BN.RunningMean)
	add(name+".bn.running_var", c.BN.RunningVar)
}

// bottleneck is two 3x3 convolutions with an optional residual connection.
type bottleneck struct {
	cv1, cv2 *conv
	add      *nn.Add // nil without shortcut
	dx       *nn.Add // sums the two paths' input gradients
}

func newBottleneck(e *nn.Engine, name string, c int, shortcut bool) *bottleneck {
	b := &bottleneck{cv1: newConv(e, name+".cv1", c, c, 3, 1), cv2: newConv(e, name+".cv2", c, c, 3, 1)}
	if shortcut {
		b.add, b.dx = nn.NewAdd(e, name+".add"), nn.NewAdd(e, name+".dx")
	}
	return b
}

// forward runs the block with the output written into y, or into its
// own buffer when y is nil.
func (b *bottleneck) forward(x, y *tensor.Tensor) *tensor.Tensor {
	h := b.cv1.Forward(x)
	if b.add != nil {
		return b.add.ForwardInto(x, b.cv2.Forward(h), y)
	}
	return b.cv2.ForwardInto(h, y)
}

func (b *bottleneck) backward(dy *tensor.Tensor) *tensor.Tensor {
	d := b.cv1.Backward(b.cv2.Backward(dy))
	if b.add != nil {
		d = b.dx.Forward(d, dy)
	}
	return d
}

func (b *bottleneck) convs() []*conv { return []*conv{b.cv1, b.cv2} }

// c2f is YOLOv8's C2f block: a 1x1 convolution split in two halves, n
// bottlenecks chained on the second half, every intermediate concatenated
// and fused by a 1x1 convolution.
type c2f struct {
	name     string
	cv1, cv2 *conv
	m        []*bottleneck
	split    *nn.Split
	cat      *nn.Concat
	sums     []*nn.Add
	outs     []*tensor.Tensor
	chans    []int // channels of cv1's output and of each bottleneck's
}

func newC2f(e *nn.Engine, name string, c1, c2, n int, shortcut bool) *c2f {
	c := c2 / 2 // int(c2 * e), e = 0.5
	b := &c2f{
		name:  name,
		cv1:   newConv(e, name+".cv1", c1, 2*c, 1, 1),
		cv2:   newConv(e, name+".cv2", (2+n)*c, c2, 1, 1),
		split: nn.NewSplit(e, name+".split", c, c),
		cat:   nn.NewConcat(e, name+".cat"),
	}
	b.chans = append(b.chans, 2*c)
	for i := range n {
		b.m = append(b.m, newBottleneck(e, fmt.Sprintf("%s.m.%d", name, i), c, shortcut))
		b.sums = append(b.sums, nn.NewAdd(e, fmt.Sprintf("%s.sum.%d", name, i)))
		b.chans = append(b.chans, c)
	}
	return b
}

// forward runs the block with the output written into y, or into its
// own buffer when y is nil.
func (b *c2f) forward(x, y *tensor.Tensor) *tensor.Tensor {
	// A single image's parts are written straight into the concatenation
	// (cv1's output is split into views of itself), which then copies
	// nothing.
	slots := b.cat.Slots(x.Shape[0], x.Shape[2], x.Shape[3], b.chans...)
	parts := b.split.Forward(b.cv1.ForwardInto(x, slot(slots, 0)))
	b.outs = append(b.outs[:0], parts[0], parts[1])
	cur := parts[1]
	for i, m := range b.m {
		cur = m.forward(cur, slot(slots, i+1))
		b.outs = append(b.outs, cur)
	}
	return b.cv2.ForwardInto(b.cat.Forward(b.outs...), y)
}

// slot is slots[i], or nil (a layer's own buffer) when there are no
// slots (see nn.Concat.Slots).
func slot(slots []*tensor.Tensor, i int) *tensor.Tensor {
	if slots == nil {
		return nil
	}
	return slots[i]
}

func (b *c2f) backward(dy *tensor.Tensor) *tensor.Tensor {
	ds := b.cat.Backward(b.cv2.Backward(dy))
	// Bottleneck i's input feeds both bottleneck i and the concatenation.
	g := ds[len(ds)-1]
	for i := len(b.m) - 1; i >= 0; i-- {
		g = b.sums[i].Forward(b.m[i].backward(g), ds[i+1])
	}
	return b.cv1.Backward(b.split.Backward(ds[0], g))
}

func (b *c2f) convs() []*conv {
	cs := []*conv{b.cv1, b.cv2}
	for _, m := range b.m {
		cs = append(cs, m.convs()...)
	}
	return cs
}

func (b *c2f) state(add state) {
	convState(b.cv1, b.name+".cv1", add)
	convState(b.cv2, b.name+".cv2", add)
	for i, m := range b.m {
		convState(m.cv1, fmt.Sprintf("%s.m.%d.cv1", b.name, i), add)
		convState(m.cv2, fmt.Sprintf("%s.m.%d.cv2", b.name, i), add)
	}
}

// sppf is spatial pyramid pooling, fast: three chained 5x5 max pools whose
// outputs are concatenated with their input.
type sppf struct {
	name     string
	cv1, cv2 *conv
	pools    [3]*nn.MaxPool2d
	cat      *nn.Concat
	sums     [3]*nn.Add
}

func newSPPF(e *nn.Engine, name string, c1, c2 int) *sppf {
	c := c1 / 2
	b := &sppf{name: name, cv1: newConv(e, name+".cv1", c1, c, 1, 1), cv2: newConv(e, name+".cv2", 4*c, c2, 1, 1),
		cat: nn.NewConcat(e, name+".cat")}
	for i := range b.pools {
		b.pools[i] = nn.NewMaxPool2d(e, fmt.Sprintf("%s.m%d", name, i), 5)
		b.sums[i] = nn.NewAdd(e, fmt.Sprintf("%s.sum%d", name, i))
	}
	return b
}

// forward runs the block with the output written into y, or into its
// own buffer when y is nil.
func (b *sppf) forward(x, y *tensor.Tensor) *tensor.Tensor {
	y0 := b.cv1.Forward(x)
	y1 := b.pools[0].Forward(y0)
	y2 := b.pools[1].Forward(y1)
	y3 := b.pools[2].Forward(y2)
	return b.cv2.ForwardInto(b.cat.Forward(y0, y1, y2, y3), y)
}

func (b *sppf) backward(dy *tensor.Tensor) *tensor.Tensor {
	ds := b.cat.Backward(b.cv2.Backward(dy))
	g := ds[3]
	for i := 2; i >= 0; i-- {
		g = b.sums[i].Forward(b.pools[i].Backward(g), ds[i])
	}
	return b.cv1.Backward(g)
}

func (b *sppf) state(add state) {
	convState(b.cv1, b.name+".cv1", add)
	convState(b.cv2, b.name+".cv2", add)
}

// branch is one of the head's two towers at one level: two 3x3 Convs and
// a 1x1 convolution with bias (Ultralytics' nn.Sequential).
type branch struct {
	a, b *conv
	out  *nn.Conv2d
}

func newBranch(e *nn.Engine, name string, c1, c, cOut int) *branch {
	return &branch{
		a:   newConv(e, name+".0", c1, c, 3, 1),
		b:   newConv(e, name+".1", c, c, 3, 1),
		out: nn.NewConv2d(e, name+".2", c, cOut, 1, 1, 0, true),
	}
}

// forward runs the tower with the output written into y, or into the
// last convolution's own buffer when y is nil.
func (br *branch) forward(x, y *tensor.Tensor) *tensor.Tensor {
	return br.out.ForwardInto(br.b.Forward(br.a.Forward(x)), y)
}

func (br *branch) backward(dy *tensor.Tensor) *tensor.Tensor {
	return br.a.Backward(br.b.Backward(br.out.Backward(dy)))
}

func (br *branch) state(name string, add state) {
	convState(br.a, name+".0", add)
	convState(br.b, name+".1", add)
	add(name+".2.weight", br.out.Weight.Value)
	add(name+".2.bias", br.out.Bias.Value)
}

// detect is the head: per level a box tower (4*RegMax DFL logits) and a
// class tower (NC logits), concatenated to [N, 4*RegMax+NC, H, W].
type detect struct {
	name     string
	nc       int
	box, cls [3]*branch
	cat      [3]*nn.Concat
	split    [3]*nn.Split
	sums     [3]*nn.Add
	// dfl is the fixed [1, RegMax, 1, 1] convolution that takes the
	// expectation over the DFL bins: 0, 1, ..., RegMax-1. Ultralytics
	// stores it (frozen) in every checkpoint.
	dfl *tensor.Tensor
}

func newDetect(e *nn.Engine, name string, nc int, ch [3]int) *detect {
	c2 := max(16, ch[0]/4, 4*RegMax)
	c3 := max(ch[0], min(nc, 100))
	d := &detect{name: name, nc: nc, dfl: tensor.New(1, RegMax, 1, 1)}
	for i := range 3 {
		d.box[i] = newBranch(e, fmt.Sprintf("%s.cv2.%d", name, i), ch[i], c2, 4*RegMax)
		d.cls[i] = newBranch(e, fmt.Sprintf("%s.cv3.%d", name, i), ch[i], c3, nc)
		d.cat[i] = nn.NewConcat(e, fmt.Sprintf("%s.cat%d", name, i))
		d.split[i] = nn.NewSplit(e, fmt.Sprintf("%s.split%d", name, i), 4*RegMax, nc)
		d.sums[i] = nn.NewAdd(e, fmt.Sprintf("%s.sum%d", name, i))
	}
	for j := range RegMax {
		d.dfl.Data[j] = float32(j)
	}
	return d
}

func (d *detect) forward(xs [3]*tensor.Tensor) [3]*tensor.Tensor {
	var out [3]*tensor.Tensor
	for i, x := range xs {
		// A single image's towers write straight into the concatenation.
		s := d.cat[i].Slots(x.Shape[0], x.Shape[2], x.Shape[3], 4*RegMax, d.nc)
		out[i] = d.cat[i].Forward(d.box[i].forward(x, slot(s, 0)), d.cls[i].forward(x, slot(s, 1)))
	}
	return out
}

func (d *detect) backward(dys [3]*tensor.Tensor) [3]*tensor.Tensor {
	var dx [3]*tensor.Tensor
	for i, dy := range dys {
		parts := d.split[i].Forward(dy)
		dx[i] = d.sums[i].Forward(d.box[i].backward(parts[0]), d.cls[i].backward(parts[1]))
	}
	return dx
}

func (d *detect) state(add state) {
	for i := range 3 {
		d.box[i].state(fmt.Sprintf("%s.cv2.%d", d.name, i), add)
	}
	for i := range 3 {
		d.cls[i].state(fmt.Sprintf("%s.cv3.%d", d.name, i), add)
	}
	add(d.name+".dfl.conv.weight", d.dfl)
}

// initBias is Ultralytics' Detect.bias_init: box logits start at 1 and
// class logits at log(5/nc/(640/stride)^2), a prior of about 5 objects
// per 640-pixel image.
func (d *detect) initBias() {
	for i := range 3 {
		for j := range d.box[i].out.Bias.Value.Data {
			d.box[i].out.Bias.Value.Data[j] = 1
		}
		s := float64(strides[i])
		v := float32(math.Log(5 / float64(d.nc) / ((640 / s) * (640 / s))))
		for j := range d.cls[i].out.Bias.Value.Data {
			d.cls[i].out.Bias.Value.Data[j] = v
		}
	}
}

func (d *detect) init(r *rand.Rand) {
	for i := range 3 {
		for _, br := range []*branch{d.box[i], d.cls[i]} {
			br.a.Init(r)
			br.b.Init(r)
			br.out.Init(r)
		}
	}
	d.initBias()
}
