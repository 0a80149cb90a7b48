package imgproc

import (
	"bytes"
	"flag"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var renderDir = flag.String("render", "", "write the example drawings of TestDrawExample to this directory")

func TestLineWidth(t *testing.T) {
	for _, tc := range []struct{ w, h, want int }{
		{640, 480, 2},   // round(1123/2*0.003) = round(1.68) = 2
		{320, 240, 2},   // max(..., 2)
		{1280, 720, 3},  // round(3.0045)
		{1920, 1080, 5}, // round(4.5045)
		{4000, 3000, 11},
	} {
		if got := LineWidth(tc.w, tc.h); got != tc.want {
			t.Errorf("LineWidth(%d, %d) = %d, want %d", tc.w, tc.h, got, tc.want)
		}
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		name string
		conf float32
		want string
	}{
		{"person", 0.87, "person 0.87"},
		{"dog", 0.125, "dog 0.12"},   // exactly representable: half to even, as Python
		{"cat", 0.875, "cat 0.88"},   // likewise
		{"car", 0.8649, "car 0.86"},  // below the half
		{"bus", 0.99999, "bus 1.00"}, // rounds up a digit
	} {
		if got := Label(tc.name, tc.conf); got != tc.want {
			t.Errorf("Label(%q, %v) = %q, want %q", tc.name, tc.conf, got, tc.want)
		}
	}
}

func TestClassColor(t *testing.T) {
	for _, tc := range []struct {
		class int
		want  [3]uint8
	}{
		{0, [3]uint8{0x04, 0x2A, 0xFF}}, // person: "042AFF"
		{19, [3]uint8{0xA2, 0xFF, 0x0B}},
		{20, [3]uint8{0x04, 0x2A, 0xFF}}, // wraps around
		{-1, [3]uint8{0xA2, 0xFF, 0x0B}}, // no panic on a bad class
	} {
		if got := ClassColor(tc.class); got != tc.want {
			t.Errorf("ClassColor(%d) = %v, want %v", tc.class, got, tc.want)
		}
	}
}

func TestDraw(t *testing.T) {
	img := NewRGB(200, 150)
	person, dark := ClassColor(0), ClassColor(2) // white text on blue, dark text on grey
	Draw(img, []Box{
		{X1: 50.9, Y1: 60.2, X2: 120.7, Y2: 130, Class: 0, Label: "person 0.87"},
		{X1: 150, Y1: 5, X2: 199, Y2: 50, Class: 2, Label: "cup 0.50"},
		// Off the image, degenerate and absurd boxes must not panic.
		{X1: -50, Y1: -50, X2: 400, Y2: 400, Class: 5},
		{X1: float32(math.NaN()), Y1: 1e30, X2: -1e30, Y2: 3, Class: 7, Label: "x"},
	})
	lw := LineWidth(200, 150) // 2
	at := func(x, y int) [3]uint8 {
		c := img.RGBAAt(x, y)
		return [3]uint8{c.R, c.G, c.B}
	}
	// Edges at int(50.9) = 50 and int(120.7) = 120, lw pixels thick.
	for _, p := range [][2]int{{50, 100}, {50 - lw/2, 100}, {120, 100}, {80, 130}} {
		if got := at(p[0], p[1]); got != person {
			t.Errorf("pixel %v = %v, want the person colour %v", p, got, person)
		}
	}
	if got := at(85, 100); got != ([3]uint8{}) {
		t.Errorf("inside the box: %v, want untouched", got)
	}
	// The person label sits above the box (y1 = 60 leaves room) and holds
	// white text; the cup label has no room above, so it is inside, and
	// is shifted left to fit, with dark text.
	count := func(x0, y0, x1, y1 int, c [3]uint8) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if at(x, y) == c {
					n++
				}
			}
		}
		return n
	}
	if n := count(50, 35, 130, 60, [3]uint8{255, 255, 255}); n < 50 {
		t.Errorf("%d white text pixels above the person box, want many", n)
	}
	if n := count(100, 5, 200, 30, darkTextColor); n < 50 {
		t.Errorf("%d dark text pixels in the cup label, want many", n)
	}
	if got := at(199, 10); got != dark {
		t.Errorf("cup label does not reach the right edge: %v", got)
	}
}

// TestDrawExample draws labelled boxes on a COCO image in every palette
// colour; with -render DIR it writes example.png and example.jpg there
// to look at.
func TestDrawExample(t *testing.T) {
	img := loadTestPNG(t, filepath.Join("testdata", "coco", "000000000009_cv2.png"))
	boxes := []Box{
		{X1: 1, Y1: 187, X2: 612, Y2: 473, Class: 45, Label: Label("bowl", 0.91)},
		{X1: 311, Y1: 4, X2: 631, Y2: 232, Class: 45, Label: Label("bowl", 0.88)},
		{X1: 249, Y1: 229, X2: 565, Y2: 474, Class: 50, Label: Label("broccoli", 0.87)},
		{X1: 0, Y1: 13, X2: 434, Y2: 388, Class: 45, Label: Label("bowl", 0.64)},
		{X1: 376, Y1: 40, X2: 451, Y2: 86, Class: 49, Label: Label("orange", 0.45)},
	}
	for c := range 20 { // a grid of small boxes, one per palette colour
		x := float32(8 + (c%4)*158)
		y := float32(262 + (c/4)*42)
		boxes = append(boxes, Box{X1: x, Y1: y, X2: x + 146, Y2: y + 18, Class: c, Label: fmt.Sprintf("class%d 0.%02d", c, 50+c)})
	}
	Draw(img, boxes)
	var jpg bytes.Buffer
	if err := EncodeJPEG(&jpg, img, 95); err != nil {
		t.Fatal(err)
	}
	back, err := jpeg.Decode(bytes.NewReader(jpg.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := back.Bounds(); b.Dx() != img.W || b.Dy() != img.H {
		t.Fatalf("JPEG round trip: %v", b)
	}
	if *renderDir == "" {
		return
	}
	var pngData bytes.Buffer
	if err := EncodePNG(&pngData, img); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"example.png": pngData.Bytes(), "example.jpg": jpg.Bytes()} {
		if err := os.WriteFile(filepath.Join(*renderDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFont checks that every printable character has a glyph and that
// unprintable ones fall back to '?'.
func TestFont(t *testing.T) {
	for r := ' ' + 1; r <= '~'; r++ {
		ink := 0
		for _, row := range glyph(r) {
			ink += bitsSet(row)
		}
		if ink == 0 {
			t.Errorf("glyph %q is blank", r)
		}
	}
	if glyph('é') != glyph('?') || glyph('\n') != glyph('?') {
		t.Error("no '?' fallback")
	}
	if got := textWidth("ab", 2); got != 22 {
		t.Errorf("textWidth = %d, want 22", got)
	}
}

func bitsSet(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}
