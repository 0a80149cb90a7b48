package imgproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// Errors that Decode and Load wrap, for errors.Is.
var (
	// ErrUnsupportedFormat: the data is neither JPEG nor PNG, or uses a
	// feature the standard decoders lack (e.g. arithmetic-coded JPEG).
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrCorrupt: the data claims to be JPEG or PNG but is truncated or
	// malformed.
	ErrCorrupt = errors.New("corrupt or truncated image data")
	// ErrEmptyImage: the header declares a width or height of zero.
	ErrEmptyImage = errors.New("zero-size image")
	// ErrTooLarge: the header declares more than MaxPixels pixels.
	ErrTooLarge = errors.New("image too large")
)

// MaxPixels bounds the pixel count Decode accepts, checked on the header
// before any pixel memory is allocated, so that a few bytes claiming a
// 65535x65535 image cannot exhaust memory. 2^28 pixels (e.g. 16384x16384)
// is far beyond any photograph YOLO is fed; OpenCV's own limit
// (CV_IO_MAX_IMAGE_PIXELS) is 2^30.
const MaxPixels = 1 << 28

// Load reads and decodes a JPEG or PNG file; see Decode. Errors name the
// file.
func Load(path string) (*RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("load image %s: %w", path, err)
	}
	return img, nil
}

// Decode decodes a JPEG or PNG image into RGB, as cv2.imread(path,
// cv2.IMREAD_COLOR) would (Ultralytics' predictor reads images that way):
//
//   - the EXIF orientation (JPEG APP1 segment or PNG eXIf chunk) is applied,
//     as OpenCV 4.6 does unless IMREAD_IGNORE_ORIENTATION is given;
//   - grey images are replicated into three channels, alpha is dropped
//     without compositing and 16-bit samples keep their high byte;
//   - JPEG chroma is upsampled and converted to RGB the way libjpeg-turbo
//     does by default (fancy upsampling, its fixed-point YCbCr tables).
//
// JPEG pixels still differ from libjpeg-turbo's by a level or so here and
// there, because Go's inverse DCT is not libjpeg's: on all 128 COCO128
// images at most 3 levels, 0.024 on average (image/jpeg's own colour
// conversion is off by up to 69 and 0.77 on average). CMYK JPEGs go
// through Go's CMYK model, which is not checked against OpenCV. Unlike OpenCV, which returns whatever part of
// a truncated JPEG it could read, Decode reports truncated data as an
// error wrapping ErrCorrupt. It never panics on bad input.
func Decode(data []byte) (*RGB, error) {
	return decode(data, MaxPixels)
}

// decode is Decode with an adjustable pixel limit, so that the fuzz test
// can use a small one.
func decode(data []byte, maxPixels int) (*RGB, error) {
	var (
		cfg    image.Config
		err    error
		format string
	)
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("%w: no data", ErrCorrupt)
	case bytes.HasPrefix(data, []byte("\xff\xd8")):
		format = "JPEG"
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		format = "PNG"
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedFormat, sniff(data))
	}
	if err != nil {
		return nil, decodeError(format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s: %w (%dx%d)", format, ErrEmptyImage, cfg.Width, cfg.Height)
	}
	if cfg.Width > maxPixels/cfg.Height {
		return nil, fmt.Errorf("%s: %w: %dx%d is more than %d pixels", format, ErrTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	var (
		img    *RGB
		orient int
	)
	if format == "JPEG" {
		var m image.Image
		m, err = jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, decodeError(format, err)
		}
		if ycc, ok := m.(*image.YCbCr); ok {
			img = ycbcrToRGB(ycc)
		} else {
			img = FromImage(m)
		}
		orient = jpegOrientation(data)
	} else {
		var m image.Image
		m, err = png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, decodeError(format, err)
		}
		img = FromImage(m)
		orient = pngOrientation(data)
	}
	if img.W != cfg.Width || img.H != cfg.Height {
		// The standard decoders guarantee this; keep the promise of the
		// size check above even if that ever changed.
		return nil, fmt.Errorf("%s: %w: header says %dx%d, decoded %dx%d", format, ErrCorrupt, cfg.Width, cfg.Height, img.W, img.H)
	}
	return Orient(img, orient), nil
}

// decodeError classifies an error of image/jpeg or image/png.
func decodeError(format string, err error) error {
	var (
		jf jpeg.FormatError
		ju jpeg.UnsupportedError
		pf png.FormatError
		pu png.UnsupportedError
	)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%s data truncated: %w (%v)", format, ErrCorrupt, err)
	case errors.As(err, &ju) || errors.As(err, &pu):
		return fmt.Errorf("%s: %w: %v", format, ErrUnsupportedFormat, err)
	case errors.As(err, &jf) || errors.As(err, &pf):
		return fmt.Errorf("%s: %w: %v", format, ErrCorrupt, err)
	}
	// Checksum mismatches and zlib errors come as other types.
	return fmt.Errorf("%s: %w: %v", format, ErrCorrupt, err)
}

// sniff names the format of data that is neither JPEG nor PNG, for the
// error message.
func sniff(data []byte) string {
	for _, s := range []struct{ magic, name string }{
		{"GIF87a", "GIF"}, {"GIF89a", "GIF"}, {"BM", "BMP"},
		{"II*\x00", "TIFF"}, {"MM\x00*", "TIFF"}, {"\x00\x00\x01\x00", "ICO"},
	} {
		if bytes.HasPrefix(data, []byte(s.magic)) {
			return s.name + " (only JPEG and PNG are read)"
		}
	}
	if len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP" {
		return "WebP (only JPEG and PNG are read)"
	}
	n := min(len(data), 8)
	return fmt.Sprintf("not JPEG or PNG (starts with % x)", data[:n])
}
