package imgproc

import (
	"fmt"
	"image"
	"image/color"
)

// RGB is an 8-bit, three-channel image packed without padding: the sample
// of channel c (0 red, 1 green, 2 blue) of pixel (x, y) is
// Pix[(y*W+x)*3+c]. This is the memory layout of an OpenCV CV_8UC3 Mat
// (with R and B swapped), which keeps the resize and letterbox code a
// direct transcription of OpenCV's row loops.
//
// RGB implements [image.Image] so that it can be handed to image/draw and
// the standard encoders; its bounds always start at (0, 0).
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w x h image. It panics if w or h is negative, as
// image.NewRGBA does.
func NewRGB(w, h int) *RGB {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("imgproc: negative image size %dx%d", w, h))
	}
	return &RGB{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// reuseRGB returns dst resized to w x h, reusing its pixel buffer when it
// is large enough, or a new image when dst is nil. The pixels are not
// cleared.
func reuseRGB(dst *RGB, w, h int) *RGB {
	if dst == nil {
		return NewRGB(w, h)
	}
	n := w * h * 3
	if cap(dst.Pix) < n {
		dst.Pix = make([]uint8, n)
	}
	dst.W, dst.H, dst.Pix = w, h, dst.Pix[:n]
	return dst
}

// ColorModel implements image.Image.
func (m *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image.
func (m *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

// At implements image.Image.
func (m *RGB) At(x, y int) color.Color { return m.RGBAAt(x, y) }

// RGBAAt returns the pixel at (x, y) as an opaque color.RGBA, or the zero
// colour outside the image.
func (m *RGB) RGBAAt(x, y int) color.RGBA {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	i := (y*m.W + x) * 3
	p := m.Pix[i : i+3 : i+3]
	return color.RGBA{p[0], p[1], p[2], 0xff}
}

// SetRGB sets the pixel at (x, y); points outside the image are ignored.
func (m *RGB) SetRGB(x, y int, r, g, b uint8) {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return
	}
	i := (y*m.W + x) * 3
	p := m.Pix[i : i+3 : i+3]
	p[0], p[1], p[2] = r, g, b
}

// Set implements draw.Image; the colour's alpha is ignored after the
// conversion to non-premultiplied RGBA, as a three-channel image has none.
func (m *RGB) Set(x, y int, c color.Color) {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	m.SetRGB(x, y, n.R, n.G, n.B)
}

// Clone returns a deep copy of m.
func (m *RGB) Clone() *RGB {
	return &RGB{W: m.W, H: m.H, Pix: append([]uint8(nil), m.Pix...)}
}

// FromImage converts any image to RGB. The pixels are taken as OpenCV's
// IMREAD_COLOR takes them from a file: alpha is dropped without
// compositing (the stored colour samples are kept as they are) and 16-bit
// samples keep their high byte. Grey is replicated into the three
// channels.
func FromImage(src image.Image) *RGB {
	b := src.Bounds()
	dst := NewRGB(b.Dx(), b.Dy())
	i := 0
	switch s := src.(type) {
	case *RGB:
		copy(dst.Pix, s.Pix)
	case *image.RGBA:
		// The decoders return RGBA only for opaque images (image/png makes
		// NRGBA when there is alpha), so these are the stored samples; for
		// a translucent RGBA from elsewhere they are premultiplied ones.
		dropAlpha(dst.Pix, s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y), b.Dx(), b.Dy())
	case *image.NRGBA:
		dropAlpha(dst.Pix, s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y), b.Dx(), b.Dy())
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := s.Pix[s.PixOffset(b.Min.X, y):]
			for x := 0; x < b.Dx(); x++ {
				v := row[x]
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = v, v, v
				i += 3
			}
		}
	case *image.Paletted:
		// The palette's own colour samples, whatever its tRNS alpha says.
		pal := make([][3]uint8, 256)
		for k, c := range s.Palette {
			r, g, bl := paletteRGB(c)
			pal[k] = [3]uint8{r, g, bl}
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := s.Pix[s.PixOffset(b.Min.X, y):]
			for x := 0; x < b.Dx(); x++ {
				p := pal[row[x]]
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = p[0], p[1], p[2]
				i += 3
			}
		}
	default:
		// NRGBA64, RGBA64, Gray16, CMYK, YCbCr...: through the
		// non-premultiplied 16-bit model, then the high byte.
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBA64Model.Convert(src.At(x, y)).(color.NRGBA64)
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
				i += 3
			}
		}
	}
	return dst
}

// paletteRGB returns the stored colour of a palette entry. image/png makes
// color.NRGBA entries when the palette has transparency and color.RGBA
// (alpha 255) otherwise; both carry the samples of the PLTE chunk.
func paletteRGB(c color.Color) (r, g, b uint8) {
	switch c := c.(type) {
	case color.NRGBA:
		return c.R, c.G, c.B
	case color.RGBA:
		return c.R, c.G, c.B
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return n.R, n.G, n.B
}

// dropAlpha copies the colour samples of w x h 4-byte pixels, rows stride
// bytes apart from offset off in pix, into the packed RGB dst.
func dropAlpha(dst, pix []uint8, stride, off, w, h int) {
	i := 0
	for y := range h {
		row := pix[off+y*stride:]
		for x := range w {
			dst[i], dst[i+1], dst[i+2] = row[4*x], row[4*x+1], row[4*x+2]
			i += 3
		}
	}
}
