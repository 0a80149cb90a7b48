// Package yolo is the YOLOv8 detection model of Ultralytics 8.2 built on
// package nn: the architecture from yolov8.yaml and its scale table, the
// forward and backward passes, the decoding of the detection head and
// non-maximum suppression.
package yolo

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Scale is one row of yolov8.yaml's scale table.
type Scale struct {
	Depth, Width float64
	MaxChannels  int
}

// scales is yolov8.yaml's table (Ultralytics 8.2). Read-only.
var scales = map[string]Scale{
	"n": {0.33, 0.25, 1024},
	"s": {0.33, 0.50, 1024},
	"m": {0.67, 0.75, 768},
	"l": {1.00, 1.00, 512},
	"x": {1.00, 1.25, 512},
}

// Scales lists the scale letters, smallest first.
func Scales() []string { return []string{"n", "s", "m", "l", "x"} }

// Config selects a model: a scale letter and the number of classes.
type Config struct {
	Scale string
	NC    int
}

// RegMax is the number of DFL bins per box side, fixed in YOLOv8.
const RegMax = 16

// Strides of the three detection levels P3, P4, P5.
var strides = [3]int{8, 16, 32}

// ParseName turns a model name such as "yolov8n" or "yolov8s.yaml" into
// its scale letter.
func ParseName(name string) (string, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".pt")
	if s, ok := strings.CutPrefix(base, "yolov8"); ok {
		if _, ok := scales[s]; ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("yolo: unknown model %q: want yolov8 followed by one of %v", name, Scales())
}

func (c Config) scale() (Scale, error) {
	s, ok := scales[c.Scale]
	if !ok {
		known := Scales()
		sort.Strings(known)
		return Scale{}, fmt.Errorf("yolo: unknown scale %q, want one of %v", c.Scale, known)
	}
	if c.NC < 1 {
		return Scale{}, fmt.Errorf("yolo: %d classes, want at least 1", c.NC)
	}
	return s, nil
}

// channels is Ultralytics' make_divisible(min(c, max_channels)*width, 8).
func (s Scale) channels(c int) int {
	return int(math.Ceil(float64(min(c, s.MaxChannels))*s.Width/8)) * 8
}

// repeats is max(round(n*depth), 1), rounding halves to even as Python does.
func (s Scale) repeats(n int) int {
	return max(int(math.RoundToEven(float64(n)*s.Depth)), 1)
}
