package dataset

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/imgproc"
)

// FuzzTransforms feeds arbitrary label values (any finite floats, as a
// label file may hold), image sizes and hyperparameters through the
// training and validation transforms: they must not panic, must make
// images of the batch shape, and must leave training boxes normalised
// inside the image with positive sizes.
func FuzzTransforms(f *testing.F) {
	f.Add(uint8(100), uint8(60), uint8(2), float32(0.5), float32(0.5), float32(0.2), float32(0.3), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(1), uint8(0), float32(0), float32(0), float32(0), float32(0), uint8(255), uint64(2))
	f.Add(uint8(255), uint8(3), uint8(5), float32(-3), float32(7), float32(1e30), float32(-1e30), uint8(7), uint64(3))
	f.Add(uint8(17), uint8(200), uint8(1), float32(1), float32(1), float32(2), float32(2), uint8(0x55), uint64(4))
	f.Fuzz(func(t *testing.T, w8, h8, sz8 uint8, x, y, bw, bh float32, hypBits uint8, seed uint64) {
		for _, v := range []float32{x, y, bw, bh} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return // NewLoader rejects these
			}
		}
		w, h, imgsz := int(w8)+1, int(h8)+1, 32*(int(sz8%6)+1)
		hyp := DefaultHyp()
		if hypBits&1 != 0 {
			hyp.Degrees, hyp.Shear = 30, 10
		}
		if hypBits&2 != 0 {
			hyp.Perspective = 0.001
		}
		if hypBits&4 != 0 {
			hyp.Mosaic = 0
		}
		if hypBits&8 != 0 {
			hyp.Mixup = 1
		}
		if hypBits&16 != 0 {
			hyp.FlipUD = 1
		}
		if hypBits&32 != 0 {
			hyp.Scale = 0.9
		}
		items := []Item{
			{Image: "fuzz0.png", W: w, H: h, Labels: []Label{{Class: 1, X: x, Y: y, W: bw, H: bh}}},
			{Image: "fuzz1.png", W: h, H: w, Labels: []Label{{Class: 0, X: y, Y: x, W: bh, H: bw}, {Class: 2, X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}},
		}
		imgs := []*imgproc.RGB{noiseImage(w, h, int(seed%100)), noiseImage(h, w, int(seed%100)+1)}
		for _, train := range []bool{true, false} {
			opts := TrainOptions(imgsz, 2)
			if !train {
				opts = ValOptions(imgsz, 2)
			}
			opts.Hyp, opts.CacheRAM = hyp, true
			l, err := NewLoader(items, opts)
			if err != nil {
				t.Fatal(err)
			}
			// Load the images into the cache instead of from disk.
			for i := range items {
				l.cache.get(l.indexOf(items[i].Image), func() (*imgproc.RGB, int, int, error) {
					return l.resizeLoaded(imgs[i]), imgs[i].H, imgs[i].W, nil
				})
			}
			hp := l.hyp()
			for pos := range items {
				var s *sample
				if train {
					d := rngDraws{rand.New(rand.NewPCG(seed, uint64(pos)))}
					s, err = l.trainSample(pos, []int{0, 1}, l.shapeOf(pos), d, &hp)
				} else {
					s, err = l.valSample(pos, l.shapeOf(pos))
				}
				if err != nil {
					t.Fatal(err)
				}
				if shape := l.shapeOf(pos); s.img.H != shape[0] || s.img.W != shape[1] || len(s.img.Pix) != shape[0]*shape[1]*3 {
					t.Fatalf("image %dx%d for shape %v", s.img.W, s.img.H, shape)
				}
				if !train {
					continue
				}
				for _, b := range s.boxes {
					if !(b[0] >= 0 && b[0] <= 1 && b[1] >= 0 && b[1] <= 1 && b[2] > 0 && b[2] <= 1 && b[3] > 0 && b[3] <= 1) {
						t.Fatalf("training box %v is not normalised inside the image", b)
					}
				}
			}
		}
	})
}

// indexOf returns the dataset index of the item with image path p.
func (l *Loader) indexOf(p string) int {
	for i, it := range l.items {
		if it.Image == p {
			return i
		}
	}
	panic("no item " + p)
}
