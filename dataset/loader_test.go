package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yolops/yolops/imgproc"
)

// noiseItems writes n noise PNGs of assorted sizes with a few labels each
// (some images have none) and returns their items.
func noiseItems(t testing.TB, n int) []Item {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(11, 12))
	var items []Item
	for k := range n {
		w, h := 40+r.IntN(200), 40+r.IntN(200)
		it := Item{Image: filepath.Join(dir, fmt.Sprintf("n%03d.png", k)), W: w, H: h}
		writePNG(t, it.Image, noiseImage(w, h, 1000+k))
		for range r.IntN(4) {
			bw, bh := 0.05+0.5*r.Float32(), 0.05+0.5*r.Float32()
			it.Labels = append(it.Labels, Label{Class: r.IntN(3),
				X: bw/2 + (1-bw)*r.Float32(), Y: bh/2 + (1-bh)*r.Float32(), W: bw, H: bh})
		}
		items = append(items, it)
	}
	return items
}

// sameFloats reports whether a and b hold the same float32 values, bit
// for bit.
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// collect returns all batches of an epoch.
func collect(t *testing.T, l *Loader, epoch int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// sameBatches reports the first difference between two epochs' batches,
// comparing float32 images bit for bit.
func sameBatches(a, b []*Batch) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d batches vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.N != y.N || x.H != y.H || x.W != y.W {
			return fmt.Errorf("batch %d: %dx%dx%d vs %dx%dx%d", i, x.N, x.H, x.W, y.N, y.H, y.W)
		}
		if !sameFloats(x.Images, y.Images) {
			return fmt.Errorf("batch %d: images differ", i)
		}
		if fmt.Sprint(x.Cls, x.Boxes, x.BatchIdx, x.Paths, x.OrigShapes, x.ResizedShapes, x.RatioPads) !=
			fmt.Sprint(y.Cls, y.Boxes, y.BatchIdx, y.Paths, y.OrigShapes, y.ResizedShapes, y.RatioPads) {
			return fmt.Errorf("batch %d: labels or metadata differ", i)
		}
	}
	return nil
}

