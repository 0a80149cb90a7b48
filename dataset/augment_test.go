package dataset

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/imgproc"
)

func TestHypValidate(t *testing.T) {
	if err := DefaultHyp().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Hyp)
		want string
	}{
		{"negative scale", func(h *Hyp) { h.Scale = -0.1 }, "scale"},
		{"mosaic above 1", func(h *Hyp) { h.Mosaic = 1.5 }, "mosaic"},
		{"fliplr above 1", func(h *Hyp) { h.FlipLR = 2 }, "fliplr"},
		{"NaN hue", func(h *Hyp) { h.HSVH = math.NaN() }, "hsv_h"},
		{"infinite degrees", func(h *Hyp) { h.Degrees = math.Inf(1) }, "degrees"},
		{"negative mixup", func(h *Hyp) { h.Mixup = -1 }, "mixup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := DefaultHyp()
			tc.edit(&h)
			err := h.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestBoxCandidate(t *testing.T) {
	for _, tc := range []struct {
		name           string
		w1, h1, w2, h2 float32
		want           bool
	}{
		{"unchanged", 50, 40, 50, 40, true},
		{"2 pixels wide", 3, 40, 2, 40, false},
		{"just over 2", 3, 40, 2.01, 40, true},
		{"too thin", 500, 4, 450, 3, false},     // aspect 150
		{"aspect 99", 99, 1, 297, 3.0001, true}, // ar just under 100
		{"lost 90% of its area", 100, 100, 31, 31, false},
		{"kept 11%", 100, 100, 33.2, 33.2, true},
		{"zero before", 0, 0, 10, 10, true}, // eps keeps the ratio finite
	} {
		if got := boxCandidate(tc.w1, tc.h1, tc.w2, tc.h2); got != tc.want {
			t.Errorf("%s: boxCandidate(%v, %v, %v, %v) = %v, want %v", tc.name, tc.w1, tc.h1, tc.w2, tc.h2, got, tc.want)
		}
	}
}

// TestFMA32 checks fma32 against exact rational arithmetic, including
// sums that land halfway between float32 values after a float64
// rounding (where a plain float64 FMA would round twice).
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	cases := [][3]float32{
		{1, 1, 1}, {0, 5, -3}, {-1.5, 2, 3}, {3, 0.1, -0.3},
		// a*b = 1 + 2^-24 (a float32 halfway point) plus a tiny c that a
		// float64 sum would lose: the exact result rounds up.
		{1 + 0x1p-23, 1 - 0x1p-24, 0x1p-60},
		{1 + 0x1p-23, 1 - 0x1p-24, -0x1p-60},
	}
	for range 100000 {
		cases = append(cases, [3]float32{
			float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20))),
			float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20))),
			float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20))),
		})
	}
	for _, c := range cases {
		if got, want := fma32(c[0], c[1], c[2]), exact(c[0], c[1], c[2]); got != want {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", c[0], c[1], c[2], got, want)
		}
	}
}

func TestHSVLUTs(t *testing.T) {
	hue, sat, val := hsvLUTs([3]float64{1, 1, 1})
	for x := range 256 {
		if int(sat[x]) != x || int(val[x]) != x || int(hue[x]) != x%180 {
			t.Fatalf("gains 1: LUTs at %d are %d %d %d", x, hue[x], sat[x], val[x])
		}
	}
	hue, sat, val = hsvLUTs([3]float64{1.01, 1.5, 0.5})
	// hue wraps modulo 180, saturation clips at 255, value truncates.
	if hue[179] != uint8(math.Mod(179*1.01, 180)) || hue[179] != 0 || sat[200] != 255 || val[201] != 100 {
		t.Fatalf("LUTs: hue[179]=%d sat[200]=%d val[201]=%d", hue[179], sat[200], val[201])
	}
}

func TestFlips(t *testing.T) {
	img := noiseImage(7, 5, 3)
	lr, ud := img.Clone(), img.Clone()
	flipLR(lr)
	flipUD(ud)
	for y := range 5 {
		for x := range 7 {
			if lr.RGBAAt(x, y) != img.RGBAAt(6-x, y) || ud.RGBAAt(x, y) != img.RGBAAt(x, 4-y) {
				t.Fatalf("flip wrong at (%d, %d)", x, y)
			}
		}
	}
}

