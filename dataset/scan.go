package dataset

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/yolops/yolops/imgproc"
)

// ImageFormats are the file extensions (lower case, without the dot)
// taken for images, Ultralytics 8.2's IMG_FORMATS. Scan lists files by
// these; of them yolops decodes JPEG and PNG (by content, whatever the
// extension says) and reports the others as unsupported.
var ImageFormats = []string{"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm"}

func isImageName(name string) bool {
	i := strings.LastIndexByte(name, '.')
	return i >= 0 && slices.Contains(ImageFormats, strings.ToLower(name[i+1:]))
}

// LabelPath is the label file of an image, by Ultralytics' rule
// (img2label_paths): the last "images" directory of the path becomes
// "labels" and the extension ".txt". An image outside any "images"
// directory has its label beside it.
func LabelPath(image string) string {
	sep := string(filepath.Separator)
	sa, sb := sep+"images"+sep, sep+"labels"+sep
	if i := strings.LastIndex(image, sa); i >= 0 {
		image = image[:i] + sb + image[i+len(sa):]
	}
	if i := strings.LastIndexByte(image, '.'); i >= 0 {
		image = image[:i]
	}
	return image + ".txt"
}

// Kind is the kind of a Problem.
type Kind int

// The kinds of problem Scan reports. BadImage and BadLabel cost the image
// (it is not in Split.Items); the others cost nothing but the line or
// file named.
const (
	// BadImage: the image is missing, unreadable, truncated, not an image
	// or in a format yolops cannot decode.
	BadImage Kind = iota + 1
	// BadLabel: a line of the image's label file cannot be used (field
	// count, not a number, class out of range, coordinate outside [0, 1]).
	// Training on the other lines alone would teach the model that the
	// object on the bad line is background, so the image is skipped, as
	// Ultralytics skips it.
	BadLabel
	// DuplicateLabel: a label line repeats an earlier one; it is dropped.
	DuplicateLabel
	// DuplicateImage: an image is listed twice in the split; it is used once.
	DuplicateImage
	// OrphanLabel: a label file that no image of the split has; ignored.
	OrphanLabel
)

var kindNames = [...]string{BadImage: "bad-image", BadLabel: "bad-label", DuplicateLabel: "duplicate-label",
	DuplicateImage: "duplicate-image", OrphanLabel: "orphan-label"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's name, for JSON reports.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Problem is something wrong with one file of a dataset.
type Problem struct {
	Kind Kind   `json:"kind"`
	Path string `json:"path"`           // the file at fault
	Line int    `json:"line,omitempty"` // 1-based line of a label or list file; 0 for the whole file
	Msg  string `json:"message"`        // what is wrong and what was done about it
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Msg)
	}
	return p.Path + ": " + p.Msg
}

// Split is one split of a dataset, scanned.
type Split struct {
	Name     string
	Items    []Item    // the usable images, sorted by path
	Problems []Problem // sorted by path and line
	Stats    Stats
}

// maxLabelFile bounds the size of a label file read into memory: a
// million boxes is far more than any image holds.
const maxLabelFile = 64 << 20

// minSide is the smallest width and height accepted, Ultralytics'
// (verify_image_label asserts both are above 9).
const minSide = 10

// maxBadLines bounds the lines reported for one label file (a binary file
// named .txt would otherwise give thousands).
const maxBadLines = 5

// Scan lists the images of a split ("train", "val" or "test"), reads
// their labels and checks both, reporting every problem with the file and
// line at fault. Each image is decoded in full (on all CPUs), so that a
// truncated or corrupt file is caught here rather than in the middle of
// training; unlike Ultralytics, which rewrites a JPEG that lacks its end
// marker in place, Scan never writes to the dataset. An image without a
// label file, or with an empty one, is a background image: counted in
// Stats, not a problem.
//
// Scan fails only when a source of the split is missing or the split
// holds no image at all.
func (c *Config) Scan(ctx context.Context, split string) (*Split, error) {
	sources, err := c.Sources(split)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("dataset: %s: no %s images configured", c.File, split)
	}
	images, listFiles, probs, err := listImages(ctx, sources)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s split: %w", split, err)
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("dataset: %s split: no images (%s) found in %s", split, strings.Join(ImageFormats, ", "), strings.Join(sources, ", "))
	}

	results := make([]scanned, len(images))
	workers := min(runtime.GOMAXPROCS(0), len(images))
	next := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i] = scanImage(images[i], c.NC())
				if c.Progress != nil {
					mu.Lock()
					done++
					c.Progress(done, len(images))
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range images {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s := &Split{Name: split, Items: make([]Item, 0, len(images))}
	claimed := make(map[string]bool, len(images))
	labelDirs := make(map[string]bool)
	for i, r := range results {
		claimed[LabelPath(images[i])] = true
		labelDirs[filepath.Dir(LabelPath(images[i]))] = true
		probs = append(probs, r.probs...)
		if r.ok {
			s.Items = append(s.Items, r.item)
		} else {
			s.Stats.Skipped++
		}
		s.Stats.Polygons += r.polys
	}
	for _, f := range listFiles {
		claimed[f] = true
	}
	orphans, err := orphanLabels(labelDirs, claimed)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s split: %w", split, err)
	}
	probs = append(probs, orphans...)
	slices.SortStableFunc(probs, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line))
	})
	s.Problems = probs

	st := ComputeStats(s.Items, c.Names)
	st.Skipped, st.Polygons = s.Stats.Skipped, s.Stats.Polygons
	for _, p := range probs {
		switch p.Kind {
		case OrphanLabel:
			st.OrphanLabels++
		case DuplicateLabel:
			st.DuplicateLabels++
		}
	}
	s.Stats = st
	return s, nil
}

