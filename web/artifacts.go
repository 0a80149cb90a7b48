package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
)

// errNotServed says that an artifact URI is under no configured root.
var errNotServed = errors.New("not under an artifact root this server serves")

// resolve maps an artifact URI to a store and the key in it ("" for the
// store's root), by the longest matching root prefix.
func (u *UI) resolve(uri string) (artifacts.Store, string, error) {
	best := -1
	for i, r := range u.roots {
		if !strings.HasPrefix(uri, r.Prefix) {
			continue
		}
		rest := uri[len(r.Prefix):]
		// The prefix must end at a path boundary: s3://b/runs is not a
		// root of s3://b/runs2/x.
		if !strings.HasSuffix(r.Prefix, "/") && rest != "" && rest[0] != '/' {
			continue
		}
		if best < 0 || len(r.Prefix) > len(u.roots[best].Prefix) {
			best = i
		}
	}
	if best < 0 {
		return nil, "", tracking.Errorf(tracking.ResourceDoesNotExist, "Artifact location %s is %v", uri, errNotServed)
	}
	key := strings.Trim(uri[len(u.roots[best].Prefix):], "/")
	if key != "" {
		if err := artifacts.CheckKey(key); err != nil {
			return nil, "", tracking.Errorf(tracking.InvalidParameterValue, "Artifact location %s: %v", uri, err)
		}
	}
	return u.roots[best].Store, key, nil
}

// runFiles is where a run's artifacts are.
type runFiles struct {
	store  artifacts.Store
	prefix string // key of the run's artifact folder, "" for the root
}

func (f runFiles) key(rel string) string {
	if f.prefix == "" {
		return rel
	}
	if rel == "" {
		return f.prefix
	}
	return f.prefix + "/" + rel
}

// checkRel checks a path inside a run's artifacts, as a user sent it.
func checkRel(rel string) error {
	if rel == "" {
		return nil
	}
	if err := artifacts.CheckKey(rel); err != nil {
		return tracking.Errorf(tracking.InvalidParameterValue, "Artifact path %q: %v", rel, err)
	}
	return nil
}

// fileNode is a file or folder of the artifact tree.
type fileNode struct {
	Name     string
	Path     string // relative to the run's artifact folder
	Dir      bool
	Size     int64
	Children []*fileNode
}

