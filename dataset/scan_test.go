package dataset

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func gradientImage(w, h int) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 11), uint8(x + y), 255})
		}
	}
	return m
}

func fixtureJPEG(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, gradientImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fixturePNG(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, gradientImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeTestTree writes files (path relative to dir -> content) under dir; a
// content of nil makes a directory.
func writeTestTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if data == nil {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type wantProblem struct {
	kind Kind
	path string // relative to the dataset dir
	line int
	msg  string // a substring of the message
}

func checkProblems(t *testing.T, dir string, got []Problem, want []wantProblem) {
	t.Helper()
	n := max(len(got), len(want))
	for i := range n {
		switch {
		case i >= len(got):
			t.Errorf("missing problem %v", want[i])
		case i >= len(want):
			t.Errorf("unexpected problem %v", got[i])
		default:
			g, w := got[i], want[i]
			if g.Kind != w.kind || g.Path != filepath.Join(dir, w.path) || g.Line != w.line || !strings.Contains(g.Msg, w.msg) {
				t.Errorf("problem %d = %s %s, want %s %s:%d containing %q", i, g.Kind, g, w.kind, w.path, w.line, w.msg)
			}
		}
	}
}

func TestScanProblems(t *testing.T) {
	dir := t.TempDir()
	good := fixtureJPEG(t, 20, 16)
	box := []byte("0 0.5 0.5 0.5 0.5\n")
	manyBad := []byte(strings.Repeat("0 2 0 0 0\n", 8))
	writeTestTree(t, dir, map[string][]byte{
		"data.yaml":                  []byte("train: images/train\nval: list.txt\nnames: [a, b]\n"),
		"images/train/good.jpg":      good,
		"labels/train/good.txt":      []byte("0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.1 0.1\n"),
		"images/train/truncated.jpg": good[:len(good)/2],
		"labels/train/truncated.txt": box,
		"images/train/png.jpg":       fixturePNG(t, 12, 12), // decoded by content, as PIL does: kept
		"labels/train/png.txt":       box,
		"images/train/text.jpg":      []byte("this is not an image\n"),
		"images/train/tiny.jpg":      fixtureJPEG(t, 9, 30),
		"images/train/empty.jpg":     {},
		"images/train/four.jpg":      good,
		"labels/train/four.txt":      []byte("0 0.5 0.5 0.5 0.5\n\n0 0.5 0.5 0.5\n"),
		"images/train/class99.jpg":   good,
		"labels/train/class99.txt":   []byte("99 0.5 0.5 0.1 0.1\n"),
		"images/train/x15.jpg":       good,
		"labels/train/x15.txt":       []byte("0 1.5 0.5 0.1 0.1\n"),
		"images/train/nan.jpg":       good,
		"labels/train/nan.txt":       []byte("1 0.5 0.5 NaN 0.1\n"),
		"images/train/emptylab.jpg":  good,
		"labels/train/emptylab.txt":  {},
		"images/train/crlf.jpg":      good,
		"labels/train/crlf.txt":      []byte("0 0.5 0.5 0.5 0.5\r\n1 0.5 0.5 0.2 0.2\r\n"),
		"images/train/trailing.jpg":  good,
		"labels/train/trailing.txt":  []byte("1 0.5 0.5 0.5 0.5  \t \n   \n"),
		"images/train/dup.jpg":       good,
		"labels/train/dup.txt":       []byte("0 0.5 0.5 0.5 0.5\n1 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.5 0.5\n"),
		"images/train/nolabel.jpg":   good,
		"images/train/sub/deep.jpg":  good,
		"labels/train/sub/deep.txt":  box,
		"images/train/UPPER.JPG":     good,
		"labels/train/UPPER.txt":     box,
		"images/train/.hidden.jpg":   []byte("hidden files are not listed"),
		"images/train/notes.md":      []byte("not an image name"),
		"images/train/labdir.jpg":    good,
		"labels/train/labdir.txt":    nil, // a directory where the label file should be
		"images/train/many.jpg":      good,
		"labels/train/many.txt":      manyBad,
		"labels/train/orphan.txt":    box,
	})
	cfg, err := LoadConfig(filepath.Join(dir, "data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var calls []int
	cfg.Progress = func(done, total int) {
		if total != 19 {
			t.Errorf("progress total %d, want 19", total)
		}
		calls = append(calls, done)
	}
	s, err := cfg.Scan(context.Background(), "train")
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 19 || !slices.IsSorted(calls) || calls[18] != 19 {
		t.Errorf("progress calls %v", calls)
	}
	checkProblems(t, dir, s.Problems, []wantProblem{
		{BadImage, "images/train/empty.jpg", 0, "no data: image skipped"},
		{BadImage, "images/train/text.jpg", 0, "unsupported image format"},
		{BadImage, "images/train/tiny.jpg", 0, "image is 9x30: at least 10 pixels a side"},
		{BadImage, "images/train/truncated.jpg", 0, "truncated"},
		{BadLabel, "labels/train/class99.txt", 1, "class 99 is out of range: the dataset has 2 classes (0-1): image skipped"},
		{DuplicateLabel, "labels/train/dup.txt", 3, "repeats an earlier line: dropped"},
		{BadLabel, "labels/train/four.txt", 3, "4 fields"},
		{BadLabel, "labels/train/labdir.txt", 0, "not a regular file: image " + filepath.Join(dir, "images/train/labdir.jpg") + " skipped"},
		{BadLabel, "labels/train/many.txt", 1, "x 2 is outside [0, 1]"},
		{BadLabel, "labels/train/many.txt", 2, "x 2"},
		{BadLabel, "labels/train/many.txt", 3, "x 2"},
		{BadLabel, "labels/train/many.txt", 4, "x 2"},
		{BadLabel, "labels/train/many.txt", 5, "x 2"},
		{BadLabel, "labels/train/many.txt", 6, "and 3 more bad lines"},
		{BadLabel, "labels/train/nan.txt", 1, "w NaN is outside"},
		{OrphanLabel, "labels/train/orphan.txt", 0, "label file without an image: ignored"},
		{BadLabel, "labels/train/x15.txt", 1, "x 1.5 is outside [0, 1]"},
	})

	var kept []string
	for _, it := range s.Items {
		rel, _ := filepath.Rel(dir, it.Image)
		kept = append(kept, filepath.ToSlash(rel))
		if it.W == 0 || it.H == 0 {
			t.Errorf("%s: size %dx%d", rel, it.W, it.H)
		}
		if want := LabelPath(it.Image); it.Label != "" && it.Label != want {
			t.Errorf("%s: label %s, want %s", rel, it.Label, want)
		}
	}
	wantKept := []string{"images/train/UPPER.JPG", "images/train/crlf.jpg", "images/train/dup.jpg", "images/train/emptylab.jpg",
		"images/train/good.jpg", "images/train/nolabel.jpg", "images/train/png.jpg", "images/train/sub/deep.jpg", "images/train/trailing.jpg"}
	if !reflect.DeepEqual(kept, wantKept) {
		t.Errorf("kept %q\nwant %q", kept, wantKept)
	}
	byName := func(base string) Item {
		for _, it := range s.Items {
			if filepath.Base(it.Image) == base {
				return it
			}
		}
		t.Fatalf("%s not kept", base)
		return Item{}
	}
	if it := byName("good.jpg"); it.W != 20 || it.H != 16 || !reflect.DeepEqual(it.Labels, []Label{{0, .5, .5, .5, .5}, {1, .25, .25, .1, .1}}) {
		t.Errorf("good.jpg: %+v", it)
	}
	if it := byName("dup.jpg"); len(it.Labels) != 2 {
		t.Errorf("dup.jpg: labels %v, want the duplicate dropped", it.Labels)
	}
	if it := byName("crlf.jpg"); len(it.Labels) != 2 {
		t.Errorf("crlf.jpg: labels %v", it.Labels)
	}
	if it := byName("nolabel.jpg"); it.Label != "" || it.Labels != nil {
		t.Errorf("nolabel.jpg: %+v", it)
	}
	if it := byName("emptylab.jpg"); it.Label == "" || len(it.Labels) != 0 {
		t.Errorf("emptylab.jpg: %+v", it)
	}
	st := s.Stats
	if st.Images != 9 || st.Background != 2 || st.Skipped != 10 || st.OrphanLabels != 1 || st.DuplicateLabels != 1 ||
		st.Boxes != 10 || st.Classes[0].Boxes != 6 || st.Classes[1].Boxes != 4 || st.Classes[0].Images != 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestScanList(t *testing.T) {
	dir := t.TempDir()
	good := fixtureJPEG(t, 20, 16)
	writeTestTree(t, dir, map[string][]byte{
		"data.yaml":         []byte("train: [lists/train.txt, extra]\nval: extra\nnames: [a]\n"),
		"images/a.jpg":      good,
		"labels/a.txt":      []byte("0 0.5 0.5 0.5 0.5\n"),
		"images/b.png":      fixturePNG(t, 10, 10),
		"extra/c.jpg":       good,
		"extra/c.txt":       []byte("0 0.5 0.5 0.5 0.5\n"),
		"extra/stray.txt":   []byte("0 0.5 0.5 0.5 0.5\n"),
		"lists/train.txt":   []byte("../images/a.jpg\n\n" + filepath.Join(dir, "images/b.png") + "\r\n../images/a.jpg\n../images/missing.jpg\n../notes.md\n../extra/c.jpg\n"),
		"lists/unused.txt":  []byte("not read"),
		"extra/.hidden.jpg": []byte("x"),
	})
	cfg, err := LoadConfig(filepath.Join(dir, "data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Scan(context.Background(), "train")
	if err != nil {
		t.Fatal(err)
	}
	// c.jpg is listed and found in extra/: used once, the second
	// occurrence (from the directory) reported.
	checkProblems(t, dir, s.Problems, []wantProblem{
		{DuplicateImage, "extra/c.jpg", 0, "is listed twice: used once"},
		{OrphanLabel, "extra/stray.txt", 0, "label file without an image"},
		{BadImage, "images/missing.jpg", 0, "no such file or directory: image skipped"},
		{DuplicateImage, "lists/train.txt", 4, filepath.Join(dir, "images/a.jpg") + " is listed twice"},
		{BadImage, "lists/train.txt", 6, "notes.md is not an image file name"},
	})
	var kept []string
	for _, it := range s.Items {
		kept = append(kept, filepath.Base(it.Image))
	}
	if !reflect.DeepEqual(kept, []string{"c.jpg", "a.jpg", "b.png"}) {
		t.Errorf("kept %v", kept)
	}
}

func TestScanErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestTree(t, dir, map[string][]byte{
		"data.yaml":    []byte("train: images\nval: missing\ntest: empty\nnames: [a]\n"),
		"images/a.jpg": fixtureJPEG(t, 16, 16),
		"empty":        nil,
	})
	cfg, err := LoadConfig(filepath.Join(dir, "data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ split, want string }{
		{"val", "val split: stat " + filepath.Join(dir, "missing") + ": no such file"},
		{"test", "test split: no images (bmp, dng, jpeg, jpg, mpo, png, tif, tiff, webp, pfm) found in " + filepath.Join(dir, "empty")},
		{"dev", `unknown split "dev"`},
	} {
		if _, err := cfg.Scan(context.Background(), tc.split); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Scan(%s) error %v, want %q", tc.split, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cfg.Scan(ctx, "train"); err == nil {
		t.Error("Scan with a cancelled context succeeded")
	}
}

func TestLabelPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/d/coco/images/train2017/0001.jpg", "/d/coco/labels/train2017/0001.txt"},
		{"/d/images/x/images/y/a.b.png", "/d/images/x/labels/y/a.b.txt"}, // the last images/ only
		{"/d/imgs/a.jpg", "/d/imgs/a.txt"},
		{"/d/myimages/a.jpg", "/d/myimages/a.txt"},
		{"images/a.jpg", "images/a.txt"}, // no separator before images: Ultralytics leaves it
	} {
		if got := LabelPath(filepath.FromSlash(tc.in)); got != filepath.FromSlash(tc.want) {
			t.Errorf("LabelPath(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// coco128Dir is the shared copy of COCO128, or skips the test.
func coco128Dir(t testing.TB) string {
	dir := filepath.Join("..", "..", "shared", "data", "coco128")
	if _, err := os.Stat(filepath.Join(dir, "images", "train2017")); err != nil {
		t.Skipf("COCO128 is not at %s (see /work/shared/data/README.md): %v", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestScanCOCO128(t *testing.T) {
	dir := coco128Dir(t)
	cfg, err := parseConfig([]byte(coco128YAML), filepath.Join(dir, "coco128.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Scan(context.Background(), "train")
	if err != nil {
		t.Fatal(err)
	}
	labels := filepath.Join(dir, "labels", "train2017")
	want := []Problem{
		{Kind: OrphanLabel, Path: filepath.Join(labels, "000000000656.txt"), Msg: "label file without an image: ignored"},
		{Kind: OrphanLabel, Path: filepath.Join(labels, "000000000659.txt"), Msg: "label file without an image: ignored"},
	}
	if !reflect.DeepEqual(s.Problems, want) {
		t.Errorf("problems:\n%v\nwant\n%v", s.Problems, want)
	}
	st := s.Stats
	if st.Images != 128 || st.Skipped != 0 || st.Background != 2 || st.Boxes != 929 || st.OrphanLabels != 2 || st.DuplicateLabels != 0 {
		t.Errorf("stats: %d images, %d skipped, %d background, %d boxes, %d orphans, %d duplicates; want 128, 0, 2, 929, 2, 0",
			st.Images, st.Skipped, st.Background, st.Boxes, st.OrphanLabels, st.DuplicateLabels)
	}
	used := 0
	for _, c := range st.Classes {
		if c.Boxes > 0 {
			used++
		}
	}
	if used != 71 {
		t.Errorf("%d classes used, want 71", used)
	}
	for _, it := range s.Items {
		if b := filepath.Base(it.Image); (b == "000000000250.jpg" || b == "000000000508.jpg") != (it.Label == "") {
			t.Errorf("%s: label file %q", b, it.Label)
		}
	}
	if p := st.Classes[0]; p.Images != 61 || p.Boxes != 254 || p.Sizes.Small+p.Sizes.Medium+p.Sizes.Large != 254 {
		t.Errorf("person: %+v, want 61 images, 254 boxes", p)
	}
	persons := Filter(s.Items, []int{0}, false)
	pst := ComputeStats(persons, []string{"person"})
	if pst.Images != 61 || pst.Boxes != 254 || pst.Background != 0 {
		t.Errorf("person only: %d images, %d boxes, %d background; want 61, 254, 0", pst.Images, pst.Boxes, pst.Background)
	}
	if pst.Classes[0].Sizes != st.Classes[0].Sizes {
		t.Errorf("person sizes changed by Filter: %+v vs %+v", pst.Classes[0].Sizes, st.Classes[0].Sizes)
	}
}
