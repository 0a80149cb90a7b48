package dataset

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// lineError is a label line that cannot be used.
type lineError struct {
	Line int // 1-based
	Msg  string
}

// parsedLabels is a label file's content.
type parsedLabels struct {
	Labels []Label     // usable lines, in file order, duplicates removed
	Dups   []int       // line numbers of the duplicates that were dropped
	Bad    []lineError // lines that cannot be used
	Polys  int         // polygon lines that were turned into boxes
}

// parseLabels parses a YOLO label file: one object a line, "class x y w
// h" with the box's centre and size normalised to the image, or a
// segmentation polygon "class x1 y1 x2 y2 x3 y3 ...", which becomes the
// box around its points, as Ultralytics does for detection training.
//
// It checks what Ultralytics 8.2's verify_image_label checks, with two
// differences: a class must be below nc (Ultralytics lets class nc
// through, an off-by-one), and box and polygon lines are told apart line
// by line (Ultralytics treats every line of a file as a polygon once one
// line has more than 6 fields, turning box lines into nonsense).
// Coordinates are float32 and must lie in [0, 1] after rounding to
// float32, as there. Blank lines are skipped; lines end with \n, \r\n or
// \r. Repeated lines are dropped, as Ultralytics drops them (it also
// reorders the rest; the first of each kept here keeps its place).
func parseLabels(data []byte, nc int) parsedLabels {
	var p parsedLabels
	seen := make(map[Label]bool)
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	lineNo := 0
	for len(s) > 0 {
		line := s
		if j := strings.IndexAny(s, "\n\r"); j >= 0 {
			line, s = s[:j], s[j+1:]
		} else {
			s = ""
		}
		lineNo++
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		l, poly, err := parseLabelFields(fields, nc)
		if err != nil {
			p.Bad = append(p.Bad, lineError{lineNo, err.Error()})
			continue
		}
		if poly {
			p.Polys++
		}
		if seen[l] {
			p.Dups = append(p.Dups, lineNo)
			continue
		}
		seen[l] = true
		p.Labels = append(p.Labels, l)
	}
	return p
}

// parseLabelFields parses one label line split into fields; poly reports
// whether it was a polygon.
func parseLabelFields(f []string, nc int) (l Label, poly bool, err error) {
	switch n := len(f); {
	case n == 5:
	case n >= 7 && n%2 == 1:
		poly = true
	default:
		return l, false, fmt.Errorf("%d fields: a box needs 5 (class x y w h), a polygon a class and 3 or more x y pairs", n)
	}
	if l.Class, err = parseClass(f[0], nc); err != nil {
		return l, poly, err
	}
	if !poly {
		var v [4]float32
		for i, name := range [4]string{"x", "y", "w", "h"} {
			if v[i], err = parseCoord(name, f[1+i]); err != nil {
				return l, false, err
			}
		}
		l.X, l.Y, l.W, l.H = v[0], v[1], v[2], v[3]
		return l, false, nil
	}
	x0, y0 := float32(math.Inf(1)), float32(math.Inf(1))
	x1, y1 := float32(math.Inf(-1)), float32(math.Inf(-1))
	for i := 1; i < len(f); i += 2 {
		k := (i + 1) / 2
		x, err := parseCoord("point "+strconv.Itoa(k)+" x", f[i])
		if err != nil {
			return l, true, err
		}
		y, err := parseCoord("point "+strconv.Itoa(k)+" y", f[i+1])
		if err != nil {
			return l, true, err
		}
		x0, x1 = min(x0, x), max(x1, x)
		y0, y1 = min(y0, y), max(y1, y)
	}
	// In float32, as Ultralytics' xyxy2xywh computes it.
	l.X, l.Y, l.W, l.H = (x0+x1)/2, (y0+y1)/2, x1-x0, y1-y0
	return l, true, nil
}

// parseClass reads a class index: a whole number, possibly written as a
// float ("3.0", as some converters write it), in [0, nc).
func parseClass(s string, nc int) (int, error) {
	c, err := strconv.Atoi(s)
	if err != nil {
		v, ferr := parseFloat(s)
		if ferr != nil || v != math.Trunc(v) || math.Abs(v) > maxClasses {
			return 0, fmt.Errorf("class %q is not a whole number", s)
		}
		c = int(v)
	}
	if c < 0 || c >= nc {
		return 0, fmt.Errorf("class %d is out of range: the dataset has %d classes (0-%d)", c, nc, nc-1)
	}
	return c, nil
}

// parseCoord reads a normalised coordinate as float32 and checks that it
// lies in [0, 1].
func parseCoord(name, s string) (float32, error) {
	v, err := parseFloat(s)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // ±Inf fails the range check below
		return 0, fmt.Errorf("%s %q is not a number", name, s)
	}
	f := float32(v)
	if !(f >= 0 && f <= 1) { // also catches NaN
		return 0, fmt.Errorf("%s %s is outside [0, 1]: coordinates must be normalised to the image size", name, s)
	}
	return f, nil
}

// parseFloat is strconv.ParseFloat without the forms no label writer
// produces and Python's float() rejects (hexadecimal mantissas).
func parseFloat(s string) (float64, error) {
	if strings.ContainsAny(s, "xXpP_") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(s, 32)
}
