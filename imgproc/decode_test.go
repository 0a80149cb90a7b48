package imgproc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeMatchesOpenCV decodes the files of testdata/decode (PNG colour
// types and bit depths, EXIF orientations in JPEG and PNG) and compares
// with cv2.imread(..., IMREAD_COLOR) of the same files. PNGs must match
// exactly; the JPEGs (flat 16x16 blocks at quality 100) to within the
// IDCT differences, which is far below what a wrong orientation gives.
func TestDecodeMatchesOpenCV(t *testing.T) {
	raw, err := os.ReadFile("testdata/decode/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]string
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) < 30 {
		t.Fatalf("manifest lists %d files, want >= 30", len(manifest))
	}
	for name, ref := range manifest {
		t.Run(name, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", "decode", name))
			if err != nil {
				t.Fatal(err)
			}
			want := loadTestPNG(t, filepath.Join("testdata", "decode", ref))
			if got.W != want.W || got.H != want.H {
				t.Fatalf("%dx%d, cv2 %dx%d", got.W, got.H, want.W, want.H)
			}
			tol := 0
			if strings.HasSuffix(name, ".jpg") {
				tol = 4
			}
			if maxd, mean, first := diffStats(got, want); maxd > tol {
				t.Errorf("differs from cv2 by up to %d (mean %.3f, first at sample %d)", maxd, mean, first)
			}
		})
	}
}

// TestOrientInverse: each orientation's transform undone by its inverse
// gives the original back, and 5 to 8 swap the sides.
func TestOrientInverse(t *testing.T) {
	img := NewRGB(3, 2)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	inverse := map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
	for o := 0; o <= 9; o++ {
		got := Orient(img, o)
		if o >= 5 && o <= 8 {
			if got.W != 2 || got.H != 3 {
				t.Errorf("orientation %d: %dx%d, want 2x3", o, got.W, got.H)
			}
			back := Orient(got, inverse[o])
			if !bytes.Equal(back.Pix, img.Pix) || back.W != 3 {
				t.Errorf("orientation %d then %d is not the identity", o, inverse[o])
			}
			continue
		}
		if o >= 2 && o <= 4 {
			if !bytes.Equal(Orient(got, o).Pix, img.Pix) {
				t.Errorf("orientation %d is not its own inverse", o)
			}
			continue
		}
		if got != img {
			t.Errorf("orientation %d changed the image", o)
		}
	}
}

// validJPEG and validPNG are small valid files for the error tests.
func validJPEG(t testing.TB) []byte {
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func validPNG(t testing.TB) []byte {
	var buf bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	img.Set(1, 1, color.NRGBA{200, 100, 50, 255})
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngWithSize returns a PNG whose IHDR claims w x h (CRC fixed up).
func pngWithSize(t testing.TB, w, h uint32) []byte {
	b := bytes.Clone(validPNG(t))
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	crc := crc32IEEE(b[12:29])
	binary.BigEndian.PutUint32(b[29:], crc)
	return b
}

func TestDecodeErrors(t *testing.T) {
	jpg, pngData := validJPEG(t), validPNG(t)
	zeroJPEG := bytes.Clone(jpg)
	// SOF0's height is the two bytes after FFC0, length and precision.
	if i := bytes.Index(zeroJPEG, []byte{0xff, 0xc0}); i >= 0 {
		zeroJPEG[i+5], zeroJPEG[i+6] = 0, 0
	} else {
		t.Fatal("no SOF0 in the test JPEG")
	}
	badCRC := bytes.Clone(pngData)
	badCRC[len(badCRC)-20] ^= 0xff // inside IDAT
	for _, tc := range []struct {
		name    string
		data    []byte
		want    error
		message string // part of the error text
	}{
		{"empty", nil, ErrCorrupt, "no data"},
		{"text", []byte("hello, world"), ErrUnsupportedFormat, "not JPEG or PNG"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ErrUnsupportedFormat, "GIF"},
		{"webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), ErrUnsupportedFormat, "WebP"},
		{"jpeg header only", jpg[:2], ErrCorrupt, "truncated"},
		{"jpeg truncated", jpg[:len(jpg)/2], ErrCorrupt, "JPEG"},
		{"jpeg zero height", zeroJPEG, ErrEmptyImage, "zero-size"},
		{"png truncated", pngData[:len(pngData)-30], ErrCorrupt, "PNG"},
		{"png signature only", pngData[:8], ErrCorrupt, "truncated"},
		{"png bad checksum", badCRC, ErrCorrupt, "PNG"},
		{"png zero width", pngWithSize(t, 0, 3), ErrCorrupt, "PNG"},
		{"png too large", pngWithSize(t, 1<<20, 1<<20), ErrTooLarge, "1048576x1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(tc.data)
			if err == nil {
				t.Fatalf("no error, got a %dx%d image", img.W, img.H)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err, tc.message)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.jpg")
	if err := os.WriteFile(bad, validJPEG(t)[:40], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.png")} {
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%s) = %v, want an error naming the file", path, err)
		}
	}
	good := filepath.Join(dir, "ok.png")
	if err := os.WriteFile(good, validPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if c := img.RGBAAt(1, 1); c != (color.RGBA{200, 100, 50, 255}) || img.W != 5 || img.H != 3 {
		t.Errorf("decoded %dx%d, pixel (1,1) %v", img.W, img.H, c)
	}
}

// FuzzDecode: Decode must return an image or an error, never panic or
// allocate without bound, whatever the bytes. The seeds are valid files
// from testdata; the limit keeps fuzzed headers from asking for huge
// images.
func FuzzDecode(f *testing.F) {
	f.Add(validJPEG(f))
	f.Add(validPNG(f))
	for _, name := range []string{"exif6.jpg", "exif3.png", "pal4trns.png", "graya16.png", "gray1.png"} {
		data, err := os.ReadFile(filepath.Join("testdata", "decode", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decode(data, 1<<16)
		if err != nil {
			if img != nil {
				t.Fatal("image and error both returned")
			}
			return
		}
		if img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H*3 {
			t.Fatalf("bad image %dx%d with %d samples", img.W, img.H, len(img.Pix))
		}
	})
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
