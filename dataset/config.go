package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is an Ultralytics data YAML, resolved: where the images of each
// split are and what the classes are called.
type Config struct {
	// File is the YAML file the config was read from.
	File string
	// Root is the dataset root: the YAML's `path`, resolved against the
	// YAML's directory, or that directory itself when `path` is absent.
	Root string
	// Train, Val and Test hold each split's sources, resolved against
	// Root: directories of images (searched recursively), text files
	// listing image paths, or single images.
	Train, Val, Test []string
	// Names are the class names; a class id indexes Names.
	Names []string
	// Progress, when set, is called by Scan each time it has checked an
	// image, with the count checked and the total; never concurrently.
	Progress func(done, total int)
}

// NC is the number of classes.
func (c *Config) NC() int { return len(c.Names) }

// Sources returns the sources of the split named "train", "val" or
// "test".
func (c *Config) Sources(split string) ([]string, error) {
	switch split {
	case "train":
		return c.Train, nil
	case "val":
		return c.Val, nil
	case "test":
		return c.Test, nil
	}
	return nil, fmt.Errorf("dataset: unknown split %q (want train, val or test)", split)
}

// LoadConfig reads an Ultralytics data YAML as Ultralytics 8.2's
// check_det_dataset reads it:
//
//   - train and val are required ("validation" is taken for val), test
//     is optional; each is a path or a list of paths, relative to path;
//   - names is a list, or a map from class index to name whose keys are
//     exactly 0..n-1; nc, when given, must equal the number of names; nc
//     alone names the classes class_0, class_1, ...;
//   - a relative split path that does not exist and starts with "../" is
//     tried again without that prefix.
//
// One difference: a relative `path` is taken relative to the YAML's
// directory. Ultralytics takes it relative to its settings' datasets_dir,
// which makes the same file mean different data on different machines.
// The split directories need not exist yet; Scan reports them.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	c, err := parseConfig(data, abs)
	if err != nil {
		return nil, err
	}
	c.File = path
	return c, nil
}

