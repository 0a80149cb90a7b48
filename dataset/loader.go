package dataset

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/yolops/yolops/imgproc"
)

// LoaderOptions configure a Loader. TrainOptions and ValOptions return
// what Ultralytics 8.2 uses for training and validation.
type LoaderOptions struct {
	// ImgSz is the training size: images are loaded with their long side
	// resized to it, and batches are ImgSz x ImgSz (Rect batches are
	// smaller on one side).
	ImgSz int
	// Batch is the number of images per batch; the last batch of an
	// epoch holds the rest.
	Batch int
	// Augment applies the training transforms (mosaic, random
	// perspective, mixup, HSV, flips) with Hyp; without it images are
	// only letterboxed.
	Augment bool
	Hyp     Hyp
	// Rect sorts the images by aspect ratio and letterboxes each batch
	// to the smallest stride-multiple rectangle holding its shapes
	// (Ultralytics' rect batches, used for validation). It turns mosaic
	// and mixup off and the order fixed, as Ultralytics does.
	Rect bool
	// Stride is the multiple rect batch shapes are rounded up to (the
	// model's largest stride, 32 for YOLOv8).
	Stride int
	// Pad is added to rect batch shapes, in strides, before rounding up:
	// Ultralytics uses 0.5 for validation and 0 for training.
	Pad float64
	// Shuffle visits the images in a new random order each epoch;
	// without it the order is fixed (the file order, or the aspect-ratio
	// order with Rect).
	Shuffle bool
	// Seed makes the epoch orders and augmentations reproducible: a
	// given (Seed, epoch, image) gets the same random numbers whatever
	// the number of workers or the order they finish in.
	Seed uint64
	// Workers is how many images are decoded and augmented at once
	// (default GOMAXPROCS).
	Workers int
	// Prefetch is how many batches are prepared ahead of the one being
	// consumed (default 2).
	Prefetch int
	// CacheRAM keeps every loaded (resized) image in memory, as
	// Ultralytics' cache=ram. Otherwise augmentation keeps the most
	// recently loaded ones, as many as its mosaic buffer holds, and
	// validation keeps none.
	CacheRAM bool
	// CacheBudget, in bytes, keeps every loaded image in memory, as
	// CacheRAM, when the images resized to ImgSz surely fit in it
	// (ImgSz² × 3 bytes each): a validation set that is read again every
	// epoch is then decoded once.
	CacheBudget int64
	// NC, when positive, is the number of classes: a label with a class
	// outside [0, NC) is an error.
	NC int
}

// TrainOptions returns Ultralytics' training loader settings: default
// hyperparameters, augmentation, a shuffled order, stride 32.
func TrainOptions(imgsz, batch int) LoaderOptions {
	return LoaderOptions{ImgSz: imgsz, Batch: batch, Augment: true, Hyp: DefaultHyp(),
		Stride: 32, Shuffle: true}
}

// ValOptions returns Ultralytics' validation loader settings: rect
// batches padded by half a stride, no augmentation, a fixed order.
// (Ultralytics' trainer validates with twice the training batch size.)
func ValOptions(imgsz, batch int) LoaderOptions {
	return LoaderOptions{ImgSz: imgsz, Batch: batch, Rect: true, Stride: 32, Pad: 0.5, Hyp: DefaultHyp()}
}

// Loader turns a list of items into batches, decoding and augmenting
// images on a bounded set of goroutines while the caller works on the
// previous batch. It mirrors Ultralytics 8.2's YOLODataset, its
// transforms and collate_fn; see Epoch.
type Loader struct {
	opts  LoaderOptions
	items []Item // in dataset order (aspect-ratio order with Rect)

	// batchShapes are the rect batches' (height, width).
	batchShapes [][2]int
	// bufLen is the mosaic buffer's length, Ultralytics'
	// max_buffer_length: min(images, 8 batches, 1000).
	bufLen int
	cache  *imageCache

	// canvases recycles mosaic canvases (2*ImgSz squared), which only
	// live until RandomPerspective has warped them.
	canvases sync.Pool

	mu        sync.Mutex
	mosaicOff bool
	memoEpoch int   // the epoch whose starting buffer memoStart holds; -1: none
	memoStart []int // the mosaic buffer at the start of memoEpoch
}

