package imgproc

import (
	"math"
	"testing"
)

func TestToCHW(t *testing.T) {
	img := NewRGB(3, 2)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 15)
	}
	for _, tc := range []struct {
		name string
		dst  []float32
	}{
		{"nil", nil},
		{"too small", make([]float32, 5)},
		{"large enough", make([]float32, 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ToCHW(tc.dst, img)
			if len(got) != 18 {
				t.Fatalf("len %d, want 18", len(got))
			}
			if cap(tc.dst) >= 18 && &got[0] != &tc.dst[0] {
				t.Error("dst was not reused")
			}
			for c := range 3 {
				for y := range 2 {
					for x := range 3 {
						v := img.Pix[(y*3+x)*3+c]
						if want := float32(v) / 255; got[c*6+y*3+x] != want {
							t.Errorf("plane %d (%d,%d) = %v, want %v", c, x, y, got[c*6+y*3+x], want)
						}
					}
				}
			}
		})
	}
}

// TestUnitScaleIsDivision pins the table to true float32 division, the
// operation PyTorch performs, and shows it is not a multiplication by the
// reciprocal for every value.
func TestUnitScaleIsDivision(t *testing.T) {
	recip := float32(1) / 255
	differ := 0
	for v := range 256 {
		if unitScale[v] != float32(v)/255 {
			t.Fatalf("unitScale[%d] = %v", v, unitScale[v])
		}
		if unitScale[v] != float32(v)*recip {
			differ++
		}
		if math.Abs(float64(unitScale[v])-float64(v)/255) > 1e-7 {
			t.Fatalf("unitScale[%d] = %v, far from %v", v, unitScale[v], float64(v)/255)
		}
	}
	t.Logf("%d of 256 values differ between v/255 and v*(1/255) in float32", differ)
}
