// Package artifactstest is the conformance suite of artifacts.Store: every
// backend runs the same tests, so that code written against one behaves
// the same on the others.
package artifactstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yolops/yolops/artifacts"
)

// Run runs the suite. newStore must return a new, empty store each time
// it is called (one per subtest) and clean it up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) artifacts.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s artifacts.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"SizeMismatch", testSizeMismatch},
		{"FailedPutKeepsOld", testFailedPutKeepsOld},
		{"Overwrite", testOverwrite},
		{"OverwriteAtomic", testOverwriteAtomic},
		{"List", testList},
		{"Stat", testStat},
		{"NotExist", testNotExist},
		{"Delete", testDelete},
		{"BadKeys", testBadKeys},
		{"OddValidKeys", testOddValidKeys},
		{"Cancel", testCancel},
		{"URI", testURI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// gen returns n pseudo-random bytes from seed through a plain io.Reader,
// so that no backend can find the size or read it all at once.
func gen(seed uint64, n int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return struct{ io.Reader }{io.LimitReader(rand.NewChaCha8(key), n)}
}

func genSum(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, gen(seed, n))
	return [32]byte(h.Sum(nil))
}

func put(t *testing.T, s artifacts.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
}

func get(t *testing.T, s artifacts.Store, key string) []byte {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Get(%q): Info.Size %d, read %d bytes", key, info.Size, len(data))
	}
	return data
}

func wantContent(t *testing.T, s artifacts.Store, key string, want []byte) {
	t.Helper()
	if got := get(t, s, key); !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %d bytes %.20q, want %d bytes %.20q", key, len(got), got, len(want), want)
	}
}

func wantNotExist(t *testing.T, s artifacts.Store, key string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, artifacts.ErrNotExist) {
		t.Errorf("Stat(%q): error %v, want ErrNotExist", key, err)
	}
	rc, _, err := s.Get(t.Context(), key)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, artifacts.ErrNotExist) {
		t.Errorf("Get(%q): error %v, want ErrNotExist", key, err)
	}
}

// listKeys lists and renders entries as "key size" or "key/" for folders.
func listKeys(t *testing.T, s artifacts.Store, prefix string, recursive bool) []string {
	t.Helper()
	infos, err := s.List(t.Context(), prefix, recursive)
	if err != nil {
		t.Fatalf("List(%q, %v): %v", prefix, recursive, err)
	}
	out := []string{}
	for _, in := range infos {
		if in.Dir {
			out = append(out, in.Key+"/")
			continue
		}
		if in.ModTime.IsZero() {
			t.Errorf("List(%q, %v): %q has no ModTime", prefix, recursive, in.Key)
		}
		out = append(out, fmt.Sprintf("%s %d", in.Key, in.Size))
	}
	return out
}

func testRoundTrip(t *testing.T, s artifacts.Store) {
	tests := []struct {
		name  string
		size  int64
		known bool // pass the size to Put, else -1
	}{
		{"empty", 0, true},
		{"empty/unknown-size", 0, false},
		{"one-byte", 1, true},
		{"one-byte/unknown-size", 1, false},
		{"1MiB+7", 1<<20 + 7, true},
		{"10MiB/unknown-size", 10 << 20, false},
		{"10MiB+1/unknown-size", 10<<20 + 1, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("round/trip-%d.bin", i)
			size := int64(-1)
			if tc.known {
				size = tc.size
			}
			seed := uint64(i + 1)
			if err := s.Put(t.Context(), key, gen(seed, tc.size), size); err != nil {
				t.Fatalf("Put(%q, %d bytes, size %d): %v", key, tc.size, size, err)
			}
			rc, info, err := s.Get(t.Context(), key)
			if err != nil {
				t.Fatalf("Get(%q): %v", key, err)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil {
				t.Fatalf("Get(%q): read: %v", key, err)
			}
			if n != tc.size || [32]byte(h.Sum(nil)) != genSum(seed, tc.size) {
				t.Errorf("Get(%q): read %d bytes, want %d; contents equal: %v", key, n, tc.size, [32]byte(h.Sum(nil)) == genSum(seed, tc.size))
			}
			if info.Key != key || info.Size != tc.size || info.Dir || info.ModTime.IsZero() {
				t.Errorf("Get(%q): Info %+v, want key %q, size %d, a ModTime", key, info, key, tc.size)
			}
			st, err := s.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if st.Key != key || st.Size != tc.size || st.Dir || st.ModTime.IsZero() {
				t.Errorf("Stat(%q) = %+v, want key %q, size %d, a ModTime", key, st, key, tc.size)
			}
		})
	}
}

