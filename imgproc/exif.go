package imgproc

import (
	"bytes"
	"encoding/binary"
)

// EXIF orientation values (TIFF tag 0x0112): where row 0 and column 0 of
// the stored pixels belong in the picture as it is meant to be seen.
const (
	OrientTopLeft     = 1 // as stored
	OrientTopRight    = 2 // mirrored left to right
	OrientBottomRight = 3 // turned 180 degrees
	OrientBottomLeft  = 4 // mirrored top to bottom
	OrientLeftTop     = 5 // transposed
	OrientRightTop    = 6 // stored turned 90 degrees anticlockwise: turn clockwise to view
	OrientRightBottom = 7 // transverse
	OrientLeftBottom  = 8 // stored turned 90 degrees clockwise: turn anticlockwise to view
)

// Orient returns img turned and mirrored as the EXIF orientation o asks,
// exactly as OpenCV's ApplyExifOrientation (used by cv2.imread) does:
// orientations 5 to 8 transpose first and then flip. Other values,
// including 1 and invalid ones, return img itself.
func Orient(img *RGB, o int) *RGB {
	if o < 2 || o > 8 {
		return img
	}
	w, h := img.W, img.H
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := NewRGB(dw, dh)
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			// (sx, sy): the stored pixel that lands on (x, y).
			var sx, sy int
			switch o {
			case OrientTopRight:
				sx, sy = w-1-x, y
			case OrientBottomRight:
				sx, sy = w-1-x, h-1-y
			case OrientBottomLeft:
				sx, sy = x, h-1-y
			case OrientLeftTop: // transpose
				sx, sy = y, x
			case OrientRightTop: // transpose, then flip left to right
				sx, sy = y, h-1-x
			case OrientRightBottom: // transpose, then flip both ways
				sx, sy = w-1-y, h-1-x
			case OrientLeftBottom: // transpose, then flip top to bottom
				sx, sy = w-1-y, x
			}
			copy(dst.Pix[(y*dw+x)*3:(y*dw+x)*3+3], img.Pix[(sy*w+sx)*3:(sy*w+sx)*3+3])
		}
	}
	return dst
}

// jpegOrientation returns the EXIF orientation of JPEG data, or 0. Like
// OpenCV 4.6 it looks only at the first APP1 segment before the first
// scan, skips its 6-byte "Exif\0\0" header without checking it, and reads
// IFD0.
func jpegOrientation(data []byte) int {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return 0
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xd0 && marker <= 0xd8: // no length
			i += 2
			continue
		case marker == 0xda || marker == 0xd9: // SOS, EOI: no more headers
			return 0
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0
		}
		if marker == 0xe1 {
			seg := data[i+4 : i+2+n]
			if len(seg) <= 6 {
				return 0
			}
			return exifOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 0
}

// pngOrientation returns the EXIF orientation of PNG data from its first
// eXIf chunk, or 0. The chunk may also follow the image data (OpenCV
// takes it from libpng's end info then; the tests check this against
// cv2).
func pngOrientation(data []byte) int {
	i := 8 // after the signature
	for i+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[i:]))
		kind := data[i+4 : i+8]
		if n < 0 || n > len(data)-i-12 {
			return 0
		}
		switch string(kind) {
		case "IEND":
			return 0
		case "eXIf":
			return exifOrientation(data[i+8 : i+8+n])
		}
		i += 12 + n
	}
	return 0
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF
// block, or returns 0. It follows OpenCV's ExifReader: byte order from
// "II"/"MM", the 42 mark, the IFD0 offset, then the entries, taking the
// value as a 16-bit number at entry+8 whatever the declared type. Entries
// are read in order until the first that does not fit; OpenCV keeps the
// ones read before such an error, and so does this.
func exifOrientation(t []byte) int {
	var bo binary.ByteOrder
	switch {
	case bytes.HasPrefix(t, []byte("II")):
		bo = binary.LittleEndian
	case bytes.HasPrefix(t, []byte("MM")):
		bo = binary.BigEndian
	default:
		return 0
	}
	if len(t) < 8 || bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off:]))
	for e := int64(0); e < n; e++ {
		p := off + 2 + 12*e
		if p+10 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[p:]) == 0x0112 {
			return int(bo.Uint16(t[p+8:]))
		}
	}
	return 0
}
