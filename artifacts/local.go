package artifacts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// tmpPrefix starts the names of Local's temporary files. They live in the
// object's own folder (so that the final rename stays in one directory and
// is atomic), List hides them, and keys may not use such names.
const tmpPrefix = ".yolops-tmp-"

// copyBufSize is the chunk Local.Put copies with: larger than io.Copy's
// 32 KiB, which costs a system call per 32 KiB on big objects.
const copyBufSize = 256 << 10

// Local is a Store in a folder of the local file system. Every access goes
// through os.Root, so no key, and no symbolic link inside the folder, can
// reach a file outside it. Unlike S3, a folder cannot also be an object:
// with "a/b" stored, Put("a") fails, as does Put("a/b/c").
type Local struct {
	dir string // absolute, clean
}

// NewLocal returns a store in the folder root, which it creates if needed.
func NewLocal(root string) (*Local, error) {
	if root == "" {
		return nil, errors.New("artifacts: local store: empty folder name")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("artifacts: local store %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o777); err != nil {
		return nil, fmt.Errorf("artifacts: local store: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("artifacts: local store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("artifacts: local store %s: not a folder", abs)
	}
	return &Local{dir: abs}, nil
}

// Dir returns the store's folder, absolute.
func (l *Local) Dir() string { return l.dir }

// URI returns file:///abs/path.
func (l *Local) URI() string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(l.dir)}).String()
}

// root opens the folder for one operation. Opening it each time (a single
// openat) spares Local a Close method and follows the folder if it is
// replaced.
func (l *Local) root() (*os.Root, error) {
	r, err := os.OpenRoot(l.dir)
	if err != nil {
		return nil, fmt.Errorf("artifacts: local store: %w", err)
	}
	return r, nil
}

func (l *Local) checkKey(key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tmpPrefix) {
			return fmt.Errorf("%w %q: names starting with %q are reserved for a local store's temporary files", ErrBadKey, key, tmpPrefix)
		}
	}
	return nil
}

func (l *Local) fail(op, key string, err error) error {
	if op != "put" && isNotExist(err) {
		return fmt.Errorf("artifacts: %s %q in %s: %w", op, key, l.URI(), ErrNotExist)
	}
	return fmt.Errorf("artifacts: %s %q in %s: %w", op, key, l.URI(), err)
}

// isNotExist also counts a file where a folder should be (ENOTDIR): for
// key "a/b", an object "a" means there is no object "a/b".
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Put writes to a temporary file beside the object, syncs it and renames
// it over the object, so readers see the old or the new object, whole,
// and a crash leaves at worst a hidden temporary file.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := l.checkKey(key); err != nil {
		return fmt.Errorf("artifacts: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return l.fail("put", key, err)
	}
	root, err := l.root()
	if err != nil {
		return err
	}
	defer root.Close()

	dir := path.Dir(key)
	f, tmp, err := createTemp(root, dir)
	if err != nil {
		return l.fail("put", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	src := r
	if size >= 0 {
		src = newExactReader(r, size)
	}
	// struct{io.Writer} hides os.File.ReadFrom, which would ignore buf.
	buf := make([]byte, copyBufSize)
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, src}, buf); err != nil {
		return l.fail("put", key, err)
	}
	if err := f.Sync(); err != nil {
		return l.fail("put", key, err)
	}
	if err := f.Close(); err != nil {
		return l.fail("put", key, err)
	}
	if err := ctx.Err(); err != nil {
		return l.fail("put", key, err)
	}
	if err := root.Rename(tmp, key); err != nil {
		if st, serr := root.Lstat(key); serr == nil && st.IsDir() {
			return fmt.Errorf("artifacts: put %q in %s: a folder of that name holds other objects", key, l.URI())
		}
		return l.fail("put", key, err)
	}
	// The rename is durable only once the folder is synced.
	d, err := root.Open(dir)
	if err != nil {
		return l.fail("put", key, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return l.fail("put", key, err)
	}
	return nil
}

// isDir reports whether name is a folder in root.
func isDir(root *os.Root, name string) bool {
	st, err := root.Stat(name)
	return err == nil && st.IsDir()
}

// createTemp creates a new temporary file in dir, creating dir if needed.
// It retries when a concurrent Delete removes dir (now empty) between the
// two steps.
func createTemp(root *os.Root, dir string) (*os.File, string, error) {
	var b [8]byte
	var err error
	for range 10 {
		rand.Read(b[:])
		name := path.Join(dir, tmpPrefix+hex.EncodeToString(b[:]))
		var f *os.File
		f, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		switch {
		case err == nil:
			return f, name, nil
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, syscall.ENOTDIR):
			return nil, "", fmt.Errorf("a parent of the key is an object, not a folder: %w", err)
		case errors.Is(err, fs.ErrNotExist) && dir != ".":
			err = root.MkdirAll(dir, 0o777)
			switch {
			case err == nil, errors.Is(err, fs.ErrNotExist):
				continue // ErrNotExist: a Delete removed a parent meanwhile
			case errors.Is(err, fs.ErrExist) && isDir(root, dir):
				continue // another Put created the folder between MkdirAll's look and its mkdir
			case errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist):
				return nil, "", fmt.Errorf("a parent of the key is an object, not a folder: %w", err)
			}
			return nil, "", err
		default:
			return nil, "", err
		}
	}
	return nil, "", err
}

