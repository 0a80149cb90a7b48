package imgproc

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestLetterBoxPlan(t *testing.T) {
	auto320 := NewLetterBox(320, 320)
	auto320.Auto = true
	noUp := NewLetterBox(320, 320)
	noUp.ScaleUp = false
	fill := NewLetterBox(320, 320)
	fill.ScaleFill = true
	corner := NewLetterBox(320, 320)
	corner.Center = false
	cornerAuto := auto320
	cornerAuto.Center = false
	tall := NewLetterBox(10, 4)
	for _, tc := range []struct {
		name   string
		lb     LetterBox
		w0, h0 int
		want   Letterboxed
	}{
		{"predict 640x480", auto320, 640, 480,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadW: 0, PadH: 8, Top: 8, Bottom: 8, ResizedW: 320, ResizedH: 240}},
		{"predict 640x426, odd pad", auto320, 640, 426, // dh = 107 mod 32 = 11 -> 5.5: 5 above, 6 below
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 5.5, Top: 5, Bottom: 6, ResizedW: 320, ResizedH: 213}},
		{"predict 640x428", auto320, 640, 428,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 5, Top: 5, Bottom: 5, ResizedW: 320, ResizedH: 214}},
		{"predict portrait 480x640", auto320, 480, 640,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadW: 8, Left: 8, Right: 8, ResizedW: 240, ResizedH: 320}},
		{"square 640x426", NewLetterBox(320, 320), 640, 426,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 53.5, Top: 53, Bottom: 54, ResizedW: 320, ResizedH: 213}},
		{"square, no resize", NewLetterBox(320, 320), 320, 200,
			Letterboxed{RatioW: 1, RatioH: 1, PadH: 60, Top: 60, Bottom: 60, ResizedW: 320, ResizedH: 200}},
		// 5 * 0.5 = 2.5 rounds to 2 (Python's round), not 3.
		{"banker's rounding of new_unpad", tall, 8, 5,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 4, Top: 4, Bottom: 4, ResizedW: 4, ResizedH: 2}},
		{"banker's rounding up", tall, 8, 7, // 3.5 -> 4
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 3, Top: 3, Bottom: 3, ResizedW: 4, ResizedH: 4}},
		{"upscale", NewLetterBox(320, 320), 100, 50,
			Letterboxed{RatioW: 3.2, RatioH: 3.2, PadH: 80, Top: 80, Bottom: 80, ResizedW: 320, ResizedH: 160}},
		{"no upscale", noUp, 100, 50,
			Letterboxed{RatioW: 1, RatioH: 1, PadW: 110, PadH: 135, Left: 110, Right: 110, Top: 135, Bottom: 135, ResizedW: 100, ResizedH: 50}},
		{"scaleFill", fill, 640, 480,
			Letterboxed{RatioW: 0.5, RatioH: 320.0 / 480, ResizedW: 320, ResizedH: 320}},
		{"top-left", corner, 640, 426,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 107, Bottom: 107, ResizedW: 320, ResizedH: 213}},
		{"top-left auto", cornerAuto, 640, 426,
			Letterboxed{RatioW: 0.5, RatioH: 0.5, PadH: 11, Bottom: 11, ResizedW: 320, ResizedH: 213}},
		{"one pixel", auto320, 1, 1,
			Letterboxed{RatioW: 320, RatioH: 320, ResizedW: 320, ResizedH: 320}},
		// Ultralytics would fail in cv2.resize on a 0-pixel side.
		{"extreme aspect clamps to 1", auto320, 10000, 1,
			Letterboxed{RatioW: 0.032, RatioH: 0.032, PadH: 15.5, Top: 15, Bottom: 16, ResizedW: 320, ResizedH: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.lb.Plan(tc.w0, tc.h0)
			if got != tc.want {
				t.Errorf("Plan(%d, %d)\n got %+v\nwant %+v", tc.w0, tc.h0, got, tc.want)
			}
			img, p := tc.lb.Apply(NewRGB(tc.w0, tc.h0))
			if p != got || img.W != got.Left+got.ResizedW+got.Right || img.H != got.Top+got.ResizedH+got.Bottom {
				t.Errorf("Apply: %dx%d, %+v", img.W, img.H, p)
			}
		})
	}
}