func testSizeMismatch(t *testing.T, s artifacts.Store) {
	old := []byte("old contents")
	tests := []struct{ declared, actual int64 }{
		{10, 5}, {5, 10}, {0, 1}, {1, 0}, {1 << 20, 1<<20 - 1}, {1<<20 - 1, 1 << 20},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("declared%d/actual%d", tc.declared, tc.actual), func(t *testing.T) {
			put(t, s, "k", old)
			if err := s.Put(t.Context(), "k", gen(1, tc.actual), tc.declared); err == nil {
				t.Errorf("Put(k, %d bytes, size %d) succeeded", tc.actual, tc.declared)
			}
			wantContent(t, s, "k", old)
			fresh := fmt.Sprintf("fresh-%d", i)
			if err := s.Put(t.Context(), fresh, gen(1, tc.actual), tc.declared); err == nil {
				t.Errorf("Put(%s, %d bytes, size %d) succeeded", fresh, tc.actual, tc.declared)
			}
			wantNotExist(t, s, fresh)
		})
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct {
	r io.Reader
}

var errReader = errors.New("reader failed on purpose")

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errReader
	}
	return n, err
}

func testFailedPutKeepsOld(t *testing.T, s artifacts.Store) {
	old := []byte("old contents")
	for _, size := range []int64{-1, 1 << 20} {
		t.Run(fmt.Sprintf("size%d", size), func(t *testing.T) {
			put(t, s, "dir/k", old)
			err := s.Put(t.Context(), "dir/k", failingReader{gen(2, 100<<10)}, size)
			if err == nil {
				t.Fatal("Put with a failing reader succeeded")
			}
			wantContent(t, s, "dir/k", old)
			if got, want := listKeys(t, s, "", true), []string{"dir/k 12"}; !slices.Equal(got, want) {
				t.Errorf("after the failed Put, List = %q, want %q", got, want)
			}
		})
	}
}

func testOverwrite(t *testing.T, s artifacts.Store) {
	put(t, s, "k", []byte("first, longer contents"))
	put(t, s, "k", []byte("second"))
	wantContent(t, s, "k", []byte("second"))
	if err := s.Put(t.Context(), "k", gen(3, 0), -1); err != nil {
		t.Fatal(err)
	}
	wantContent(t, s, "k", nil)
}

// slowReader yields r in chunks, pausing between them, so that a Put
// lasts long enough for concurrent Gets to overlap it.
type slowReader struct {
	r     io.Reader
	chunk int
}

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.Read(p[:min(len(p), s.chunk)])
}

func testOverwriteAtomic(t *testing.T, s artifacts.Store) {
	const n = 256 << 10
	versions := [][]byte{bytes.Repeat([]byte{'a'}, n), bytes.Repeat([]byte{'b'}, n/2)}
	put(t, s, "k", versions[0])
	done := make(chan struct{})
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				rc, info, err := s.Get(t.Context(), "k")
				if err != nil {
					t.Errorf("Get during overwrites: %v", err)
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("Get during overwrites: read: %v", err)
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					t.Errorf("Get during overwrites read %d bytes (Info.Size %d) that are neither the old nor the new object", len(got), info.Size)
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := range 8 {
		v := versions[(i+1)%2]
		if err := s.Put(t.Context(), "k", slowReader{bytes.NewReader(v), 16 << 10}, -1); err != nil {
			t.Errorf("Put #%d: %v", i, err)
		}
	}
	close(done)
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("no Get completed while Puts ran: the test proved nothing")
	}
}

// fixture is a small tree whose names probe prefix boundaries: "a" must
// not match "a-b" or "a.txt".
var fixture = map[string]string{
	"a/b/c.txt": "c",
	"a/b/d.txt": "dd",
	"a/e.txt":   "eee",
	"a.txt":     "x",
	"a-b/x":     "yy",
	"f.txt":     "ffff",
}

