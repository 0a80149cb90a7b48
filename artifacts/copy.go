package artifacts

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Copy streams the object at srcKey in src to dstKey in dst (which may be
// the same store).
func Copy(ctx context.Context, dst Store, dstKey string, src Store, srcKey string) error {
	rc, info, err := src.Get(ctx, srcKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	return dst.Put(ctx, dstKey, rc, info.Size)
}

// PutFile stores the regular file at name under key.
func PutFile(ctx context.Context, s Store, key, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("artifacts: put file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("artifacts: put file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("artifacts: put file %s: not a regular file", name)
	}
	return s.Put(ctx, key, f, st.Size())
}

// GetFile writes the object at key to the file name, creating its folder
// if needed. It writes a temporary file beside name and renames it, so
// name holds the old contents or the new, never a part.
func GetFile(ctx context.Context, s Store, key, name string) (err error) {
	rc, info, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("artifacts: get file: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("artifacts: get file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, rc)
	if err != nil {
		return fmt.Errorf("artifacts: get file %s: %q: %w", name, key, err)
	}
	if n != info.Size {
		return fmt.Errorf("artifacts: get file %s: %q: got %d bytes, the store said %d", name, key, n, info.Size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("artifacts: get file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("artifacts: get file: %w", err)
	}
	// CreateTemp makes the file 0600; a fetched artifact is an ordinary file.
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("artifacts: get file: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("artifacts: get file: %w", err)
	}
	return nil
}