// TestLetterBoxMatchesUltralytics letterboxes cv2.imread's pixels of three
// COCO images (testdata/coco, made by gen_ref.py) and compares with the
// network inputs Ultralytics' predictor and trainer built from them
// (yolo/testdata/ref): every byte must be equal.
func TestLetterBoxMatchesUltralytics(t *testing.T) {
	auto := NewLetterBox(320, 320)
	auto.Auto = true
	for _, id := range cocoIDs {
		src := loadTestPNG(t, filepath.Join("testdata", "coco", id+"_cv2.png"))
		for _, tc := range []struct {
			kind string
			lb   LetterBox
		}{{"input", auto}, {"train320", NewLetterBox(320, 320)}} {
			t.Run(id+"_"+tc.kind, func(t *testing.T) {
				want := loadTestPNG(t, filepath.Join("..", "yolo", "testdata", "ref", id+"_"+tc.kind+".png"))
				got, p := tc.lb.Apply(src)
				if got.W != want.W || got.H != want.H {
					t.Fatalf("%dx%d, want %dx%d (%+v)", got.W, got.H, want.W, want.H, p)
				}
				if maxd, mean, first := diffStats(got, want); maxd != 0 {
					t.Errorf("differs from Ultralytics: max %d, mean %.4f, first at sample %d", maxd, mean, first)
				}
			})
		}
	}
}

var cocoIDs = []string{"000000000009", "000000000025", "000000000030"}

// cocoDir is COCO128 in shared/, beside the repository root.
const cocoDir = "../../shared/data/coco128/images/train2017"

