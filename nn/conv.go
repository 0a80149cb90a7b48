package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/tensor/gemm"
	"github.com/yolops/yolops/tensor/vmath"
)

// GemmTimer accumulates the wall time a layer spends in GEMM calls, to
// tell matrix products apart from the data movement around them when
// profiling. One timer may be shared by many layers of a model. Layers
// hold a *GemmTimer that is nil by default, and then read no clock.
type GemmTimer struct {
	Calls   int
	Elapsed time.Duration
}

// Reset zeroes the counters.
func (t *GemmTimer) Reset() { *t = GemmTimer{} }

// Conv2d is a 2-D convolution over NCHW tensors (one group, square kernel,
// the same stride and zero padding along both axes), PyTorch's nn.Conv2d.
//
// Each image is lowered with im2col to a [inC*k*k, outH*outW] column
// matrix and multiplied by the weight viewed as [outC, inC*k*k] with one
// GEMM; a 1x1, stride-1, unpadded convolution multiplies the image itself,
// and Forward multiplies a 3x3 one of stride 1 or 2 straight from the
// padded image where the GEMM kernel allows it (see implicit).
// The column matrix lives in one buffer reused for every image, and the
// backward pass rebuilds it rather than keeping one per image: at batch 8
// and 320 pixels the first layers' column matrices would take tens of
// megabytes each, while im2col costs a small fraction of the GEMMs it
// feeds.
type Conv2d struct {
	Weight *Param // [outC, inC, k, k]
	Bias   *Param // [outC], nil when the layer has no bias

	InC, OutC, K, Stride, Pad int

	// GemmTime, when non-nil, accumulates the time spent in this layer's
	// matrix products.
	GemmTime *GemmTimer
	// SkipInputGrad makes Backward compute only the parameter gradients
	// and return nil: the first layer of a network, whose input is the
	// image, needs no input gradient.
	SkipInputGrad bool

	name string
	e    *Engine

	x     *tensor.Tensor // input of the last Forward, kept for Backward
	y, dx *tensor.Tensor
	yLast *tensor.Tensor // the last output: y or ForwardInto's destination
	col   []float32      // a band of one image's column matrix, in Forward
	dcol  []float32      // Backward's column matrix (the engine's), then dL/dcol
	cols  [][]float32    // a column-matrix band per worker, when images are dealt out
	geom  tensor.ConvGeom
	// The weights packed once per pass for the GEMMs of every image: W for
	// Forward, W^T for the input gradient.
	w, wt gemm.PackedA
	// frozen (see SetFrozen) keeps w from one Forward to the next; packed
	// says w holds the current weights.
	frozen, packed bool
	// fold, when set, multiplies row o of the weights by fold[o] in w: a
	// batch norm folded in for inference (see ConvBNSiLU). packedFold says
	// w was packed so.
	fold       []float32
	packedFold bool

	// act, when set, is applied to each band of output as soon as its
	// GEMM has written it (see Forward and ConvBNSiLU).
	act *epilogue
	// Arguments of the pool bodies below, set before each For.
	out    []float32 // the output image the epilogue runs on
	j0, j1 int       // its band of pixels
	img    []float32 // the image being lowered, or the input gradient
	b0, b1 int       // the band of output rows being lowered
	lower  []float32 // the column matrix it is lowered into
	dy     []float32 // output gradient, for the bias
	plane  int       // pixels per output channel
	batch  int

	// The implicit convolution's state (see implicit): the rows of its
	// column matrix as offsets into a band's padded slab, the slab's
	// size per input channel, the output rows of a band, the GEMM's
	// columns per output row and, for stride 2, the size of a phase.
	offs                            []int
	slabPlane, slabBH, slabW, phase int
	// The GEMM's output before it is scattered to y: an implicit band
	// with its padding columns, or a group of images (see groupSize);
	// one per worker when the work is dealt out.
	tmp  []float32
	tmps [][]float32

	im2colRun, col2imRun, actRun, biasBwdRun, chunksRun, groupsRun parallel.Func
	fwdX, fwdY                                                     *tensor.Tensor // arguments of chunksPart and groupsPart
	chunks                                                         int            // see split
	group                                                          int            // images per GEMM, see groupSize
	bias                                                           epilogue       // the bias alone, as an epilogue
}

// epilogue is the element-wise step that follows a convolution: per
// output channel o, y = scale[o]*y + shift[o] (scale nil meaning 1), then
// SiLU when silu is set. Running it on each band of output right after
// the band's GEMM, while the band is still in cache, saves a pass over
// memory: the largest maps of a batch do not fit in any cache.
type epilogue struct {
	scale, shift []float32
	silu         bool
}

