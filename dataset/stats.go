package dataset

import (
	"fmt"
	"io"
	"strings"
)

// COCO's box size ranges, in pixels of area in the original image
// (pycocotools' areaRng): small below 32², medium below 96², large above.
const (
	smallArea  = 32 * 32
	mediumArea = 96 * 96
)

// SizeCounts counts boxes by COCO's size ranges.
type SizeCounts struct {
	Small  int `json:"small"`             // under 32x32 pixels of area
	Medium int `json:"medium"`            // 32x32 to 96x96
	Large  int `json:"large"`             // over 96x96
	Other  int `json:"unsized,omitempty"` // boxes of images whose size is not known
}

func (s *SizeCounts) add(l Label, w, h int) {
	if w <= 0 || h <= 0 {
		s.Other++
		return
	}
	switch a := float64(l.W) * float64(w) * float64(l.H) * float64(h); {
	case a < smallArea:
		s.Small++
	case a < mediumArea:
		s.Medium++
	default:
		s.Large++
	}
}

// ClassStats counts one class.
type ClassStats struct {
	Class  int        `json:"class"`
	Name   string     `json:"name"`
	Images int        `json:"images"` // images with at least one box of the class
	Boxes  int        `json:"boxes"`
	Sizes  SizeCounts `json:"sizes"`
}

// Stats describes a set of images and what Scan found wrong with it.
type Stats struct {
	Images     int          `json:"images"`
	Background int          `json:"background"` // images without boxes
	Boxes      int          `json:"boxes"`
	Sizes      SizeCounts   `json:"sizes"`
	Classes    []ClassStats `json:"classes"` // every class, by id

	// Set by Scan, zero otherwise.
	Skipped         int `json:"skipped"`          // images with a BadImage or BadLabel problem
	OrphanLabels    int `json:"orphan_labels"`    // label files without an image
	DuplicateLabels int `json:"duplicate_labels"` // label lines dropped as repeats
	Polygons        int `json:"polygons"`         // polygon lines turned into boxes
}

// ComputeStats counts items by class and box size; names are the class
// names (a class beyond them is counted under "class_N").
func ComputeStats(items []Item, names []string) Stats {
	st := Stats{Images: len(items), Classes: make([]ClassStats, len(names))}
	for i, n := range names {
		st.Classes[i] = ClassStats{Class: i, Name: n}
	}
	var seen []int // seen[c] == image index + 1 when class c was counted for it
	for i, it := range items {
		if len(it.Labels) == 0 {
			st.Background++
		}
		for _, l := range it.Labels {
			for l.Class >= len(st.Classes) {
				c := len(st.Classes)
				st.Classes = append(st.Classes, ClassStats{Class: c, Name: fmt.Sprintf("class_%d", c)})
			}
			for len(seen) < len(st.Classes) {
				seen = append(seen, 0)
			}
			cs := &st.Classes[l.Class]
			if seen[l.Class] != i+1 {
				seen[l.Class] = i + 1
				cs.Images++
			}
			cs.Boxes++
			cs.Sizes.add(l, it.W, it.H)
			st.Boxes++
			st.Sizes.add(l, it.W, it.H)
		}
	}
	return st
}

// WriteTable writes the statistics as a plain-text table, one row per
// class that has boxes.
func (s *Stats) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "images %d (%d background), boxes %d (small %d, medium %d, large %d",
		s.Images, s.Background, s.Boxes, s.Sizes.Small, s.Sizes.Medium, s.Sizes.Large)
	if s.Sizes.Other > 0 {
		fmt.Fprintf(&b, ", of unknown size %d", s.Sizes.Other)
	}
	b.WriteString(")\n")
	if s.Skipped+s.OrphanLabels+s.DuplicateLabels+s.Polygons > 0 {
		fmt.Fprintf(&b, "skipped images %d, label files without images %d, duplicate label lines dropped %d, polygons turned into boxes %d\n",
			s.Skipped, s.OrphanLabels, s.DuplicateLabels, s.Polygons)
	}
	nw := len("class")
	for _, c := range s.Classes {
		if c.Boxes > 0 {
			nw = max(nw, len(c.Name))
		}
	}
	row := func(name, id string, v ...any) {
		fmt.Fprintf(&b, "  %-*s %4s %7v %7v %7v %7v %7v\n", append([]any{nw, name, id}, v...)...)
	}
	row("class", "id", "images", "boxes", "small", "medium", "large")
	for _, c := range s.Classes {
		if c.Boxes > 0 {
			row(c.Name, fmt.Sprint(c.Class), c.Images, c.Boxes, c.Sizes.Small, c.Sizes.Medium, c.Sizes.Large)
		}
	}
	row("all", "", s.Images, s.Boxes, s.Sizes.Small, s.Sizes.Medium, s.Sizes.Large)
	_, err := io.WriteString(w, b.String())
	return err
}