// TestJPEGDecodeVersusOpenCV decodes the three COCO JPEGs with Decode and
// measures how far the pixels, and the letterboxed network inputs, are
// from cv2.imread's (libjpeg-turbo): the inverse DCTs differ, so a few
// levels here and there are expected.
func TestJPEGDecodeVersusOpenCV(t *testing.T) {
	if _, err := os.Stat(cocoDir); err != nil {
		t.Skipf("COCO128 images not found at %s (the shared data set beside the repository): %v", cocoDir, err)
	}
	auto := NewLetterBox(320, 320)
	auto.Auto = true
	for _, id := range cocoIDs {
		t.Run(id, func(t *testing.T) {
			got, err := Load(filepath.Join(cocoDir, id+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			want := loadTestPNG(t, filepath.Join("testdata", "coco", id+"_cv2.png"))
			if got.W != want.W || got.H != want.H {
				t.Fatalf("%dx%d, cv2 %dx%d", got.W, got.H, want.W, want.H)
			}
			maxd, mean, _ := diffStats(got, want)
			// For comparison: image/jpeg's own colour conversion, which
			// replicates chroma samples instead of interpolating them.
			data, err := os.ReadFile(filepath.Join(cocoDir, id+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			std, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			smax, smean, _ := diffStats(FromImage(std), want)
			t.Logf("image/jpeg with its own YCbCr->RGB (At) vs cv2.imread: max |diff| %d, mean %.4f", smax, smean)
			if mean >= smean {
				t.Errorf("libjpeg-style upsampling (mean %.4f) is no closer to cv2 than image/jpeg's (%.4f)", mean, smean)
			}
			lbGot, _ := auto.Apply(got)
			lbWant := loadTestPNG(t, filepath.Join("..", "yolo", "testdata", "ref", id+"_input.png"))
			lmax, lmean, _ := diffStats(lbGot, lbWant)
			t.Logf("Go JPEG decode vs cv2.imread: max |diff| %d, mean %.4f; letterboxed 320 input: max %d, mean %.4f",
				maxd, mean, lmax, lmean)
			// Loose bounds: IDCT rounding differences only, never
			// structural ones (chroma upsampling, colour conversion).
			if maxd > 8 || mean > 0.25 || lmax > 8 || lmean > 0.25 {
				t.Errorf("too far from cv2")
			}
		})
	}
}

// TestScaleBoxes checks scale_boxes' arithmetic on hand-computed cases.
func TestScaleBoxes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to image.Point
		in, want [4]float32
	}{
		// gain 0.5, pad (0, 8) as for 640x480 at 320 auto.
		{"rect", image.Pt(320, 256), image.Pt(640, 480), [4]float32{10, 8, 330, 300}, [4]float32{20, 0, 640, 480}},
		{"rect inside", image.Pt(320, 256), image.Pt(640, 480), [4]float32{10.5, 20, 100.25, 200}, [4]float32{21, 24, 200.5, 384}},
		// 640x426 into 320x224: pad y = round(5.5 - 0.1) = 5.
		{"odd pad", image.Pt(320, 224), image.Pt(640, 426), [4]float32{0, 5, 320, 218}, [4]float32{0, 0, 640, 426}},
		// square 320 from 640x426: pad y = round(53.5 - 0.1) = 53.
		{"square", image.Pt(320, 320), image.Pt(640, 426), [4]float32{-3, 53, 160, 60}, [4]float32{0, 0, 320, 14}},
		// gain 2/3 from 480x360 into 320x320, pad (0, 40): a float32 division.
		{"non-binary gain", image.Pt(320, 320), image.Pt(480, 360), [4]float32{100, 41, 101, 42},
			[4]float32{float32(100) / float32(2.0/3), float32(1) / float32(2.0/3), float32(101) / float32(2.0/3), float32(2) / float32(2.0/3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := [][4]float32{tc.in}
			ScaleBoxes(b, tc.from, tc.to)
			if b[0] != tc.want {
				t.Errorf("ScaleBoxes(%v) = %v, want %v", tc.in, b[0], tc.want)
			}
		})
	}
}

// TestScaleBoxesInvertsLetterBox maps random boxes into letterboxed
// coordinates with the letterbox's own ratio and padding and back with
// ScaleBoxes. They come back to within the rounding of new_unpad (half a
// letterboxed pixel) and of the padding, which scale_boxes recomputes
// from the unrounded size and so may place one pixel off the letterbox's
// (1049x81 at 320: padded 147 above, scale_boxes subtracts 148), plus
// float32 error.
func TestScaleBoxesInvertsLetterBox(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		w0, h0 := 1+rng.IntN(1500), 1+rng.IntN(1500)
		lb := NewLetterBox(320, 320)
		lb.Auto = rng.IntN(2) == 0
		p := lb.Plan(w0, h0)
		from := image.Pt(p.Left+p.ResizedW+p.Right, p.Top+p.ResizedH+p.Bottom)
		x1, y1 := rng.Float64()*float64(w0), rng.Float64()*float64(h0)
		x2, y2 := x1+rng.Float64()*(float64(w0)-x1), y1+rng.Float64()*(float64(h0)-y1)
		b := [][4]float32{{
			float32(x1*p.RatioW + float64(p.Left)), float32(y1*p.RatioH + float64(p.Top)),
			float32(x2*p.RatioW + float64(p.Left)), float32(y2*p.RatioH + float64(p.Top)),
		}}
		ScaleBoxes(b, from, image.Pt(w0, h0))
		tol := 1.5/p.RatioW + 1e-3*float64(max(w0, h0))
		for i, want := range []float64{x1, y1, x2, y2} {
			if d := math.Abs(float64(b[0][i]) - want); d > tol {
				t.Fatalf("%dx%d %+v: coordinate %d = %v, want %v (tolerance %v)", w0, h0, p, i, b[0][i], want, tol)
			}
		}
	}
}
