package dataset

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ResolveClasses turns class names or ids, as a user writes them
// ("person", "0"), into class ids of names, in the order given. A
// spec is taken as a name first and as an id only when no class has that
// name, so a dataset whose classes are called "1", "2"... still works.
func ResolveClasses(names []string, specs []string) ([]int, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("dataset: no classes given")
	}
	ids := make([]int, 0, len(specs))
	for _, s := range specs {
		s = strings.TrimSpace(s)
		id := slices.Index(names, s)
		if id < 0 {
			n, err := strconv.Atoi(s)
			switch {
			case err == nil && (n < 0 || n >= len(names)):
				return nil, fmt.Errorf("dataset: class %d is out of range: the dataset has %d classes (0-%d)", n, len(names), len(names)-1)
			case err == nil:
				id = n
			default:
				return nil, fmt.Errorf("dataset: no class is named %q%s", s, suggest(names, s))
			}
		}
		if slices.Contains(ids, id) {
			return nil, fmt.Errorf("dataset: class %q (%d: %s) is given twice", s, id, names[id])
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// suggest names the class that differs from s only in case, if any.
func suggest(names []string, s string) string {
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}

// Filter keeps the boxes of the classes in keep and renumbers them 0..k-1
// in the order of keep: keep[i] is the class that becomes class i. An
// image left without boxes (including one that had none) is dropped,
// unless keepBackground, when it stays as a background image. The items
// given are not modified.
func Filter(items []Item, keep []int, keepBackground bool) []Item {
	remap := make(map[int]int, len(keep))
	for i, c := range keep {
		remap[c] = i
	}
	out := make([]Item, 0, len(items))
	for _, it := range items {
		var labels []Label
		for _, l := range it.Labels {
			if c, ok := remap[l.Class]; ok {
				l.Class = c
				labels = append(labels, l)
			}
		}
		if len(labels) == 0 && !keepBackground {
			continue
		}
		it.Labels = labels
		out = append(out, it)
	}
	return out
}

// SelectNames returns the names of the classes in keep, in that order:
// the class names after Filter.
func SelectNames(names []string, keep []int) []string {
	out := make([]string, len(keep))
	for i, c := range keep {
		out[i] = names[c]
	}
	return out
}