func putFixture(t *testing.T, s artifacts.Store) {
	t.Helper()
	for k, v := range fixture {
		put(t, s, k, []byte(v))
	}
}

func testList(t *testing.T, s artifacts.Store) {
	if got := listKeys(t, s, "", false); len(got) != 0 {
		t.Errorf("List of an empty store = %q", got)
	}
	putFixture(t, s)
	tests := []struct {
		prefix    string
		recursive bool
		want      []string
	}{
		{"", false, []string{"a/", "a-b/", "a.txt 1", "f.txt 4"}},
		{"a", false, []string{"a/b/", "a/e.txt 3"}},
		{"a/b", false, []string{"a/b/c.txt 1", "a/b/d.txt 2"}},
		{"a-b", false, []string{"a-b/x 2"}},
		{"", true, []string{"a-b/x 2", "a.txt 1", "a/b/c.txt 1", "a/b/d.txt 2", "a/e.txt 3", "f.txt 4"}},
		{"a", true, []string{"a/b/c.txt 1", "a/b/d.txt 2", "a/e.txt 3"}},
		{"a/b", true, []string{"a/b/c.txt 1", "a/b/d.txt 2"}},
		{"zz", false, nil},
		{"zz", true, nil},
		{"f.txt", false, nil}, // an object is not a folder
		{"f.txt", true, nil},
		{"a/b/c.txt", false, nil},
		{"a/b/c", false, nil},
	}
	for _, tc := range tests {
		got := listKeys(t, s, tc.prefix, tc.recursive)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("List(%q, recursive %v) = %q, want %q", tc.prefix, tc.recursive, got, tc.want)
		}
	}
}

func testStat(t *testing.T, s artifacts.Store) {
	before := time.Now().Add(-time.Hour)
	putFixture(t, s)
	for key, v := range fixture {
		info, err := s.Stat(t.Context(), key)
		if err != nil {
			t.Errorf("Stat(%q): %v", key, err)
			continue
		}
		if info.Key != key || info.Size != int64(len(v)) || info.Dir || info.ModTime.Before(before) {
			t.Errorf("Stat(%q) = %+v, want size %d, not a folder, modified recently", key, info, len(v))
		}
	}
}

func testNotExist(t *testing.T, s artifacts.Store) {
	putFixture(t, s)
	for _, key := range []string{
		"missing",
		"a",           // a folder, not an object
		"a/b",         // a folder
		"f.txt/under", // below an object
		"a/b/c.txt/x",
		"A.TXT", // keys are case-sensitive
	} {
		wantNotExist(t, s, key)
	}
}

func testDelete(t *testing.T, s artifacts.Store) {
	putFixture(t, s)
	ctx := t.Context()
	if err := s.Delete(ctx, "a/b/c.txt"); err != nil {
		t.Fatal(err)
	}
	wantNotExist(t, s, "a/b/c.txt")
	wantContent(t, s, "a/b/d.txt", []byte("dd"))
	if err := s.Delete(ctx, "a/b/d.txt"); err != nil {
		t.Fatal(err)
	}
	// The folder a/b is empty now, so it is gone.
	if got, want := listKeys(t, s, "a", false), []string{"a/e.txt 3"}; !slices.Equal(got, want) {
		t.Errorf("after deleting a/b's objects, List(a) = %q, want %q", got, want)
	}
	for _, key := range []string{"a/b/d.txt", "missing", "a/b/x/y"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v", key, err)
		}
	}
	// Deleting a folder's name deletes nothing.
	if err := s.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete(a), a folder: %v", err)
	}
	wantContent(t, s, "a/e.txt", []byte("eee"))
	for _, key := range []string{"a/e.txt", "a.txt", "a-b/x", "f.txt"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if got := listKeys(t, s, "", false); len(got) != 0 {
		t.Errorf("after deleting everything, List = %q", got)
	}
}

// spyReader records whether it was read.
type spyReader struct{ read *bool }

func (r spyReader) Read(p []byte) (int, error) {
	*r.read = true
	return 0, io.EOF
}

