package dataset

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeCOCO is a small tree laid out as COCO128's archive is.
func fakeCOCO(t testing.TB) map[string][]byte {
	img := fixtureJPEG(t, 32, 24)
	return map[string][]byte{
		"images/train2017/000000000001.jpg": img,
		"images/train2017/000000000002.jpg": fixtureJPEG(t, 24, 32),
		"images/train2017/000000000003.jpg": fixtureJPEG(t, 40, 40),
		"labels/train2017/000000000001.txt": []byte("0 0.5 0.5 0.25 0.25\n2 0.3 0.3 0.1 0.1\n0 0.7 0.7 0.2 0.2\n"),
		"labels/train2017/000000000002.txt": []byte("2 0.5 0.5 0.5 0.5\n"),
		"labels/train2017/000000000099.txt": []byte("0 0.5 0.5 0.5 0.5\n"), // no image, like 000000000656.txt
	}
}

func manifestOf(files map[string][]byte) Manifest {
	m := Manifest{}
	for name, data := range files {
		m[name] = sha256Hex(data)
	}
	return m
}

type zipEntry struct {
	name string
	data []byte
	mode fs.FileMode // 0 for a plain file
}

// zipOf builds an archive; entries under prefix (e.g. "coco128/").
func zipOf(t testing.TB, prefix string, files map[string][]byte, extra ...zipEntry) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(e zipEntry) {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if prefix != "" {
		add(zipEntry{name: prefix, mode: fs.ModeDir | 0o755})
	}
	for name, data := range files {
		add(zipEntry{name: prefix + name, data: data})
	}
	for _, e := range extra {
		add(e)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// serveZip answers every request with body, counting them; declared, when
// positive, is the Content-Length sent instead of len(body).
func serveZip(t testing.TB, status int, body []byte, declared int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path != "/v0.0.0/coco128.zip" {
			http.NotFound(w, r)
			return
		}
		if declared <= 0 {
			declared = len(body)
		}
		w.Header().Set("Content-Length", strconv.Itoa(declared))
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestFetch(t *testing.T) {
	files := fakeCOCO(t)
	m := manifestOf(files)
	good := zipOf(t, "coco128/", files, zipEntry{name: "coco128/LICENSE", data: []byte("GPL")},
		zipEntry{name: "__MACOSX/coco128/._LICENSE", data: []byte("junk")})
	changed := map[string][]byte{}
	for k, v := range files {
		changed[k] = v
	}
	changed["labels/train2017/000000000002.txt"] = []byte("1 0.5 0.5 0.5 0.5\n")
	missing := map[string][]byte{}
	for k, v := range files {
		if k != "images/train2017/000000000003.jpg" {
			missing[k] = v
		}
	}
	for _, tc := range []struct {
		name     string
		body     []byte
		status   int
		declared int // Content-Length sent, when not len(body)
		maxSize  int64
		want     string // substring of the error; "" for success
	}{
		{name: "ok", body: good, status: 200},
		{name: "ok without a top directory", body: zipOf(t, "", files), status: 200},
		{name: "zip slip", body: zipOf(t, "coco128/", files, zipEntry{name: "coco128/../../evil.txt", data: []byte("x")}),
			status: 200, want: `entry "coco128/../../evil.txt" would be written outside the target directory`},
		{name: "absolute entry", body: zipOf(t, "", files, zipEntry{name: "/tmp/evil.txt", data: []byte("x")}),
			status: 200, want: `entry "/tmp/evil.txt" would be written outside`},
		{name: "backslash entry", body: zipOf(t, "", files, zipEntry{name: `..\evil.txt`, data: []byte("x")}),
			status: 200, want: `would be written outside`},
		{name: "symlink entry", body: zipOf(t, "", files, zipEntry{name: "link", data: []byte("/etc"), mode: fs.ModeSymlink | 0o777}),
			status: 200, want: `entry "link" is a L---------: only files and directories`},
		{name: "same file twice", body: zipOf(t, "", files, zipEntry{name: "labels/train2017/000000000002.txt", data: []byte("x")}),
			status: 200, want: "the archive holds this file twice"},
		{name: "truncated zip", body: good[:len(good)*2/3], status: 200, want: "not a readable zip archive"},
		{name: "connection cut", body: good[:len(good)/2], declared: len(good), status: 200, want: "unexpected EOF"},
		{name: "not found", body: []byte("no"), status: 404, want: "server answered 404 Not Found"},
		{name: "changed file", body: zipOf(t, "coco128/", changed), status: 200,
			want: "does not hold the published files, so nothing was saved: "},
		{name: "missing file", body: zipOf(t, "coco128/", missing), status: 200, want: "1 files missing (images/train2017/000000000003.jpg)"},
		{name: "extra image", body: zipOf(t, "coco128/", files, zipEntry{name: "coco128/images/train2017/x.jpg", data: []byte("x")}),
			status: 200, want: "1 files not in the manifest (images/train2017/x.jpg)"},
		{name: "too large", body: good, status: 200, maxSize: 1000, want: "expands to more than the size allowed"},
		{name: "empty archive", body: zipOf(t, "", nil), status: 200, want: "the archive is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := serveZip(t, tc.status, tc.body, tc.declared)
			cache := filepath.Join(t.TempDir(), "cache")
			var log bytes.Buffer
			a := &Archive{Name: "coco128", URL: srv.URL + "/v0.0.0/coco128.zip", Manifest: m, Progress: &log, MaxSize: tc.maxSize}
			dir, err := a.Fetch(context.Background(), cache)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				if !strings.Contains(err.Error(), a.URL) {
					t.Errorf("error %q does not name the URL", err)
				}
				// Nothing is left behind: no tree, no partial files.
				entries, _ := os.ReadDir(cache)
				for _, e := range entries {
					t.Errorf("left in the cache: %s", e.Name())
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(cache), "evil.txt")); err == nil {
					t.Error("zip slip wrote evil.txt")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dir != filepath.Join(cache, "coco128") {
				t.Errorf("dir %s", dir)
			}
			for name, data := range files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: %v", name, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "__MACOSX")); err == nil {
				t.Error("__MACOSX extracted")
			}
			if entries, _ := os.ReadDir(cache); len(entries) != 1 {
				t.Errorf("cache holds %d entries, want only coco128", len(entries))
			}
			if !strings.Contains(log.String(), "coco128: downloading coco128.zip: 100% of") || !strings.Contains(log.String(), "saved "+dir) {
				t.Errorf("progress:\n%s", log.String())
			}

			// A second fetch uses the cache.
			if _, err := a.Fetch(context.Background(), cache); err != nil || hits.Load() != 1 {
				t.Errorf("second fetch: %v, %d requests", err, hits.Load())
			}
			// A damaged cache is downloaded again.
			lp := filepath.Join(dir, "labels/train2017/000000000001.txt")
			if err := os.WriteFile(lp, []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Fetch(context.Background(), cache); err != nil || hits.Load() != 2 {
				t.Errorf("fetch over a damaged cache: %v, %d requests", err, hits.Load())
			}
			if got, _ := os.ReadFile(lp); !bytes.Equal(got, files["labels/train2017/000000000001.txt"]) {
				t.Errorf("damaged file not restored: %q", got)
			}
		})
	}
}

func TestFetchCancelled(t *testing.T) {
	srv, _ := serveZip(t, 200, zipOf(t, "", fakeCOCO(t)), 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := &Archive{Name: "coco128", URL: srv.URL + "/v0.0.0/coco128.zip", Manifest: manifestOf(fakeCOCO(t))}
	if _, err := a.Fetch(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("error %v, want context canceled", err)
	}
}

func TestCOCO128Archive(t *testing.T) {
	a := COCO128()
	if a.URL != "https://github.com/ultralytics/assets/releases/download/v0.0.0/coco128.zip" || a.Name != "coco128" {
		t.Errorf("%+v", a)
	}
	t.Setenv("YOLOPS_CACHE", "/x")
	if d := DefaultCacheDir(); d != "/x/datasets" {
		t.Errorf("DefaultCacheDir = %s", d)
	}
}
