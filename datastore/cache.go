package datastore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrCorrupted is returned (wrapped) when an object's bytes do not hash to
// its name.
var ErrCorrupted = errors.New("corrupted object")

// objectCache is DVC 3's local object database: each object is a file
// named by its md5, <dir>/<first 2 hex digits>/<other 30>, directory
// manifests with ".dir" appended, made read-only (0444) as DVC protects
// them.
type objectCache struct {
	dir string // .../cache/files/md5
}

func (c objectCache) path(oid string) string {
	return filepath.Join(c.dir, oid[:2], oid[2:])
}

// has reports whether the object is present. Like DVC, it does not read
// it: objects are checked when they are used.
func (c objectCache) has(oid string) bool {
	fi, err := os.Stat(c.path(oid))
	return err == nil && fi.Mode().IsRegular()
}

// objectKey is the object's key on a remote, under the same layout.
func objectKey(oid string) string {
	return "files/md5/" + oid[:2] + "/" + oid[2:]
}

// expectedMD5 is the md5 that an object's bytes must have: its name
// without ".dir".
func expectedMD5(oid string) string { return strings.TrimSuffix(oid, DirSuffix) }

// put stores the bytes r yields under oid, unless the object is there,
// checking as it writes that they hash to oid. It returns whether it
// wrote anything.
func (c objectCache) put(ctx context.Context, oid string, r io.Reader) (bool, error) {
	if c.has(oid) {
		return false, nil
	}
	dst := c.path(oid)
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return false, err
	}
	tmp := tempName(dst)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return false, err
	}
	h := md5.New()
	_, err = io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != expectedMD5(oid) {
			err = fmt.Errorf("object %s: the bytes hash to %s: %w", oid, got, ErrCorrupted)
		}
	}
	if err == nil {
		err = os.Chmod(tmp, 0o444)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return false, err
	}
	return true, nil
}

// putFile copies the file at src into the cache as oid.
func (c objectCache) putFile(ctx context.Context, oid, src string) (bool, error) {
	if c.has(oid) {
		return false, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer f.Close()
	wrote, err := c.put(ctx, oid, f)
	if errors.Is(err, ErrCorrupted) {
		return false, fmt.Errorf("%s changed while it was being added: %w", src, err)
	}
	return wrote, err
}

// open opens the object for reading through a verifyingReader, which
// fails with ErrCorrupted instead of yielding the last byte when the bytes
// are not what the name says, so a damaged object can be neither pushed
// nor checked out.
func (c objectCache) open(oid string) (io.ReadCloser, int64, error) {
	f, err := os.Open(c.path(oid))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return newVerifyingReader(f, fi.Size(), expectedMD5(oid), c.path(oid)), fi.Size(), nil
}

// readObject returns the whole object, verified.
func (c objectCache) readObject(oid string) ([]byte, error) {
	rc, _, err := c.open(oid)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// verifyingReader passes size bytes through while hashing them. It holds
// back the last bytes until the whole content hashes to want, and returns
// ErrCorrupted instead when it does not: a reader that stops after size
// bytes (io.ReadFull, an S3 upload of known length) then still sees the
// error, and since stores write atomically, a Put reading from it commits
// nothing.
type verifyingReader struct {
	r         io.ReadCloser
	h         hash.Hash
	remaining int64
	want      string
	name      string
	err       error
}

func newVerifyingReader(r io.ReadCloser, size int64, want, name string) *verifyingReader {
	return &verifyingReader{r: r, h: md5.New(), remaining: size, want: want, name: name}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.remaining == 0 {
		v.err = v.check()
		return 0, v.err
	}
	if int64(len(p)) > v.remaining {
		p = p[:v.remaining]
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.remaining -= int64(n)
	if v.remaining == 0 {
		if v.err = v.check(); v.err != io.EOF {
			return 0, v.err
		}
		v.err = io.EOF
		return n, nil
	}
	if err == io.EOF {
		v.err = fmt.Errorf("%s: %w: %d bytes short", v.name, ErrCorrupted, v.remaining)
		return 0, v.err
	}
	return n, err
}

func (v *verifyingReader) check() error {
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return fmt.Errorf("%s: the bytes hash to %s, not %s: %w", v.name, got, v.want, ErrCorrupted)
	}
	return io.EOF
}

func (v *verifyingReader) Close() error { return v.r.Close() }

// remove deletes a corrupted object so that pull can fetch it again.
func (c objectCache) remove(oid string) error {
	err := os.Remove(c.path(oid))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
