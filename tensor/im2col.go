package tensor

import (
	"fmt"

	"github.com/yolops/yolops/tensor/vmath"
)

// ConvGeom is the geometry of a 2-D convolution over one image of C
// channels of H x W: a KH x KW window moved Stride pixels at a time over
// the image padded with Pad zeros on every side. It fixes the shape of the
// column matrix that Im2col builds: ColRows() x ColCols(), one row per
// (channel, kernel row, kernel column) and one column per output pixel, so
// that a convolution is the product W[outC, ColRows()] x col.
type ConvGeom struct {
	C, H, W     int
	KH, KW      int
	Stride, Pad int
}

// OutH is the height of the output: (H + 2*Pad - KH)/Stride + 1.
func (g ConvGeom) OutH() int { return (g.H+2*g.Pad-g.KH)/g.Stride + 1 }

// OutW is the width of the output: (W + 2*Pad - KW)/Stride + 1.
func (g ConvGeom) OutW() int { return (g.W+2*g.Pad-g.KW)/g.Stride + 1 }

// ColRows is the number of rows of the column matrix, C*KH*KW.
func (g ConvGeom) ColRows() int { return g.C * g.KH * g.KW }

// ColCols is the number of columns of the column matrix, OutH()*OutW().
func (g ConvGeom) ColCols() int { return g.OutH() * g.OutW() }

// Valid reports whether the geometry describes a convolution with at least
// one output pixel.
func (g ConvGeom) Valid() bool {
	return g.C >= 0 && g.H >= 0 && g.W >= 0 && g.KH >= 1 && g.KW >= 1 &&
		g.Stride >= 1 && g.Pad >= 0 && g.H+2*g.Pad >= g.KH && g.W+2*g.Pad >= g.KW
}

func (g ConvGeom) String() string {
	return fmt.Sprintf("image [%d %d %d] kernel %dx%d stride %d pad %d", g.C, g.H, g.W, g.KH, g.KW, g.Stride, g.Pad)
}

// check panics, naming the shapes, when the geometry is invalid or the
// image and column slices do not have the sizes it implies.
func (g ConvGeom) check(op string, img, col []float32) {
	if !g.Valid() {
		panic(fmt.Sprintf("tensor.%s: invalid geometry: %v", op, g))
	}
	if n := g.C * g.H * g.W; len(img) != n {
		panic(fmt.Sprintf("tensor.%s: image [%d %d %d] needs %d values, got %d", op, g.C, g.H, g.W, n, len(img)))
	}
	if r, c := g.ColRows(), g.ColCols(); len(col) != r*c {
		panic(fmt.Sprintf("tensor.%s: column matrix [%d %d] for %v needs %d values, got %d", op, r, c, g, r*c, len(col)))
	}
}

// span returns the range [lo, hi) of output positions o whose input
// position o*stride - pad + k falls inside [0, n).
func span(n, out, k, stride, pad int) (lo, hi int) {
	if d := pad - k; d > 0 {
		lo = (d + stride - 1) / stride
	}
	last := n - 1 + pad - k // o*stride <= last
	if last < 0 {
		return 0, 0
	}
	hi = min(last/stride+1, out)
	return min(lo, hi), hi
}

// Im2col writes the column matrix of image x into col: col is
// [C*KH*KW, OutH*OutW] row-major, x is [C, H, W]. Padding reads as zero.
// It panics, naming the shapes, when the geometry is invalid or a slice
// has the wrong length.
func Im2col(col, x []float32, g ConvGeom) {
	g.check("Im2col", x, col)
	im2colRows(col, x, g, 0, g.ColRows())
}

// Im2colRows is Im2col restricted to the rows [r0, r1) of col, so that
// callers can split one image across workers; the rest of col is left
// alone. It panics like Im2col, and when the range is out of bounds.
func Im2colRows(col, x []float32, g ConvGeom, r0, r1 int) {
	g.check("Im2colRows", x, col)
	if r0 < 0 || r1 < r0 || r1 > g.ColRows() {
		panic(fmt.Sprintf("tensor.Im2colRows: rows [%d, %d) outside the %d rows of %v", r0, r1, g.ColRows(), g))
	}
	im2colRows(col, x, g, r0, r1)
}