// NewConv2d returns a convolution from inC to outC channels with a k x k
// kernel, zero-initialised; call Init for PyTorch's initialisation.
func NewConv2d(e *Engine, name string, inC, outC, k, stride, pad int, bias bool) *Conv2d {
	if inC < 1 || outC < 1 || k < 1 || stride < 1 || pad < 0 {
		panic(fmt.Sprintf("nn.NewConv2d %s: invalid inC=%d outC=%d k=%d stride=%d pad=%d", name, inC, outC, k, stride, pad))
	}
	c := &Conv2d{
		Weight: NewParam(name+".weight", GroupWeight, outC, inC, k, k),
		InC:    inC, OutC: outC, K: k, Stride: stride, Pad: pad,
		name: name, e: e,
		y: tensor.New(0, outC, 0, 0), dx: tensor.New(0, inC, 0, 0),
	}
	if bias {
		c.Bias = NewParam(name+".bias", GroupBias, outC)
	}
	c.im2colRun = c.im2colPart
	c.col2imRun = c.col2imPart
	c.actRun = c.actPart
	c.chunksRun = c.chunksPart
	c.groupsRun = c.groupsPart
	c.biasBwdRun = c.biasBwdPart
	return c
}

// Init draws the weights and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// fan_in = inC*k*k, which is what PyTorch's default kaiming_uniform_(a=√5)
// and bias initialisation amount to.
func (c *Conv2d) Init(r *rand.Rand) {
	bound := 1 / math.Sqrt(float64(c.InC*c.K*c.K))
	uniform := func(t *tensor.Tensor) {
		for i := range t.Data {
			t.Data[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
	uniform(c.Weight.Value)
	if c.Bias != nil {
		uniform(c.Bias.Value)
	}
}

// SetFrozen(true) promises that the weight stays as it is until the next
// SetFrozen call, letting Forward pack it for the GEMMs once rather than
// on every call: a model in evaluation mode, whose repacking took 4% of
// single-image inference. SetFrozen(false), the default, packs on every
// Forward. Call SetFrozen(true) again after changing a frozen weight.
func (c *Conv2d) SetFrozen(frozen bool) { c.frozen, c.packed = frozen, false }

// Params returns the weight and, if present, the bias.
func (c *Conv2d) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Weight}
	}
	return []*Param{c.Weight, c.Bias}
}

// pointwise reports whether the input image is its own column matrix.
func (c *Conv2d) pointwise() bool { return c.K == 1 && c.Stride == 1 && c.Pad == 0 }

// Forward convolves x [N, inC, H, W] into [N, outC, outH, outW].
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor { return c.ForwardInto(x, c.y) }

// ForwardInto is Forward with the output written into y, resized if its
// shape differs, instead of the layer's own buffer (nil: that buffer).
func (c *Conv2d) ForwardInto(x, y *tensor.Tensor) *tensor.Tensor {
	if y == nil {
		y = c.y
	}
	if c.Bias != nil {
		c.bias.shift = c.Bias.Value.Data
		return c.forward(x, y, &c.bias)
	}
	return c.forward(x, y, nil)
}

// forward is Forward into y followed by act, when not nil, on the output.
func (c *Conv2d) forward(x, y *tensor.Tensor, act *epilogue) *tensor.Tensor {
	n, ch, h, w, err := x.NCHW()
	g := tensor.ConvGeom{C: ch, H: h, W: w, KH: c.K, KW: c.K, Stride: c.Stride, Pad: c.Pad}
	if err != nil || ch != c.InC {
		panic(fmt.Sprintf("nn.Conv2d %s: input shape %v, want [N %d H W]", c.name, x.Shape, c.InC))
	}
	if !g.Valid() {
		panic(fmt.Sprintf("nn.Conv2d %s: input shape %v is smaller than the %dx%d kernel with padding %d", c.name, x.Shape, c.K, c.K, c.Pad))
	}
	c.x, c.geom, c.act, c.yLast = x, g, act, y
	oh, ow := g.OutH(), g.OutW()
	fitNCHW(y, n, c.OutC, oh, ow)
	rows, p := g.ColRows(), oh*ow
	c.plane = p
	if !c.packed || c.packedFold != (c.fold != nil) {
		c.packWeights(rows)
		c.packed, c.packedFold = c.frozen, c.fold != nil
	}
	impl := c.implicit()
	if impl {
		c.setupImplicit()
	}
	c.chunks = c.split(n)
	if nw := c.e.Pool.Workers(); len(c.cols) < nw {
		c.cols = make([][]float32, nw)
		c.tmps = make([][]float32, nw)
	}
	if c.group = c.groupSize(n); c.group > 1 {
		units := (n + c.group - 1) / c.group
		c.fwdX, c.fwdY = x, y
		if c.chunks > 0 {
			c.e.Pool.For(units, 1, c.groupsRun)
		} else {
			for u := range units {
				c.forwardGroup(c.e.Gemm, 0, u*c.group, min((u+1)*c.group, n))
			}
		}
		c.fwdX, c.fwdY = nil, nil
		c.act = nil
		return y
	}
	if c.chunks > 0 {
		c.fwdX, c.fwdY = x, y
		c.e.Pool.For(n*c.chunks, 1, c.chunksRun)
		c.fwdX, c.fwdY = nil, nil
		c.act = nil
		return y
	}
	band := c.band()
	if !impl && !c.pointwise() {
		c.col = fitFloats(c.col, rows*min(band, oh)*ow)
	}
	for i := range n {
		img := x.Data[i*ch*h*w : (i+1)*ch*h*w]
		out := y.Data[i*c.OutC*p : (i+1)*c.OutC*p]
		if impl {
			c.implicitRows(c.e.Gemm, &c.col, &c.tmp, img, out, 0, oh)
			continue
		}
		if c.pointwise() {
			for j0 := 0; j0 < p; j0 += band {
				j1 := min(j0+band, p)
				c.sgemmPacked(&c.w, j1-j0, img[j0:], p, out[j0:], p)
				c.epilogue(out, j0, j1)
			}
			continue
		}
		for b0 := 0; b0 < oh; b0 += band {
			b1 := min(b0+band, oh)
			cols := (b1 - b0) * ow
			c.im2colBand(c.col, img, b0, b1)
			c.sgemmPacked(&c.w, cols, c.col[:rows*cols], cols, out[b0*ow:], p)
			c.epilogue(out, b0*ow, b1*ow)
		}
	}
	c.act = nil
	return y
}