// scanned is the outcome of checking one image and its label file.
type scanned struct {
	item  Item
	ok    bool
	probs []Problem
	polys int
}

func scanImage(path string, nc int) (r scanned) {
	r.item.Image = path
	data, err := os.ReadFile(path)
	if err == nil {
		var img *imgproc.RGB
		if img, err = imgproc.Decode(data); err == nil {
			r.item.W, r.item.H = img.W, img.H
			if img.W < minSide || img.H < minSide {
				err = fmt.Errorf("image is %dx%d: at least %d pixels a side are needed", img.W, img.H, minSide)
			}
		}
	}
	if err != nil {
		r.probs = append(r.probs, Problem{Kind: BadImage, Path: path, Msg: fmt.Sprintf("%v: image skipped", unwrapPath(err))})
		return r
	}

	lp := LabelPath(path)
	f, err := os.Open(lp)
	if errors.Is(err, fs.ErrNotExist) {
		r.ok = true // background
		return r
	}
	if err == nil {
		data, err = readLimited(f, maxLabelFile)
		f.Close()
	}
	if err != nil {
		r.probs = append(r.probs, Problem{Kind: BadLabel, Path: lp, Msg: fmt.Sprintf("%v: image %s skipped", unwrapPath(err), path)})
		return r
	}
	r.item.Label = lp
	p := parseLabels(data, nc)
	r.polys = p.Polys
	for i, b := range p.Bad {
		if i == maxBadLines {
			r.probs = append(r.probs, Problem{Kind: BadLabel, Path: lp, Line: b.Line,
				Msg: fmt.Sprintf("and %d more bad lines from here on", len(p.Bad)-maxBadLines)})
			break
		}
		r.probs = append(r.probs, Problem{Kind: BadLabel, Path: lp, Line: b.Line, Msg: b.Msg + ": image skipped"})
	}
	for _, line := range p.Dups {
		r.probs = append(r.probs, Problem{Kind: DuplicateLabel, Path: lp, Line: line, Msg: "repeats an earlier line: dropped"})
	}
	r.item.Labels = p.Labels
	r.ok = len(p.Bad) == 0
	return r
}

func readLimited(f *os.File, limit int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than the %d bytes a label file may have", limit)
	}
	return data, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path the Problem
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// listImages expands a split's sources into sorted, distinct image paths.
// It also returns the list files read (so that a list kept among the
// labels is not taken for a stray label) and the problems of list entries.
func listImages(ctx context.Context, sources []string) (images, listFiles []string, probs []Problem, err error) {
	seen := make(map[string]bool)
	add := func(p string, where string, line int) {
		if seen[p] {
			probs = append(probs, Problem{Kind: DuplicateImage, Path: where, Line: line, Msg: p + " is listed twice: used once"})
			return
		}
		seen[p] = true
		images = append(images, p)
	}
	for _, src := range sources {
		st, err := os.Stat(src)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case st.IsDir():
			err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				// Python's glob, which Ultralytics lists images with, skips
				// hidden files and directories.
				if p != src && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if !d.IsDir() && isImageName(d.Name()) {
					add(p, p, 0)
				}
				return nil
			})
			if err != nil {
				return nil, nil, nil, err
			}
		case isImageName(src):
			add(src, src, 0)
		default:
			listFiles = append(listFiles, src)
			lp, err := readList(src)
			if err != nil {
				return nil, nil, nil, err
			}
			for _, e := range lp {
				if !isImageName(e.path) {
					probs = append(probs, Problem{Kind: BadImage, Path: src, Line: e.line,
						Msg: fmt.Sprintf("%s is not an image file name (%s): ignored", e.path, strings.Join(ImageFormats, ", "))})
					continue
				}
				add(e.path, src, e.line)
			}
		}
	}
	slices.Sort(images)
	return images, listFiles, probs, nil
}

type listEntry struct {
	path string
	line int
}

// readList reads a file listing one image path a line. Ultralytics
// resolves entries starting with "./" against the list's directory and
// other relative entries against the working directory; here every
// relative entry is resolved against the list's directory, so that a
// dataset does not change with where the command runs.
func readList(path string) ([]listEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir := filepath.Dir(path)
	var out []listEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		e := strings.TrimSpace(sc.Text())
		if e == "" {
			continue
		}
		e = filepath.FromSlash(e)
		if !filepath.IsAbs(e) {
			e = filepath.Join(dir, e)
		}
		out = append(out, listEntry{filepath.Clean(e), n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// orphanLabels reports the label files in dirs that no image claimed.
func orphanLabels(dirs, claimed map[string]bool) ([]Problem, error) {
	var probs []Problem
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") || claimed[p] {
				continue
			}
			probs = append(probs, Problem{Kind: OrphanLabel, Path: p, Msg: "label file without an image: ignored"})
		}
	}
	return probs, nil
}