func im2colRows(col, x []float32, g ConvGeom, r0, r1 int) {
	im2colBand(col, g.OutH()*g.OutW(), x, g, r0, r1, 0, g.OutH())
}

// Im2colBand writes rows [r0, r1) of the column matrix restricted to the
// output rows [b0, b1): the columns b0*OutW to b1*OutW, stored as a matrix
// of (b1-b0)*OutW columns. Convolving band by band keeps the column matrix
// in cache instead of writing and re-reading tens of megabytes. It panics,
// naming the shapes, when a range is out of bounds or col is too short.
func Im2colBand(col, x []float32, g ConvGeom, r0, r1, b0, b1 int) {
	checkBand("Im2colBand", x, g, r0, r1, b0, b1)
	if need := g.ColRows() * (b1 - b0) * g.OutW(); len(col) < need {
		panic(fmt.Sprintf("tensor.Im2colBand: band of output rows [%d, %d) needs %d values, col has %d", b0, b1, need, len(col)))
	}
	im2colBand(col, (b1-b0)*g.OutW(), x, g, r0, r1, b0, b1)
}

// Im2colBandStride is Im2colBand with the rows of col ld values apart
// (ld at least the band's (b1-b0)*OutW columns): the columns of several
// images side by side in one matrix, multiplied by one GEMM. It panics
// like Im2colBand, and when ld is too small.
func Im2colBandStride(col []float32, ld int, x []float32, g ConvGeom, r0, r1, b0, b1 int) {
	checkBand("Im2colBandStride", x, g, r0, r1, b0, b1)
	p := (b1 - b0) * g.OutW()
	if ld < p {
		panic(fmt.Sprintf("tensor.Im2colBandStride: rows %d apart cannot hold the band's %d columns", ld, p))
	}
	if r1 > r0 && len(col) < (r1-1)*ld+p {
		panic(fmt.Sprintf("tensor.Im2colBandStride: rows [%d, %d) %d apart need %d values, col has %d", r0, r1, ld, (r1-1)*ld+p, len(col)))
	}
	im2colBand(col, ld, x, g, r0, r1, b0, b1)
}

// checkBand panics, naming op and the shapes, unless g is valid, x is
// one image of it and the rows and output rows lie within it.
func checkBand(op string, x []float32, g ConvGeom, r0, r1, b0, b1 int) {
	if !g.Valid() {
		panic(fmt.Sprintf("tensor.%s: invalid geometry: %v", op, g))
	}
	if n := g.C * g.H * g.W; len(x) != n {
		panic(fmt.Sprintf("tensor.%s: image [%d %d %d] needs %d values, got %d", op, g.C, g.H, g.W, n, len(x)))
	}
	if r0 < 0 || r1 < r0 || r1 > g.ColRows() || b0 < 0 || b1 < b0 || b1 > g.OutH() {
		panic(fmt.Sprintf("tensor.%s: rows [%d, %d), output rows [%d, %d) outside %v", op, r0, r1, b0, b1, g))
	}
}

