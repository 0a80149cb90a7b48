// Package artifacts stores files (run artifacts, model weights, versioned
// data) under slash-separated keys, in a local folder or an S3 bucket,
// behind one interface that every backend passes the same tests for.
package artifacts

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotExist is returned (wrapped) when a key has no object.
var ErrNotExist = errors.New("artifact does not exist")

// ErrBadKey is returned (wrapped, with the key and the reason) for a key or
// prefix that CheckKey rejects, so that a server can answer 400, not 500.
var ErrBadKey = errors.New("bad artifact key")

// Info describes a stored object, or a directory when Dir is set (List
// reports the first level below a prefix, as "ls" does).
type Info struct {
	Key     string // slash-separated, relative to the store's root
	Size    int64
	ModTime time.Time
	Dir     bool
}

// Store is a place for artifacts. Keys are slash-separated relative paths;
// a key that is absolute, holds "..", or is otherwise unclean is rejected
// with an error before anything is read or written, so that no request can
// reach outside the store. Writes are atomic: a reader sees the whole old
// object or the whole new one, never a part. A Store is safe for
// concurrent use.
type Store interface {
	// Put stores r under key, streaming: nothing holds the whole object
	// in memory. size is -1 when unknown; otherwise r must yield exactly
	// size bytes, or Put fails and stores nothing.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object at key; the caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes the object at key without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// List returns the objects and directories directly below prefix
	// ("" is the root, otherwise a key naming a directory, without a
	// trailing slash), sorted by key. With recursive, it returns every
	// object below prefix and no directories. A prefix with nothing below
	// it lists as empty, not as an error.
	List(ctx context.Context, prefix string, recursive bool) ([]Info, error)
	// Delete removes the object at key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URI is where the store lives, as a user writes it: file:///abs/path
	// or s3://bucket/prefix.
	URI() string
}
