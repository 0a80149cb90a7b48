package imgproc

import "testing"

// count returns how many pixels of img have colour c.
func count(img *RGB, c [3]uint8) int {
	n := 0
	for i := 0; i < len(img.Pix); i += 3 {
		if img.Pix[i] == c[0] && img.Pix[i+1] == c[1] && img.Pix[i+2] == c[2] {
			n++
		}
	}
	return n
}

func TestStrokeRect(t *testing.T) {
	red := [3]uint8{255, 0, 0}
	for _, tc := range []struct {
		name           string
		x0, y0, x1, y1 int
		lw, want       int
	}{
		{"inside", 2, 3, 12, 9, 2, 10*6 - 6*2},  // 10x6 outer, 6x2 hole
		{"thick fills", 2, 3, 12, 9, 4, 10 * 6}, // no hole left
		{"clipped", -5, -5, 5, 5, 1, 5 + 5 - 1}, // only the right and bottom edges are in
		{"empty", 4, 4, 4, 8, 2, 0},
		{"zero width", 2, 3, 12, 9, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := NewRGB(20, 20)
			StrokeRect(img, tc.x0, tc.y0, tc.x1, tc.y1, tc.lw, red)
			if got := count(img, red); got != tc.want {
				t.Errorf("%d red pixels, want %d", got, tc.want)
			}
		})
	}
}

func TestDrawTextAndSize(t *testing.T) {
	w, h := TextSize("Ab", 3)
	if w != (2*glyphStep-1)*3 || h != glyphH*3 {
		t.Fatalf("TextSize = %dx%d", w, h)
	}
	img := NewRGB(60, 40)
	white := [3]uint8{255, 255, 255}
	DrawText(img, "Ab", 1, 2, 3, white)
	n := count(img, white)
	if n == 0 || n%9 != 0 {
		t.Fatalf("%d white pixels: want a positive multiple of 9 (3x3 blocks)", n)
	}
	// Nothing outside the text's box.
	for y := range img.H {
		for x := range img.W {
			inside := x >= 1 && x < 1+w && y >= 2 && y < 2+h
			if !inside && img.RGBAAt(x, y).R != 0 {
				t.Fatalf("ink at (%d, %d), outside the %dx%d text box", x, y, w, h)
			}
		}
	}
}

func TestDrawBoxesWidth(t *testing.T) {
	c := ClassColor(0)
	for _, lw := range []int{1, 3, 6} {
		img := NewRGB(100, 100)
		DrawBoxes(img, []Box{{X1: 20, Y1: 30, X2: 80, Y2: 70}}, lw)
		// A line lw thick centred on each edge: the outer rectangle is
		// (60+lw) x (40+lw), the hole (60-lw) x (40-lw).
		want := (60+lw)*(40+lw) - (60-lw)*(40-lw)
		if got := count(img, c); got != want {
			t.Errorf("lw %d: %d box pixels, want %d", lw, got, want)
		}
	}
}
