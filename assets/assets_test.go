package assets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCacheDownloadsVerifiesAndReuses(t *testing.T) {
	body := []byte(strings.Repeat("checkpoint bytes ", 1000))
	sum := sha256.Sum256(body)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/yolov8n.pt":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		case "/yolov8s.pt":
			w.Write([]byte("tampered"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var log strings.Builder
	c := &Cache{Dir: t.TempDir(), BaseURL: srv.URL, Progress: &log,
		Digests: map[string]string{"yolov8n.pt": hex.EncodeToString(sum[:]), "yolov8s.pt": hex.EncodeToString(sum[:]), "yolov8m.pt": "00"}}
	ctx := context.Background()

	path, err := c.Path(ctx, "yolov8n.pt")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(body) {
		t.Fatal("cached file differs from the download")
	}
	if _, err := c.Path(ctx, "yolov8n.pt"); err != nil || hits.Load() != 1 {
		t.Fatalf("second Path: %v, %d requests, want 1", err, hits.Load())
	}
	if !strings.Contains(log.String(), "downloading yolov8n.pt: 100%") {
		t.Errorf("progress lines: %q", log.String())
	}

	// A corrupt cached file is replaced.
	os.WriteFile(path, []byte("garbage"), 0o644)
	if _, err := c.Path(ctx, "yolov8n.pt"); err != nil || hits.Load() != 2 {
		t.Fatalf("Path after corruption: %v, %d requests", err, hits.Load())
	}

	// A download with the wrong digest is refused and leaves nothing behind.
	_, err = c.Path(ctx, "yolov8s.pt")
	if err == nil || !strings.Contains(err.Error(), "nothing was saved") {
		t.Fatalf("tampered download: %v", err)
	}
	// A server error names the URL and status.
	_, err = c.Path(ctx, "yolov8m.pt")
	if err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), srv.URL+"/yolov8m.pt") {
		t.Fatalf("missing asset: %v", err)
	}
	entries, _ := os.ReadDir(c.Dir)
	if len(entries) != 1 || entries[0].Name() != "yolov8n.pt" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("cache holds %v, want only yolov8n.pt", names)
	}
}

func TestUnknownNames(t *testing.T) {
	c := &Cache{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1"}
	for _, name := range []string{"yolov9n.pt", "../yolov8n.pt", "best.pt", ""} {
		if _, err := c.Path(context.Background(), name); !errors.Is(err, ErrUnknown) {
			t.Errorf("Path(%q) = %v, want ErrUnknown", name, err)
		}
	}
	if _, ok := Known("yolov8n.pt"); !ok {
		t.Error("yolov8n.pt unknown")
	}
	if d := DefaultDir(); !strings.HasSuffix(d, filepath.Join("yolops", "weights")) && os.Getenv("YOLOPS_CACHE") == "" {
		t.Errorf("DefaultDir() = %s", d)
	}
}