// NewLoader checks items and opts and prepares a loader. With Rect it
// needs every image's size: Item.W and Item.H when set (Scan sets
// them), else the image is decoded once here.
func NewLoader(items []Item, opts LoaderOptions) (*Loader, error) {
	if len(items) == 0 {
		return nil, errors.New("dataset: loader: no images")
	}
	switch {
	case opts.ImgSz <= 0:
		return nil, fmt.Errorf("dataset: loader: image size %d: must be positive", opts.ImgSz)
	case opts.Batch <= 0:
		return nil, fmt.Errorf("dataset: loader: batch size %d: must be positive", opts.Batch)
	case opts.Workers < 0:
		return nil, fmt.Errorf("dataset: loader: %d workers: must not be negative", opts.Workers)
	case opts.Prefetch < 0:
		return nil, fmt.Errorf("dataset: loader: prefetch %d: must not be negative", opts.Prefetch)
	case opts.Rect && opts.Stride <= 0:
		return nil, fmt.Errorf("dataset: loader: stride %d: rect batches need a positive stride", opts.Stride)
	case opts.Rect && (math.IsNaN(opts.Pad) || math.IsInf(opts.Pad, 0) || opts.Pad < 0):
		return nil, fmt.Errorf("dataset: loader: rect padding %v: must be a non-negative number", opts.Pad)
	}
	if opts.Augment {
		if err := opts.Hyp.Validate(); err != nil {
			return nil, fmt.Errorf("dataset: loader: %w", err)
		}
	}
	for _, it := range items {
		for k, lb := range it.Labels {
			if err := checkLabel(lb, opts.NC); err != nil {
				return nil, fmt.Errorf("dataset: loader: %s: label %d: %w", labelSource(it), k+1, err)
			}
		}
	}
	if opts.Workers == 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Prefetch == 0 {
		opts.Prefetch = 2
	}
	if opts.Rect {
		// Ultralytics: rect turns mosaic and mixup off and the order fixed.
		opts.Hyp.Mosaic, opts.Hyp.Mixup, opts.Shuffle = 0, 0, false
	}
	l := &Loader{opts: opts, items: append([]Item(nil), items...), memoEpoch: -1}
	if opts.Rect {
		if err := l.setRectangle(); err != nil {
			return nil, err
		}
	}
	n := len(l.items)
	cacheCap := 0
	if opts.Augment {
		l.bufLen = min(n, opts.Batch*8, 1000)
		cacheCap = l.bufLen
	}
	if opts.CacheRAM || int64(n)*int64(opts.ImgSz)*int64(opts.ImgSz)*3 <= opts.CacheBudget {
		cacheCap = n
	}
	l.cache = newImageCache(cacheCap)
	return l, nil
}

func checkLabel(lb Label, nc int) error {
	for _, v := range [4]float32{lb.X, lb.Y, lb.W, lb.H} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("box (%v %v %v %v) is not finite", lb.X, lb.Y, lb.W, lb.H)
		}
	}
	if lb.Class < 0 || (nc > 0 && lb.Class >= nc) {
		return fmt.Errorf("class %d outside [0, %d)", lb.Class, nc)
	}
	return nil
}

func labelSource(it Item) string {
	if it.Label != "" {
		return it.Label
	}
	return it.Image
}

// Len is the number of batches in an epoch.
func (l *Loader) Len() int { return (len(l.items) + l.opts.Batch - 1) / l.opts.Batch }

// Items returns the items in the loader's dataset order: as given, or
// sorted by aspect ratio with Rect. Fixed-order epochs visit them in
// this order. The slice is the loader's own and must not be changed.
func (l *Loader) Items() []Item { return l.items }

// Options returns the options in effect (defaults filled in).
func (l *Loader) Options() LoaderOptions { return l.opts }

