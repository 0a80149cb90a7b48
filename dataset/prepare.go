package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// PrepareOptions says what Prepare builds.
type PrepareOptions struct {
	// Source is "coco128", or the path of an Ultralytics data YAML.
	Source string
	// From is a local copy of the extracted COCO128 archive (the directory
	// holding images/ and labels/), read instead of the cache. It is
	// checked against the published digests: a file missing is an error
	// (a half-copied tree would quietly shrink the dataset), a file with
	// other content or an extra one is a warning (the tree is the user's
	// to change).
	From string
	// CacheDir holds downloaded archives; DefaultCacheDir() when "".
	CacheDir string
	// Archive is where COCO128 comes from; COCO128() when nil.
	Archive *Archive
	// Classes are the classes kept, by name or id, renumbered 0..k-1 in
	// this order; all classes, as they are, when empty.
	Classes []string
	// KeepBackground keeps the images left without boxes (background
	// images); they are dropped otherwise.
	KeepBackground bool
	// Out is the directory built. It must not exist, be empty, or hold
	// an earlier output of Prepare, which is replaced.
	Out string
	// Progress, when set, receives plain progress lines.
	Progress io.Writer
}

// PrepareResult describes what Prepare built.
type PrepareResult struct {
	Dir      string          `json:"dir"`
	DataYAML string          `json:"data_yaml"`
	Source   string          `json:"source"`   // the tree or data YAML read
	Verified bool            `json:"verified"` // the source tree matched its published digests
	Warnings []string        `json:"warnings,omitempty"`
	Names    []string        `json:"names"`          // the class names written
	Classes  []int           `json:"source_classes"` // Classes[i] is the source id of class i
	Splits   []PreparedSplit `json:"splits"`
}

// PreparedSplit is one split of a prepared dataset.
type PreparedSplit struct {
	Name     string    `json:"name"`              // train, val or test
	Dir      string    `json:"dir"`               // its images, relative to the output
	SameAs   string    `json:"same_as,omitempty"` // the split it shares its images with
	Source   Stats     `json:"source"`            // the source split, as scanned
	Stats    Stats     `json:"stats"`             // the split as written
	Problems []Problem `json:"problems"`          // what the scan of the source found
}

// prepareFormat marks an output of Prepare, in its prepare.json.
const prepareFormat = "yolops-prepare/1"

// prepareRecord is prepare.json: what was built from what. It holds no
// absolute path and no time, so that the same inputs give the same bytes
// (and the same content hash when the directory is versioned).
type prepareRecord struct {
	Format         string        `json:"format"`
	Source         string        `json:"source"`
	Verified       bool          `json:"verified"`
	KeepBackground bool          `json:"keep_background"`
	Classes        []recordClass `json:"classes"`
	Splits         []recordSplit `json:"splits"`
}

type recordClass struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	SourceID int    `json:"source_id"`
}

type recordSplit struct {
	Name       string `json:"name"`
	Dir        string `json:"dir"`
	Images     int    `json:"images"`
	Background int    `json:"background"`
	Boxes      int    `json:"boxes"`
}