// band is how much of an image Forward lowers and multiplies at a time:
// output rows, or pixels for a pointwise convolution. It is small enough
// that the band's column matrix (and the output band the epilogue then
// reads) stays in cache: a 640-pixel image's first layers would otherwise
// write and re-read 60 MB per image.
func (c *Conv2d) band() int {
	if c.pointwise() {
		// The image is its own column matrix, read in place by the
		// GEMM; bands of whole 32-column panels.
		return max(32, forwardBand/(c.InC+c.OutC)/32*32)
	}
	return max(1, forwardBand/(c.geom.ColRows()*c.geom.OutW()))
}

// split says how Forward deals a batch of n images out to the workers,
// each running its share alone with a single-threaded GEMM, rather than
// sharing every band's im2col, GEMM and epilogue (three synchronisations
// a band, and small GEMMs split unevenly): each image is cut into chunks
// of output rows (of pixels, for a pointwise convolution), whole images
// (chunks 1) when they divide evenly among the workers, or nearly so.
// It returns 0 to share instead: with one worker, when a chunk would
// hold too few pixels for the GEMM's 32-column panels, or when the layer
// is timed (GEMM timing needs one clock).
func (c *Conv2d) split(n int) (chunks int) {
	nw := c.e.Pool.Workers()
	if nw == 1 || c.GemmTime != nil {
		return 0
	}
	if n%nw == 0 || n >= 4*nw {
		return 1
	}
	oh, ow := c.geom.OutH(), c.geom.OutW()
	if oh < nw || oh/nw*ow < 128 {
		return 0
	}
	return nw
}

// groupMaxPixels is the largest output map Forward multiplies several
// images at a time: the GEMM of one 10x10 map has too few columns to run
// its kernels at full speed (100 columns leave a partial 32-wide panel
// and reuse each packed block of the weights little: about 55 GFLOPS
// against 95 for wide products here), while the images of a batch side
// by side make one wide product. From 20x20 maps on, the measured gain
// was lost in the noise (and the implicit convolution serves them).
const groupMaxPixels = 100

// groupBudget bounds, in floats, the column matrix of a group of images.
const groupBudget = 1 << 19

// groupSize returns how many images Forward multiplies at a time: 1
// (each alone) for large maps, a single image, or row chunks; otherwise
// the workers' shares of the batch, as far as groupBudget allows.
func (c *Conv2d) groupSize(n int) int {
	p := c.geom.OutH() * c.geom.OutW()
	if n < 2 || p > groupMaxPixels || c.chunks > 1 {
		return 1
	}
	share := n
	if c.chunks == 1 {
		share = (n + c.e.Pool.Workers() - 1) / c.e.Pool.Workers()
	}
	return max(1, min(share, groupBudget/(c.geom.ColRows()*p)))
}

func (c *Conv2d) groupsPart(w, lo, hi int) {
	n := c.fwdX.Shape[0]
	for u := lo; u < hi; u++ {
		c.forwardGroup(c.e.Solo[w], w, u*c.group, min((u+1)*c.group, n))
	}
}

