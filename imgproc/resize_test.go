package imgproc

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// loadTestPNG reads a reference PNG from testdata.
func loadTestPNG(t testing.TB, path string) *RGB {
	t.Helper()
	img, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// diffStats returns the largest and mean absolute sample difference of two
// images of the same size and the index of the first differing sample
// (-1 if none).
func diffStats(a, b *RGB) (maxd int, mean float64, first int) {
	first = -1
	var sum int
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		if d != 0 && first < 0 {
			first = i
		}
		sum += d
		maxd = max(maxd, d)
	}
	return maxd, float64(sum) / float64(max(len(a.Pix), 1)), first
}

// TestResizeMatchesOpenCV compares Resize with cv2.resize(INTER_LINEAR)
// outputs made by testdata/gen_ref.py: every byte must be equal.
func TestResizeMatchesOpenCV(t *testing.T) {
	ins, err := filepath.Glob("testdata/resize/r*_in.png")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) < 100 {
		t.Fatalf("found %d resize cases in testdata/resize, want >= 100 (run testdata/gen_ref.py)", len(ins))
	}
	sort.Strings(ins)
	var up, down, mixed int
	for _, in := range ins {
		out := strings.TrimSuffix(in, "_in.png") + "_out.png"
		src, want := loadTestPNG(t, in), loadTestPNG(t, out)
		name := fmt.Sprintf("%s_%dx%d_to_%dx%d", filepath.Base(in)[:4], src.W, src.H, want.W, want.H)
		t.Run(name, func(t *testing.T) {
			got := Resize(src, want.W, want.H)
			if got.W != want.W || got.H != want.H {
				t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, want.W, want.H)
			}
			if maxd, mean, first := diffStats(got, want); maxd != 0 {
				p := first / 3
				t.Errorf("differs from cv2: max %d, mean %.4f; first at (x=%d, y=%d, c=%d): got %d, want %d",
					maxd, mean, p%want.W, p/want.W, first%3, got.Pix[first], want.Pix[first])
			}
		})
		switch {
		case want.W >= src.W && want.H >= src.H:
			up++
		case want.W <= src.W && want.H <= src.H:
			down++
		default:
			mixed++
		}
	}
	t.Logf("%d cases: %d upscaling, %d downscaling, %d mixed", len(ins), up, down, mixed)
}

// TestResizeInto checks buffer reuse and that an equal size copies.
func TestResizeInto(t *testing.T) {
	src := NewRGB(5, 4)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	dst := NewRGB(100, 100)
	buf := &dst.Pix[0]
	got := ResizeInto(dst, src, 3, 2)
	if got != dst || &got.Pix[0] != buf || got.W != 3 || got.H != 2 || len(got.Pix) != 18 {
		t.Fatalf("ResizeInto did not reuse dst: %p %dx%d len %d", got, got.W, got.H, len(got.Pix))
	}
	same := Resize(src, 5, 4)
	if maxd, _, _ := diffStats(same, src); maxd != 0 || &same.Pix[0] == &src.Pix[0] {
		t.Error("Resize to the same size is not a copy")
	}
}

func TestResizePanicsOnBadSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  *RGB
		w, h int
	}{
		{"zero width", NewRGB(2, 2), 0, 2},
		{"negative height", NewRGB(2, 2), 2, -1},
		{"empty source", NewRGB(0, 3), 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			Resize(tc.src, tc.w, tc.h)
		})
	}
}