// im2colBand writes rows [r0, r1) of the band's column matrix, row r at
// col[r*ld:].
func im2colBand(col []float32, ld int, x []float32, g ConvGeom, r0, r1, b0, b1 int) {
	oh, ow := g.OutH(), g.OutW()
	p, s, hw := (b1-b0)*ow, g.Stride, g.H*g.W
	base := b0 * ow // output position of the band's first column
	kk := g.KH * g.KW
	for r := r0; r < r1; r++ {
		c, ki, kj := r/kk, r%kk/g.KW, r%g.KW
		dst := col[r*ld : r*ld+p]
		src := x[c*hw : c*hw+hw]
		y0, y1 := span(g.H, oh, ki, s, g.Pad)
		y0, y1 = min(max(y0, b0), b1), min(max(y1, b0), b1)
		x0, x1 := span(g.W, ow, kj, s, g.Pad)
		clear(dst[:(y0-b0)*ow])
		clear(dst[(y1-b0)*ow:])
		if x0 >= x1 {
			clear(dst[(y0-b0)*ow : (y1-b0)*ow])
			continue
		}
		if s == 1 && ow == g.W && y0 < y1 {
			// "Same" padding: output pixel p reads input pixel p+off, so
			// the rows in [y0, y1) are one shifted copy, after which the
			// columns that wrapped around to a neighbouring row are zeroed.
			off := (ki-g.Pad)*g.W + kj - g.Pad
			lo, hi := y0*ow+x0, (y1-1)*ow+x1
			copy(dst[lo-base:hi-base], src[lo+off:hi+off])
			for oy := y0; oy < y1; oy++ {
				d := dst[(oy-b0)*ow : (oy-b0)*ow+ow]
				clear(d[:x0])
				clear(d[x1:])
			}
			continue
		}
		ix0 := x0*s - g.Pad + kj // input column of output column x0
		n := x1 - x0
		for oy := y0; oy < y1; oy++ {
			iy := oy*s - g.Pad + ki
			d := dst[(oy-b0)*ow : (oy-b0)*ow+ow]
			clear(d[:x0])
			clear(d[x1:])
			row := src[iy*g.W+ix0 : iy*g.W+g.W]
			out := d[x0:x1]
			switch s {
			case 1:
				copy(out, row[:n])
			case 2:
				vmath.Evens(out, row)
			default:
				row = row[:(n-1)*s+1]
				for i := range out {
					out[i] = row[i*s]
				}
			}
		}
	}
}

// Col2im adds the column matrix col back into image x, the adjoint of
// Im2col: every entry of col is added to the input pixel it was read from,
// and entries that came from padding are dropped. x is [C, H, W] and is
// accumulated into, not overwritten. It panics like Im2col.
func Col2im(x, col []float32, g ConvGeom) {
	g.check("Col2im", x, col)
	col2imChannels(x, col, g, 0, g.C)
}

// Col2imChannels is Col2im restricted to the channels [c0, c1) of x (the
// rows of col that belong to them), so that callers can split one image
// across workers without two of them writing the same pixel. It panics
// like Col2im, and when the range is out of bounds.
func Col2imChannels(x, col []float32, g ConvGeom, c0, c1 int) {
	g.check("Col2imChannels", x, col)
	if c0 < 0 || c1 < c0 || c1 > g.C {
		panic(fmt.Sprintf("tensor.Col2imChannels: channels [%d, %d) outside the %d channels of %v", c0, c1, g.C, g))
	}
	col2imChannels(x, col, g, c0, c1)
}

func col2imChannels(x, col []float32, g ConvGeom, c0, c1 int) {
	oh, ow := g.OutH(), g.OutW()
	p, s, hw := oh*ow, g.Stride, g.H*g.W
	kk := g.KH * g.KW
	for r := c0 * kk; r < c1*kk; r++ {
		c, ki, kj := r/kk, r%kk/g.KW, r%g.KW
		src := col[r*p : r*p+p]
		dst := x[c*hw : c*hw+hw]
		y0, y1 := span(g.H, oh, ki, s, g.Pad)
		x0, x1 := span(g.W, ow, kj, s, g.Pad)
		if x0 >= x1 {
			continue
		}
		ix0 := x0*s - g.Pad + kj
		n := x1 - x0
		for oy := y0; oy < y1; oy++ {
			iy := oy*s - g.Pad + ki
			in := src[oy*ow+x0 : oy*ow+x1]
			row := dst[iy*g.W+ix0 : iy*g.W+g.W]
			switch s {
			case 1:
				addTo(row[:n], in)
			case 2:
				row = row[:2*n-1]
				i := 0
				for ; i+4 <= n; i += 4 {
					r, v := row[2*i:2*i+7:2*i+7], in[i:i+4:i+4]
					r[0] += v[0]
					r[2] += v[1]
					r[4] += v[2]
					r[6] += v[3]
				}
				for ; i < n; i++ {
					row[2*i] += in[i]
				}
			default:
				row = row[:(n-1)*s+1]
				for i, v := range in {
					row[i*s] += v
				}
			}
		}
	}
}

// addTo adds src into dst element by element (len(src) >= len(dst)),
// unrolled by four because the compiler does not unroll loops.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, v := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0] += v[0]
		d[1] += v[1]
		d[2] += v[2]
		d[3] += v[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}