func testBadKeys(t *testing.T, s artifacts.Store) {
	put(t, s, "a/b", []byte("ab"))
	put(t, s, "keep", []byte("keep"))
	bad := []string{
		"", "/abs", "/", "../x", "..", ".", "./a", "a/..", "a/../../b", "a/./b",
		"a//b", "a/", "a\\b", "..\\x", "a\x00b", "a\nb", "a\x7fb", "\xff\xfe",
		strings.Repeat("k", 1025),
	}
	ctx := t.Context()
	for _, key := range bad {
		read := false
		if err := s.Put(ctx, key, spyReader{&read}, 0); !errors.Is(err, artifacts.ErrBadKey) {
			t.Errorf("Put(%q): error %v, want ErrBadKey", key, err)
		}
		if read {
			t.Errorf("Put(%q) read its input", key)
		}
		rc, _, err := s.Get(ctx, key)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, artifacts.ErrBadKey) {
			t.Errorf("Get(%q): error %v, want ErrBadKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, artifacts.ErrBadKey) {
			t.Errorf("Stat(%q): error %v, want ErrBadKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, artifacts.ErrBadKey) {
			t.Errorf("Delete(%q): error %v, want ErrBadKey", key, err)
		}
		if key == "" {
			continue // the root, for List
		}
		for _, rec := range []bool{false, true} {
			if _, err := s.List(ctx, key, rec); !errors.Is(err, artifacts.ErrBadKey) {
				t.Errorf("List(%q, %v): error %v, want ErrBadKey", key, rec, err)
			}
		}
	}
	if got, want := listKeys(t, s, "", true), []string{"a/b 2", "keep 4"}; !slices.Equal(got, want) {
		t.Errorf("after the bad keys, List = %q, want %q", got, want)
	}
	wantContent(t, s, "a/b", []byte("ab"))
}

// testOddValidKeys stores keys that need escaping in URLs or that look
// like, but are not, relative path segments.
func testOddValidKeys(t *testing.T, s artifacts.Store) {
	keys := []string{
		"with space.txt", "ünï/κλειδί.bin", "a+b=c&d", "x%20y", "colon:key",
		"q?x#y", "tilde~/.hidden", "...", "..a", "a..", ".a/b", "semi;comma,'quote\"",
	}
	for i, key := range keys {
		put(t, s, key, []byte(fmt.Sprint(i)))
	}
	var want []string
	for i, key := range keys {
		wantContent(t, s, key, []byte(fmt.Sprint(i)))
		want = append(want, fmt.Sprintf("%s %d", key, len(fmt.Sprint(i))))
	}
	slices.Sort(want)
	if got := listKeys(t, s, "", true); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

// cancelAfter cancels a context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func testCancel(t *testing.T, s artifacts.Store) {
	old := []byte("old contents")
	put(t, s, "k", old)

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		wantCanceled := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a canceled context: error %v, want context.Canceled", op, err)
			}
		}
		wantCanceled("Put", s.Put(ctx, "k", strings.NewReader("new"), 3))
		wantCanceled("Put", s.Put(ctx, "new", strings.NewReader("new"), 3))
		rc, _, err := s.Get(ctx, "k")
		if err == nil {
			rc.Close()
		}
		wantCanceled("Get", err)
		_, err = s.Stat(ctx, "k")
		wantCanceled("Stat", err)
		_, err = s.List(ctx, "", true)
		wantCanceled("List", err)
		wantCanceled("Delete", s.Delete(ctx, "k"))
		wantContent(t, s, "k", old)
		wantNotExist(t, s, "new")
	})

	for _, size := range []int64{-1, 12 << 20} {
		t.Run(fmt.Sprintf("during-put/size%d", size), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &cancelAfter{r: gen(4, 12<<20), n: 1 << 20, cancel: cancel}
			err := s.Put(ctx, "k", r, size)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Put canceled after 1 MiB: error %v, want context.Canceled", err)
			}
			wantContent(t, s, "k", old)
		})
	}

	t.Run("during-get", func(t *testing.T) {
		if err := s.Put(t.Context(), "big", gen(5, 4<<20), 4<<20); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rc, _, err := s.Get(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := io.ReadFull(rc, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		cancel()
		n, err := io.Copy(io.Discard, rc)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("reading on after cancel: read %d more bytes, error %v, want context.Canceled", n, err)
		}
	})
}

func testURI(t *testing.T, s artifacts.Store) {
	if u := s.URI(); !strings.Contains(u, "://") {
		t.Errorf("URI() = %q, want scheme://...", u)
	}
}
