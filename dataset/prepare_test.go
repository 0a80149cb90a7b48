package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readTree returns every file under dir by slash path.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrepareDownload(t *testing.T) {
	files := fakeCOCO(t)
	srv, hits := serveZip(t, 200, zipOf(t, "coco128/", files, zipEntry{name: "coco128/LICENSE", data: []byte("GPL-3.0")}), 0)
	arch := &Archive{Name: "coco128", URL: srv.URL + "/v0.0.0/coco128.zip", Manifest: manifestOf(files)}
	out := filepath.Join(t.TempDir(), "person")
	var log bytes.Buffer
	res, err := Prepare(context.Background(), PrepareOptions{
		Source: "coco128", Archive: arch, CacheDir: filepath.Join(t.TempDir(), "cache"),
		Classes: []string{"person"}, Out: out, Progress: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || !res.Verified || res.DataYAML != filepath.Join(out, "data.yaml") {
		t.Errorf("%d requests, result %+v", hits.Load(), res)
	}
	got := readTree(t, out)
	want := map[string]string{
		"images/train2017/000000000001.jpg": string(files["images/train2017/000000000001.jpg"]),
		"labels/train2017/000000000001.txt": "0 0.5 0.5 0.25 0.25\n0 0.7 0.7 0.2 0.2\n",
		"LICENSE":                           "GPL-3.0",
		"data.yaml": "# Written by yolops data prepare from coco128; prepare.json says how.\n" +
			"# No path key: the splits are relative to this file's directory.\n" +
			"train: images/train2017\nval: images/train2017\nnames:\n  0: person\n",
	}
	for name, w := range want {
		if string(got[name]) != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	if len(got) != 5 {
		t.Errorf("output holds %d files, want 5: %v", len(got), treeNames(got))
	}
	var rec prepareRecord
	if err := json.Unmarshal(got["prepare.json"], &rec); err != nil {
		t.Fatal(err)
	}
	wantRec := prepareRecord{Format: prepareFormat, Source: "coco128", Verified: true,
		Classes: []recordClass{{0, "person", 0}},
		Splits:  []recordSplit{{"train", "images/train2017", 1, 0, 2}, {"val", "images/train2017", 1, 0, 2}}}
	if !reflect.DeepEqual(rec, wantRec) {
		t.Errorf("prepare.json %+v\nwant %+v", rec, wantRec)
	}
	if len(res.Splits) != 2 || res.Splits[1].SameAs != "train" || res.Splits[0].Source.Images != 3 ||
		res.Splits[0].Source.OrphanLabels != 1 || res.Splits[0].Stats.Boxes != 2 {
		t.Errorf("splits %+v", res.Splits)
	}
	if !strings.Contains(log.String(), "train: checked 3 images in") || !strings.Contains(log.String(), "wrote 1 images and their labels to images/train2017 in") {
		t.Errorf("progress:\n%s", log.String())
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("temporary directories left beside the output: %v", entries)
	}
}

func treeNames(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPrepareCOCO128(t *testing.T) {
	src := coco128Dir(t)
	out := filepath.Join(t.TempDir(), "coco128-person")
	res, err := Prepare(context.Background(), PrepareOptions{Source: "coco128", From: src, Classes: []string{"person"}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || len(res.Warnings) != 0 || !reflect.DeepEqual(res.Names, []string{"person"}) {
		t.Errorf("result %+v", res)
	}
	tr := res.Splits[0]
	if tr.Stats.Images != 61 || tr.Stats.Boxes != 254 || tr.Stats.Background != 0 {
		t.Errorf("written: %d images, %d boxes, %d background; want 61, 254, 0", tr.Stats.Images, tr.Stats.Boxes, tr.Stats.Background)
	}
	if tr.Source.Images != 128 || tr.Source.Background != 2 || tr.Source.OrphanLabels != 2 || len(tr.Problems) != 2 {
		t.Errorf("source: %+v, problems %v", tr.Source, tr.Problems)
	}

	// The output is a dataset yolops (and Ultralytics) reads back, with the
	// person lines of the source labels, text unchanged.
	cfg, err := LoadConfig(res.DataYAML)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Scan(context.Background(), "val")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 61 || s.Stats.Boxes != 254 || len(s.Problems) != 0 || !reflect.DeepEqual(cfg.Names, []string{"person"}) {
		t.Errorf("read back: %d images, %d boxes, problems %v, names %v", len(s.Items), s.Stats.Boxes, s.Problems, cfg.Names)
	}
	for _, it := range s.Items {
		base := strings.TrimSuffix(filepath.Base(it.Image), ".jpg")
		srcLabels, err := os.ReadFile(filepath.Join(src, "labels", "train2017", base+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		var persons strings.Builder
		for _, line := range strings.SplitAfter(string(srcLabels), "\n") {
			if strings.HasPrefix(line, "0 ") {
				persons.WriteString(line)
			}
		}
		if got, _ := os.ReadFile(it.Label); string(got) != persons.String() {
			t.Errorf("%s: labels\n%s\nwant the person lines of the source\n%s", it.Label, got, persons.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "LICENSE")); err != nil {
		t.Errorf("LICENSE not copied: %v", err)
	}

	// Again over the previous output, with background images: replaced,
	// and the same bytes as a fresh run into an empty directory.
	res2, err := Prepare(context.Background(), PrepareOptions{Source: "coco128", From: src, Classes: []string{"0"}, KeepBackground: true, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if st := res2.Splits[0].Stats; st.Images != 128 || st.Background != 67 || st.Boxes != 254 {
		t.Errorf("with background: %+v", st)
	}
	fresh := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(context.Background(), PrepareOptions{Source: "coco128", From: src, Classes: []string{"person"}, KeepBackground: true, Out: fresh}); err != nil {
		t.Fatal(err)
	}
	if a, b := readTree(t, out), readTree(t, fresh); !reflect.DeepEqual(a, b) {
		t.Errorf("two runs with the same inputs differ: %d and %d files", len(a), len(b))
	}
}

func TestPrepareFromChecks(t *testing.T) {
	src := coco128Dir(t)
	copyTree := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "coco128")
		writeTestTree(t, dst, readTree(t, src))
		return dst
	}
	t.Run("missing file", func(t *testing.T) {
		from := copyTree(t)
		if err := os.Remove(filepath.Join(from, "images/train2017/000000000009.jpg")); err != nil {
			t.Fatal(err)
		}
		_, err := Prepare(context.Background(), PrepareOptions{Source: "coco128", From: from, Out: filepath.Join(t.TempDir(), "o")})
		if err == nil || !strings.Contains(err.Error(), "is not a complete copy of coco128") || !strings.Contains(err.Error(), "images/train2017/000000000009.jpg") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("changed label", func(t *testing.T) {
		from := copyTree(t)
		// One more person in 000000000009.jpg (it has none).
		lp := filepath.Join(from, "labels/train2017/000000000009.txt")
		data, _ := os.ReadFile(lp)
		if err := os.WriteFile(lp, append(data, "0 0.5 0.5 0.1 0.1\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Prepare(context.Background(), PrepareOptions{Source: "coco128", From: from, Classes: []string{"person"}, Out: filepath.Join(t.TempDir(), "o")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verified || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "labels/train2017/000000000009.txt") {
			t.Errorf("verified %v, warnings %q", res.Verified, res.Warnings)
		}
		if st := res.Splits[0].Stats; st.Images != 62 || st.Boxes != 255 {
			t.Errorf("%d images, %d boxes; want the changed tree used: 62, 255", st.Images, st.Boxes)
		}
	})
}

func TestPrepareOut(t *testing.T) {
	dir := t.TempDir()
	writeTestTree(t, dir, map[string][]byte{
		"src/data.yaml":            []byte("train: images/train\nval: images/val\nnames: [cat, dog]\n"),
		"src/images/train/a.jpg":   fixtureJPEG(t, 16, 16),
		"src/labels/train/a.txt":   []byte("1 0.5 0.5 0.5 0.5\n"),
		"src/images/val/b.jpg":     fixtureJPEG(t, 16, 16),
		"src/labels/val/b.txt":     []byte("0 0.5 0.5 0.5 0.5\n1 0.2 0.2 0.2 0.2\n"),
		"busy/notes.txt":           []byte("mine"),
		"file":                     []byte("a file"),
		"emptydir":                 nil,
		"fake/prepare.json":        []byte(`{"format": "something else"}`),
		"src/images/train/bad.jpg": []byte("broken"),
	})
	yamlPath := filepath.Join(dir, "src/data.yaml")
	for _, tc := range []struct {
		name, out string
		opts      PrepareOptions
		want      string
	}{
		{name: "non-empty directory", out: "busy", want: "refusing to replace " + filepath.Join(dir, "busy") + ": it is not empty"},
		{name: "other prepare.json", out: "fake", want: "refusing to replace"},
		{name: "a file", out: "file", want: "exists and is not a directory"},
		{name: "no out", want: "no output directory given"},
		{name: "unknown source", out: "o1", opts: PrepareOptions{Source: "coco129"}, want: `unknown source "coco129"`},
		{name: "from with a YAML", out: "o2", opts: PrepareOptions{Source: yamlPath, From: "x"}, want: "--from is for the coco128 source"},
		{name: "unknown class", out: "o3", opts: PrepareOptions{Source: yamlPath, Classes: []string{"bird"}}, want: `no class is named "bird"`},
		{name: "no image left", out: "o4", opts: PrepareOptions{Source: yamlPath, Classes: []string{"cat"}},
			want: "train: none of the 1 usable images has a box of the classes cat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.Source == "" {
				opts.Source = yamlPath
			}
			if tc.out != "" {
				opts.Out = filepath.Join(dir, tc.out)
			}
			_, err := Prepare(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "busy/notes.txt")); string(got) != "mine" {
		t.Errorf("busy/notes.txt = %q", got)
	}

	// A data YAML source, into an empty directory: splits named after
	// their source directories, classes renumbered in the order given.
	out := filepath.Join(dir, "emptydir")
	res, err := Prepare(context.Background(), PrepareOptions{Source: yamlPath, Classes: []string{"dog", "cat"}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	got := readTree(t, out)
	for name, w := range map[string]string{
		"labels/train/a.txt": "0 0.5 0.5 0.5 0.5\n",
		"labels/val/b.txt":   "1 0.5 0.5 0.5 0.5\n0 0.2 0.2 0.2 0.2\n",
		"data.yaml": "# Written by yolops data prepare from data.yaml; prepare.json says how.\n" +
			"# No path key: the splits are relative to this file's directory.\n" +
			"train: images/train\nval: images/val\nnames:\n  0: dog\n  1: cat\n",
	} {
		if string(got[name]) != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	if len(res.Splits) != 2 || len(res.Splits[0].Problems) != 1 || res.Splits[0].Source.Skipped != 1 {
		t.Errorf("splits %+v", res.Splits)
	}
}

func TestCountProgress(t *testing.T) {
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	p := countProgress(logf, "checking")
	for i := 1; i <= 100; i++ {
		p(i, 100)
	}
	if len(lines) != 0 {
		t.Errorf("a quick count logged %q", lines)
	}
	p = countProgress(logf, "checking")
	time.Sleep(1100 * time.Millisecond)
	p(5, 100) // less than a tenth
	p(25, 100)
	p(26, 100) // within a second of the last line
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "checking 25/100, ") || !strings.HasSuffix(lines[0], "s left") {
		t.Errorf("lines %q", lines)
	}
}

func TestOutDirs(t *testing.T) {
	dir := t.TempDir()
	writeTestTree(t, dir, map[string][]byte{"a/train2017": nil, "b/train2017": nil, "images": nil, "val2017": nil, "list.txt": {}})
	p := func(s string) string { return filepath.Join(dir, s) }
	for _, tc := range []struct {
		name             string
		train, val, test []string
		want             map[string]string
	}{
		{name: "coco128", train: []string{p("a/train2017")}, val: []string{p("a/train2017")},
			want: map[string]string{"train": "train2017", "val": "train2017"}},
		{name: "coco", train: []string{p("a/train2017")}, val: []string{p("val2017")},
			want: map[string]string{"train": "train2017", "val": "val2017"}},
		{name: "same base name", train: []string{p("a/train2017")}, val: []string{p("b/train2017")},
			want: map[string]string{"train": "train", "val": "val"}},
		{name: "images", train: []string{p("images")}, val: []string{p("val2017")},
			want: map[string]string{"train": "train", "val": "val"}},
		{name: "list and shared", train: []string{p("list.txt")}, val: []string{p("val2017")}, test: []string{p("list.txt")},
			want: map[string]string{"train": "train", "val": "val", "test": "train"}},
	} {
		c := &Config{Train: tc.train, Val: tc.val, Test: tc.test}
		if got := outDirs(c, []string{"train", "val", "test"}); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
