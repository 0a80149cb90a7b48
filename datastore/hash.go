package datastore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"
	"unicode/utf8"
)

// Hash returns the content hash of a file or directory as DVC 3 computes
// it, without writing anything to a cache or a .dvc file: for a directory
// the md5 of its manifest followed by ".dir" (the md5 field `dvc add` and
// `yolops data add` write for it), for a file the md5 of its bytes. Equal
// content gives equal hashes wherever the data lies, so the value serves
// as a dataset version and a cache key.
//
// Inside a DVC repository, files are hashed once: their hashes are kept in
// .dvc/tmp keyed by path, inode, modification time and size, so a repeat
// call reads only the files that changed.
func Hash(ctx context.Context, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	state := openState("")
	if root, err := FindRoot(filepath.Dir(abs)); err == nil {
		if err := checkDvcignore(root, abs); err != nil {
			return "", err
		}
		state = openState(filepath.Join(root, ".dvc", "tmp", stateFileName))
	}
	h := &hasher{state: state, jobs: runtime.GOMAXPROCS(0)}
	var sum string
	if fi.IsDir() {
		m, _, err := h.manifest(ctx, abs, nil)
		if err != nil {
			return "", err
		}
		sum = m.Hash()
	} else {
		items := []fileItem{{rel: fi.Name(), abs: abs, st: stampOf(fi)}}
		if err := h.hashItems(ctx, items, nil, ""); err != nil {
			return "", err
		}
		sum = items[0].md5
	}
	// The state only saves time: failing to write it (a read-only
	// checkout) must not fail the hash.
	_ = state.save()
	return sum, nil
}

// fileItem is one file found in a directory.
type fileItem struct {
	rel  string // slash-separated path relative to the directory
	abs  string
	st   stamp
	exec bool
	md5  string
}

// ErrIgnoreInDir is returned when a directory to track holds a
// .dvcignore file, which DVC refuses too.
var ErrIgnoreInDir = errors.New(".dvcignore file should not be in a tracked directory")

// walkTree lists the files DVC collects in dir: every file below it,
// following symbolic links to files but not to directories (os.walk's
// behaviour), leaving out what DVC always ignores: entries named .git,
// directories named .hg or .dvc, and DVC sub-repositories (directories
// holding a .dvc directory).
func walkTree(ctx context.Context, dir string) ([]fileItem, error) {
	var items []fileItem
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			abs := filepath.Join(dir, name)
			if !utf8.ValidString(name) {
				return fmt.Errorf("%q: the name is not valid UTF-8, which yolops cannot record", abs)
			}
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			if name == ".git" {
				continue
			}
			var fi os.FileInfo
			if e.Type()&os.ModeSymlink != 0 {
				fi, err = os.Stat(abs)
				if err != nil {
					return fmt.Errorf("symbolic link %s: %w", abs, err)
				}
				if fi.IsDir() {
					continue // os.walk lists it but does not descend
				}
			} else if e.IsDir() {
				if name == ".hg" || name == ".dvc" {
					continue
				}
				if sub, err := os.Stat(filepath.Join(abs, ".dvc")); err == nil && sub.IsDir() {
					continue
				}
				if err := walk(abs, r); err != nil {
					return err
				}
				continue
			} else {
				fi, err = e.Info()
				if err != nil {
					return err
				}
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file (%s)", abs, fi.Mode().Type())
			}
			if name == ".dvcignore" {
				return fmt.Errorf("%s: %w", abs, ErrIgnoreInDir)
			}
			items = append(items, fileItem{rel: r, abs: abs, st: stampOf(fi), exec: fi.Mode()&0o111 != 0})
		}
		return nil
	}
	if err := walk(dir, ""); err != nil {
		return nil, err
	}
	return items, nil
}

// hasher computes file hashes with a pool of readers and the state.
type hasher struct {
	state    *hashState
	jobs     int
	progress Progress
}

// manifest hashes the directory dir and returns its manifest and files.
// With prog set, it reports each file hashed.
func (h *hasher) manifest(ctx context.Context, dir string, prog Progress) (Manifest, []fileItem, error) {
	items, err := walkTree(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	if err := h.hashItems(ctx, items, prog, "Hashing "+filepath.Base(dir)); err != nil {
		return nil, nil, err
	}
	m := make(Manifest, len(items))
	for i, it := range items {
		m[i] = Entry{MD5: it.md5, RelPath: it.rel}
	}
	m.Sort()
	return m, items, nil
}

// hashItems fills in the md5 of every item, from the state when the file
// is unchanged, else by reading it.
func (h *hasher) hashItems(ctx context.Context, items []fileItem, prog Progress, task string) error {
	if prog == nil {
		prog = noProgress{}
	}
	var total int64
	for _, it := range items {
		total += it.st.Size
	}
	prog.Start(task, len(items), total)
	defer prog.Done()
	var todo []int
	for i := range items {
		if sum, ok := h.state.lookup(items[i].abs, items[i].st); ok {
			items[i].md5 = sum
			prog.Add(1, items[i].st.Size)
			continue
		}
		todo = append(todo, i)
	}
	return forEach(ctx, len(todo), h.jobs, func(ctx context.Context, k int) error {
		it := &items[todo[k]]
		sum, err := hashFile(ctx, it.abs, it.st)
		if err != nil {
			return err
		}
		it.md5 = sum
		h.state.record(it.abs, it.st, sum, time.Now())
		prog.Add(1, it.st.Size)
		return nil
	})
}

// hashFile returns the md5 of the file at p, which must still be as st
// describes once read: a file that changes while it is hashed gets no
// hash that could describe it.
func hashFile(ctx context.Context, p string, st stamp) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if now := stampOf(fi); now.Size != st.Size || now.MtimeNS != st.MtimeNS {
		return "", fmt.Errorf("%s changed while it was being hashed", p)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// relSlash is rel's slash form.
func relSlash(base, target string) (string, error) {
	rel, err := filepath.Rel(base, target)
	if err != nil {
		return "", err
	}
	return path.Clean(filepath.ToSlash(rel)), nil
}
