package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		dirs []string // created under the YAML's directory before loading
		// want, with "$D" for the YAML's directory
		train, val, test []string
		names            []string
		root             string
		wantErr          []string // substrings of the error, "$D" allowed
	}{
		{name: "upstream coco128 shape", yaml: "path: ../datasets/coco128\ntrain: images/train2017\nval: images/train2017\ntest:\nnames:\n  0: person\n  1: bicycle\n",
			root: "$D/../datasets/coco128", train: []string{"$D/../datasets/coco128/images/train2017"},
			val: []string{"$D/../datasets/coco128/images/train2017"}, names: []string{"person", "bicycle"}},
		{name: "no path: the YAML's directory", yaml: "train: images/train\nval: images/val\nnames: [a, b, c]\n",
			root: "$D", train: []string{"$D/images/train"}, val: []string{"$D/images/val"}, names: []string{"a", "b", "c"}},
		{name: "absolute path", yaml: "path: /data/x\ntrain: t\nval: v\nnames: [a]\n",
			root: "/data/x", train: []string{"/data/x/t"}, val: []string{"/data/x/v"}, names: []string{"a"}},
		{name: "absolute split", yaml: "train: /abs/train.txt\nval: v\nnames: [a]\n",
			root: "$D", train: []string{"/abs/train.txt"}, val: []string{"$D/v"}, names: []string{"a"}},
		{name: "lists and a test split", yaml: "train: [a, b.txt]\nval:\n  - c\ntest: d\nnames: [x]\n",
			root: "$D", train: []string{"$D/a", "$D/b.txt"}, val: []string{"$D/c"}, test: []string{"$D/d"}, names: []string{"x"}},
		{name: "validation key", yaml: "train: a\nvalidation: b\nnames: [x]\n",
			root: "$D", train: []string{"$D/a"}, val: []string{"$D/b"}, names: []string{"x"}},
		{name: "names map with string keys out of order", yaml: "train: a\nval: a\nnames: {'1': dog, '0': cat}\n",
			root: "$D", train: []string{"$D/a"}, val: []string{"$D/a"}, names: []string{"cat", "dog"}},
		{name: "numbers and booleans as names", yaml: "train: a\nval: a\nnames: [7, true]\n",
			root: "$D", train: []string{"$D/a"}, val: []string{"$D/a"}, names: []string{"7", "true"}},
		{name: "nc alone", yaml: "train: a\nval: a\nnc: 2\n",
			root: "$D", train: []string{"$D/a"}, val: []string{"$D/a"}, names: []string{"class_0", "class_1"}},
		{name: "nc matching names", yaml: "train: a\nval: a\nnc: 1\nnames: [p]\n",
			root: "$D", train: []string{"$D/a"}, val: []string{"$D/a"}, names: []string{"p"}},
		{name: "val null", yaml: "train: a\nval:\nnames: [p]\n",
			root: "$D", train: []string{"$D/a"}, names: []string{"p"}},
		{name: "anchors", yaml: "train: &t images/train\nval: *t\nnames: [p]\n",
			root: "$D", train: []string{"$D/images/train"}, val: []string{"$D/images/train"}, names: []string{"p"}},
		// "../x" that does not exist is tried as "x", as Ultralytics does.
		{name: "../ fallback", yaml: "train: ../imgs\nval: ../missing\nnames: [p]\n", dirs: []string{"imgs"},
			root: "$D", train: []string{"$D/imgs"}, val: []string{"$D/missing"}, names: []string{"p"}},

		{name: "no train", yaml: "val: a\nnames: [p]\n", wantErr: []string{"$D/data.yaml", "train key is missing"}},
		{name: "no val", yaml: "train: a\nnames: [p]\n", wantErr: []string{"val key is missing"}},
		{name: "train null", yaml: "train:\nval: a\nnames: [p]\n", wantErr: []string{"data.yaml:1: train: no paths"}},
		{name: "no names", yaml: "train: a\nval: a\n", wantErr: []string{"names (or nc) is required"}},
		{name: "nc mismatch", yaml: "train: a\nval: a\nnc: 3\nnames: [a, b]\n", wantErr: []string{"data.yaml:3: nc: 3 classes, but names has 2"}},
		{name: "nc not a number", yaml: "train: a\nval: a\nnc: many\n", wantErr: []string{"nc: want a whole number", `"many"`}},
		{name: "nc huge", yaml: "train: a\nval: a\nnc: 1000000000\n", wantErr: []string{"nc: want a whole number from 1 to 65536"}},
		{name: "names gap", yaml: "train: a\nval: a\nnames:\n  0: a\n  2: c\n", wantErr: []string{"data.yaml:5: names: class index 2 is out of range: 2 classes need indices 0-1"}},
		{name: "names key not a number", yaml: "train: a\nval: a\nnames: {zero: a}\n", wantErr: []string{`key "zero" is not a class index`}},
		{name: "names key twice", yaml: "train: a\nval: a\nnames: {0: a, '0': b}\n", wantErr: []string{"class index 0 given twice"}},
		{name: "names empty", yaml: "train: a\nval: a\nnames: []\n", wantErr: []string{"names: the list is empty"}},
		{name: "names nested", yaml: "train: a\nval: a\nnames: [[a]]\n", wantErr: []string{"class 0: want a name, got a list"}},
		{name: "names scalar", yaml: "train: a\nval: a\nnames: person\n", wantErr: []string{"names: want a list or a map"}},
		{name: "train map", yaml: "train: {a: b}\nval: a\nnames: [p]\n", wantErr: []string{"train: want a path or a list of paths, got a map"}},
		{name: "train list with a map", yaml: "train: [a, {b: c}]\nval: a\nnames: [p]\n", wantErr: []string{"data.yaml:1: train: want a path, got a map"}},
		{name: "path list", yaml: "path: [a]\ntrain: a\nval: a\nnames: [p]\n", wantErr: []string{"path: want a directory, got a list"}},
		{name: "not a map", yaml: "- a\n- b\n", wantErr: []string{"$D/data.yaml", "cannot unmarshal"}},
		{name: "bad YAML", yaml: "train: [a\n", wantErr: []string{"$D/data.yaml", "yaml:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range tc.dirs {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(dir, "data.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			sub := func(s string) string { return filepath.Clean(strings.ReplaceAll(s, "$D", dir)) }
			subs := func(ss []string) []string {
				var out []string
				for _, s := range ss {
					out = append(out, sub(s))
				}
				return out
			}
			c, err := LoadConfig(file)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; config %+v", c)
				}
				for _, w := range tc.wantErr {
					if w = strings.ReplaceAll(w, "$D", dir); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Root != sub(tc.root) {
				t.Errorf("root = %s, want %s", c.Root, sub(tc.root))
			}
			for _, s := range []struct {
				name      string
				got, want []string
			}{{"train", c.Train, subs(tc.train)}, {"val", c.Val, subs(tc.val)}, {"test", c.Test, subs(tc.test)}, {"names", c.Names, tc.names}} {
				if !reflect.DeepEqual(s.got, s.want) {
					t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
				}
			}
			if c.NC() != len(tc.names) {
				t.Errorf("NC() = %d, want %d", c.NC(), len(tc.names))
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("error %v does not name the file", err)
	}
}

func TestEmbeddedCOCO128Config(t *testing.T) {
	c, err := parseConfig([]byte(coco128YAML), "/data/coco128/coco128.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.NC() != 80 || c.Names[0] != "person" || c.Names[79] != "toothbrush" {
		t.Errorf("names: %d classes, %q ... %q", c.NC(), c.Names[0], c.Names[c.NC()-1])
	}
	want := []string{"/data/coco128/images/train2017"}
	if !reflect.DeepEqual(c.Train, want) || !reflect.DeepEqual(c.Val, want) || c.Test != nil {
		t.Errorf("splits: train %v val %v test %v", c.Train, c.Val, c.Test)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"path: ../datasets/coco128\ntrain: images/train2017\nval: images/train2017\ntest:\nnames:\n  0: person\n  1: bicycle\n",
		"train: [a, b.txt]\nval:\n  - c\ntest: d\nnames: [x]\nnc: 1\n",
		"train: &t a\nval: *t\nnames: {'1': dog, '0': cat}\n",
		"train: a\nvalidation: b\nnc: 3\n",
		"a: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data, "/d/data.yaml")
		if err != nil {
			return
		}
		if len(c.Names) == 0 || len(c.Train) == 0 || len(c.Names) > maxClasses {
			t.Fatalf("accepted a config with %d names and %d train paths", len(c.Names), len(c.Train))
		}
		for _, p := range append(append(append([]string{}, c.Train...), c.Val...), c.Test...) {
			if !filepath.IsAbs(p) {
				t.Fatalf("split path %q is not absolute", p)
			}
		}
	})
}
