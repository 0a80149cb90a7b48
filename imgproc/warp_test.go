package imgproc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// warpHSVRef is testdata/warp_hsv.json, made by testdata/gen_warp_hsv.py
// with OpenCV 4.6.
type warpHSVRef struct {
	RGB2HSVAll       string `json:"rgb2hsv_all_sha256"`
	HSV2RGBAllVector string `json:"hsv2rgb_all_vector_sha256"`
	HSV2RGBAllScalar string `json:"hsv2rgb_all_scalar_sha256"`
	HSV2RGBRows      []struct {
		W, H, Seed int
		SHA256     string `json:"sha256"`
	} `json:"hsv2rgb_rows"`
	Warps []struct {
		SrcW        int       `json:"src_w"`
		SrcH        int       `json:"src_h"`
		Seed        int       `json:"seed"`
		DstW        int       `json:"dst_w"`
		DstH        int       `json:"dst_h"`
		Perspective bool      `json:"perspective"`
		M           []float64 `json:"m"`
		SHA256      string    `json:"sha256"`
	} `json:"warps"`
}

func loadWarpHSVRef(t *testing.T) warpHSVRef {
	t.Helper()
	data, err := os.ReadFile("testdata/warp_hsv.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref warpHSVRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("testdata/warp_hsv.json: %v", err)
	}
	return ref
}

// noiseRGB is gen_warp_hsv.py's noise(): deterministic RGB noise.
func noiseRGB(w, h, seed int) *RGB {
	img := NewRGB(w, h)
	for y := range h {
		for x := range w {
			for c := range 3 {
				v := uint32(x)*73856093 ^ uint32(y)*19349663 ^ uint32(c)*83492791 ^ uint32(uint64(seed)*2654435761)
				v = (v ^ v>>13) * 1274126177
				img.Pix[(y*w+x)*3+c] = uint8(v >> 16)
			}
		}
	}
	return img
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestWarpMatchesOpenCV compares WarpAffine and WarpPerspective with
// cv2.warpAffine / cv2.warpPerspective (INTER_LINEAR, constant border
// 114) on noise images: identity, sub-pixel shifts, 1-pixel-wide and
// -high sources, rotations, shears, strong up- and downscales, a singular
// matrix, Ultralytics' mosaic geometry and perspective matrices. Every
// byte must match.
func TestWarpMatchesOpenCV(t *testing.T) {
	ref := loadWarpHSVRef(t)
	if len(ref.Warps) < 30 {
		t.Fatalf("%d warp cases in testdata/warp_hsv.json, want >= 30", len(ref.Warps))
	}
	for i, c := range ref.Warps {
		name := fmt.Sprintf("%02d_%dx%d_to_%dx%d", i, c.SrcW, c.SrcH, c.DstW, c.DstH)
		if c.Perspective {
			name += "_persp"
		}
		t.Run(name, func(t *testing.T) {
			src := noiseRGB(c.SrcW, c.SrcH, c.Seed)
			var got *RGB
			if c.Perspective {
				got = WarpPerspective(src, [9]float64(c.M), c.DstW, c.DstH, 114)
			} else {
				got = WarpAffine(src, [6]float64(c.M), c.DstW, c.DstH, 114)
			}
			if got.W != c.DstW || got.H != c.DstH {
				t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, c.DstW, c.DstH)
			}
			if s := sha(got.Pix); s != c.SHA256 {
				t.Errorf("output differs from OpenCV's (sha256 %s, want %s)", s, c.SHA256)
			}
		})
	}
}

// TestWarpAffineInto checks that a reused destination gives the same
// bytes as a fresh one, whatever it held before.
func TestWarpAffineInto(t *testing.T) {
	src := noiseRGB(40, 30, 9)
	m := [6]float64{0.8, 0.1, 3, -0.1, 0.8, 4}
	want := WarpAffine(src, m, 25, 20, 114)
	dst := noiseRGB(50, 50, 10)
	got := WarpAffineInto(dst, src, m, 25, 20, 114)
	if got.W != 25 || got.H != 20 || sha(got.Pix) != sha(want.Pix) {
		t.Fatal("WarpAffineInto into a used buffer differs from WarpAffine")
	}
}

func TestWarpPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"zero width", func() { WarpAffine(NewRGB(2, 2), [6]float64{1, 0, 0, 0, 1, 0}, 0, 2, 0) }},
		{"empty source", func() { WarpAffine(NewRGB(0, 2), [6]float64{1, 0, 0, 0, 1, 0}, 2, 2, 0) }},
		{"perspective zero height", func() { WarpPerspective(NewRGB(2, 2), [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, 2, 0, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}