// Synthetic scenes: black images with solid rectangles of one colour per
// class, labelled exactly where they are drawn.
var sceneColours = [][3]uint8{{230, 30, 30}, {30, 230, 30}, {30, 30, 230}, {230, 230, 30}}

type sceneRect struct{ class, x0, y0, x1, y1 int }

var scenes = []struct {
	w, h  int
	rects []sceneRect
}{
	{200, 150, []sceneRect{{0, 10, 10, 60, 70}, {1, 100, 40, 180, 90}, {2, 30, 100, 90, 140}}},
	{150, 200, []sceneRect{{3, 20, 20, 130, 60}, {0, 40, 90, 70, 190}}},
	{120, 120, []sceneRect{{2, 0, 0, 50, 50}, {1, 70, 70, 120, 120}}},
	{300, 100, []sceneRect{{1, 5, 10, 100, 90}, {3, 150, 30, 290, 70}}},
	{90, 140, nil}, // background
	{416, 300, []sceneRect{{0, 100, 50, 300, 250}}},
}

// sceneItems writes the scenes as PNGs into a temporary directory.
func sceneItems(t testing.TB) []Item {
	t.Helper()
	dir := t.TempDir()
	var items []Item
	for k, s := range scenes {
		img := imgproc.NewRGB(s.w, s.h)
		it := Item{Image: filepath.Join(dir, fmt.Sprintf("scene%02d.png", k)), W: s.w, H: s.h}
		for _, r := range s.rects {
			imgproc.FillRect(img, r.x0, r.y0, r.x1, r.y1, sceneColours[r.class])
			it.Labels = append(it.Labels, Label{Class: r.class,
				X: float32(r.x0+r.x1) / 2 / float32(s.w), Y: float32(r.y0+r.y1) / 2 / float32(s.h),
				W: float32(r.x1-r.x0) / float32(s.w), H: float32(r.y1-r.y0) / float32(s.h)})
		}
		writePNG(t, it.Image, img)
		items = append(items, it)
	}
	return items
}

// classAt returns the class whose colour pixel (r, g, b) is close to, or
// -1.
func classAt(r, g, b uint8) int {
	for c, col := range sceneColours {
		d := max(absDiff(r, col[0]), absDiff(g, col[1]), absDiff(b, col[2]))
		if d <= 40 {
			return c
		}
	}
	return -1
}