// TestDeterministicAcrossWorkers: the same seed gives the same batches,
// byte for byte, with 1 worker and with 4 (and any prefetch), for
// several epochs (mosaic buffers carried over, shuffled orders); a
// different seed gives different batches, and epochs differ from each
// other.
func TestDeterministicAcrossWorkers(t *testing.T) {
	items := noiseItems(t, 23)
	run := func(seed uint64, workers, prefetch int) [][]*Batch {
		opts := TrainOptions(64, 4)
		opts.Hyp.Mixup = 0.3
		opts.Hyp.Degrees = 5
		opts.Seed, opts.Workers, opts.Prefetch = seed, workers, prefetch
		l, err := NewLoader(items, opts)
		if err != nil {
			t.Fatal(err)
		}
		var epochs [][]*Batch
		for e := range 3 {
			epochs = append(epochs, collect(t, l, e))
		}
		return epochs
	}
	one, four, other := run(5, 1, 1), run(5, 4, 3), run(6, 4, 2)
	for e := range one {
		if err := sameBatches(one[e], four[e]); err != nil {
			t.Errorf("epoch %d, 1 worker vs 4: %v", e, err)
		}
		if sameBatches(one[e], other[e]) == nil {
			t.Errorf("epoch %d: seeds 5 and 6 gave the same batches", e)
		}
	}
	if sameBatches(one[0], one[1]) == nil {
		t.Error("epochs 0 and 1 gave the same batches")
	}
	// An epoch asked for out of order (a resumed run) is the same epoch.
	opts := TrainOptions(64, 4)
	opts.Hyp.Mixup, opts.Hyp.Degrees, opts.Seed = 0.3, 5, 5
	l, err := NewLoader(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameBatches(collect(t, l, 2), one[2]); err != nil {
		t.Errorf("epoch 2 on its own: %v", err)
	}
}

// TestCollateLayout checks the batch layout against the samples it was
// made from: NCHW planes, labels concatenated in image order with
// batch_idx, per-image metadata, and Labels(i).
func TestCollateLayout(t *testing.T) {
	items := sceneItems(t)
	opts := ValOptions(96, 4)
	opts.Rect = false
	l, err := NewLoader(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	batches := collect(t, l, 0)
	if len(batches) != 2 || batches[0].N != 4 || batches[1].N != 2 || l.Len() != 2 {
		t.Fatalf("got %d batches for 6 images in 4s (Len %d)", len(batches), l.Len())
	}
	for bi, b := range batches {
		if len(b.Images) != b.N*3*96*96 || len(b.Cls) != len(b.Boxes) || len(b.Cls) != len(b.BatchIdx) {
			t.Fatalf("batch %d: %d image values, %d cls, %d boxes, %d batch_idx", bi, len(b.Images), len(b.Cls), len(b.Boxes), len(b.BatchIdx))
		}
		n := 0
		for i := range b.N {
			s, err := l.valSample(bi*4+i, [2]int{96, 96})
			if err != nil {
				t.Fatal(err)
			}
			if !sameFloats(b.Image(i), imgproc.ToCHW(nil, s.img)) {
				t.Errorf("batch %d image %d: planes differ from the sample", bi, i)
			}
			cls, boxes := b.Labels(i)
			if fmt.Sprint(cls, boxes) != fmt.Sprint(s.cls, s.boxes) {
				t.Errorf("batch %d image %d: Labels = %v %v, want %v %v", bi, i, cls, boxes, s.cls, s.boxes)
			}
			for k := range cls {
				if b.BatchIdx[n+k] != float32(i) {
					t.Errorf("batch %d box %d: batch_idx %v, want %d", bi, n+k, b.BatchIdx[n+k], i)
				}
			}
			n += len(cls)
			sc := scenes[bi*4+i]
			if b.Paths[i] != items[bi*4+i].Image || b.OrigShapes[i] != [2]int{sc.h, sc.w} ||
				b.ResizedShapes[i] != [2]int{96, 96} {
				t.Errorf("batch %d image %d: path %s orig %v resized %v", bi, i, b.Paths[i], b.OrigShapes[i], b.ResizedShapes[i])
			}
		}
		if n != len(b.Cls) {
			t.Errorf("batch %d: Labels covered %d of %d boxes", bi, n, len(b.Cls))
		}
	}
}

// TestValLetterboxEqualsImgproc: without augmentation an image whose
// loading resize gives the letterbox's own size comes out exactly as
// imgproc's LetterBox makes it from the original, with
// ratio_pad = (resized/original, (left, top)).
func TestValLetterboxEqualsImgproc(t *testing.T) {
	dir := t.TempDir()
	var items []Item
	for k, sz := range [][2]int{{832, 624}, {200, 100}, {416, 300}, {100, 300}, {416, 416}} {
		it := Item{Image: filepath.Join(dir, fmt.Sprintf("lb%d.png", k)), W: sz[0], H: sz[1]}
		writePNG(t, it.Image, noiseImage(sz[0], sz[1], 50+k))
		items = append(items, it)
	}
	opts := ValOptions(416, 5)
	opts.Rect = false
	l, err := NewLoader(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := collect(t, l, 0)[0]
	for i, it := range items {
		src, err := imgproc.Load(it.Image)
		if err != nil {
			t.Fatal(err)
		}
		want, geo := imgproc.NewLetterBox(416, 416).Apply(src)
		if !sameFloats(b.Image(i), imgproc.ToCHW(nil, want)) {
			t.Errorf("%dx%d: batch image differs from imgproc.LetterBox", it.W, it.H)
		}
		rp := b.RatioPads[i]
		if rp.PadX != geo.Left || rp.PadY != geo.Top ||
			rp.RatioH != float64(geo.ResizedH)/float64(it.H) || rp.RatioW != float64(geo.ResizedW)/float64(it.W) {
			t.Errorf("%dx%d: ratio_pad %+v, letterbox %+v", it.W, it.H, rp, geo)
		}
	}
}

// TestRectShapesWorkedExample checks set_rectangle's formula by hand:
// imgsz 640, stride 32, pad 0.5, batches of 4.
func TestRectShapesWorkedExample(t *testing.T) {
	ar := []float64{0.5, 0.6, 0.75, 0.75, 0.75, 1.0, 1.25, 1.3, 1.5, 1.6, 2.0}
	got := rectShapes(ar, 4, 640, 32, 0.5)
	want := [][2]int{
		// all below 1, the largest 0.75: h = ceil(0.75*640/32 + 0.5)*32 = ceil(15.5)*32 = 512,
		// w = ceil(640/32 + 0.5)*32 = ceil(20.5)*32 = 672
		{512, 672},
		// 0.75 to 1.3 spans 1: square, ceil(20.5)*32 = 672
		{672, 672},
		// all above 1, the smallest 1.5: w = ceil(640/1.5/32 + 0.5)*32 = ceil(13.83)*32 = 448
		{672, 448},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rectShapes = %v, want %v", got, want)
	}
	// Pad 0 (training): 0.75*640/32 = 15 exactly stays 15 strides.
	if got := rectShapes([]float64{0.75}, 1, 640, 32, 0); got[0] != [2]int{480, 640} {
		t.Fatalf("pad 0: %v, want [480 640]", got[0])
	}
}

// TestRectOrderAndShapes: rect batches visit the images sorted by
// aspect ratio and each batch has its own shape, the same every epoch.
func TestRectOrderAndShapes(t *testing.T) {
	items := sceneItems(t)
	l, err := NewLoader(items, ValOptions(160, 2))
	if err != nil {
		t.Fatal(err)
	}
	prev := 0.0
	for _, it := range l.Items() {
		ar := float64(it.H) / float64(it.W)
		if ar < prev {
			t.Fatalf("items not sorted by aspect ratio: %v after %v", ar, prev)
		}
		prev = ar
	}
	b0, b1 := collect(t, l, 0), collect(t, l, 1)
	if err := sameBatches(b0, b1); err != nil {
		t.Fatalf("validation epochs differ: %v", err)
	}
	for i, b := range b0 {
		if [2]int{b.H, b.W} != l.batchShapes[i] {
			t.Errorf("batch %d is %dx%d, shape %v", i, b.H, b.W, l.batchShapes[i])
		}
	}
}

// TestSimulateBuffer compares the buffer simulation with a direct
// transcription of load_image's list operations.
func TestSimulateBuffer(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, maxLen, epochs int }{
		{1, 1, 3}, {2, 2, 3}, {5, 3, 4}, {10, 10, 3}, {40, 16, 5}, {100, 1000, 2},
	} {
		var buf []int // Python's self.buffer
		var start []int
		for e := range tc.epochs {
			order := r.Perm(tc.n)
			plan, end := simulateBuffer(start, order, tc.n, tc.maxLen)
			for pos, i := range order {
				in := false
				for _, j := range buf {
					in = in || j == i
				}
				if !in { // not cached: load, append, maybe pop
					buf = append(buf, i)
					if 1 < len(buf) && len(buf) >= tc.maxLen {
						buf = buf[1:]
					}
				}
				if got := plan.window(pos); fmt.Sprint(got) != fmt.Sprint(buf) {
					t.Fatalf("n=%d max=%d epoch %d pos %d: buffer %v, want %v", tc.n, tc.maxLen, e, pos, got, buf)
				}
			}
			if fmt.Sprint(end) != fmt.Sprint(buf) {
				t.Fatalf("end of epoch %d: %v, want %v", e, end, buf)
			}
			start = end
		}
	}
}

// TestMosaicBufferCarriesOver: the first mosaic of epoch 0 can only use
// its own image (the buffer holds nothing else yet, as in Ultralytics),
// while later epochs start with the previous epoch's images.
func TestMosaicBufferCarriesOver(t *testing.T) {
	items := noiseItems(t, 12)
	l, err := NewLoader(items, TrainOptions(64, 2))
	if err != nil {
		t.Fatal(err)
	}
	o0 := l.order(0)
	p0 := l.bufferPlan(0, o0)
	if w := p0.window(0); len(w) != 1 || w[0] != o0[0] {
		t.Fatalf("epoch 0 starts with buffer %v, want [%d]", p0.window(0), o0[0])
	}
	p1 := l.bufferPlan(1, l.order(1))
	if len(p1.window(0)) < 2 {
		t.Fatalf("epoch 1 starts with buffer %v: nothing carried over", p1.window(0))
	}
	if l.bufLen != min(12, 2*8, 1000) {
		t.Fatalf("buffer length %d", l.bufLen)
	}
	// Asking again for epoch 1, or for epoch 0 after it, gives the same plans.
	if fmt.Sprint(l.bufferPlan(1, l.order(1)).win) != fmt.Sprint(p1.win) ||
		fmt.Sprint(l.bufferPlan(0, o0).win) != fmt.Sprint(p0.win) {
		t.Fatal("buffer plans depend on the order epochs are asked for")
	}
}

// TestCloseMosaic: after CloseMosaic, training samples are letterboxed
// single images: the grey letterbox bars of a wide image appear at the
// top and bottom when nothing else moves it.
func TestCloseMosaic(t *testing.T) {
	dir := t.TempDir()
	it := Item{Image: filepath.Join(dir, "wide.png"), W: 200, H: 50}
	img := imgproc.NewRGB(200, 50)
	imgproc.FillRect(img, 0, 0, 200, 50, [3]uint8{0, 0, 0})
	writePNG(t, it.Image, img)
	opts := TrainOptions(64, 1)
	opts.Hyp = Hyp{Mosaic: 1}
	l, err := NewLoader([]Item{it}, opts)
	if err != nil {
		t.Fatal(err)
	}
	grey := func(b *Batch, x, y int) bool { return unitToByte(b.Image(0)[y*64+x]) == imgproc.PadValue }
	b := collect(t, l, 0)[0]
	// Mosaic: four copies of the 64x16 image around a random centre; the
	// corner rows are the canvas' grey or image, but the letterbox's
	// symmetric bars would make rows 0-23 and 40-63 all grey.
	l.CloseMosaic()
	b2 := collect(t, l, 1)[0]
	for y := range 64 {
		want := y < 24 || y >= 40
		if grey(b2, 32, y) != want {
			t.Fatalf("after CloseMosaic, row %d grey = %v, want %v (a letterboxed 64x16 image)", y, grey(b2, 32, y), want)
		}
	}
	if sameBatches([]*Batch{b}, []*Batch{b2}) == nil {
		t.Fatal("mosaic and letterbox samples are identical")
	}
}

// TestEpochCancel: cancelling the context ends the epoch with the
// context's error, breaking out early stops the workers, and neither
// leaves goroutines behind.
func TestEpochCancel(t *testing.T) {
	items := noiseItems(t, 40)
	l, err := NewLoader(items, TrainOptions(64, 2))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var gotErr error
	n := 0
	for _, err := range l.Epoch(ctx, 0) {
		if err != nil {
			gotErr = err
			break
		}
		n++
		if n == 2 {
			cancel()
		}
	}
	if !errors.Is(gotErr, context.Canceled) {
		t.Fatalf("after cancel: %v after %d batches, want context.Canceled", gotErr, n)
	}
	for range l.Epoch(context.Background(), 1) {
		break
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after", before, after)
	}
	// A context cancelled up front yields its error at once.
	for b, err := range l.Epoch(ctx, 2) {
		if b != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled context: %v %v", b, err)
		}
	}
}

// TestEpochBadImage: an unreadable image ends the epoch with an error
// naming the file.
func TestEpochBadImage(t *testing.T) {
	items := noiseItems(t, 6)
	if err := os.WriteFile(items[3].Image, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []LoaderOptions{TrainOptions(64, 2), func() LoaderOptions {
		o := ValOptions(64, 2)
		o.Rect = false
		return o
	}()} {
		l, err := NewLoader(items, opts)
		if err != nil {
			t.Fatal(err)
		}
		var gotErr error
		for _, err := range l.Epoch(context.Background(), 0) {
			if err != nil {
				gotErr = err
			}
		}
		if gotErr == nil || !strings.Contains(gotErr.Error(), filepath.Base(items[3].Image)) {
			t.Fatalf("augment=%v: error %v, want one naming %s", opts.Augment, gotErr, items[3].Image)
		}
	}
}

func TestNewLoaderErrors(t *testing.T) {
	items := []Item{{Image: "a.png", Labels: []Label{{Class: 1, X: 0.5, Y: 0.5, W: 0.1, H: 0.1}}}}
	for _, tc := range []struct {
		name  string
		items []Item
		edit  func(*LoaderOptions)
		want  string
	}{
		{"no items", nil, func(*LoaderOptions) {}, "no images"},
		{"zero size", items, func(o *LoaderOptions) { o.ImgSz = 0 }, "image size 0"},
		{"zero batch", items, func(o *LoaderOptions) { o.Batch = 0 }, "batch size 0"},
		{"negative workers", items, func(o *LoaderOptions) { o.Workers = -1 }, "workers"},
		{"bad hyp", items, func(o *LoaderOptions) { o.Hyp.FlipLR = 3 }, "fliplr"},
		{"class out of range", items, func(o *LoaderOptions) { o.NC = 1 }, "class 1 outside [0, 1)"},
		{"NaN box", []Item{{Image: "b.png", Label: "b.txt", Labels: []Label{{X: float32(math.NaN())}}}},
			func(*LoaderOptions) {}, "b.txt: label 1"},
		{"rect without stride", items, func(o *LoaderOptions) { o.Rect, o.Stride = true, 0 }, "stride"},
		{"rect image missing", items, func(o *LoaderOptions) { o.Rect = true }, "a.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := TrainOptions(64, 2)
			tc.edit(&opts)
			_, err := NewLoader(tc.items, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewLoader: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestLoaderCacheCapacity: validation keeps no image unless told to,
// or unless all of them resized fit in the budget; augmentation keeps its
// mosaic buffer.
func TestLoaderCacheCapacity(t *testing.T) {
	items := make([]Item, 10)
	for i := range items {
		items[i] = Item{Image: fmt.Sprintf("%d.png", i)}
	}
	per := int64(64 * 64 * 3)
	for _, tc := range []struct {
		name string
		opts func() LoaderOptions
		want int
	}{
		{"val", func() LoaderOptions { return ValOptions(64, 4) }, 0},
		{"val cache ram", func() LoaderOptions { o := ValOptions(64, 4); o.CacheRAM = true; return o }, 10},
		{"val budget fits", func() LoaderOptions { o := ValOptions(64, 4); o.CacheBudget = 10 * per; return o }, 10},
		{"val budget short", func() LoaderOptions { o := ValOptions(64, 4); o.CacheBudget = 10*per - 1; return o }, 0},
		{"train buffer", func() LoaderOptions { return TrainOptions(64, 1) }, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts()
			opts.Rect = false // rect would read the (absent) images' sizes
			l, err := NewLoader(items, opts)
			if err != nil {
				t.Fatal(err)
			}
			if l.cache.capacity != tc.want {
				t.Fatalf("cache capacity %d, want %d", l.cache.capacity, tc.want)
			}
		})
	}
}

// TestImageCache: the cache keeps at most its capacity, the least
// recently used leaving first; concurrent requests share one load; a
// failed load is not kept.
func TestImageCache(t *testing.T) {
	c := newImageCache(2)
	loads := map[int]int{}
	var mu sync.Mutex
	get := func(i int) {
		_, _, _, _ = c.get(i, func() (*imgproc.RGB, int, int, error) {
			mu.Lock()
			loads[i]++
			mu.Unlock()
			time.Sleep(time.Millisecond)
			return imgproc.NewRGB(1, 1), 1, 1, nil
		})
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); get(0) }()
	}
	wg.Wait()
	if loads[0] != 1 {
		t.Fatalf("8 concurrent gets loaded image 0 %d times", loads[0])
	}
	get(1)
	get(0) // 0 is now the most recent
	get(2) // evicts 1
	get(0)
	if loads[0] != 1 || c.len() != 2 {
		t.Fatalf("loads %v, cache holds %d", loads, c.len())
	}
	get(1)
	if loads[1] != 2 {
		t.Fatalf("image 1 should have been evicted and loaded again: loads %v", loads)
	}
	_, _, _, err := c.get(5, func() (*imgproc.RGB, int, int, error) { return nil, 0, 0, errors.New("boom") })
	if err == nil {
		t.Fatal("error lost")
	}
	ok := false
	_, _, _, _ = c.get(5, func() (*imgproc.RGB, int, int, error) { ok = true; return imgproc.NewRGB(1, 1), 1, 1, nil })
	if !ok {
		t.Fatal("a failed load was cached")
	}
}

// coco128 returns COCO128's items (labels read here, 5 fields a line),
// or skips the test.
func coco128(t testing.TB) []Item {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "coco128")
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "train2017", "*.jpg"))
	if len(imgs) == 0 {
		t.Skipf("COCO128 not found in %s", dir)
	}
	var items []Item
	for _, im := range imgs {
		it := Item{Image: im}
		lp := filepath.Join(dir, "labels", "train2017", strings.TrimSuffix(filepath.Base(im), ".jpg")+".txt")
		if f, err := os.Open(lp); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fs := strings.Fields(sc.Text())
				if len(fs) != 5 {
					continue
				}
				c, err := strconv.Atoi(fs[0])
				if err != nil {
					t.Fatalf("%s: %v", lp, err)
				}
				var v [4]float32
				for k := range 4 {
					x, err := strconv.ParseFloat(fs[k+1], 32)
					if err != nil {
						t.Fatalf("%s: %v", lp, err)
					}
					v[k] = float32(x)
				}
				it.Labels = append(it.Labels, Label{Class: c, X: v[0], Y: v[1], W: v[2], H: v[3]})
			}
			f.Close()
		}
		items = append(items, it)
	}
	return items
}

