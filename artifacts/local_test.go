package artifacts_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/artifacts/artifactstest"
)

func TestLocal(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) artifacts.Store {
		s, err := artifacts.NewLocal(filepath.Join(t.TempDir(), "store"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// tree lists every file and folder under dir, as slash paths ("x/" for a
// folder), links included but not followed.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newLocal(t *testing.T) (*artifacts.Local, string) {
	t.Helper()
	parent := t.TempDir()
	s, err := artifacts.NewLocal(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s, parent
}

// TestLocalBadKeysTouchNothing checks the file system itself, around the
// store as well as in it, after the requests that must be refused.
func TestLocalBadKeysTouchNothing(t *testing.T) {
	s, parent := newLocal(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a/b", strings.NewReader("ab"), 2); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../x", "../store/x", "/x", "a/../../x", "a/../b", "..\\x", "a\\b", "x\x00"} {
		if err := s.Put(ctx, key, strings.NewReader("evil"), 4); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded", key)
		}
	}
	if got, want := tree(t, parent), []string{"store/", "store/a/", "store/a/b"}; !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

// TestLocalSymlinks checks that a link inside the store cannot lead a key
// outside it, while a link that stays inside works.
func TestLocalSymlinks(t *testing.T) {
	s, parent := newLocal(t)
	store := s.Dir()
	outside := filepath.Join(parent, "outside")
	if err := os.MkdirAll(outside, 0o777); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(store, "in"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "in", "f"), []byte("inside"), 0o666); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"up":     "../outside", // relative, leaving the store
		"abs":    outside,      // absolute
		"absf":   secret,       // absolute, to a file
		"upf":    "../outside/secret",
		"inlink": "in",   // stays inside
		"inf":    "in/f", // stays inside, to a file
	} {
		if err := os.Symlink(target, filepath.Join(store, name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	for _, key := range []string{"up/secret", "abs/secret", "absf", "upf"} {
		if rc, _, err := s.Get(ctx, key); err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) read %q from outside the store", key, data)
		}
		if _, err := s.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) reached outside the store", key)
		}
	}
	for _, key := range []string{"up/secret", "abs/secret", "up/new", "abs/new"} {
		if err := s.Put(ctx, key, strings.NewReader("evil"), 4); err == nil {
			t.Errorf("Put(%q) succeeded through a link leaving the store", key)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded through a link leaving the store", key)
		}
	}
	// A Put or Delete of a link's own name acts on the link, in the store.
	for _, key := range []string{"absf", "upf"} {
		if err := s.Put(ctx, key, strings.NewReader("new"), 3); err != nil {
			t.Errorf("Put(%q) over a link: %v", key, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	data, err := os.ReadFile(secret)
	if err != nil || string(data) != "secret" {
		t.Errorf("the file outside: %q, %v; want it untouched", data, err)
	}
	if got, want := tree(t, outside), []string{"secret"}; !slices.Equal(got, want) {
		t.Errorf("files outside = %q, want %q", got, want)
	}
	// Links that stay inside work, and List shows them, but not the others.
	rc, _, err := s.Get(ctx, "inlink/f")
	if err != nil {
		t.Fatalf("Get through a link inside the store: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "inside" {
		t.Errorf("Get(inlink/f) = %q", got)
	}
	infos, err := s.List(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	if want := []string{"in", "inf", "inlink"}; !slices.Equal(keys, want) {
		t.Errorf("List = %q, want %q (links leaving the store hidden)", keys, want)
	}
}

// TestLocalTempFiles checks that temporary files never show and are
// removed when a Put fails, and that their names are reserved.
func TestLocalTempFiles(t *testing.T) {
	s, _ := newLocal(t)
	ctx := t.Context()
	if err := s.Put(ctx, "d/k", strings.NewReader("old"), 3); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Put(ctx, "d/k", io.MultiReader(strings.NewReader("partial"), iotestErr{boom}), -1); !errors.Is(err, boom) {
		t.Errorf("Put with a failing reader: error %v, want %v", err, boom)
	}
	if err := s.Put(ctx, "d/k", strings.NewReader("too long"), 3); err == nil {
		t.Error("Put of 8 bytes declared as 3 succeeded")
	}
	if got, want := tree(t, s.Dir()), []string{"d/", "d/k"}; !slices.Equal(got, want) {
		t.Errorf("files after failed Puts = %q, want %q", got, want)
	}
	// A temporary file left by a crash stays hidden and cannot be addressed.
	stale := filepath.Join(s.Dir(), "d", ".yolops-tmp-0123456789abcdef")
	if err := os.WriteFile(stale, []byte("stale"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []bool{false, true} {
		infos, err := s.List(ctx, "d", rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].Key != "d/k" {
			t.Errorf("List(d, %v) = %+v, want d/k alone", rec, infos)
		}
	}
	if _, err := s.Stat(ctx, "d/.yolops-tmp-0123456789abcdef"); !errors.Is(err, artifacts.ErrBadKey) {
		t.Errorf("Stat of a temporary file's name: error %v, want ErrBadKey", err)
	}
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

// TestLocalPutOverFolder checks that an object cannot replace a folder.
func TestLocalPutOverFolder(t *testing.T) {
	s, _ := newLocal(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a/b", strings.NewReader("ab"), 2); err != nil {
		t.Fatal(err)
	}
	err := s.Put(ctx, "a", strings.NewReader("a"), 1)
	if err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("Put(a) over the folder a: error %v, want one about the folder", err)
	}
	if err := s.Put(ctx, "a/b/c", strings.NewReader("c"), 1); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("Put(a/b/c) below the object a/b: error %v, want one about the parent", err)
	}
	if got, want := tree(t, s.Dir()), []string{"a/", "a/b"}; !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

// TestLocalPutStreams checks that Put holds a bounded amount of memory,
// whatever the object's size.
func TestLocalPutStreams(t *testing.T) {
	s, _ := newLocal(t)
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := s.Put(t.Context(), "big", newRepeatReader(size), -1); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Put of %d MiB allocated %d KiB: it does not stream", size>>20, alloc>>10)
	}
	info, err := s.Stat(t.Context(), "big")
	if err != nil || info.Size != size {
		t.Errorf("Stat(big) = %+v, %v", info, err)
	}
}

func TestNewLocal(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"", file, filepath.Join(file, "below")} {
		if _, err := artifacts.NewLocal(root); err == nil {
			t.Errorf("NewLocal(%q) succeeded", root)
		}
	}
	s, err := artifacts.NewLocal(filepath.Join(dir, "new", "nested"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "file://" + filepath.ToSlash(filepath.Join(dir, "new", "nested")); s.URI() != want {
		t.Errorf("URI() = %q, want %q", s.URI(), want)
	}
	// Data put through one handle is there for another on the same folder.
	if err := s.Put(t.Context(), "k", bytes.NewReader([]byte("v")), 1); err != nil {
		t.Fatal(err)
	}
	again, err := artifacts.Open(t.Context(), s.URI())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Stat(t.Context(), "k"); err != nil {
		t.Errorf("Stat through Open(%q): %v", s.URI(), err)
	}
}

// TestLocalConcurrentPutDelete races Puts into a folder with Deletes that
// empty it, and so remove it: a Put must recreate the folder and succeed.
// It is not in the shared suite because MinIO itself fails this race now
// and then (Access Denied: its disk backend removes empty folders too;
// minio/minio#15157), which no client can repair, the body being spent.
func TestLocalConcurrentPutDelete(t *testing.T) {
	s, _ := newLocal(t)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			key := fmt.Sprintf("d/e/%d", w)
			for i := range 200 {
				if err := s.Put(t.Context(), key, strings.NewReader("x"), 1); err != nil {
					t.Errorf("Put(%q) #%d: %v", key, i, err)
					return
				}
				if err := s.Delete(t.Context(), key); err != nil {
					t.Errorf("Delete(%q) #%d: %v", key, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := tree(t, s.Dir()); len(got) != 0 {
		t.Errorf("files left = %q, want none", got)
	}
}
