package web

import (
	"bytes"
	"html/template"
	"net/url"
	"path"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// markdown renders GitHub-flavoured Markdown (tables: promotion reports
// have them). Raw HTML in the source is dropped and javascript: links are
// emptied, goldmark's defaults without WithUnsafe: an artifact is
// untrusted input shown inside the UI's origin.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// renderMarkdown renders src. A relative link or image is resolved
// against dir (the document's folder, slash-separated, "" for the top)
// and handed to link, which returns its URL; so a report's
// ![](results.png) shows the run's results.png. A relative path that
// climbs out of the top is kept inside it.
func renderMarkdown(src []byte, dir string, link func(rel string) string) (template.HTML, error) {
	doc := markdown.Parser().Parse(text.NewReader(src))
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			n.Destination = []byte(resolveLink(dir, string(n.Destination), link))
		case *ast.Image:
			n.Destination = []byte(resolveLink(dir, string(n.Destination), link))
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := markdown.Renderer().Render(&b, src, doc); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// resolveLink resolves a relative destination; absolute URLs, rooted
// paths and fragments are left alone.
func resolveLink(dir, dest string, link func(string) string) string {
	if dest == "" || strings.HasPrefix(dest, "#") || strings.HasPrefix(dest, "/") {
		return dest
	}
	u, err := url.Parse(dest)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" {
		return dest
	}
	rel := path.Join("/", dir, u.Path)[1:] // Join cleans ../ at the top away
	if rel == "" {
		return dest
	}
	out := link(rel)
	if u.Fragment != "" {
		out += "#" + url.PathEscape(u.Fragment)
	}
	return out
}