// parseConfig parses a data YAML read from file, an absolute path; only
// its directory is used, to resolve relative paths.
func parseConfig(data []byte, file string) (*Config, error) {
	var doc struct {
		Path       yaml.Node `yaml:"path"`
		Train      yaml.Node `yaml:"train"`
		Val        yaml.Node `yaml:"val"`
		Validation yaml.Node `yaml:"validation"`
		Test       yaml.Node `yaml:"test"`
		Names      yaml.Node `yaml:"names"`
		NC         yaml.Node `yaml:"nc"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", file, err)
	}
	for _, n := range []*yaml.Node{&doc.Path, &doc.Train, &doc.Val, &doc.Validation, &doc.Test, &doc.Names, &doc.NC} {
		deref(n)
	}
	bad := func(n *yaml.Node, key, format string, args ...any) error {
		line := n.Line
		if len(args) == 1 {
			if e, ok := args[0].(*nodeError); ok {
				line = e.line
			}
		}
		return fmt.Errorf("dataset: %s:%d: %s: %s", file, line, key, fmt.Sprintf(format, args...))
	}
	if absent(&doc.Train) {
		return nil, fmt.Errorf("dataset: %s: the train key is missing; train and val are required in a data YAML", file)
	}
	if absent(&doc.Val) && !absent(&doc.Validation) {
		doc.Val = doc.Validation
	}
	if absent(&doc.Val) {
		return nil, fmt.Errorf("dataset: %s: the val key is missing; train and val are required in a data YAML", file)
	}

	c := &Config{Root: filepath.Dir(file)}
	if !absent(&doc.Path) && !isNull(&doc.Path) {
		if doc.Path.Kind != yaml.ScalarNode {
			return nil, bad(&doc.Path, "path", "want a directory, got a %s", kindName(&doc.Path))
		}
		if p := doc.Path.Value; p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(c.Root, p)
			}
			c.Root = filepath.Clean(p)
		}
	}
	for _, s := range []struct {
		key string
		n   *yaml.Node
		dst *[]string
	}{{"train", &doc.Train, &c.Train}, {"val", &doc.Val, &c.Val}, {"test", &doc.Test, &c.Test}} {
		paths, err := nodePaths(s.n)
		if err != nil {
			return nil, bad(s.n, s.key, "%v", err)
		}
		for _, p := range paths {
			*s.dst = append(*s.dst, c.resolve(p))
		}
	}
	if len(c.Train) == 0 {
		return nil, bad(&doc.Train, "train", "no paths given")
	}

	nc := -1
	if !absent(&doc.NC) && !isNull(&doc.NC) {
		n, err := strconv.Atoi(doc.NC.Value)
		if doc.NC.Kind != yaml.ScalarNode || err != nil || n < 1 || n > maxClasses {
			return nil, bad(&doc.NC, "nc", "want a whole number from 1 to %d, got %q", maxClasses, doc.NC.Value)
		}
		nc = n
	}
	switch {
	case !absent(&doc.Names) && !isNull(&doc.Names):
		names, err := nodeNames(&doc.Names)
		if err != nil {
			return nil, bad(&doc.Names, "names", "%v", err)
		}
		if nc >= 0 && nc != len(names) {
			return nil, bad(&doc.NC, "nc", "%d classes, but names has %d; they must match", nc, len(names))
		}
		c.Names = names
	case nc > 0:
		c.Names = make([]string, nc)
		for i := range c.Names {
			c.Names[i] = "class_" + strconv.Itoa(i)
		}
	default:
		return nil, fmt.Errorf("dataset: %s: names (or nc) is required in a data YAML", file)
	}
	return c, nil
}

// maxClasses bounds nc and the class indices of names, so that a typo
// such as nc: 1000000000 is an error rather than a huge allocation.
const maxClasses = 1 << 16

// resolve makes a split path absolute, as check_det_dataset does.
func (c *Config) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	x := filepath.Join(c.Root, p)
	if rest, ok := strings.CutPrefix(p, "../"); ok {
		if _, err := os.Stat(x); errors.Is(err, os.ErrNotExist) {
			return filepath.Join(c.Root, rest)
		}
	}
	return x
}

// nodeError is an error about one node of a YAML document.
type nodeError struct {
	line int
	msg  string
}

func (e *nodeError) Error() string { return e.msg }

func nodeErrorf(n *yaml.Node, format string, args ...any) error {
	return &nodeError{n.Line, fmt.Sprintf(format, args...)}
}

// deref replaces an alias (*anchor) by the node it names.
func deref(n *yaml.Node) {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		*n = *n.Alias
	}
}

// absent reports whether the key was not in the document at all.
func absent(n *yaml.Node) bool { return n.Kind == 0 }

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "map"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// nodePaths reads a path or a list of paths; null is no paths.
func nodePaths(n *yaml.Node) ([]string, error) {
	switch {
	case absent(n) || isNull(n):
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		if n.Value == "" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			deref(e)
			if e.Kind != yaml.ScalarNode || isNull(e) || e.Value == "" {
				return nil, nodeErrorf(e, "want a path, got a %s", kindName(e))
			}
			out = append(out, e.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a path or a list of paths, got a %s", kindName(n))
}

// nodeNames reads names as check_class_names does: a list, or a map from
// index (a number or a string holding one) to name, with indices 0..n-1.
func nodeNames(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, errors.New("the list is empty")
		}
		if len(n.Content) > maxClasses {
			return nil, fmt.Errorf("%d classes; at most %d are supported", len(n.Content), maxClasses)
		}
		names := make([]string, len(n.Content))
		for i, e := range n.Content {
			deref(e)
			if e.Kind != yaml.ScalarNode {
				return nil, nodeErrorf(e, "class %d: want a name, got a %s", i, kindName(e))
			}
			names[i] = e.Value
		}
		return names, nil
	case yaml.MappingNode:
		k := len(n.Content) / 2
		if k == 0 {
			return nil, errors.New("the map is empty")
		}
		if k > maxClasses {
			return nil, fmt.Errorf("%d classes; at most %d are supported", k, maxClasses)
		}
		names := make([]string, k)
		seen := make([]bool, k)
		for i := 0; i < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			deref(key)
			deref(val)
			id, err := strconv.Atoi(strings.TrimSpace(key.Value))
			if key.Kind != yaml.ScalarNode || err != nil {
				return nil, nodeErrorf(key, "key %q is not a class index", key.Value)
			}
			if id < 0 || id >= k {
				return nil, nodeErrorf(key, "class index %d is out of range: %d classes need indices 0-%d", id, k, k-1)
			}
			if seen[id] {
				return nil, nodeErrorf(key, "class index %d given twice", id)
			}
			if val.Kind != yaml.ScalarNode {
				return nil, nodeErrorf(val, "class %d: want a name, got a %s", id, kindName(val))
			}
			seen[id] = true
			names[id] = val.Value
		}
		return names, nil
	}
	return nil, fmt.Errorf("want a list or a map of class names, got a %s", kindName(n))
}