// Prepare builds a YOLO dataset of the chosen classes of a source
// dataset: Out/images/<split>/ with copies of the images, Out/labels/<split>/
// with their labels filtered and renumbered, Out/data.yaml, and
// Out/prepare.json recording how. From COCO128 it writes
// images/train2017 and labels/train2017, Ultralytics' own layout, with
// train and val both pointing there as Ultralytics' coco128.yaml does.
// Other splits are named after their source directory, or train, val and
// test.
//
// data.yaml has no path key: yolops and Ultralytics then resolve the
// splits against the YAML's own directory (Ultralytics only when given
// the YAML by absolute path), so the directory can be moved and its
// content does not depend on where it was built.
//
// The output is built in a temporary directory beside Out and renamed
// into place at the end: Out is never half-written, and a failed run
// leaves an earlier output as it was.
func Prepare(ctx context.Context, opts PrepareOptions) (*PrepareResult, error) {
	if opts.Out == "" {
		return nil, errors.New("dataset: prepare: no output directory given")
	}
	if err := checkOut(opts.Out); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	res := &PrepareResult{Dir: opts.Out, DataYAML: filepath.Join(opts.Out, "data.yaml")}
	cfg, sourceName, err := prepareSource(ctx, opts, res, logf)
	if err != nil {
		return nil, err
	}
	keep := make([]int, cfg.NC())
	for i := range keep {
		keep[i] = i
	}
	if len(opts.Classes) > 0 {
		if keep, err = ResolveClasses(cfg.Names, opts.Classes); err != nil {
			return nil, err
		}
	}
	res.Classes = keep
	res.Names = SelectNames(cfg.Names, keep)

	parent := filepath.Dir(filepath.Clean(opts.Out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(opts.Out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename, when all went well
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}

	splits := []string{"train", "val", "test"}
	dirs := outDirs(cfg, splits)
	written := make(map[string]string) // sources -> split written from them
	for _, name := range splits {
		sources, _ := cfg.Sources(name)
		if len(sources) == 0 {
			continue
		}
		key := strings.Join(sources, "\x00")
		if first, ok := written[key]; ok {
			ps := res.split(first)
			res.Splits = append(res.Splits, PreparedSplit{Name: name, Dir: ps.Dir, SameAs: first,
				Source: ps.Source, Stats: ps.Stats, Problems: ps.Problems})
			continue
		}
		written[key] = name
		start := time.Now()
		cfg.Progress = countProgress(logf, name+": checking images")
		s, err := cfg.Scan(ctx, name)
		if err != nil {
			return nil, err
		}
		logf("%s: checked %d images in %v", name, len(s.Items)+s.Stats.Skipped, time.Since(start).Round(time.Millisecond))
		items := Filter(s.Items, keep, opts.KeepBackground)
		if len(items) == 0 {
			return nil, fmt.Errorf("dataset: %s: none of the %d usable images has a box of the classes %s",
				name, len(s.Items), strings.Join(res.Names, ", "))
		}
		dir := filepath.Join("images", dirs[name])
		if err := writeSplit(ctx, tmp, dir, items, sources, logf); err != nil {
			return nil, err
		}
		st := ComputeStats(items, res.Names)
		res.Splits = append(res.Splits, PreparedSplit{Name: name, Dir: filepath.ToSlash(dir), Source: s.Stats,
			Stats: st, Problems: s.Problems})
	}
	if err := writeMeta(tmp, sourceName, opts.KeepBackground, res); err != nil {
		return nil, err
	}
	if opts.Source == "coco128" {
		// The labels are Ultralytics' (GPL-3.0); their licence goes with them.
		for _, f := range []string{"LICENSE", "README.txt"} {
			if err := copyFile(filepath.Join(cfg.Root, f), filepath.Join(tmp, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("dataset: %w", err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Checked again: another run may have written Out meanwhile.
	if err := checkOut(opts.Out); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, opts.Out); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return res, nil
}

func (r *PrepareResult) split(name string) *PreparedSplit {
	for i := range r.Splits {
		if r.Splits[i].Name == name {
			return &r.Splits[i]
		}
	}
	return nil
}

// prepareSource finds the source dataset and reads its config; it also
// returns the name prepare.json records for it.
func prepareSource(ctx context.Context, opts PrepareOptions, res *PrepareResult, logf func(string, ...any)) (*Config, string, error) {
	if opts.Source != "coco128" {
		if opts.From != "" {
			return nil, "", fmt.Errorf("dataset: --from is for the coco128 source; %s is a data YAML and says where its images are", opts.Source)
		}
		if !strings.HasSuffix(opts.Source, ".yaml") && !strings.HasSuffix(opts.Source, ".yml") {
			return nil, "", fmt.Errorf("dataset: unknown source %q: want coco128 or the path of a data YAML (.yaml)", opts.Source)
		}
		cfg, err := LoadConfig(opts.Source)
		if err != nil {
			return nil, "", err
		}
		res.Source = opts.Source
		return cfg, filepath.Base(opts.Source), nil
	}
	a := COCO128()
	if opts.Archive != nil {
		a = opts.Archive
	}
	arch := *a // not to set the caller's Progress
	if arch.Progress == nil {
		arch.Progress = opts.Progress
	}
	root := opts.From
	if root != "" {
		v, err := arch.Manifest.Verify(ctx, root)
		if err != nil {
			return nil, "", fmt.Errorf("dataset: --from: %w", err)
		}
		if len(v.Missing) > 0 {
			return nil, "", fmt.Errorf("dataset: --from %s is not a complete copy of %s: %w", root, arch.Name, v.Err())
		}
		if !v.OK() {
			w := fmt.Sprintf("--from %s differs from the published %s, using it as it is: %v", root, arch.Name, v.Err())
			res.Warnings = append(res.Warnings, w)
			logf("warning: %s", w)
		}
		res.Verified = v.OK()
	} else {
		dir := opts.CacheDir
		if dir == "" {
			dir = DefaultCacheDir()
		}
		var err error
		if root, err = arch.Fetch(ctx, dir); err != nil {
			return nil, "", err
		}
		res.Verified = true
	}
	cfg, err := parseConfig([]byte(coco128YAML), filepath.Join(root, arch.Name+".yaml"))
	if err != nil {
		return nil, "", fmt.Errorf("dataset: the embedded coco128.yaml: %w", err)
	}
	cfg.File = "coco128.yaml (built in)"
	res.Source = root
	return cfg, arch.Name, nil
}

// countProgress logs a line for every tenth of a count, at most one a
// second and none for the last item (the caller says when it is done),
// so that work of a second or two prints nothing.
func countProgress(logf func(string, ...any), what string) func(done, total int) {
	next := 1
	start := time.Now()
	last := start
	return func(done, total int) {
		now := time.Now()
		if done >= total || done*10/total < next || now.Sub(last) < time.Second {
			return
		}
		next = done*10/total + 1
		last = now
		rate := float64(done) / max(now.Sub(start).Seconds(), 1e-3)
		logf("%s %d/%d, %.0f/s, %v left", what, done, total, rate,
			time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second))
	}
}

// checkOut refuses an output directory that holds something other than
// an earlier output of Prepare.
func checkOut(out string) error {
	st, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("dataset: %s exists and is not a directory", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(out, "prepare.json"))
	var rec prepareRecord
	if err != nil || json.Unmarshal(data, &rec) != nil || rec.Format != prepareFormat {
		return fmt.Errorf("dataset: refusing to replace %s: it is not empty and holds no prepare.json from an earlier yolops data prepare", out)
	}
	return nil
}

// outDirs names the output directory of each split: after its source
// directory (images/train2017 stays train2017) when every split is one
// directory with a distinct name, after the split otherwise.
func outDirs(cfg *Config, splits []string) map[string]string {
	dirs := make(map[string]string)
	bySources := make(map[string]string)
	used := make(map[string]bool)
	ok := true
	for _, s := range splits {
		src, _ := cfg.Sources(s)
		if len(src) == 0 {
			continue
		}
		key := strings.Join(src, "\x00")
		if d, dup := bySources[key]; dup {
			dirs[s] = d
			continue
		}
		d := ""
		if len(src) == 1 {
			if st, err := os.Stat(src[0]); err == nil && st.IsDir() {
				d = filepath.Base(src[0])
			}
		}
		if d == "" || d == "images" || d == "." || d == string(filepath.Separator) || used[d] {
			ok = false
		}
		used[d] = true
		bySources[key] = d
		dirs[s] = d
	}
	if !ok {
		bySources = make(map[string]string)
		for _, s := range splits {
			src, _ := cfg.Sources(s)
			if len(src) == 0 {
				continue
			}
			key := strings.Join(src, "\x00")
			if d, dup := bySources[key]; dup {
				dirs[s] = d
				continue
			}
			bySources[key] = s
			dirs[s] = s
		}
	}
	return dirs
}

// writeSplit copies the images of items under root/dir and writes their
// labels where LabelPath says (root/labels/...). An image keeps its path
// below the source directory it was found in; an image named by a list
// file keeps its file name.
func writeSplit(ctx context.Context, root, dir string, items []Item, sources []string, logf func(string, ...any)) error {
	var srcDirs []string
	for _, s := range sources {
		if st, err := os.Stat(s); err == nil && st.IsDir() {
			srcDirs = append(srcDirs, s)
		}
	}
	from := make(map[string]string, len(items))
	start := time.Now()
	progress := countProgress(logf, "writing "+filepath.ToSlash(dir))
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := filepath.Base(it.Image)
		for _, d := range srcDirs {
			if r, err := filepath.Rel(d, it.Image); err == nil && filepath.IsLocal(r) {
				rel = r
				break
			}
		}
		img := filepath.Join(root, dir, rel)
		if prev, dup := from[img]; dup {
			return fmt.Errorf("dataset: %s and %s would both be written as %s: rename one", prev, it.Image, filepath.Join(dir, rel))
		}
		from[img] = it.Image
		if err := os.MkdirAll(filepath.Dir(img), 0o755); err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		if err := copyFile(it.Image, img); err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		lp := LabelPath(img)
		if err := os.MkdirAll(filepath.Dir(lp), 0o755); err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		if err := os.WriteFile(lp, formatLabels(it.Labels), 0o644); err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		progress(i+1, len(items))
	}
	logf("wrote %d images and their labels to %s in %v", len(items), filepath.ToSlash(dir), time.Since(start).Round(time.Millisecond))
	return nil
}

// formatLabels writes labels as YOLO label lines. Each coordinate is the
// shortest decimal that reads back as the same float32, which for the
// six-decimal labels of COCO128 is the text of the source file.
func formatLabels(labels []Label) []byte {
	var b []byte
	for _, l := range labels {
		b = strconv.AppendInt(b, int64(l.Class), 10)
		for _, v := range [4]float32{l.X, l.Y, l.W, l.H} {
			b = append(b, ' ')
			b = strconv.AppendFloat(b, float64(v), 'f', -1, 32)
		}
		b = append(b, '\n')
	}
	return b
}

// writeMeta writes data.yaml and prepare.json.
func writeMeta(root, sourceName string, keepBackground bool, res *PrepareResult) error {
	var doc struct {
		Train string         `yaml:"train"`
		Val   string         `yaml:"val"`
		Test  string         `yaml:"test,omitempty"`
		Names map[int]string `yaml:"names"`
	}
	rec := prepareRecord{Format: prepareFormat, Source: sourceName, Verified: res.Verified, KeepBackground: keepBackground}
	doc.Names = make(map[int]string, len(res.Names))
	for i, n := range res.Names {
		doc.Names[i] = n
		rec.Classes = append(rec.Classes, recordClass{ID: i, Name: n, SourceID: res.Classes[i]})
	}
	for _, s := range res.Splits {
		switch s.Name {
		case "train":
			doc.Train = s.Dir
		case "val":
			doc.Val = s.Dir
		case "test":
			doc.Test = s.Dir
		}
		rec.Splits = append(rec.Splits, recordSplit{Name: s.Name, Dir: s.Dir, Images: s.Stats.Images,
			Background: s.Stats.Background, Boxes: s.Stats.Boxes})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by yolops data prepare from %s; prepare.json says how.\n", sourceName)
	b.WriteString("# No path key: the splits are relative to this file's directory.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("dataset: writing data.yaml: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "data.yaml"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "prepare.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}
