//go:build unix

package datastore

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// inodeOf returns the inode number of the file fi describes.
func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// lockFile takes an exclusive advisory lock on f, so that processes
// appending to the same state file do not interleave their writes.
func lockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX) }

func unlockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
