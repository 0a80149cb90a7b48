package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// static holds the built front-end (web/ui: `npm run build` writes
// static/app.js and static/app.css) and the hand-written assets beside it.
//
//go:embed static
var static embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body, gz    []byte // gz is nil when compressing does not pay
	contentType string
	hash        string // of body: the version in the URL and the ETag
}

// assetSet serves the embedded assets under /static/. Templates link them
// as /static/<name>?v=<hash>, so they can be cached for a year: a new
// build changes the hash, and so the URL.
type assetSet struct {
	files map[string]*asset
}

func loadAssets() (*assetSet, error) {
	s := &assetSet{files: map[string]*asset{}}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		return nil, fmt.Errorf("web: embedded assets: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := static.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: embedded asset %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		a := &asset{
			body:        body,
			contentType: mime.TypeByExtension(path.Ext(e.Name())),
			hash:        hex.EncodeToString(sum[:6]),
		}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		if len(body) > 1024 && !strings.HasPrefix(a.contentType, "image/png") {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if b.Len() < len(body)*9/10 {
				a.gz = b.Bytes()
			}
		}
		s.files[e.Name()] = a
	}
	for _, need := range []string{"app.js", "charts.js", "app.css"} {
		if s.files[need] == nil {
			return nil, fmt.Errorf("web: embedded asset static/%s is missing (run npm run build in web/ui)", need)
		}
	}
	return s, nil
}

// url is the versioned address of an asset, for templates.
func (s *assetSet) url(name string) (string, error) {
	a := s.files[name]
	if a == nil {
		return "", fmt.Errorf("no embedded asset %q", name)
	}
	return "/static/" + name + "?v=" + a.hash, nil
}

func (s *assetSet) serve(w http.ResponseWriter, r *http.Request) {
	a := s.files[r.PathValue("file")]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	etag := `"` + a.hash + `"`
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.contentType)
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
