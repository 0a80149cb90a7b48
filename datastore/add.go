package datastore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AddResult says what Add did.
type AddResult struct {
	// DVCFile is the path of the .dvc file.
	DVCFile string
	// Out is the output as recorded in it.
	Out Out
	// Written is set when the .dvc file was created or changed.
	Written bool
	// Files is the number of files of the output; Stored how many objects
	// (files and the directory manifest) were new to the cache.
	Files, Stored int
	// GitIgnore is the .gitignore that was updated, if any.
	GitIgnore string
}

// Add tracks the file or directory at target as `dvc add` does: every
// file goes into the cache under its md5 (read-only), a directory's
// manifest too, target.dvc records the hash, size and file count, and
// the .gitignore beside target gets "/name". Adding unchanged data again
// changes nothing.
func (r *Repo) Add(ctx context.Context, target string) (*AddResult, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	abs = filepath.Clean(abs)
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("cannot add %s: %w", target, err)
	}
	if err := r.checkTarget(abs); err != nil {
		return nil, err
	}
	if err := checkDvcignore(r.Root, abs); err != nil {
		return nil, err
	}
	dvcPath := abs + DVCFileSuffix
	base := filepath.ToSlash(filepath.Base(abs))

	// Read the existing .dvc file first: a broken one is reported, not
	// overwritten.
	var existing *DVCFile
	outIndex := 0
	if data, err := os.ReadFile(dvcPath); err == nil {
		existing, err = ParseDVCFile(r.rel(dvcPath), data)
		if err != nil {
			return nil, fmt.Errorf("cannot update it: %w", err)
		}
		outIndex = -1
		for i, o := range existing.Outs {
			if o.Path == base {
				outIndex = i
			}
		}
		if outIndex < 0 {
			return nil, fmt.Errorf("%s exists and does not track %q", r.rel(dvcPath), base)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	res := &AddResult{DVCFile: dvcPath}
	out := Out{Hash: "md5", Path: base, NFiles: -1, Cache: true, Push: true}
	if existing != nil {
		old := existing.Outs[outIndex]
		out.Cache, out.Push, out.Remote = old.Cache, old.Push, old.Remote
	}
	h := r.hasher()
	cache := r.cache()
	prog := r.progress()
	if fi.IsDir() {
		m, items, err := h.manifest(ctx, abs, prog)
		if err != nil {
			return nil, err
		}
		if err := r.checkNested(abs, items); err != nil {
			return nil, err
		}
		var size int64
		for _, it := range items {
			size += it.st.Size
		}
		if out.Cache {
			stored, err := r.storeFiles(ctx, items, "Caching "+base)
			if err != nil {
				return nil, err
			}
			res.Stored += stored
			wrote, err := cache.put(ctx, m.Hash(), bytes.NewReader(m.Bytes()))
			if err != nil {
				return nil, err
			}
			if wrote {
				res.Stored++
			}
		}
		out.MD5, out.Size, out.NFiles = m.Hash(), size, int64(len(items))
		res.Files = len(items)
	} else {
		items := []fileItem{{rel: base, abs: abs, st: stampOf(fi), exec: fi.Mode()&0o111 != 0}}
		if err := h.hashItems(ctx, items, prog, "Hashing "+base); err != nil {
			return nil, err
		}
		if out.Cache {
			stored, err := r.storeFiles(ctx, items, "Caching "+base)
			if err != nil {
				return nil, err
			}
			res.Stored = stored
		}
		out.MD5, out.Size, out.IsExec = items[0].md5, fi.Size(), items[0].exec
		res.Files = 1
	}
	r.saveState()

	var data []byte
	if existing == nil {
		data = (&DVCFile{Outs: []Out{out}}).Bytes()
	} else if data, err = existing.Update(outIndex, out); err != nil {
		return nil, fmt.Errorf("%s: %w; delete it and add %s again", r.rel(dvcPath), err, target)
	}
	res.Out = out
	if existing == nil || !bytes.Equal(data, existing.raw) {
		if err := writeFileAtomic(dvcPath, data, 0o666); err != nil {
			return nil, err
		}
		res.Written = true
	}
	if res.GitIgnore, err = r.gitIgnore(abs); err != nil {
		return nil, err
	}
	return res, nil
}

// checkTarget refuses what DVC refuses to add: the repository itself or
// anything outside it, DVC's own files, and data inside an output that is
// already tracked.
func (r *Repo) checkTarget(abs string) error {
	if !isWithin(r.Root, abs) {
		return fmt.Errorf("cannot add %s: it is outside the repository %s", abs, r.Root)
	}
	if abs == r.Root {
		return fmt.Errorf("cannot add the repository root %s itself; add the data directory inside it", abs)
	}
	rel, _ := relSlash(r.Root, abs)
	for _, part := range strings.Split(rel, "/") {
		if part == DVCDir || part == ".git" || part == ".hg" {
			return fmt.Errorf("cannot add %s: it is inside %s, which DVC ignores", abs, part)
		}
	}
	if strings.HasSuffix(abs, DVCFileSuffix) {
		return fmt.Errorf("cannot add %s: a .dvc file cannot be tracked", abs)
	}
	// An ancestor tracked by its own .dvc file already holds abs.
	for d := filepath.Dir(abs); d != r.Root && isWithin(r.Root, d); d = filepath.Dir(d) {
		parent := d + DVCFileSuffix
		data, err := os.ReadFile(parent)
		if err != nil {
			continue
		}
		f, err := ParseDVCFile(r.rel(parent), data)
		if err != nil {
			continue
		}
		for _, o := range f.Outs {
			if o.Path == filepath.Base(d) {
				return fmt.Errorf("cannot add %s: it is inside %s, which %s already tracks; add %s again instead",
					r.rel(abs), r.rel(d), r.rel(parent), r.rel(d))
			}
		}
	}
	return nil
}

// checkNested refuses a directory that holds an output tracked by its own
// .dvc file: DVC reports the two outputs as overlapping.
func (r *Repo) checkNested(dir string, items []fileItem) error {
	for _, it := range items {
		if !strings.HasSuffix(it.rel, DVCFileSuffix) {
			continue
		}
		data, err := os.ReadFile(it.abs)
		if err != nil {
			return err
		}
		f, err := ParseDVCFile(r.rel(it.abs), data)
		if err != nil {
			continue // not a .dvc file, just a file with that suffix
		}
		for _, o := range f.Outs {
			out := filepath.Join(filepath.Dir(it.abs), filepath.FromSlash(o.Path))
			if isWithin(dir, out) {
				return fmt.Errorf("cannot add %s: it holds %s, which %s already tracks; remove that .dvc file first, or add the directories separately",
					r.rel(dir), r.rel(out), r.rel(it.abs))
			}
		}
	}
	return nil
}

// storeFiles copies the files that are not in the cache yet into it.
func (r *Repo) storeFiles(ctx context.Context, items []fileItem, task string) (int, error) {
	cache := r.cache()
	var missing []fileItem
	var bytes int64
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.md5] && !cache.has(it.md5) {
			seen[it.md5] = true
			missing = append(missing, it)
			bytes += it.st.Size
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	prog := r.progress()
	prog.Start(task, len(missing), bytes)
	defer prog.Done()
	err := forEach(ctx, len(missing), r.hasher().jobs, func(ctx context.Context, i int) error {
		if _, err := cache.putFile(ctx, missing[i].md5, missing[i].abs); err != nil {
			return err
		}
		prog.Add(1, missing[i].st.Size)
		return nil
	})
	return len(missing), err
}