// forwardGroup computes images [i0, i1) of the batch with one GEMM on gm,
// using worker w's buffers: their column matrices side by side (rows
// (i1-i0)*p long), the product into a scratch matrix, then c.act while
// scattering each image's part to its place in the output.
func (c *Conv2d) forwardGroup(gm *gemm.Gemm, w, i0, i1 int) {
	g, x, y := c.geom, c.fwdX, c.fwdY
	rows, p := g.ColRows(), c.plane
	size := g.C * g.H * g.W
	ld := (i1 - i0) * p
	c.cols[w] = fitFloats(c.cols[w], rows*ld)
	c.tmps[w] = fitFloats(c.tmps[w], c.OutC*ld)
	col, tmp := c.cols[w], c.tmps[w]
	for i := i0; i < i1; i++ {
		img := x.Data[i*size : (i+1)*size]
		dst := col[(i-i0)*p:]
		if c.pointwise() {
			for r := range rows {
				copy(dst[r*ld:r*ld+p], img[r*p:(r+1)*p])
			}
			continue
		}
		tensor.Im2colBandStride(dst, ld, img, g, 0, rows, 0, g.OutH())
	}
	t := c.gemmStart()
	gm.SgemmPacked(&c.w, false, ld, col, ld, 0, tmp, ld)
	c.gemmStop(t)
	for i := i0; i < i1; i++ {
		out := y.Data[i*c.OutC*p : (i+1)*c.OutC*p]
		for o := range c.OutC {
			c.emitRow(out[o*p:(o+1)*p], tmp[o*ld+(i-i0)*p:][:p], o)
		}
	}
}

// chunksPart is Forward for the units [lo, hi) on worker w: unit u is
// chunk u%c.chunks of image u/c.chunks.
func (c *Conv2d) chunksPart(w, lo, hi int) {
	g, x, y := c.geom, c.fwdX, c.fwdY
	size, p, rows := g.C*g.H*g.W, g.OutH()*g.OutW(), g.ColRows()
	oh, ow := g.OutH(), g.OutW()
	gm := c.e.Solo[w]
	band := c.band()
	impl := c.implicit()
	var col []float32
	// Each worker owns cols[w] and tmps[w], grown only on its own; the
	// slices of slices are sized before the For.
	if !impl && !c.pointwise() {
		c.cols[w] = fitFloats(c.cols[w], rows*min(band, oh)*ow)
		col = c.cols[w]
	}
	for u := lo; u < hi; u++ {
		i, k := u/c.chunks, u%c.chunks
		img := x.Data[i*size : (i+1)*size]
		out := y.Data[i*c.OutC*p : (i+1)*c.OutC*p]
		r0, r1 := k*oh/c.chunks, (k+1)*oh/c.chunks
		if impl {
			c.implicitRows(gm, &c.cols[w], &c.tmps[w], img, out, r0, r1)
			continue
		}
		if c.pointwise() {
			for j0 := r0 * ow; j0 < r1*ow; j0 += band {
				j1 := min(j0+band, r1*ow)
				gm.SgemmPacked(&c.w, false, j1-j0, img[j0:], p, 0, out[j0:], p)
				c.applyAct(out, j0, j1, 0, c.OutC)
			}
			continue
		}
		for b0 := r0; b0 < r1; b0 += band {
			b1 := min(b0+band, r1)
			n := (b1 - b0) * ow
			tensor.Im2colBand(col, img, g, 0, rows, b0, b1)
			gm.SgemmPacked(&c.w, false, n, col[:rows*n], n, 0, out[b0*ow:], p)
			c.applyAct(out, b0*ow, b1*ow, 0, c.OutC)
		}
	}
}

// implicitMinW is the narrowest output an implicit convolution serves:
// it computes a padding column per row and drops it, 1/(W+1) of extra
// multiply-adds, against im2col's copy of the input (9 or 2.25 times
// over). Measured on yolov8n's
// layers for one image at one thread, at 10x10 outputs implicit was as
// fast for 64 and 128 input channels and 20-38% faster for 256 (whose
// 2304-row column matrix spills out of L2); at stride 2 it was 8-25%
// faster from 10x10 to 160x160.
const implicitMinW = 8

