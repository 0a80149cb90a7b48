package imgproc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchImage is the cv2 decode of a 640x480 COCO image.
func benchImage(b *testing.B) *RGB {
	return loadTestPNG(b, filepath.Join("testdata", "coco", "000000000009_cv2.png"))
}

// BenchmarkLetterBox measures resize + pad of a 640x480 image as the
// predictor (Auto, rectangular) and the trainer (square) do it, into a
// reused buffer.
func BenchmarkLetterBox(b *testing.B) {
	src := benchImage(b)
	for _, size := range []int{320, 640} {
		for _, auto := range []bool{true, false} {
			lb := NewLetterBox(size, size)
			lb.Auto = auto
			name := fmt.Sprintf("640x480_to_%d_square", size)
			if auto {
				name = fmt.Sprintf("640x480_to_%d_auto", size)
			}
			b.Run(name, func(b *testing.B) {
				var dst *RGB
				b.SetBytes(int64(len(src.Pix)))
				for b.Loop() {
					dst, _ = lb.ApplyInto(dst, src)
				}
			})
		}
	}
}

// BenchmarkResize measures Resize alone, for comparison with OpenCV's
// figures: a 2x downscale, an odd downscale and an upscale.
func BenchmarkResize(b *testing.B) {
	src := benchImage(b)
	for _, sz := range [][2]int{{320, 240}, {417, 313}, {1280, 960}} {
		b.Run(fmt.Sprintf("640x480_to_%dx%d", sz[0], sz[1]), func(b *testing.B) {
			var dst *RGB
			b.SetBytes(int64(len(src.Pix)))
			for b.Loop() {
				dst = ResizeInto(dst, src, sz[0], sz[1])
			}
		})
	}
}

func BenchmarkToCHW(b *testing.B) {
	src := benchImage(b)
	lb := NewLetterBox(640, 640)
	img, _ := lb.Apply(src)
	var buf []float32
	b.SetBytes(int64(len(img.Pix)))
	for b.Loop() {
		buf = ToCHW(buf, img)
	}
}

// BenchmarkDecodeJPEG decodes a 640x480 COCO JPEG (skipped without the
// shared data set).
func BenchmarkDecodeJPEG(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(cocoDir, "000000000009.jpg"))
	if err != nil {
		b.Skipf("COCO128 not found at %s: %v", cocoDir, err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
