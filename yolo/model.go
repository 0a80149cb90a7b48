package yolo

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// Model is a YOLOv8 detector. Its 23 layers follow yolov8.yaml and are
// named as in Ultralytics' state_dict ("model.4.m.1.cv2.conv.weight").
// Like the layers of package nn, a Model serves one goroutine and reuses
// its buffers from batch to batch.
type Model struct {
	Config Config
	e      *nn.Engine

	l0, l1, l3, l5, l7, l16, l19 *conv
	l2, l4, l6, l8               *c2f
	l9                           *sppf
	l10, l13                     *nn.Upsample
	l11, l14, l17, l20           *nn.Concat
	l12, l15, l18, l21           *c2f
	head                         *detect
	// Sums of gradients where a layer's output feeds two others.
	g4, g6, g9, g12, g15, g18 *nn.Add
	train                     bool
}

// New builds a model with PyTorch's default initialisation drawn from r,
// Ultralytics' BatchNorm settings (eps 1e-3, momentum 0.03) and head
// biases, in training mode.
func New(e *nn.Engine, cfg Config, r *rand.Rand) (*Model, error) {
	s, err := cfg.scale()
	if err != nil {
		return nil, err
	}
	c := s.channels
	n := s.repeats
	m := &Model{Config: cfg, e: e, train: true}
	name := func(i int) string { return fmt.Sprintf("model.%d", i) }
	m.l0 = newConv(e, name(0), 3, c(64), 3, 2)
	m.l1 = newConv(e, name(1), c(64), c(128), 3, 2)
	m.l2 = newC2f(e, name(2), c(128), c(128), n(3), true)
	m.l3 = newConv(e, name(3), c(128), c(256), 3, 2)
	m.l4 = newC2f(e, name(4), c(256), c(256), n(6), true)
	m.l5 = newConv(e, name(5), c(256), c(512), 3, 2)
	m.l6 = newC2f(e, name(6), c(512), c(512), n(6), true)
	m.l7 = newConv(e, name(7), c(512), c(1024), 3, 2)
	m.l8 = newC2f(e, name(8), c(1024), c(1024), n(3), true)
	m.l9 = newSPPF(e, name(9), c(1024), c(1024))
	m.l10 = nn.NewUpsample(e, name(10))
	m.l11 = nn.NewConcat(e, name(11))
	m.l12 = newC2f(e, name(12), c(1024)+c(512), c(512), n(3), false)
	m.l13 = nn.NewUpsample(e, name(13))
	m.l14 = nn.NewConcat(e, name(14))
	m.l15 = newC2f(e, name(15), c(512)+c(256), c(256), n(3), false)
	m.l16 = newConv(e, name(16), c(256), c(256), 3, 2)
	m.l17 = nn.NewConcat(e, name(17))
	m.l18 = newC2f(e, name(18), c(256)+c(512), c(512), n(3), false)
	m.l19 = newConv(e, name(19), c(512), c(512), 3, 2)
	m.l20 = nn.NewConcat(e, name(20))
	m.l21 = newC2f(e, name(21), c(512)+c(1024), c(1024), n(3), false)
	m.head = newDetect(e, name(22), cfg.NC, [3]int{c(256), c(512), c(1024)})
	m.g4, m.g6, m.g9 = nn.NewAdd(e, "g4"), nn.NewAdd(e, "g6"), nn.NewAdd(e, "g9")
	m.g12, m.g15, m.g18 = nn.NewAdd(e, "g12"), nn.NewAdd(e, "g15"), nn.NewAdd(e, "g18")
	// The first layer's input is the image: no gradient needed.
	m.l0.Conv.SkipInputGrad = true
	if r != nil {
		m.init(r)
	}
	return m, nil
}

func (m *Model) c2fs() []*c2f {
	return []*c2f{m.l2, m.l4, m.l6, m.l8, m.l12, m.l15, m.l18, m.l21}
}