// implicit reports whether Forward multiplies straight from the input
// rather than through an im2col column matrix: a 3x3 convolution with
// padding 1 and stride 1 or 2 (all of YOLOv8's but the 1x1 ones) whose
// output is wide enough, on a GEMM kernel that reads rows in place at
// given offsets. A band of output rows needs only its input rows with a
// zero border (the slab), and each row of the band's column matrix is
// the slab read at some offset, so the column matrix (nine times the
// input at stride 1, 2.25 times at stride 2) is never written.
//
// At stride 1 each slab row is an input row behind a zero, W+1 floats,
// the zero also padding the row before on the right: row (ch, ky, kx) of
// the column matrix is ch's plane read from ky*(W+1)+kx, and the GEMM
// computes W+1 outputs per row, the last of which is dropped.
//
// At stride 2 the slab holds each channel as four phases, the input's
// (even|odd rows) x (even|odd columns), each with a zero row and column
// in front and rows of OutW+1. Output (oy, ox) reads input rows 2oy-1,
// 2oy and 2oy+1: odd phase row oy-1, even phase row oy and odd phase row
// oy, that is phase rows oy+0, oy+1 and oy+1 counting the zero row, and
// the same for columns. So row (ch, ky, kx) is one phase read at a
// fixed offset, and the GEMM computes OutW+1 outputs per row, the last
// dropped.
func (c *Conv2d) implicit() bool {
	return c.K == 3 && c.Pad == 1 && (c.Stride == 1 || c.Stride == 2) &&
		c.geom.OutW() >= implicitMinW && c.e.Gemm.Kernel().Indexed()
}

// setupImplicit sizes the bands and the row offsets for c.geom.
func (c *Conv2d) setupImplicit() {
	g := c.geom
	c.offs = c.offs[:0]
	if c.Stride == 1 {
		wp := g.W + 1
		c.slabW = wp
		c.slabBH = max(1, min(g.OutH(), forwardBand/(g.C*wp)-2))
		// Two floats past the rows: the zero right of the last row, and
		// one that only the dropped column reads.
		c.slabPlane = (c.slabBH+2)*wp + 2
		for ch := range g.C {
			for ky := range 3 {
				for kx := range 3 {
					c.offs = append(c.offs, ch*c.slabPlane+ky*wp+kx)
				}
			}
		}
		return
	}
	wq := g.OutW() + 1
	c.slabW = wq
	c.slabBH = max(1, min(g.OutH(), forwardBand/(4*g.C*wq)-1))
	// One float of slack: the dropped column of a band's last row reads
	// one past its phase.
	c.phase = (c.slabBH+1)*wq + 1
	c.slabPlane = 4 * c.phase
	// Kernel row (or column) k reads the odd phase (1) at offset 0 for
	// k = 0, the even one (0) at offset 1 for k = 1, the odd one at
	// offset 1 for k = 2.
	par, off := [3]int{1, 0, 1}, [3]int{0, 1, 1}
	for ch := range g.C {
		for ky := range 3 {
			for kx := range 3 {
				ph := 2*par[ky] + par[kx]
				c.offs = append(c.offs, ch*c.slabPlane+ph*c.phase+off[ky]*wq+off[kx])
			}
		}
	}
}

// implicitRows computes output rows [r0, r1) of image img into out with
// gm, a band of c.slabBH rows at a time, through *slab and *tmp, grown
// as the bands need.
func (c *Conv2d) implicitRows(gm *gemm.Gemm, slab, tmp *[]float32, img, out []float32, r0, r1 int) {
	*slab = fitFloats(*slab, c.geom.C*c.slabPlane)
	*tmp = fitFloats(*tmp, c.OutC*c.slabBH*c.slabW)
	for b0 := r0; b0 < r1; b0 += c.slabBH {
		c.implicitBand(gm, *slab, *tmp, img, out, b0, min(b0+c.slabBH, r1))
	}
}

// implicitBand computes output rows [b0, b1) of image img into out with
// gm, through slab (the padded input rows) and tmp (the GEMM's rows of
// c.slabW), then applies c.act while dropping the padding columns.
func (c *Conv2d) implicitBand(gm *gemm.Gemm, slab, tmp, img, out []float32, b0, b1 int) {
	if c.Stride == 1 {
		c.fillSlab(slab, img, b0, b1)
	} else {
		c.fillPhases(slab, img, b0, b1)
	}
	g, wp := c.geom, c.slabW
	n := (b1 - b0) * wp
	t := c.gemmStart()
	gm.SgemmIndexed(&c.w, n, slab[:g.C*c.slabPlane], c.offs, 0, tmp, n)
	c.gemmStop(t)
	p, ow := c.plane, g.OutW()
	for o := range c.OutC {
		for r := range b1 - b0 {
			c.emitRow(out[o*p+(b0+r)*ow:][:ow], tmp[o*n+r*wp:][:ow], o)
		}
	}
}

