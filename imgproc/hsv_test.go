package imgproc

import (
	"testing"
)

// TestRGBToHSVAllColours converts every one of the 2^24 RGB colours and
// compares the result with cv2.cvtColor(COLOR_BGR2HSV).
func TestRGBToHSVAllColours(t *testing.T) {
	ref := loadWarpHSVRef(t)
	img := NewRGB(4096, 4096)
	for i := range 1 << 24 {
		img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = uint8(i>>16), uint8(i>>8), uint8(i)
	}
	RGBToHSV(img)
	if s := sha(img.Pix); s != ref.RGB2HSVAll {
		t.Errorf("RGBToHSV over all colours: sha256 %s, want %s", s, ref.RGB2HSVAll)
	}
}

// TestHSVToRGBAllValues converts every HSV triple with a hue below 180,
// in rows 256 wide (OpenCV's vector path: truncation) and one pixel wide
// (its scalar path: rounding), and compares with
// cv2.cvtColor(COLOR_HSV2BGR).
func TestHSVToRGBAllValues(t *testing.T) {
	ref := loadWarpHSVRef(t)
	for _, tc := range []struct {
		name string
		w    int
		want string
	}{
		{"vector", 256, ref.HSV2RGBAllVector},
		{"scalar", 1, ref.HSV2RGBAllScalar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 180 << 16
			img := NewRGB(tc.w, n/tc.w)
			for i := range n {
				img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = uint8(i>>16), uint8(i>>8), uint8(i)
			}
			HSVToRGB(img)
			if s := sha(img.Pix); s != tc.want {
				t.Errorf("sha256 %s, want %s", s, tc.want)
			}
		})
	}
	// Rows that end in a partial block mix both paths.
	for _, r := range ref.HSV2RGBRows {
		img := noiseRGB(r.W, r.H, r.Seed)
		for i := 0; i < len(img.Pix); i += 3 {
			img.Pix[i] %= 180
		}
		HSVToRGB(img)
		if s := sha(img.Pix); s != r.SHA256 {
			t.Errorf("%dx%d rows: sha256 %s, want %s", r.W, r.H, s, r.SHA256)
		}
	}
}

// TestHSVRoundTripGrey: greys have no hue or saturation and come back
// unchanged through both conversions.
func TestHSVRoundTripGrey(t *testing.T) {
	img := NewRGB(256, 1)
	for i := range 256 {
		img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = uint8(i), uint8(i), uint8(i)
	}
	want := img.Clone()
	RGBToHSV(img)
	for i := range 256 {
		if h, s, v := img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2]; h != 0 || s != 0 || int(v) != i {
			t.Fatalf("grey %d -> HSV (%d, %d, %d), want (0, 0, %d)", i, h, s, v, i)
		}
	}
	HSVToRGB(img)
	if sha(img.Pix) != sha(want.Pix) {
		t.Fatal("greys changed by the round trip")
	}
}