// convs lists every Conv block (convolution + BN + SiLU) of the model.
func (m *Model) convs() []*conv {
	cs := []*conv{m.l0, m.l1, m.l3, m.l5, m.l7, m.l16, m.l19, m.l9.cv1, m.l9.cv2}
	for _, b := range m.c2fs() {
		cs = append(cs, b.convs()...)
	}
	for i := range 3 {
		cs = append(cs, m.head.box[i].a, m.head.box[i].b, m.head.cls[i].a, m.head.cls[i].b)
	}
	return cs
}

func (m *Model) init(r *rand.Rand) {
	for _, c := range m.convs() {
		c.Init(r)
	}
	m.head.init(r)
}

// SetTrain switches every BatchNorm between batch statistics (training)
// and running statistics (evaluation), and SPPF's pools between
// recording their winners for Backward or not. In evaluation mode the
// convolutions keep their weights packed for the GEMMs from one Forward
// to the next: after changing weights other than through Load, call
// SetTrain(false) again.
func (m *Model) SetTrain(train bool) {
	m.train = train
	for _, c := range m.convs() {
		c.SetTrain(train)
	}
	for _, p := range m.l9.pools {
		p.SetTrain(train)
	}
	for i := range 3 {
		m.head.box[i].out.SetFrozen(!train)
		m.head.cls[i].out.SetFrozen(!train)
	}
}

// State returns the model's tensors with their Ultralytics state_dict
// names, in state_dict order: every parameter and BatchNorm running
// statistic (not num_batches_tracked, an integer PyTorch keeps for
// momentum=None) and the fixed DFL weight.
func (m *Model) State() []Named {
	var st []Named
	add := func(name string, t *tensor.Tensor) { st = append(st, Named{name, t}) }
	convState(m.l0, "model.0", add)
	convState(m.l1, "model.1", add)
	m.l2.state(add)
	convState(m.l3, "model.3", add)
	m.l4.state(add)
	convState(m.l5, "model.5", add)
	m.l6.state(add)
	convState(m.l7, "model.7", add)
	m.l8.state(add)
	m.l9.state(add)
	m.l12.state(add)
	m.l15.state(add)
	convState(m.l16, "model.16", add)
	m.l18.state(add)
	convState(m.l19, "model.19", add)
	m.l21.state(add)
	m.head.state(add)
	return st
}

// Named is a tensor with its state_dict name.
type Named struct {
	Name   string
	Tensor *tensor.Tensor
}