// fillSlab copies the input rows that stride-1 output rows [b0, b1) read
// into slab, each behind a zero, which is also the right padding of the
// row before it: row r of the slab is [0, input row b0+r-1].
func (c *Conv2d) fillSlab(slab, img []float32, b0, b1 int) {
	g := c.geom
	w, wp, hw := g.W, c.slabW, g.H*g.W
	rows := b1 - b0 + 2
	for ch := range g.C {
		plane := slab[ch*c.slabPlane : (ch+1)*c.slabPlane]
		src := img[ch*hw : (ch+1)*hw]
		// Output rows [b0, b1) read input rows [b0-1, b1+1), and the last
		// one's right padding. What lies past it in the plane feeds only
		// dropped columns.
		for r := range rows {
			d := plane[r*wp : (r+1)*wp]
			iy := b0 + r - 1
			if iy < 0 || iy >= g.H {
				clear(d)
				continue
			}
			d[0] = 0
			copy(d[1:], src[iy*w:(iy+1)*w])
		}
		plane[rows*wp] = 0
	}
}

// fillPhases copies the input rows that stride-2 output rows [b0, b1)
// read into slab's four phases per channel: phase row r of row parity a
// is input row 2(b0-1+r)+a, split into its even and odd columns behind a
// zero.
func (c *Conv2d) fillPhases(slab, img []float32, b0, b1 int) {
	g := c.geom
	w, wq, hw, ph := g.W, c.slabW, g.H*g.W, c.phase
	ne, no := (w+1)/2, w/2 // even and odd columns of a row, both < wq
	for ch := range g.C {
		src := img[ch*hw : (ch+1)*hw]
		base := slab[ch*c.slabPlane:]
		for a := range 2 {
			base[2*a*ph+ph-1], base[(2*a+1)*ph+ph-1] = 0, 0
		}
		// Input rows in order (row parity a alternating), which the
		// hardware prefetcher follows better than every other row.
		for q := range 2 * (b1 - b0 + 1) {
			r, a := q/2, q%2
			de := base[2*a*ph+r*wq:][:wq]
			do := base[(2*a+1)*ph+r*wq:][:wq]
			iy := 2*(b0-1) + q
			if iy < 0 || iy >= g.H {
				clear(de)
				clear(do)
				continue
			}
			de[0], do[0] = 0, 0
			vmath.Deinterleave(de[1:1+ne], do[1:1+no], src[iy*w:(iy+1)*w])
			clear(de[1+ne:])
			clear(do[1+no:])
		}
	}
}

// emitRow writes c.act of src, output channel o's values, into dst (which
// may be src).
func (c *Conv2d) emitRow(dst, src []float32, o int) {
	a := c.act
	if a == nil {
		copy(dst, src)
		return
	}
	scale := float32(1)
	if a.scale != nil {
		scale = a.scale[o]
	}
	if a.silu {
		vmath.SiLUAffineInfer(dst, src, scale, a.shift[o])
	} else {
		bnAffine(dst, src, scale, a.shift[o])
	}
}

// epilogue applies c.act to pixels [j0, j1) of every channel of out.
func (c *Conv2d) epilogue(out []float32, j0, j1 int) {
	if c.act == nil {
		return
	}
	c.out, c.j0, c.j1 = out, j0, j1
	c.e.Pool.For(c.OutC, 1, c.actRun)
	c.out = nil
}

func (c *Conv2d) actPart(_, lo, hi int) { c.applyAct(c.out, c.j0, c.j1, lo, hi) }

// applyAct applies c.act to pixels [j0, j1) of channels [lo, hi) of out.
func (c *Conv2d) applyAct(out []float32, j0, j1, lo, hi int) {
	a, p := c.act, c.plane
	if a == nil {
		return
	}
	for o := lo; o < hi; o++ {
		y := out[o*p+j0 : o*p+j1]
		c.emitRow(y, y, o)
	}
}

// Backward adds dL/dW (and dL/dbias) for the last Forward into the
// parameters' gradients and returns dL/dx, or nil with SkipInputGrad.
func (c *Conv2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if c.x == nil {
		panic(fmt.Sprintf("nn.Conv2d %s: Backward before Forward", c.name))
	}
	checkGradShape("nn.Conv2d", c.name, dy, c.yLast)
	g := c.geom
	n, p, rows := c.x.Shape[0], g.ColCols(), g.ColRows()
	size := g.C * g.H * g.W
	dw := c.Weight.Grad.Data
	if !c.SkipInputGrad {
		fitNCHW(c.dx, n, g.C, g.H, g.W)
		c.packA(&c.wt, true, rows, c.OutC, c.Weight.Value.Data, rows)
	}
	if !c.pointwise() {
		// The weight gradient's dot kernels want whole rows of columns.
		c.e.bwdCol = fitFloats(c.e.bwdCol, rows*p)
		c.dcol = c.e.bwdCol
	}
	for i := range n {
		img := c.x.Data[i*size : (i+1)*size]
		d := dy.Data[i*c.OutC*p : (i+1)*c.OutC*p]
		if c.pointwise() {
			c.sgemm(false, true, c.OutC, rows, p, d, p, img, p, 1, dw, rows)
			if !c.SkipInputGrad {
				c.sgemmPacked(&c.wt, p, d, p, c.dx.Data[i*size:(i+1)*size], p)
			}
			continue
		}
		c.im2colBand(c.dcol, img, 0, g.OutH())
		c.sgemm(false, true, c.OutC, rows, p, d, p, c.dcol, p, 1, dw, rows)
		if c.SkipInputGrad {
			continue
		}
		// The columns have served dW; overwrite them with dL/dcol.
		c.sgemmPacked(&c.wt, p, d, p, c.dcol, p)
		c.img = c.dx.Data[i*size : (i+1)*size]
		c.e.Pool.For(g.C, 1, c.col2imRun)
	}
	c.img, c.dcol = nil, nil
	if c.Bias != nil {
		c.dy, c.plane, c.batch = dy.Data, p, n
		c.e.Pool.For(c.OutC, 1, c.biasBwdRun)
		c.dy = nil
	}
	if c.SkipInputGrad {
		return nil
	}
	return c.dx
}

