package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Content hashes are "sha256:<hex>" for a value or a file (the SHA-256 of
// its bytes) and "sha256:<hex>.dir" for a directory: the SHA-256 of its
// manifest, one line "<file sha256 hex>  <relative path>\n" per file in
// the format of sha256sum, sorted by slash-separated relative path. Equal
// content gives equal hashes wherever it lies; empty directories do not
// count, as object stores cannot hold them.
const hashPrefix = "sha256:"

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hashPrefix + hex.EncodeToString(sum[:])
}

func hashOf(h hash.Hash) string { return hashPrefix + hex.EncodeToString(h.Sum(nil)) }

// HashFile returns the content hash of the file at path.
func HashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hashOf(h), nil
}

// HashDir returns the content hash of the directory at path and every
// file below it.
func HashDir(ctx context.Context, path string) (string, error) {
	files, err := listDir(path)
	if err != nil {
		return "", err
	}
	for i := range files {
		if files[i].hash, err = HashFile(ctx, files[i].abs); err != nil {
			return "", err
		}
	}
	return manifestHash(files), nil
}

// dirFile is a file below a directory.
type dirFile struct {
	rel  string // slash-separated, relative to the directory
	abs  string
	size int64
	hash string
}

// listDir lists the regular files below dir, and those that symbolic
// links inside it point at, sorted by relative path. A link to a directory
// is refused rather than followed, as it may loop.
func listDir(dir string) ([]dirFile, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	var files []dirFile
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(p) // follows links
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			return fmt.Errorf("%s: a link to a directory (not followed)", p)
		case !info.Mode().IsRegular():
			return fmt.Errorf("%s: not a regular file (%v)", p, info.Mode().Type())
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, dirFile{rel: filepath.ToSlash(rel), abs: p, size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

// manifestHash is the hash of a directory whose files, sorted by relative
// path, have their hashes set.
func manifestHash(files []dirFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s  %s\n", strings.TrimPrefix(f.hash, hashPrefix), f.rel)
	}
	return hashOf(h) + ".dir"
}

// emptyDirHash is the hash of a directory with no files.
var emptyDirHash = manifestHash(nil)

// cacheInput is an input's part of a cache key.
type cacheInput struct{ name, hash string }

// cacheKey returns the hex SHA-256 of what decides a step's outputs: its
// name, code version, source hash, canonical params, the content hash of
// each input and the name, kind and type of each output. Every part is
// written with its length, so no two different sets of parts give the
// same bytes.
func cacheKey(n *node, params []byte, srcHash string, inputs []cacheInput) string {
	h := sha256.New()
	part := func(s string) {
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(len(s)))
		h.Write(l[:])
		io.WriteString(h, s)
	}
	part("yolops.pipeline.cache/1")
	part(n.name)
	part(n.version)
	part(srcHash)
	part(string(params))
	for _, in := range inputs {
		part("input")
		part(in.name)
		part(in.hash)
	}
	for _, o := range n.outputs {
		part("output")
		part(o.name)
		part(string(o.kind))
		part(o.typ.String())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sourceHash returns the hash of the source file at path, or "" when it
// cannot be read.
func sourceHash(readFile func(string) ([]byte, error), path string) string {
	if path == "" {
		return ""
	}
	b, err := readFile(path)
	if err != nil {
		return ""
	}
	return hashBytes(b)
}

// ctxReader stops reading once ctx is done, so that hashing or copying a
// large file can be cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