// borderBand is how close to the image border an object pixel may be
// without a box: the scenes' largest object, scaled up by 1.5 at most,
// spans about 120 pixels at imgsz 160, so a dropped sliver (under 10% of
// it) is at most 12 pixels deep.
const borderBand = 16

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// checkBoxesFollowPixels checks, for every image of b, that each pixel
// of an object colour lies in a box of that class (within tol pixels,
// for the blur of interpolation), and that each box of a reasonable size
// is mostly (minFill) covered by its class's colour.
//
// Objects cut by the image border whose box box_candidates dropped
// (less than 10% of their area left, or 2 pixels or less across) leave
// unlabelled pixels, as in Ultralytics; they can only be next to the
// border, so pixels within borderBand of it are exempt. With rotation,
// a box is the hull of the rotated corners, clipped: at the border it
// can hold little of the object, so rotated boxes that touch the border
// (rotated true) are not checked for fill.
func checkBoxesFollowPixels(t *testing.T, b *Batch, tol, minFill float32, rotated bool) {
	t.Helper()
	for i := range b.N {
		planes := b.Image(i)
		n := b.H * b.W
		cls, boxes := b.Labels(i)
		px := make([][4]float32, len(boxes))
		for k, bx := range boxes {
			cx, cy, w, h := bx[0]*float32(b.W), bx[1]*float32(b.H), bx[2]*float32(b.W), bx[3]*float32(b.H)
			px[k] = [4]float32{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
		}
		inside := make([]int, len(boxes))
		for y := range b.H {
			for x := range b.W {
				o := y*b.W + x
				c := classAt(unitToByte(planes[o]), unitToByte(planes[n+o]), unitToByte(planes[2*n+o]))
				if c < 0 {
					continue
				}
				fx, fy := float32(x)+0.5, float32(y)+0.5
				found := false
				for k, p := range px {
					if int(cls[k]) == c && fx >= p[0]-tol && fx <= p[2]+tol && fy >= p[1]-tol && fy <= p[3]+tol {
						found = true
						if fx >= p[0] && fx <= p[2] && fy >= p[1] && fy <= p[3] {
							inside[k]++
						}
					}
				}
				if !found && min(x, y, b.W-1-x, b.H-1-y) >= borderBand {
					t.Fatalf("batch %d image %d (%s): pixel (%d, %d) of class %d is in none of its boxes %v",
						b.Index, i, filepath.Base(b.Paths[i]), x, y, c, px)
				}
			}
		}
		for k, p := range px {
			w, h := p[2]-p[0], p[3]-p[1]
			if w < 8 || h < 8 {
				continue
			}
			if rotated && (p[0] <= 1 || p[1] <= 1 || p[2] >= float32(b.W)-1 || p[3] >= float32(b.H)-1) {
				continue
			}
			if fill := float32(inside[k]) / (w * h); fill < minFill {
				t.Errorf("batch %d image %d (%s): box %d (class %v, %v) is only %.0f%% its colour",
					b.Index, i, filepath.Base(b.Paths[i]), k, cls[k], p, 100*fill)
			}
		}
	}
}

// TestAugmentedBoxesFollowPixels runs whole epochs of augmented batches
// on the synthetic scenes and checks that the boxes still mark where the
// objects are after mosaic, scaling, translation, rotation, shear,
// perspective and both flips, and without mosaic (letterbox first).
// HSV is off so that the colours identify the classes.
func TestAugmentedBoxesFollowPixels(t *testing.T) {
	items := sceneItems(t)
	for _, tc := range []struct {
		name    string
		hyp     func(*Hyp)
		minFill float32
		rotated bool
	}{
		{"mosaic", func(h *Hyp) {}, 0.7, false},
		{"mosaic flips", func(h *Hyp) { h.FlipUD = 0.5 }, 0.7, false},
		{"rotate shear", func(h *Hyp) { h.Degrees, h.Shear = 20, 5 }, 0.3, true},
		{"perspective", func(h *Hyp) { h.Perspective, h.Degrees = 0.0008, 10 }, 0.3, true},
		{"no mosaic", func(h *Hyp) { h.Mosaic, h.FlipUD = 0, 0.5 }, 0.7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := TrainOptions(160, 3)
			opts.Hyp.HSVH, opts.Hyp.HSVS, opts.Hyp.HSVV = 0, 0, 0
			tc.hyp(&opts.Hyp)
			opts.Seed = 7
			l, err := NewLoader(items, opts)
			if err != nil {
				t.Fatal(err)
			}
			boxes := 0
			for epoch := range 4 {
				for b, err := range l.Epoch(context.Background(), epoch) {
					if err != nil {
						t.Fatal(err)
					}
					checkBoxesFollowPixels(t, b, 1.5, tc.minFill, tc.rotated)
					boxes += len(b.Cls)
				}
			}
			if boxes < 20 {
				t.Errorf("only %d boxes in 4 epochs: the check saw too little", boxes)
			}
		})
	}
}

// TestValBoxesFollowPixels: letterboxed rect batches keep boxes on their
// objects too (tight: no interpolation across class edges at these
// sizes matters more than a pixel).
func TestValBoxesFollowPixels(t *testing.T) {
	items := sceneItems(t)
	l, err := NewLoader(items, ValOptions(160, 2))
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		checkBoxesFollowPixels(t, b, 1.5, 0.8, false)
	}
}

// TestZeroHypIsLetterbox: with every augmentation at zero (no mosaic,
// scale and translation that leave the matrix the identity, no HSV, no
// flips) a training sample is exactly the letterboxed image: nothing
// touches the pixels, and HSV with zero gains is skipped.
func TestZeroHypIsLetterbox(t *testing.T) {
	items := sceneItems(t)
	opts := TrainOptions(160, 2)
	opts.Hyp = Hyp{}
	opts.Shuffle = false
	l, err := NewLoader(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.N {
			src, err := imgproc.Load(b.Paths[i])
			if err != nil {
				t.Fatal(err)
			}
			img, _, _, err := l.loadImage(b.Index*2 + i)
			if err != nil {
				t.Fatal(err)
			}
			lb, _ := imgproc.NewLetterBox(160, 160).Apply(img)
			want := imgproc.ToCHW(nil, lb)
			if !sameFloats(b.Image(i), want) {
				t.Fatalf("%s (%dx%d): augmented with zero hyperparameters differs from the letterbox",
					b.Paths[i], src.W, src.H)
			}
		}
	}
}
