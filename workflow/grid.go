package workflow

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/yolops/yolops/train"
)

// Axis is one swept training argument and its values, as text (read as
// args.yaml reads them).
type Axis struct {
	Key    string
	Values []string
}

// Grid is a set of trainings: fixed arguments, set on Base, and the
// arguments swept, every combination of their values making one point.
type Grid struct {
	Base train.Args
	// Axes are the swept arguments; the last one varies fastest.
	Axes []Axis
}

// Set sets key to values: one value fixes the argument, several sweep it.
// A key set before is replaced, keeping its place among the axes.
func (g *Grid) Set(key string, values []string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(values) == 0 {
		return fmt.Errorf("%s: no value", key)
	}
	seen := map[string]bool{}
	for _, v := range values {
		probe := g.Base
		if err := setArg(&probe, key, v); err != nil {
			return err
		}
		// Equal values written differently (0.01 and 1e-2) are one value.
		norm := argText(probe, key)
		if seen[norm] {
			return fmt.Errorf("%s: value %s is given twice", key, v)
		}
		seen[norm] = true
	}
	i := slices.IndexFunc(g.Axes, func(a Axis) bool { return a.Key == key })
	if len(values) == 1 {
		if i >= 0 {
			g.Axes = slices.Delete(g.Axes, i, i+1)
		}
		return setArg(&g.Base, key, values[0])
	}
	ax := Axis{Key: key, Values: slices.Clone(values)}
	if i >= 0 {
		g.Axes[i] = ax
	} else {
		g.Axes = append(g.Axes, ax)
	}
	return nil
}

// Size is the number of points.
func (g *Grid) Size() int {
	n := 1
	for _, a := range g.Axes {
		n *= len(a.Values)
	}
	return n
}

// Points expands the grid into the arguments of each training, the last
// axis varying fastest. The runs' names must differ: axes other than the
// model, epochs, imgsz, lr0 and seed (which RunName spells out) add
// _<key><value> to them.
func (g *Grid) Points() ([]train.Args, error) {
	const maxPoints = 10000
	if n := g.Size(); n > maxPoints {
		return nil, fmt.Errorf("grid of %d points: at most %d", n, maxPoints)
	}
	points := []train.Args{g.Base}
	for _, ax := range g.Axes {
		next := make([]train.Args, 0, len(points)*len(ax.Values))
		for _, p := range points {
			for _, v := range ax.Values {
				q := p
				if err := setArg(&q, ax.Key, v); err != nil {
					return nil, err
				}
				next = append(next, q)
			}
		}
		points = next
	}
	names := map[string]bool{}
	for i, p := range points {
		check := effectiveArgs(p)
		check.Data = "data.yaml" // the data_loader's output, not known yet
		if err := check.Validate(); err != nil {
			return nil, fmt.Errorf("grid point %s: %w", g.describe(p), err)
		}
		if names[PointName(g, p)] {
			return nil, fmt.Errorf("two grid points are named %s", PointName(g, p))
		}
		names[PointName(g, p)] = true
		points[i] = p
	}
	return points, nil
}

// named are the arguments RunName spells out.
var named = []string{"model", "epochs", "imgsz", "lr0", "seed"}

// PointName is the name of point p of g: RunName, with _<key><value> for
// each other swept argument.
func PointName(g *Grid, p train.Args) string {
	name := RunName(p)
	for _, ax := range g.Axes {
		if !slices.Contains(named, ax.Key) {
			name += "_" + ax.Key + argText(p, ax.Key)
		}
	}
	return name
}

func (g *Grid) describe(p train.Args) string {
	var parts []string
	for _, ax := range g.Axes {
		parts = append(parts, ax.Key+"="+argText(p, ax.Key))
	}
	if len(parts) == 0 {
		return RunName(p)
	}
	return strings.Join(parts, " ")
}

// ParseGrid reads a grid file: a YAML mapping of training arguments
// (Ultralytics' names, as in args.yaml) to a value, which fixes the
// argument, or a list of values, which sweeps it:
//
//	epochs: 3
//	imgsz: [320, 416]
//	lr0: [0.005, 0.01]
//	seed: [42, 1]
//
// It returns the entries in the file's order, each checked (errors give
// the file name and line); Grid.Set applies them. name is the file's
// name, for errors.
func ParseGrid(data []byte, name string) ([]Axis, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty: want a mapping of training arguments to a value or a list of values", name)
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of training arguments to a value or a list of values", name, m.Line)
	}
	probe := &Grid{Base: train.DefaultArgs()}
	var out []Axis
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: a key must be an argument name", name, k.Line)
		}
		if line, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("%s:%d: %s is set twice (first on line %d)", name, k.Line, k.Value, line)
		}
		seen[k.Value] = k.Line
		var values []string
		switch v.Kind {
		case yaml.ScalarNode:
			values = []string{v.Value}
		case yaml.SequenceNode:
			if len(v.Content) == 0 {
				return nil, fmt.Errorf("%s:%d: %s: empty list", name, v.Line, k.Value)
			}
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s:%d: %s: want a list of plain values", name, e.Line, k.Value)
				}
				values = append(values, e.Value)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s: want a value or a list of values", name, v.Line, k.Value)
		}
		if err := probe.Set(k.Value, values); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, k.Line, err)
		}
		out = append(out, Axis{Key: k.Value, Values: values})
	}
	return out, nil
}

// SplitList splits a comma-separated flag value, refusing empty items.
func SplitList(s string) ([]string, error) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, errors.New("empty item in list " + fmt.Sprintf("%q", s))
		}
	}
	return parts, nil
}
