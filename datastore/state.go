package datastore

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The hash state remembers the md5 of files so that hashing a directory
// again reads only what changed, as DVC's state database does: an entry
// is reused only while the file's path, inode, modification time (in
// nanoseconds) and size are all unchanged.
//
// It is a text file of one line per hash, appended to under an advisory
// lock and compacted when stale lines outnumber live ones, rather than an
// SQLite database: it is a cache (losing it costs one re-hash), the
// lookups are all loaded at once, appends from concurrent processes need
// no more than flock, and a plain file keeps the datastore free of a
// database dependency. Lines are
//
//	<md5> <size> <mtime ns> <inode> <path, Go-quoted>
//
// and the file lives in .dvc/tmp, which DVC's .gitignore keeps out of git.

const (
	stateHeader = "yolops md5 state 1"
	// stateFileName is the state's name under .dvc/tmp; DVC's own state
	// lives elsewhere, so the two never clash.
	stateFileName = "yolops-md5-state"
	// racyWindow: a file modified this recently is not remembered, since
	// a second write within the file system's timestamp granularity would
	// leave mtime and size unchanged (git's "racy" case).
	racyWindow = 2 * time.Second
)

// stamp identifies one version of a file.
type stamp struct {
	Inode   uint64
	MtimeNS int64
	Size    int64
}

func stampOf(fi os.FileInfo) stamp {
	return stamp{Inode: inodeOf(fi), MtimeNS: fi.ModTime().UnixNano(), Size: fi.Size()}
}

type stateEntry struct {
	st  stamp
	md5 string
}

type hashState struct {
	file string // "" keeps the state in memory only

	mu        sync.Mutex
	m         map[string]stateEntry
	pending   []string
	fileLines int
}

// openState loads the state in file. A missing or unreadable state is an
// empty one: it only costs time.
func openState(file string) *hashState {
	s := &hashState{file: file, m: map[string]stateEntry{}}
	if file == "" {
		return s
	}
	if data, err := os.ReadFile(file); err == nil {
		s.fileLines = parseState(data, s.m)
	}
	return s
}

// parseState adds the entries of data to m, later lines winning; it
// returns the number of lines. Lines that do not parse (a write cut short)
// are skipped.
func parseState(data []byte, m map[string]stateEntry) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			if line != stateHeader {
				return 0
			}
			continue
		}
		f := strings.SplitN(line, " ", 5)
		if len(f) != 5 || !isMD5(f[0]) {
			continue
		}
		size, err1 := strconv.ParseInt(f[1], 10, 64)
		mtime, err2 := strconv.ParseInt(f[2], 10, 64)
		ino, err3 := strconv.ParseUint(f[3], 10, 64)
		path, err4 := strconv.Unquote(f[4])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		m[path] = stateEntry{st: stamp{Inode: ino, MtimeNS: mtime, Size: size}, md5: f[0]}
	}
	return n
}

func (s *hashState) lookup(path string, st stamp) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[path]
	if !ok || e.st != st {
		return "", false
	}
	return e.md5, true
}

// record remembers md5 for the file at path as it was at st, unless it
// was modified within racyWindow of now.
func (s *hashState) record(path string, st stamp, md5 string, now time.Time) {
	if now.UnixNano()-st.MtimeNS < int64(racyWindow) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[path]; ok && e.st == st && e.md5 == md5 {
		return
	}
	s.m[path] = stateEntry{st: st, md5: md5}
	s.pending = append(s.pending, fmt.Sprintf("%s %d %d %d %s", md5, st.Size, st.MtimeNS, st.Inode, strconv.Quote(path)))
}

// save appends the new entries to the state file, compacting it when most
// of its lines are stale.
func (s *hashState) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == "" || len(s.pending) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.file), 0o777); err != nil {
		return fmt.Errorf("hash state: %w", err)
	}
	f, err := openLockedAppend(s.file)
	if err != nil {
		return fmt.Errorf("hash state: %w", err)
	}
	defer func() {
		unlockFile(f)
		f.Close()
	}()
	var b strings.Builder
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		b.WriteString(stateHeader + "\n")
		s.fileLines = 1
	}
	for _, l := range s.pending {
		b.WriteString(l + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return fmt.Errorf("hash state %s: %w", s.file, err)
	}
	s.fileLines += len(s.pending)
	s.pending = s.pending[:0]
	if s.fileLines > 2*len(s.m)+4096 {
		return s.compact()
	}
	return nil
}

// openLockedAppend opens file for appending and locks it, retrying when
// another process replaced the file (a compaction) while we waited.
func openLockedAppend(file string) (*os.File, error) {
	for range 10 {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			return nil, err
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(file)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		unlockFile(f)
		f.Close()
	}
	return nil, fmt.Errorf("%s keeps being replaced", file)
}

// compact rewrites the state file with one line per path, merging what
// other processes appended. The caller holds the lock.
func (s *hashState) compact() error {
	data, err := os.ReadFile(s.file)
	if err != nil {
		return fmt.Errorf("hash state: %w", err)
	}
	m := map[string]stateEntry{}
	parseState(data, m)
	var b strings.Builder
	b.WriteString(stateHeader + "\n")
	for path, e := range m {
		fmt.Fprintf(&b, "%s %d %d %d %s\n", e.md5, e.st.Size, e.st.MtimeNS, e.st.Inode, strconv.Quote(path))
	}
	if err := writeFileAtomic(s.file, []byte(b.String()), 0o666); err != nil {
		return fmt.Errorf("hash state: %w", err)
	}
	s.m = m
	s.fileLines = len(m) + 1
	return nil
}
