// Package web is the user interface that `yolops server` serves at "/":
// experiments and their runs, a run's charts and artifacts, a comparison of
// runs, the model registry and pipeline runs.
//
// Pages are rendered on the server with html/template from the tracking
// store, one SQL-paged query per table, so that the first paint needs no
// JSON round trip and a table of 10,000 runs costs what its page costs. A
// small script (web/ui/src, bundled with esbuild into static/app.js with
// the uPlot chart library) draws the metric charts and adds conveniences;
// every page reads without it. The built assets are embedded, so the
// binary needs nothing else at run time and nothing is fetched from a CDN.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
)

// Options configures the UI.
type Options struct {
	// Store holds the experiments, runs and registered models shown.
	Store tracking.Store
	// ArtifactRoots say where the artifacts of a run live: a run whose
	// artifact URI starts with a root's Prefix has its files in the root's
	// Store, under the rest of the URI. Artifact URIs under no root are
	// shown but not served, so that a tag pointing at file:///etc cannot
	// make the UI read outside the stores the server was given.
	ArtifactRoots []ArtifactRoot
	// Identify returns the user who sent a request and whether that user
	// may change the registry. Nil means the server runs without
	// authentication: anyone may transition a stage, and the transition
	// is recorded without a user. With it, an anonymous user (name "") is
	// asked to sign in and a read-only user is refused.
	Identify func(r *http.Request) (user string, canWrite bool)
	// Logger receives errors that are the server's fault; nil means
	// slog.Default().
	Logger *slog.Logger
}

// ArtifactRoot maps the artifact URIs that start with Prefix to a store.
// For an MLflow server that proxies artifacts, Prefix is
// "mlflow-artifacts:/" and Store is the --artifacts-destination store:
// mlflow-artifacts:/1/<run>/artifacts/x.png is key 1/<run>/artifacts/x.png.
type ArtifactRoot struct {
	Prefix string
	Store  artifacts.Store
}

// UI is the web interface; it implements http.Handler.
type UI struct {
	store    tracking.Store
	roots    []ArtifactRoot
	identify func(*http.Request) (string, bool)
	log      *slog.Logger
	pages    map[string]*template.Template
	assets   *assetSet
	mux      *http.ServeMux
}

// New returns the UI, to be mounted at "/" (it serves every path that the
// MLflow API does not: /, /experiments/..., /runs/..., /compare,
// /models/..., /pipelines, /static/...).
func New(opts Options) (*UI, error) {
	if opts.Store == nil {
		return nil, errors.New("web: no tracking store")
	}
	for i, r := range opts.ArtifactRoots {
		if r.Prefix == "" || r.Store == nil {
			return nil, fmt.Errorf("web: artifact root %d: want a prefix and a store, got prefix %q", i, r.Prefix)
		}
	}
	u := &UI{
		store:    opts.Store,
		roots:    opts.ArtifactRoots,
		identify: opts.Identify,
		log:      opts.Logger,
	}
	if u.log == nil {
		u.log = slog.Default()
	}
	var err error
	if u.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if u.pages, err = parsePages(u.assets); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

func (u *UI) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", u.experiments)
	m.HandleFunc("GET /experiments/{id}", u.runsTable)
	m.HandleFunc("GET /runs/{id}", u.runPage)
	m.HandleFunc("GET /runs/{id}/preview", u.artifactPreview)
	m.HandleFunc("GET /runs/{id}/files/{path...}", u.artifactFile)
	m.HandleFunc("GET /artifact", u.uriFile)
	m.HandleFunc("GET /compare", u.compare)
	m.HandleFunc("GET /models", u.models)
	m.HandleFunc("GET /models/{name}", u.model)
	m.HandleFunc("GET /models/{name}/versions/{version}", u.modelVersion)
	// CrossOriginProtection refuses a POST that a browser sends from
	// another origin (Sec-Fetch-Site, else Origin against Host): the CSRF
	// defence, with no token to thread through the forms.
	m.Handle("POST /models/{name}/versions/{version}/stage",
		http.NewCrossOriginProtection().Handler(http.HandlerFunc(u.transition)))
	m.HandleFunc("GET /pipelines", u.pipelines)
	m.HandleFunc("GET /static/{file}", u.assets.serve)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, tracking.Errorf(tracking.ResourceDoesNotExist, "No page at %s", r.URL.Path))
	})
	u.mux = m
}

// ServeHTTP serves the UI's pages.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Pages load only their own script and styles; artifacts are served
	// with a stricter policy of their own (see artifactFile).
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
		"script-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	u.mux.ServeHTTP(w, r)
}

// page is what every template receives.
type page struct {
	Title string
	Nav   string // the top-bar entry to highlight
	// Charts loads the chart script (uPlot), which only the run and
	// compare pages need.
	Charts bool
	Data   any
}

// render writes a page with status 200.
func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	u.renderStatus(w, r, http.StatusOK, name, p)
}

func (u *UI) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := u.pages[name]
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		u.log.Error("web: render", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error rendering "+name, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// errorPage is the data of the error template.
type errorPage struct {
	Status  int
	Code    tracking.ErrorCode
	Message string
}

// fail shows err as a page with the HTTP status of its MLflow code. Bad
// input gets its message; a server-side failure is logged and the user is
// told only that it happened.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := tracking.CodeOf(err)
	if errors.Is(err, context.Canceled) {
		return // the browser went away
	}
	if errors.Is(err, artifacts.ErrNotExist) {
		code = tracking.ResourceDoesNotExist
	} else if errors.Is(err, artifacts.ErrBadKey) {
		code = tracking.InvalidParameterValue
	}
	status := code.HTTPStatus()
	msg := err.Error()
	if status >= 500 {
		u.log.Error("web", "path", r.URL.Path, "err", err)
		msg = "The server failed to answer this request; its log says why."
	}
	u.renderStatus(w, r, status, "error", page{Title: http.StatusText(status), Data: errorPage{Status: status, Code: code, Message: msg}})
}