// CloseMosaic turns mosaic, mixup and copy-paste off for the epochs that
// start after it, as Ultralytics' trainer does for the last close_mosaic
// epochs (training then letterboxes each image and keeps the other
// augmentations).
func (l *Loader) CloseMosaic() {
	l.mu.Lock()
	l.mosaicOff = true
	l.mu.Unlock()
}

// hyp returns the hyperparameters for an epoch starting now.
func (l *Loader) hyp() Hyp {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.opts.Hyp
	if l.mosaicOff {
		h.Mosaic, h.Mixup, h.CopyPaste = 0, 0, 0
	}
	return h
}

// Random streams: every epoch order and every sample gets its own PCG
// generator, seeded from the loader's seed and what it is for through
// splitmix64, so results do not depend on which goroutine runs first.
const (
	streamOrder  = 0x6f72646572 // "order"
	streamSample = 0x73616d706c // "sampl"
)

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (l *Loader) rng(stream uint64, epoch, index int) *rand.Rand {
	s1 := splitmix64(l.opts.Seed ^ splitmix64(stream))
	s2 := splitmix64(splitmix64(uint64(epoch)) ^ uint64(index))
	return rand.New(rand.NewPCG(s1, s2))
}

// order returns the dataset indices in the order epoch visits them.
func (l *Loader) order(epoch int) []int {
	n := len(l.items)
	if l.opts.Shuffle {
		return l.rng(streamOrder, epoch, 0).Perm(n)
	}
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}