// The GEMM calls go through these wrappers, which time them when
// GemmTime is set.

func (c *Conv2d) sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, out []float32, ldc int) {
	t := c.gemmStart()
	c.e.Gemm.Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, out, ldc)
	c.gemmStop(t)
}

// packWeights packs the weights, each row of rows values times its fold
// factor when c.fold is set, into w for Forward's GEMMs.
func (c *Conv2d) packWeights(rows int) {
	w := c.Weight.Value.Data
	if c.fold != nil {
		c.e.foldW = fitFloats(c.e.foldW, len(w))
		fw := c.e.foldW
		for o, f := range c.fold {
			for i, v := range w[o*rows : (o+1)*rows] {
				fw[o*rows+i] = v * f
			}
		}
		w = fw
	}
	c.packA(&c.w, false, c.OutC, rows, w, rows)
}

func (c *Conv2d) packA(dst *gemm.PackedA, transA bool, m, k int, a []float32, lda int) {
	t := c.gemmStart()
	c.e.Gemm.PackA(dst, transA, m, k, 1, a, lda)
	c.gemmStop(t)
}

func (c *Conv2d) sgemmPacked(pa *gemm.PackedA, n int, b []float32, ldb int, out []float32, ldc int) {
	t := c.gemmStart()
	c.e.Gemm.SgemmPacked(pa, false, n, b, ldb, 0, out, ldc)
	c.gemmStop(t)
}

func (c *Conv2d) gemmStart() time.Time {
	if c.GemmTime == nil {
		return time.Time{}
	}
	return time.Now()
}

func (c *Conv2d) gemmStop(start time.Time) {
	if c.GemmTime != nil {
		c.GemmTime.Elapsed += time.Since(start)
		c.GemmTime.Calls++
	}
}

// forwardBand is the size, in floats, of the column matrix Forward lowers
// at a time: 512 KB, a quarter of a core's L2 cache here, leaving room for
// GEMM's packed copy.
const forwardBand = 1 << 17

// im2colBand lowers the output rows [b0, b1) of img into col on all
// workers, split by rows.
func (c *Conv2d) im2colBand(col, img []float32, b0, b1 int) {
	c.lower, c.img, c.b0, c.b1 = col, img, b0, b1
	c.e.Pool.For(c.geom.ColRows(), 1, c.im2colRun)
	c.lower, c.img = nil, nil
}

func (c *Conv2d) im2colPart(_, lo, hi int) {
	tensor.Im2colBand(c.lower, c.img, c.geom, lo, hi, c.b0, c.b1)
}

// col2imPart overwrites channels [lo, hi) of c.img with the image gradient
// held in c.dcol.
func (c *Conv2d) col2imPart(_, lo, hi int) {
	hw := c.geom.H * c.geom.W
	clear(c.img[lo*hw : hi*hw])
	tensor.Col2imChannels(c.img, c.dcol, c.geom, lo, hi)
}

func (c *Conv2d) biasBwdPart(_, lo, hi int) {
	gb := c.Bias.Grad.Data
	for o := lo; o < hi; o++ {
		var s float64
		for i := range c.batch {
			s += float64(sumPlane(c.dy[(i*c.OutC+o)*c.plane : (i*c.OutC+o+1)*c.plane]))
		}
		gb[o] += float32(s)
	}
}

// sumPlane adds up s with four accumulators, which both shortens the
// dependency chain and keeps float32 rounding error small.
func sumPlane(s []float32) float32 {
	var a0, a1, a2, a3 float32
	i := 0
	for ; i+4 <= len(s); i += 4 {
		v := s[i : i+4 : i+4]
		a0 += v[0]
		a1 += v[1]
		a2 += v[2]
		a3 += v[3]
	}
	for ; i < len(s); i++ {
		a0 += s[i]
	}
	return (a0 + a1) + (a2 + a3)
}