// TestCOCO128Batch loads one augmented batch of 16 at 416 from COCO128
// and one validation batch, and checks their shapes and values, and that
// PlotBatch draws them (written to $YOLOPS_PLOT_DIR when set, to look at).
func TestCOCO128Batch(t *testing.T) {
	items := coco128(t)
	if len(items) != 128 {
		t.Fatalf("%d images in COCO128, want 128", len(items))
	}
	for _, opts := range []LoaderOptions{TrainOptions(416, 16), ValOptions(416, 16)} {
		l, err := NewLoader(items, opts)
		if err != nil {
			t.Fatal(err)
		}
		if l.Len() != 8 {
			t.Fatalf("%d batches, want 8", l.Len())
		}
		for b, err := range l.Epoch(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			if b.N != 16 || (opts.Augment && (b.H != 416 || b.W != 416)) || b.H%32 != 0 || b.W%32 != 0 ||
				max(b.H, b.W) > 416+32 {
				t.Fatalf("batch %dx%dx%d", b.N, b.H, b.W)
			}
			for _, v := range b.Images {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("image value %v outside [0, 1]", v)
				}
			}
			if len(b.Cls) == 0 {
				t.Fatal("no labels in a COCO128 batch")
			}
			for k, bx := range b.Boxes {
				if !(bx[0] >= 0 && bx[0] <= 1 && bx[1] >= 0 && bx[1] <= 1 && bx[2] > 0 && bx[2] <= 1 && bx[3] > 0 && bx[3] <= 1) {
					t.Fatalf("box %d %v is not normalised xywh inside the image", k, bx)
				}
				if c := b.Cls[k]; c < 0 || c >= 80 || c != float32(int(c)) {
					t.Fatalf("class %v", c)
				}
			}
			name := "train_batch0.jpg"
			if !opts.Augment {
				name = "val_batch0_labels.jpg"
			}
			dir := os.Getenv("YOLOPS_PLOT_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			if err := PlotBatchFile(filepath.Join(dir, name), b, nil, nil); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
}
