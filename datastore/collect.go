package datastore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// tracked is one output of one .dvc file.
type tracked struct {
	dvcPath string // absolute path of the .dvc file
	file    *DVCFile
	index   int
	out     Out
	abs     string // absolute workspace path of the output
}

func (t tracked) label(r *Repo) string { return r.rel(t.abs) }

// collect resolves targets (.dvc files, or the paths they track) to
// outputs; no targets means every .dvc file of the repository.
func (r *Repo) collect(ctx context.Context, targets []string) ([]tracked, error) {
	var files []string
	if len(targets) == 0 {
		var err error
		if files, err = r.findDVCFiles(ctx); err != nil {
			return nil, err
		}
	}
	for _, t := range targets {
		abs, err := filepath.Abs(t)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasSuffix(abs, DVCFileSuffix) && isFile(abs):
			files = append(files, abs)
		case isFile(abs + DVCFileSuffix):
			files = append(files, abs+DVCFileSuffix)
		default:
			return nil, fmt.Errorf("%s is not tracked: there is no %s", t, filepath.Base(abs)+DVCFileSuffix)
		}
	}
	var outs []tracked
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f] {
			continue
		}
		seen[f] = true
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		df, err := ParseDVCFile(r.rel(f), data)
		if err != nil {
			return nil, err
		}
		for i, o := range df.Outs {
			abs := filepath.Join(filepath.Dir(f), filepath.FromSlash(o.Path))
			if !isWithin(r.Root, abs) {
				return nil, fmt.Errorf("%s: output %q is outside the repository", r.rel(f), o.Path)
			}
			outs = append(outs, tracked{dvcPath: f, file: df, index: i, out: o, abs: abs})
		}
	}
	return outs, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// findDVCFiles lists the .dvc files of the repository, skipping what DVC
// ignores (.git, .hg, .dvc, sub-repositories) and the inside of tracked
// directories.
func (r *Repo) findDVCFiles(ctx context.Context) ([]string, error) {
	var files []string
	err := filepath.WalkDir(r.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) && p != r.Root {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == r.Root {
				return nil
			}
			if name == ".git" || name == ".hg" || name == DVCDir || isFile(p+DVCFileSuffix) {
				return filepath.SkipDir
			}
			if fi, err := os.Stat(filepath.Join(p, DVCDir)); err == nil && fi.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, DVCFileSuffix) && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}