// Epoch returns the batches of one epoch, in order. Batches are made by
// Workers goroutines, at most Prefetch batches ahead of the one the
// caller holds; breaking out of the loop or cancelling ctx stops them
// (the iterator returns only when they have). The first error (an
// unreadable image, a cancelled context) is yielded with a nil batch and
// ends the epoch.
//
// Training (Augment) follows Ultralytics' v8_transforms for each image:
// Mosaic (with probability Hyp.Mosaic; its three other images come from
// the mosaic buffer, Ultralytics' list of recently loaded images,
// simulated here as one Ultralytics worker would fill it in this epoch's
// order, carried over from the previous epochs), RandomPerspective
// (after a letterbox when there is no mosaic), MixUp, RandomHSV, the
// vertical and horizontal flips; then Format and collate_fn. Validation
// letterboxes each image to its batch shape. Epoch numbers count from
// 0; any epoch can be asked for, in any order.
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(nil, err)
			return
		}
		hyp := l.hyp()
		order := l.order(epoch)
		var plan *bufferPlan
		if l.opts.Augment && hyp.Mosaic > 0 {
			plan = l.bufferPlan(epoch, order)
		}
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()

		type job struct {
			b   *pendingBatch
			k   int // image within the batch
			pos int // position in the epoch
		}
		jobs := make(chan job)
		ready := make(chan *pendingBatch, l.opts.Prefetch)
		wg.Add(1)
		go func() { // dispatcher: batches in order, at most Prefetch ahead
			defer wg.Done()
			defer close(ready)
			defer close(jobs)
			for bi := range l.Len() {
				lo, hi := bi*l.opts.Batch, min((bi+1)*l.opts.Batch, len(order))
				h, w := l.opts.ImgSz, l.opts.ImgSz
				if l.opts.Rect {
					h, w = l.batchShapes[bi][0], l.batchShapes[bi][1]
				}
				p := newPending(newBatch(epoch, bi, hi-lo, h, w, !l.opts.Augment))
				select {
				case ready <- p:
				case <-ctx.Done():
					return
				}
				for k := range hi - lo {
					select {
					case jobs <- job{p, k, lo + k}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		for range l.opts.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					if ctx.Err() != nil {
						j.b.done(j.k, nil, ctx.Err())
						continue
					}
					s, err := l.makeSample(epoch, order, j.pos, plan, &hyp)
					if err == nil && (s.img.W != j.b.batch.W || s.img.H != j.b.batch.H) {
						err = fmt.Errorf("dataset: %s: made a %dx%d image for a %dx%d batch",
							s.path, s.img.W, s.img.H, j.b.batch.W, j.b.batch.H)
					}
					if err == nil {
						j.b.batch.put(j.k, s)
					}
					j.b.done(j.k, s, err)
				}
			}()
		}
		for p := range ready {
			select {
			case <-p.finished:
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
			if p.err != nil {
				yield(nil, p.err)
				return
			}
			p.batch.collate(p.samples)
			if !yield(p.batch, nil) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// pendingBatch is a batch whose images the workers are making.
type pendingBatch struct {
	batch    *Batch
	samples  []*sample
	left     atomic.Int32
	errOnce  sync.Once
	err      error
	finished chan struct{}
}

func newPending(b *Batch) *pendingBatch {
	p := &pendingBatch{batch: b, samples: make([]*sample, b.N), finished: make(chan struct{})}
	p.left.Store(int32(b.N))
	return p
}

// done records image k's sample or error; the last one closes finished.
func (p *pendingBatch) done(k int, s *sample, err error) {
	if err != nil {
		p.errOnce.Do(func() { p.err = err })
	} else {
		p.samples[k] = s
	}
	if p.left.Add(-1) == 0 {
		close(p.finished)
	}
}

// makeSample makes the sample at position pos of the epoch.
func (l *Loader) makeSample(epoch int, order []int, pos int, plan *bufferPlan, hyp *Hyp) (*sample, error) {
	index := order[pos]
	if !l.opts.Augment {
		return l.valSample(index, l.shapeOf(pos))
	}
	d := rngDraws{l.rng(streamSample, epoch, index)}
	var pool []int
	if plan != nil {
		pool = plan.window(pos)
	}
	return l.trainSample(index, pool, l.shapeOf(pos), d, hyp)
}

// shapeOf is the (height, width) the image at epoch position pos is
// letterboxed to when it is not part of a mosaic.
func (l *Loader) shapeOf(pos int) [2]int {
	if l.opts.Rect {
		return l.batchShapes[pos/l.opts.Batch]
	}
	return [2]int{l.opts.ImgSz, l.opts.ImgSz}
}

// getImageAndLabel is BaseDataset.get_image_and_label: the loaded image,
// a copy of its labels (normalised xywh) and its ratio_pad.
func (l *Loader) getImageAndLabel(index int) (*sample, error) {
	img, h0, w0, err := l.loadImage(index)
	if err != nil {
		return nil, err
	}
	it := &l.items[index]
	s := &sample{img: img, path: it.Image, origH: h0, origW: w0, shapeH: img.H, shapeW: img.W,
		cls: make([]float32, len(it.Labels)), boxes: make([][4]float32, len(it.Labels))}
	for k, lb := range it.Labels {
		s.cls[k] = float32(lb.Class)
		s.boxes[k] = [4]float32{lb.X, lb.Y, lb.W, lb.H}
	}
	s.ratioPad = &RatioPad{RatioH: float64(img.H) / float64(h0), RatioW: float64(img.W) / float64(w0)}
	return s, nil
}

// loadImage is BaseDataset.load_image (rect_mode, as detection datasets
// call it): the image with its long side resized to ImgSz, keeping its
// aspect ratio, with cv2.INTER_LINEAR (Ultralytics 8.2 uses it for every
// resize; INTER_AREA was YOLOv5's and early v8's rule). The sides are
// min(ceil(side*r), ImgSz) for r = ImgSz/long side, computed in float64
// as Python does. It returns the image, shared through the cache and not
// to be changed, and the original height and width.
func (l *Loader) loadImage(index int) (*imgproc.RGB, int, int, error) {
	return l.cache.get(index, func() (*imgproc.RGB, int, int, error) {
		path := l.items[index].Image
		im, err := imgproc.Load(path)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("dataset: %w", err)
		}
		return l.resizeLoaded(im), im.H, im.W, nil
	})
}

// resizeLoaded is load_image's resize of a decoded image.
func (l *Loader) resizeLoaded(im *imgproc.RGB) *imgproc.RGB {
	sz := float64(l.opts.ImgSz)
	r := min(sz/float64(im.H), sz/float64(im.W))
	if r == 1 {
		return im
	}
	w := min(int(math.Ceil(float64(im.W)*r)), l.opts.ImgSz)
	h := min(int(math.Ceil(float64(im.H)*r)), l.opts.ImgSz)
	return imgproc.Resize(im, max(w, 1), max(h, 1))
}

// valSample is the validation pipeline: LetterBox(scaleup=False) to the
// batch shape, then Format.
func (l *Loader) valSample(index int, shape [2]int) (*sample, error) {
	s, err := l.getImageAndLabel(index)
	if err != nil {
		return nil, err
	}
	s.letterbox(shape[0], shape[1], false)
	s.finishLabels(false)
	return s, nil
}

// trainSample is v8_transforms followed by Format for the image index:
// pre_transform (Mosaic, CopyPaste, RandomPerspective), MixUp, RandomHSV,
// RandomFlip vertical then horizontal. pool is the mosaic buffer at this
// point of the epoch and shape the letterbox target without mosaic.
func (l *Loader) trainSample(index int, pool []int, shape [2]int, d draws, hp *Hyp) (*sample, error) {
	s, err := l.preTransform(index, pool, shape, d, hp)
	if err != nil {
		return nil, err
	}
	if !(d.uniform(0, 1) > hp.Mixup) { // MixUp, as BaseMixTransform gates it
		j := d.randint(0, len(l.items)-1)
		o, err := l.preTransform(j, pool, shape, d, hp)
		if err != nil {
			return nil, err
		}
		s.mixup(o, d.beta(32, 32))
	}
	// Albumentations would come here; Ultralytics skips it when the
	// albumentations package is absent, as on the reference setup.
	if hp.HSVH != 0 || hp.HSVS != 0 || hp.HSVV != 0 {
		u := d.uniform3(-1, 1)
		// float64(...) keeps Go from fusing the multiply-add (numpy rounds twice).
		g := [3]float64{float64(u[0]*hp.HSVH) + 1, float64(u[1]*hp.HSVS) + 1, float64(u[2]*hp.HSVV) + 1}
		s.own()
		augmentHSV(s.img, g)
	}
	xyxyToXYWH(s.boxes) // RandomFlip works on xywh
	if d.random() < hp.FlipUD {
		s.own()
		flipUD(s.img)
		h := float32(s.img.H)
		for i := range s.boxes {
			s.boxes[i][1] = h - s.boxes[i][1]
		}
	}
	if d.random() < hp.FlipLR {
		s.own()
		flipLR(s.img)
		w := float32(s.img.W)
		for i := range s.boxes {
			s.boxes[i][0] = w - s.boxes[i][0]
		}
	}
	d.uniform(0, 1) // Format's draw for BGR output (bgr=0: always RGB)
	s.finishLabels(true)
	return s, nil
}

// preTransform is v8_transforms' pre_transform: Mosaic (with probability
// Hyp.Mosaic), CopyPaste (nothing without segments) and
// RandomPerspective, which letterboxes first when there was no mosaic.
func (l *Loader) preTransform(index int, pool []int, shape [2]int, d draws, hp *Hyp) (*sample, error) {
	s, err := l.getImageAndLabel(index)
	if err != nil {
		return nil, err
	}
	persp := hp.Perspective != 0
	if !(d.uniform(0, 1) > hp.Mosaic) && len(pool) > 0 {
		var p [4]*sample
		p[0] = s
		for k := 1; k < 4; k++ {
			if p[k], err = l.getImageAndLabel(d.choice(pool)); err != nil {
				return nil, err
			}
		}
		xc, yc := drawMosaicCentre(d, l.opts.ImgSz)
		canvas, _ := l.canvases.Get().(*imgproc.RGB)
		s = mosaic4(p, l.opts.ImgSz, xc, yc, canvas)
		canvas = s.img
		b := mosaicBorder(l.opts.ImgSz)
		s.randomPerspective(drawAffine(d, hp), b, b, persp)
		if s.img != canvas { // always: the border crops
			l.canvases.Put(canvas)
		}
		return s, nil
	}
	s.letterbox(shape[0], shape[1], true)
	s.randomPerspective(drawAffine(d, hp), 0, 0, persp)
	return s, nil
}
