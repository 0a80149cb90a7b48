package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/datastore"
	"github.com/yolops/yolops/pipeline"
)

// The kinds of data source.
const (
	sourceCOCO128 = "coco128"
	sourceYAML    = "data_yaml"
)

// DataOptions say where the dataset comes from and what is kept of it.
type DataOptions struct {
	// Source is coco128 (the default) or the path of an Ultralytics data
	// YAML.
	Source string
	// From is a local copy of the extracted COCO128 archive; when empty
	// COCO128 is taken from CacheDir, downloaded there if missing.
	From string
	// CacheDir holds downloaded datasets; dataset.DefaultCacheDir() when
	// empty.
	CacheDir string
	// Classes are the classes kept, renumbered in this order; the
	// default is person.
	Classes []string
	// KeepBackground keeps the images left without boxes.
	KeepBackground bool
}

// dataSource is the resolved data source: the pipeline inputs the
// data_loader reads.
type dataSource struct {
	kind string
	name string                      // the prepared dataset's name: coco128-person
	root pipeline.Ref[pipeline.Dir]  // the source tree, hashed into the cache key
	yaml pipeline.Ref[pipeline.File] // with sourceYAML: the data YAML
}

// resolveData finds the source tree, downloading COCO128 into the cache
// if it is needed and missing.
func resolveData(ctx context.Context, o DataOptions, log io.Writer) (*dataSource, error) {
	classes := strings.Join(o.Classes, "-")
	if o.Source == "" || o.Source == sourceCOCO128 {
		root := o.From
		if root == "" {
			a := dataset.COCO128()
			a.Progress = log
			dir := o.CacheDir
			if dir == "" {
				dir = dataset.DefaultCacheDir()
			}
			var err error
			if root, err = a.Fetch(ctx, dir); err != nil {
				return nil, fmt.Errorf("COCO128 is not in the cache %s and could not be downloaded (give a local copy of it with --from): %w", dir, err)
			}
		} else if st, err := os.Stat(root); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--from %s: not a directory holding COCO128's images/ and labels/", root)
		}
		return &dataSource{kind: sourceCOCO128, name: datasetName(sourceCOCO128, classes), root: pipeline.SourceDir(root)}, nil
	}
	if o.From != "" {
		return nil, fmt.Errorf("--from is for the coco128 source; %s is a data YAML and says where its images are", o.Source)
	}
	cfg, err := dataset.LoadConfig(o.Source)
	if err != nil {
		return nil, err
	}
	// The whole dataset root is hashed: images and labels outside it
	// (absolute paths in the YAML) are not seen by the cache.
	return &dataSource{kind: sourceYAML, name: datasetName(filepath.Base(cfg.Root), classes),
		root: pipeline.SourceDir(cfg.Root), yaml: pipeline.SourceFile(o.Source)}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// datasetName names a prepared dataset after its source and classes.
func datasetName(source, classes string) string {
	name := source
	if classes != "" {
		name += "-" + classes
	}
	name = strings.Trim(unsafeName.ReplaceAllString(name, "_"), "._-")
	if name == "" {
		name = "dataset"
	}
	return name
}

// shortVersion is the first 12 hex digits of a dataset version.
func shortVersion(v string) string {
	v = strings.TrimSuffix(v, ".dir")
	if len(v) > 12 {
		v = v[:12]
	}
	return v
}

// materialise makes dst a copy of the prepared dataset src, whose folder
// name carries its version: an existing dst with the same content is
// used as it is, one with other content replaced. The copy is built
// beside dst and renamed into place, so dst is never half-written, and
// two trainings making it at once both end with a whole copy.
func materialise(ctx context.Context, src, dst string) (string, error) {
	want, err := datastore.Hash(ctx, src)
	if err != nil {
		return "", err
	}
	if got, err := datastore.Hash(ctx, dst); err == nil && got == want {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(ctx, src, tmp); err != nil {
		return "", fmt.Errorf("copy the dataset to %s: %w", dst, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		// dst exists: made meanwhile by another training, or stale.
		if got, herr := datastore.Hash(ctx, dst); herr == nil && got == want {
			return dst, nil
		}
		old := dst + ".old"
		if err := os.RemoveAll(old); err != nil {
			return "", err
		}
		if err := os.Rename(dst, old); err != nil {
			return "", fmt.Errorf("replace %s: %w", dst, err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			return "", fmt.Errorf("replace %s: %w", dst, err)
		}
		os.RemoveAll(old)
	}
	return dst, nil
}

// copyTree copies the regular files below src into dst.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// resolveModel returns the local file of the pretrained weights a model
// argument names, or scratch=true for an architecture (yolov8n.yaml),
// which is trained from scratch. A published name (yolov8n.pt) not on
// disk is taken from the weights cache, downloaded there if missing.
func resolveModel(ctx context.Context, model string, cache *assets.Cache) (path string, scratch bool, err error) {
	switch strings.ToLower(filepath.Ext(model)) {
	case ".yaml", ".yml":
		return "", true, nil
	}
	if _, err := os.Stat(model); err == nil {
		return model, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("--model %s: %w", model, err)
	}
	name := model
	if filepath.Ext(name) == "" {
		name += ".pt" // Ultralytics reads "yolov8n" as yolov8n.pt
	}
	if _, known := assets.Known(name); !known || filepath.Base(name) != name {
		return "", false, fmt.Errorf("--model %s: no such file, and not a published checkpoint (yolov8n.pt ... yolov8x.pt)", model)
	}
	if cache == nil {
		cache = &assets.Cache{}
	}
	p, err := cache.Path(ctx, name)
	if err != nil {
		dir := cache.Dir
		if dir == "" {
			dir = assets.DefaultDir()
		}
		stem := strings.TrimSuffix(name, ".pt")
		return "", false, fmt.Errorf("--model %s: the COCO-pretrained weights are not in the cache (%s) and could not be downloaded: %w\n"+
			"Put %s there (or pass its path with --model), or train from scratch with --model %s.yaml (much lower mAP after a few epochs)",
			model, dir, err, name, stem)
	}
	return p, false, nil
}

// lineWriter turns writes into calls of printf, one per line.
type lineWriterT struct {
	mu     sync.Mutex
	printf func(string, ...any)
	buf    []byte
}

func lineWriter(printf func(string, ...any)) io.Writer { return &lineWriterT{printf: printf} }

func (w *lineWriterT) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.printf("%s", strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
}