// Params returns the trainable parameters (every convolution weight and
// bias and BatchNorm weight and bias; not the frozen DFL weight), in
// state_dict order.
func (m *Model) Params() []*nn.Param {
	byValue := map[*tensor.Tensor]*nn.Param{}
	for _, c := range m.convs() {
		for _, p := range c.Params() {
			byValue[p.Value] = p
		}
	}
	for i := range 3 {
		for _, br := range []*branch{m.head.box[i], m.head.cls[i]} {
			for _, p := range br.out.Params() {
				byValue[p.Value] = p
			}
		}
	}
	var ps []*nn.Param
	for _, n := range m.State() {
		if p, ok := byValue[n.Tensor]; ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// NumParams counts parameters as PyTorch's model.parameters() does,
// including the frozen DFL weight.
func (m *Model) NumParams() int {
	n := m.head.dfl.Size()
	for _, p := range m.Params() {
		n += p.Value.Size()
	}
	return n
}

// Forward runs the network on a batch [N, 3, H, W] (H and W multiples of
// 32) and returns the head's raw maps for P3, P4 and P5, each [N,
// 4*RegMax+NC, H/s, W/s]: what the loss takes in training, and what
// Decode turns into boxes.
func (m *Model) Forward(x *tensor.Tensor) [3]*tensor.Tensor {
	n, c, h, w, err := x.NCHW()
	if err != nil || c != 3 || h%32 != 0 || w%32 != 0 || n < 1 {
		panic(fmt.Sprintf("yolo: input shape %v, want [N 3 H W] with H and W multiples of 32", x.Shape))
	}
	// A single image's inputs to the neck's concatenations are written
	// straight into them (see nn.Concat.Slots), which then copy nothing;
	// for a batch the slots are nil and every layer uses its own buffer.
	out := func(c *conv) int { return c.Conv.OutC }
	c4, c6, c9, c12 := out(m.l4.cv2), out(m.l6.cv2), out(m.l9.cv2), out(m.l12.cv2)
	s11 := m.l11.Slots(n, h/16, w/16, c9, c6)
	s14 := m.l14.Slots(n, h/8, w/8, c12, c4)
	s17 := m.l17.Slots(n, h/16, w/16, out(m.l16), c12)
	s20 := m.l20.Slots(n, h/32, w/32, out(m.l19), c9)

	x1 := m.l1.Forward(m.l0.Forward(x))
	x4 := m.l4.forward(m.l3.Forward(m.l2.forward(x1, nil)), slot(s14, 1))
	x6 := m.l6.forward(m.l5.Forward(x4), slot(s11, 1))
	x9 := m.l9.forward(m.l8.forward(m.l7.Forward(x6), nil), slot(s20, 1))
	x12 := m.l12.forward(m.l11.Forward(m.l10.ForwardInto(x9, slot(s11, 0)), x6), slot(s17, 1))
	x15 := m.l15.forward(m.l14.Forward(m.l13.ForwardInto(x12, slot(s14, 0)), x4), nil)
	x18 := m.l18.forward(m.l17.Forward(m.l16.ForwardInto(x15, slot(s17, 0)), x12), nil)
	x21 := m.l21.forward(m.l20.Forward(m.l19.ForwardInto(x18, slot(s20, 0)), x9), nil)
	return m.head.forward([3]*tensor.Tensor{x15, x18, x21})
}

// ForwardChunks is Forward over at most chunk images at a time, the head's
// maps gathered into out's tensors (reshaped to fit) and returned. It
// needs evaluation mode, where every image is independent of the others,
// so that the maps equal Forward's over the whole batch; in training mode
// (batch statistics) it runs Forward on the whole batch. Every layer's
// buffers then hold chunk images rather than the batch: validation at
// twice the training batch would otherwise add a second copy of the
// training activations to the peak memory.
func (m *Model) ForwardChunks(x *tensor.Tensor, chunk int, out *[3]*tensor.Tensor) [3]*tensor.Tensor {
	n, c, h, w, err := x.NCHW()
	if err != nil || m.train || chunk < 1 || n <= chunk {
		return m.Forward(x)
	}
	size := c * h * w
	view := &tensor.Tensor{}
	for i0 := 0; i0 < n; i0 += chunk {
		k := min(chunk, n-i0)
		view.Shape = append(view.Shape[:0], k, c, h, w)
		view.Data = x.Data[i0*size : (i0+k)*size]
		maps := m.Forward(view)
		for l, mp := range maps {
			if out[l] == nil {
				out[l] = tensor.New(0)
			}
			if i0 == 0 {
				sh := append([]int{n}, mp.Shape[1:]...)
				if !slices.Equal(out[l].Shape, sh) {
					out[l].Reshape(sh...)
				}
			}
			per := len(mp.Data) / k
			copy(out[l].Data[i0*per:(i0+k)*per], mp.Data)
		}
	}
	return *out
}

// Backward takes the loss gradients for the three maps of the last
// Forward and adds every parameter's gradient into its Param.Grad.
func (m *Model) Backward(dys [3]*tensor.Tensor) {
	dh := m.head.backward(dys)
	d20 := m.l20.Backward(m.l21.backward(dh[2]))
	d18 := m.g18.Forward(dh[1], m.l19.Backward(d20[0]))
	d17 := m.l17.Backward(m.l18.backward(d18))
	d15 := m.g15.Forward(dh[0], m.l16.Backward(d17[0]))
	d14 := m.l14.Backward(m.l15.backward(d15))
	d12 := m.g12.Forward(d17[1], m.l13.Backward(d14[0]))
	d11 := m.l11.Backward(m.l12.backward(d12))
	d9 := m.g9.Forward(d20[1], m.l10.Backward(d11[0]))
	d6 := m.g6.Forward(d11[1], m.l7.Backward(m.l8.backward(m.l9.backward(d9))))
	d4 := m.g4.Forward(d14[1], m.l5.Backward(m.l6.backward(d6)))
	m.l0.Backward(m.l1.Backward(m.l2.backward(m.l3.Backward(m.l4.backward(d4)))))
}
