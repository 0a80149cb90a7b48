// Package assets fetches Ultralytics' published checkpoints (yolov8n.pt
// and its siblings) into a local cache, checking each download against
// the SHA-256 the release publishes, as a user who names "yolov8n.pt"
// expects Ultralytics to do when the file is not on disk.
package assets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"
)

// DefaultBaseURL is the release the digests below were published with.
const DefaultBaseURL = "https://github.com/ultralytics/assets/releases/download/v8.4.0"

// digests are the SHA-256 of the release's YOLOv8 detection checkpoints,
// as GitHub lists them for the release assets. Read-only.
var digests = map[string]string{
	"yolov8n.pt": "f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36",
	"yolov8s.pt": "1f47a78bf100391c2a140b7ac73a1caae18c32779be7d310658112f7ac9aa78a",
	"yolov8m.pt": "5d4a90cdc7a21786cc59cd19778e9eafff836df9e2da32524737c7ee6efe4fe5",
	"yolov8l.pt": "64c9115303f6a25575f82200d1b22ec409fa6bd7d08d0313884fc20d919478cd",
	"yolov8x.pt": "3df4ada6b4dad6d657868f2fdf7faecfb34dcfccf3a25c4b82079064718524c8",
}

// ErrUnknown is returned for names that are not published checkpoints.
var ErrUnknown = errors.New("assets: not a published checkpoint")

// Known reports whether name is a published checkpoint, and its digest.
func Known(name string) (sha256hex string, ok bool) {
	d, ok := digests[name]
	return d, ok
}

// Cache is a directory of downloaded checkpoints.
type Cache struct {
	// Dir holds the files; DefaultDir() when empty.
	Dir string
	// BaseURL is where name is fetched from (BaseURL + "/" + name);
	// DefaultBaseURL when empty.
	BaseURL string
	// Digests overrides the published digests (for mirrors and tests).
	Digests map[string]string
	// Client makes the requests; a client with a 10-minute timeout when nil.
	Client *http.Client
	// Progress, when set, receives plain progress lines.
	Progress io.Writer
}

// DefaultDir is $YOLOPS_CACHE/weights, or the user cache directory's
// yolops/weights.
func DefaultDir() string {
	if d := os.Getenv("YOLOPS_CACHE"); d != "" {
		return filepath.Join(d, "weights")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "yolops", "weights")
	}
	return filepath.Join(os.TempDir(), "yolops", "weights")
}

func (c *Cache) digest(name string) (string, bool) {
	if d, ok := c.Digests[name]; ok {
		return d, true
	}
	return Known(name)
}

// Path returns the local path of the named checkpoint, downloading it
// first when the cache lacks it. A download is written beside its final
// name and renamed only once its digest matches, so the cache never holds
// a partial or corrupt file under a checkpoint's name.
func (c *Cache) Path(ctx context.Context, name string) (string, error) {
	want, ok := c.digest(name)
	if !ok || filepath.Base(name) != name {
		return "", fmt.Errorf("%w: %q (known: yolov8n.pt, yolov8s.pt, yolov8m.pt, yolov8l.pt, yolov8x.pt)", ErrUnknown, name)
	}
	dir := c.Dir
	if dir == "" {
		dir = DefaultDir()
	}
	path := filepath.Join(dir, name)
	if got, err := FileSHA256(path); err == nil {
		if got == want {
			return path, nil
		}
		c.logf("%s in the cache has SHA-256 %s, want %s: downloading it again", path, got, want)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("assets: creating the cache: %w", err)
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	url := base + "/" + name
	tmp, err := os.CreateTemp(dir, name+".part-*")
	if err != nil {
		return "", fmt.Errorf("assets: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	got, err := c.download(ctx, url, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("assets: downloading %s: %w", url, err)
	}
	if got != want {
		return "", fmt.Errorf("assets: %s has SHA-256 %s, want %s: the download is corrupt or the release changed; nothing was saved", url, got, want)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("assets: %w", err)
	}
	c.logf("saved %s", path)
	return path, nil
}

func (c *Cache) download(ctx context.Context, url string, w io.Writer) (string, error) {
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	return Download(ctx, client, url, w, c.logf)
}

func (c *Cache) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// Download GETs url with client into w and returns the SHA-256 of what it
// wrote. It fails on an answer other than 200 OK and on a body shorter
// than announced; logf, when not nil, gets a line per 10% of a body of
// known size (with the rate and the time left), or one at the end.
func Download(ctx context.Context, client *http.Client, url string, w io.Writer, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("server answered %s", resp.Status)
	}
	h := sha256.New()
	p := &progress{logf: logf, what: "downloading " + filepath.Base(req.URL.Path), total: resp.ContentLength, start: time.Now()}
	n, err := io.Copy(io.MultiWriter(w, h, p), resp.Body)
	if err != nil {
		return "", fmt.Errorf("after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	p.done()
	return hex.EncodeToString(h.Sum(nil)), nil
}

// progress logs a line per 10% of a copy of known size, with the rate and
// the time left, or one line at the end when the size is unknown.
type progress struct {
	logf  func(string, ...any)
	what  string
	total int64
	n     int64
	next  int64
	start time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.total > 0 && p.n*10/p.total >= p.next {
		p.next = p.n*10/p.total + 1
		secs := max(time.Since(p.start).Seconds(), 1e-3)
		rate := float64(p.n) / secs
		left := time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second)
		p.logf("%s: %d%% of %s, %s/s, %v left", p.what, p.n*100/p.total, byteSize(p.total), byteSize(int64(rate)), left)
	}
	return len(b), nil
}

func (p *progress) done() {
	if p.total <= 0 {
		p.logf("%s: %s in %v", p.what, byteSize(p.n), time.Since(p.start).Round(time.Millisecond))
	}
}

func byteSize(n int64) string { return humanize.Bytes(uint64(max(n, 0))) }

// FileSHA256 returns the SHA-256 of the file at path, in hex.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
