package datastore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// tempName returns a fresh name next to path, for a file that is renamed
// over path once complete.
func tempName(path string) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s.%s.tmp", path, hex.EncodeToString(b[:]))
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so that a reader, or a crash, never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := tempName(path)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// isWithin reports whether target is base or below it.
func isWithin(base, target string) bool {
	rel, err := filepath.Rel(base, target)
	return err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != ".."+string(filepath.Separator))
}