// listTree lists every artifact of a run as a tree, folders first.
func listTree(ctx context.Context, f runFiles) ([]*fileNode, int, error) {
	infos, err := f.store.List(ctx, f.prefix, true)
	if err != nil {
		return nil, 0, err
	}
	root := &fileNode{Dir: true}
	dirs := map[string]*fileNode{"": root}
	var dirOf func(p string) *fileNode
	dirOf = func(p string) *fileNode {
		if d := dirs[p]; d != nil {
			return d
		}
		parent, name := path.Split(p)
		d := &fileNode{Name: name, Path: p, Dir: true}
		pd := dirOf(strings.TrimSuffix(parent, "/"))
		pd.Children = append(pd.Children, d)
		dirs[p] = d
		return d
	}
	n := 0
	for _, in := range infos {
		rel := in.Key
		if f.prefix != "" {
			rel = strings.TrimPrefix(in.Key, f.prefix+"/")
		}
		if in.Dir || rel == in.Key && f.prefix != "" {
			continue
		}
		dir, name := path.Split(rel)
		d := dirOf(strings.TrimSuffix(dir, "/"))
		d.Children = append(d.Children, &fileNode{Name: name, Path: rel, Size: in.Size})
		n++
	}
	var sortTree func(*fileNode)
	sortTree = func(d *fileNode) {
		slices.SortFunc(d.Children, func(a, b *fileNode) int {
			if a.Dir != b.Dir {
				if a.Dir {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
		for _, c := range d.Children {
			if c.Dir {
				sortTree(c)
				for _, cc := range c.Children {
					c.Size += cc.Size
				}
			}
		}
	}
	sortTree(root)
	return root.Children, n, nil
}

// Preview limits: text beyond maxPreviewBytes and CSV rows beyond
// maxPreviewRows are cut (with a note and the download link).
const (
	maxPreviewBytes = 512 << 10
	maxPreviewRows  = 500
)

// preview is the data of the preview template: one of its kinds is set.
type preview struct {
	RunID     string
	Path      string
	Name      string
	Size      int64
	FileURL   string // inline
	Download  string
	Image     bool
	Frame     bool // HTML, shown in a sandboxed frame
	Text      string
	Lang      string // yaml, json, text...: a CSS class
	HTML      template.HTML
	CSV       [][]string
	CSVHeader []string
	Truncated bool
	Listing   []*fileNode // a folder
	Note      string      // why there is no preview
}

func fileURL(runID, rel string) string {
	return "/runs/" + runID + "/files/" + escapePath(rel)
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// previewKind is how a file is previewed, by its extension.
func previewKind(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg":
		return "image"
	case ".csv", ".tsv":
		return "csv"
	case ".md", ".markdown":
		return "markdown"
	case ".html", ".htm":
		return "html"
	case ".yaml", ".yml":
		return "yaml"
	case ".json":
		return "json"
	case ".txt", ".log", ".py", ".go", ".cfg", ".ini", ".toml", ".sh", ".dvc", ".lock":
		return "text"
	case ".safetensors", ".pt", ".pth", ".onnx", ".bin", ".zip", ".gz", ".tar":
		return "binary"
	}
	return ""
}

// buildPreview reads the artifact at rel (a file or a folder) of a run
// and prepares its preview.
func buildPreview(ctx context.Context, f runFiles, runID, rel string) (*preview, error) {
	return previewFile(ctx, f, rel, runID, func(rel string) string { return fileURL(runID, rel) })
}

// previewFile prepares the preview of the artifact at rel in f; link
// returns the URL of the raw bytes of a path relative to f.
func previewFile(ctx context.Context, f runFiles, rel, runID string, link func(string) string) (*preview, error) {
	p := &preview{RunID: runID, Path: rel, Name: path.Base(rel), FileURL: link(rel)}
	p.Download = p.FileURL + "?download=1"
	if strings.Contains(p.FileURL, "?") {
		p.Download = p.FileURL + "&download=1"
	}
	info, err := f.store.Stat(ctx, f.key(rel))
	if errors.Is(err, artifacts.ErrNotExist) {
		// Maybe a folder: stores have no folder objects.
		list, lerr := f.store.List(ctx, f.key(rel), false)
		if lerr != nil || len(list) == 0 {
			return nil, tracking.Errorf(tracking.ResourceDoesNotExist, "No artifact %q", rel)
		}
		for _, in := range list {
			name := path.Base(in.Key)
			p.Listing = append(p.Listing, &fileNode{Name: name, Path: path.Join(rel, name), Dir: in.Dir, Size: in.Size})
		}
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p.Size = info.Size
	kind := previewKind(rel)
	switch kind {
	case "image":
		p.Image = true
		return p, nil
	case "html":
		p.Frame = true
		return p, nil
	case "binary":
		p.Note = "A binary file: no preview."
		return p, nil
	}
	rc, _, err := f.store.Get(ctx, f.key(rel))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxPreviewBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", rel, err)
	}
	if len(body) > maxPreviewBytes {
		body, p.Truncated = body[:maxPreviewBytes], true
	}
	if kind == "" {
		if !looksLikeText(body) {
			p.Note = "No preview for this kind of file."
			return p, nil
		}
		kind = "text"
	}
	switch kind {
	case "csv":
		sep := ','
		if strings.EqualFold(path.Ext(rel), ".tsv") {
			sep = '\t'
		}
		rows, truncated, err := parseCSV(body, sep)
		if err != nil {
			p.Note = "Not valid CSV (" + err.Error() + "); shown as text."
			p.Text, p.Lang = string(body), "text"
			return p, nil
		}
		p.Truncated = p.Truncated || truncated
		if len(rows) > 0 {
			p.CSVHeader, p.CSV = rows[0], rows[1:]
		}
	case "markdown":
		dir := path.Dir(rel)
		if dir == "." {
			dir = ""
		}
		html, err := renderMarkdown(body, dir, link)
		if err != nil {
			return nil, fmt.Errorf("render artifact %s: %w", rel, err)
		}
		p.HTML = html
	default:
		p.Text, p.Lang = string(bytes.ToValidUTF8(body, []byte("\uFFFD"))), kind
	}
	return p, nil
}

// looksLikeText says whether the start of a file is text, as
// http.DetectContentType judges it.
func looksLikeText(b []byte) bool {
	ct := http.DetectContentType(b)
	return strings.HasPrefix(ct, "text/") || ct == "application/json"
}

// parseCSV reads up to maxPreviewRows+1 records (the header and the rows),
// trimming the padding Ultralytics' results.csv puts around its cells.
func parseCSV(body []byte, sep rune) ([][]string, bool, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, false, nil
		}
		if err != nil {
			// A file cut at maxPreviewBytes ends mid-record.
			if len(rows) > 0 && errors.Is(err, csv.ErrQuote) {
				return rows, true, nil
			}
			return nil, false, err
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, rec)
		if len(rows) > maxPreviewRows {
			return rows, true, nil
		}
	}
}

// runFilesOf returns where a run's artifacts are, or an error saying why
// they cannot be shown.
func (u *UI) runFilesOf(run *tracking.Run) (runFiles, error) {
	st, key, err := u.resolve(run.Info.ArtifactURI)
	if err != nil {
		return runFiles{}, err
	}
	return runFiles{st, key}, nil
}

// artifactPreview answers the script's request for a preview (a fragment
// of HTML), or, with full=1, a page of its own.
func (u *UI) artifactPreview(w http.ResponseWriter, r *http.Request) {
	run, err := u.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rel := r.URL.Query().Get("path")
	if err := checkRel(rel); err != nil || rel == "" {
		if err == nil {
			err = tracking.Errorf(tracking.InvalidParameterValue, "No artifact path given (path=...)")
		}
		u.fail(w, r, err)
		return
	}
	f, err := u.runFilesOf(run)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p, err := buildPreview(r.Context(), f, run.Info.RunID, rel)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var b strings.Builder
	if err := u.pages["run"].ExecuteTemplate(&b, "preview-body", p); err != nil {
		u.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, b.String())
}

// artifactFile serves an artifact's bytes.
func (u *UI) artifactFile(w http.ResponseWriter, r *http.Request) {
	run, err := u.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rel := r.PathValue("path")
	if err := checkRel(rel); err != nil || rel == "" {
		if err == nil {
			err = tracking.Errorf(tracking.InvalidParameterValue, "No artifact path given")
		}
		u.fail(w, r, err)
		return
	}
	f, err := u.runFilesOf(run)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.serveObject(w, r, f.store, f.key(rel))
}

// uriFile serves the object an artifact URI names (a promotion report
// referred to by a tag), if it is under a served root.
func (u *UI) uriFile(w http.ResponseWriter, r *http.Request) {
	st, key, err := u.resolve(r.URL.Query().Get("uri"))
	if err == nil && key == "" {
		err = tracking.Errorf(tracking.InvalidParameterValue, "Artifact URI %q names a store's root, not a file", r.URL.Query().Get("uri"))
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.serveObject(w, r, st, key)
}

func (u *UI) serveObject(w http.ResponseWriter, r *http.Request, st artifacts.Store, key string) {
	rc, info, err := st.Get(r.Context(), key)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	// An artifact is whatever a run uploaded: an HTML or SVG file must
	// not run script with the UI's origin, so it gets a sandbox of its
	// own (images and styles load, nothing else).
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
	ct := mime.TypeByExtension(path.Ext(key))
	switch previewKind(key) {
	case "text", "yaml", "markdown":
		// Shown in the browser rather than downloaded.
		ct = "text/plain; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	h.Set("Cache-Control", "private, max-age=60")
	if r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(key)}))
	}
	if _, err := io.Copy(w, rc); err != nil && !errors.Is(err, context.Canceled) {
		u.log.Warn("web: send artifact", "key", key, "err", err)
	}
}
