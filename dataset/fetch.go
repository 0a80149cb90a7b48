package dataset

import (
	"archive/zip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yolops/yolops/assets"
)

// COCO128URL is where Ultralytics publishes COCO128 (the archive its
// coco128.yaml downloads).
const COCO128URL = "https://github.com/ultralytics/assets/releases/download/v0.0.0/coco128.zip"

// coco128Manifest lists the SHA-256 of the 256 images and labels of
// COCO128 as the archive above holds them (LICENSE and README.txt are not
// listed: they do not enter the dataset).
//
//go:embed coco128.sha256
var coco128Manifest string

// coco128YAML is the data YAML of the extracted archive, which carries
// none: Ultralytics' coco128.yaml without its download settings.
//
//go:embed coco128.yaml
var coco128YAML string

// Archive is a dataset published as a zip archive, with the digest of
// every file it must hold.
type Archive struct {
	// Name is the directory the tree is kept under in the cache.
	Name string
	// URL is where the zip is downloaded from.
	URL string
	// Manifest lists the files the extracted tree must hold.
	Manifest Manifest
	// Client makes the request; one with a 30-minute timeout when nil.
	Client *http.Client
	// Progress, when set, receives plain progress lines.
	Progress io.Writer
	// MaxSize bounds the bytes extracted, against archives that expand to
	// fill the disk; 4 GiB when 0.
	MaxSize int64
}

// COCO128 returns the archive of COCO128.
func COCO128() *Archive {
	m, err := ParseManifest(strings.NewReader(coco128Manifest))
	if err != nil {
		panic("dataset: the embedded coco128.sha256 is broken: " + err.Error())
	}
	return &Archive{Name: "coco128", URL: COCO128URL, Manifest: m}
}

// DefaultCacheDir is where downloaded datasets are kept:
// $YOLOPS_CACHE/datasets, or the user cache directory's yolops/datasets.
func DefaultCacheDir() string {
	if d := os.Getenv("YOLOPS_CACHE"); d != "" {
		return filepath.Join(d, "datasets")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "yolops", "datasets")
	}
	return filepath.Join(os.TempDir(), "yolops", "datasets")
}

// Fetch returns the directory, cacheDir/a.Name, that holds the archive's
// extracted tree, checked against the manifest. When the cache lacks the
// tree or holds one that no longer matches, the archive is downloaded and
// extracted beside it, checked, and only then renamed into place, so the
// cache never holds a partial or unchecked tree under the archive's name.
func (a *Archive) Fetch(ctx context.Context, cacheDir string) (string, error) {
	final := filepath.Join(cacheDir, a.Name)
	if _, err := os.Stat(final); err == nil {
		v, err := a.Manifest.Verify(ctx, final)
		if err != nil {
			return "", err
		}
		if v.OK() {
			return final, nil
		}
		a.logf("the cached copy does not match: %v; downloading it again", v.Err())
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("dataset: creating the cache: %w", err)
	}
	zf, err := os.CreateTemp(cacheDir, a.Name+".zip.part-*")
	if err != nil {
		return "", fmt.Errorf("dataset: %w", err)
	}
	defer os.Remove(zf.Name())
	err = a.download(ctx, zf)
	if cerr := zf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("dataset: downloading %s: %w", a.URL, err)
	}
	tmp, err := os.MkdirTemp(cacheDir, a.Name+".part-*")
	if err != nil {
		return "", fmt.Errorf("dataset: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := a.extract(ctx, zf.Name(), tmp); err != nil {
		return "", fmt.Errorf("dataset: extracting %s: %w", a.URL, err)
	}
	root, err := archiveRoot(tmp)
	if err != nil {
		return "", fmt.Errorf("dataset: %s: %w", a.URL, err)
	}
	v, err := a.Manifest.Verify(ctx, root)
	if err != nil {
		return "", err
	}
	if !v.OK() {
		return "", fmt.Errorf("dataset: %s: the archive does not hold the published files, so nothing was saved: %w", a.URL, v.Err())
	}
	if err := replaceDir(root, final); err != nil {
		return "", fmt.Errorf("dataset: %w", err)
	}
	a.logf("saved %s (%d files checked)", final, v.Files)
	return final, nil
}

func (a *Archive) logf(format string, args ...any) {
	if a.Progress != nil {
		fmt.Fprintf(a.Progress, a.Name+": "+format+"\n", args...)
	}
}

func (a *Archive) download(ctx context.Context, w io.Writer) error {
	client := a.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Minute}
	}
	_, err := assets.Download(ctx, client, a.URL, w, a.logf)
	return err
}

// extract writes the files of a zip archive under dst. It refuses entries
// that would land outside dst ("zip slip": absolute paths, "..", or
// backslashes that Windows would take for separators), links and other
// special files (a link could point a later entry outside dst), the
// same file twice, and more than MaxSize bytes in all.
func (a *Archive) extract(ctx context.Context, zipPath, dst string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("not a readable zip archive: %w", err)
	}
	defer zr.Close()
	left := a.MaxSize
	if left <= 0 {
		left = 4 << 30
	}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := f.Name
		if strings.HasPrefix(name, "__MACOSX/") { // macOS resource forks
			continue
		}
		if strings.Contains(name, `\`) || !filepath.IsLocal(filepath.FromSlash(strings.TrimSuffix(name, "/"))) {
			return fmt.Errorf("entry %q would be written outside the target directory", name)
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			return fmt.Errorf("entry %q is a %v: only files and directories are extracted", name, mode.Type())
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		n, err := extractFile(f, target, left)
		if err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		left -= n
	}
	return nil
}

func extractFile(f *zip.File, target string, limit int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return 0, errors.New("the archive holds this file twice")
	}
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errors.New("the archive expands to more than the size allowed")
	}
	return n, err
}

// archiveRoot is the top of an extracted tree: the single directory the
// archive holds, or the extraction directory itself.
func archiveRoot(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", errors.New("the archive is empty")
	}
	if len(entries) == 1 && entries[0].IsDir() {
		return filepath.Join(dir, entries[0].Name()), nil
	}
	return dir, nil
}

// replaceDir moves dir to final, replacing what final holds. The old
// tree is moved aside first and removed only once the new one is in
// place, so final is never a partial tree.
func replaceDir(dir, final string) error {
	old := ""
	if _, err := os.Lstat(final); err == nil {
		o, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".old-*")
		if err != nil {
			return err
		}
		old = filepath.Join(o, "tree")
		if err := os.Rename(final, old); err != nil {
			os.Remove(o)
			return err
		}
		defer os.RemoveAll(o)
	}
	if err := os.Rename(dir, final); err != nil {
		if old != "" {
			if rerr := os.Rename(old, final); rerr != nil {
				return fmt.Errorf("%w; and restoring the previous %s failed: %v (it is at %s)", err, final, rerr, old)
			}
		}
		return err
	}
	return nil
}