// Get opens the object at key. Reads fail once ctx is done.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := l.checkKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("artifacts: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, l.fail("get", key, err)
	}
	root, err := l.root()
	if err != nil {
		return nil, Info{}, err
	}
	defer root.Close()
	// Stat before opening: opening a FIFO would block.
	if _, err := l.statObject(root, key); err != nil {
		return nil, Info{}, l.fail("get", key, err)
	}
	f, err := root.Open(key)
	if err != nil {
		return nil, Info{}, l.fail("get", key, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fs.ErrNotExist // replaced by a folder since statObject
	}
	if err != nil {
		f.Close()
		return nil, Info{}, l.fail("get", key, err)
	}
	return ctxReadCloser{ctxReader{ctx, f}, f}, fileInfo(key, st), nil
}

// statObject stats key, counting only regular files as objects.
func (l *Local) statObject(root *os.Root, key string) (Info, error) {
	st, err := root.Stat(key)
	if err != nil {
		return Info{}, err
	}
	if !st.Mode().IsRegular() {
		return Info{}, fs.ErrNotExist
	}
	return fileInfo(key, st), nil
}

func fileInfo(key string, st fs.FileInfo) Info {
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}
}

// Stat describes the object at key.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := l.checkKey(key); err != nil {
		return Info{}, fmt.Errorf("artifacts: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, l.fail("stat", key, err)
	}
	root, err := l.root()
	if err != nil {
		return Info{}, err
	}
	defer root.Close()
	info, err := l.statObject(root, key)
	if err != nil {
		return Info{}, l.fail("stat", key, err)
	}
	return info, nil
}

// List lists prefix. It shows only regular files (and symbolic links to
// them inside the folder) whose paths are valid keys, and folders; it
// does not follow links to folders.
func (l *Local) List(ctx context.Context, prefix string, recursive bool) ([]Info, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("artifacts: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, l.fail("list", prefix, err)
	}
	root, err := l.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var out []Info
	if recursive {
		out, err = l.walk(ctx, root, prefix)
	} else {
		out, err = l.readDir(root, prefix)
	}
	if err != nil {
		if isNotExist(err) {
			return nil, nil // nothing below prefix, as in S3
		}
		return nil, l.fail("list", prefix, err)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (l *Local) readDir(root *os.Root, prefix string) ([]Info, error) {
	name := prefix
	if name == "" {
		name = "."
	}
	d, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range entries {
		key := joinKey(prefix, e.Name())
		if listable(key) != nil {
			continue
		}
		info, ok := l.entryInfo(root, key, e)
		if ok {
			out = append(out, info)
		}
	}
	return out, nil
}

// entryInfo describes a folder entry as an object or a folder; ok is false
// for anything else (a device, a dangling or escaping link).
func (l *Local) entryInfo(root *os.Root, key string, e fs.DirEntry) (info Info, ok bool) {
	switch {
	case e.IsDir():
		return Info{Key: key, Dir: true}, true
	case e.Type().IsRegular():
		st, err := e.Info()
		if err != nil {
			return Info{}, false
		}
		return fileInfo(key, st), true
	case e.Type()&fs.ModeSymlink != 0:
		st, err := root.Stat(key) // fails for a link leading outside
		if err != nil {
			return Info{}, false
		}
		if st.IsDir() {
			return Info{Key: key, Dir: true}, true
		}
		if st.Mode().IsRegular() {
			return fileInfo(key, st), true
		}
	}
	return Info{}, false
}

func (l *Local) walk(ctx context.Context, root *os.Root, prefix string) ([]Info, error) {
	start := prefix
	if start == "" {
		start = "."
	}
	var out []Info
	err := fs.WalkDir(root.FS(), start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == start {
			if !e.IsDir() {
				return fs.ErrNotExist // prefix is an object, not a folder
			}
			return nil
		}
		if listable(p) != nil {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		if info, ok := l.entryInfo(root, p, e); ok && !info.Dir {
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

// listable rejects the names List must not show: temporary files and
// names no key can address (a backslash, say).
func listable(key string) error {
	if strings.HasPrefix(path.Base(key), tmpPrefix) {
		return ErrBadKey
	}
	return CheckKey(key)
}

// Delete removes the object at key, then every folder above it that is
// left empty, up to the store's root.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := l.checkKey(key); err != nil {
		return fmt.Errorf("artifacts: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return l.fail("delete", key, err)
	}
	root, err := l.root()
	if err != nil {
		return err
	}
	defer root.Close()
	st, err := root.Lstat(key)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return l.fail("delete", key, err)
	}
	if st.IsDir() {
		return nil // a folder is not an object: there is nothing to delete
	}
	if err := root.Remove(key); err != nil && !isNotExist(err) {
		return l.fail("delete", key, err)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		// Lstat first: Remove would delete a link to a folder, not the folder.
		st, err := root.Lstat(dir)
		if err != nil || !st.IsDir() {
			break
		}
		if root.Remove(dir) != nil {
			break // not empty (or gone): the folders above are not empty either
		}
	}
	return nil
}