// fitNCHW gives t the shape [n, c, h, w] unless it has it already:
// Tensor.Reshape's variadic shape escapes, so calling it on every step
// would allocate.
func fitNCHW(t *tensor.Tensor, n, c, h, w int) {
	if len(t.Shape) == 4 && t.Shape[0] == n && t.Shape[1] == c && t.Shape[2] == h && t.Shape[3] == w {
		return
	}
	t.Reshape(n, c, h, w)
}

// fitFloats returns s resized to n elements, reallocated only to grow.
func fitFloats(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// ConvBNSiLU is a convolution without bias followed by batch
// normalisation and SiLU, Ultralytics' Conv module, with padding k/2. The
// normalisation and the activation run as one pass over memory.
//
// In evaluation mode the three run fused: the normalisation (with its
// running statistics) is folded into the convolution's weights and bias
// as Ultralytics fuses them for inference, and the bias and SiLU are
// applied to each band of the convolution's output as soon as it is
// computed (see epilogue).
type ConvBNSiLU struct {
	Conv *Conv2d
	BN   *BatchNorm2d

	act   epilogue
	fused bool // the last Forward ran fused, keeping nothing for Backward
}

// NewConvBNSiLU returns the block with a zero convolution (call Init) and
// a fresh, training-mode batch norm.
func NewConvBNSiLU(e *Engine, name string, inC, outC, k, stride int) *ConvBNSiLU {
	bn := NewBatchNorm2d(e, name+".bn", outC)
	bn.silu = true
	// The gradient at the convolution's output lives only until the
	// convolution's Backward has read it: share one buffer engine-wide.
	bn.dx = e.bnDx
	return &ConvBNSiLU{Conv: NewConv2d(e, name+".conv", inC, outC, k, stride, k/2, false), BN: bn}
}

// Init initialises the convolution as PyTorch does and resets the batch
// norm to identity with fresh running statistics.
func (b *ConvBNSiLU) Init(r *rand.Rand) {
	b.Conv.Init(r)
	b.BN.Reset()
}

// SetTrain switches the batch norm between batch and running statistics
// and, in evaluation mode, freezes the convolution (see SetFrozen).
func (b *ConvBNSiLU) SetTrain(train bool) {
	b.BN.SetTrain(train)
	b.Conv.SetFrozen(!train)
}

// Params returns the convolution weight, then the batch norm's gamma and beta.
func (b *ConvBNSiLU) Params() []*Param {
	return []*Param{b.Conv.Weight, b.BN.Weight, b.BN.Bias}
}

// Forward computes SiLU(BN(conv(x))).
func (b *ConvBNSiLU) Forward(x *tensor.Tensor) *tensor.Tensor { return b.ForwardInto(x, nil) }

// ForwardInto is Forward with the output written into y, resized if its
// shape differs, instead of the block's own buffer (nil: that buffer,
// the batch norm's output). In evaluation mode the batch norm is folded
// into the convolution's weights, as Ultralytics fuses Conv and
// BatchNorm for inference, leaving the folded bias and SiLU to the
// epilogue, and the fused pass writes into y directly; in training mode
// the output is copied, as Backward needs the block's own.
func (b *ConvBNSiLU) ForwardInto(x, y *tensor.Tensor) *tensor.Tensor {
	if y == nil {
		// The batch norm's output, where the unfused pass puts it, so that
		// a Backward redoing that pass rewrites the same values.
		y = b.BN.y
	}
	b.fused = !b.BN.train
	if !b.fused {
		b.Conv.fold = nil
		if out := b.BN.Forward(b.Conv.Forward(x)); out != y {
			fitLike(y, out)
			copy(y.Data, out.Data)
		}
		return y
	}
	b.BN.fold()
	b.Conv.fold = b.BN.scale
	b.act = epilogue{shift: b.BN.shift, silu: true}
	return b.Conv.forward(x, y, &b.act)
}

// Backward returns dL/dx and accumulates the gradients of all three
// parameters.
func (b *ConvBNSiLU) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if b.fused {
		// Gradients in evaluation mode are rare (frozen statistics): redo
		// the pass unfused to get what Backward needs.
		b.Conv.fold = nil
		b.BN.Forward(b.Conv.Forward(b.Conv.x))
		b.fused = false
	}
	return b.Conv.Backward(b.BN.Backward(dy))
}

// checkGradShape panics, naming the layer and both shapes, when the output
// gradient dy does not have the shape of the output y. The message is
// built only on failure, keeping Backward free of allocations.
func checkGradShape(layer, name string, dy, y *tensor.Tensor) {
	if !dy.SameShape(y) {
		panic(fmt.Sprintf("%s %s Backward: output gradient shape %v, want the output's %v", layer, name, dy.Shape, y.Shape))
	}
}
