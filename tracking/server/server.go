// Package server serves MLflow's REST API 2.0 over a tracking.Store and an
// artifacts.Store, so that MLflow clients (the Python mlflow package, the
// npm mlflow package, yolops' own tracking/client) work against yolops
// unchanged.
//
// It answers what `mlflow server --serve-artifacts` answers: the tracking
// and model registry RPCs under /api/2.0/mlflow and, for the web UI, the
// same handlers under /ajax-api/2.0/mlflow; proxied artifacts under
// /api/2.0/mlflow-artifacts, streamed to and from the artifact store with
// no size limit in memory; errors as {"error_code", "message"} with
// MLflow's HTTP statuses. Every RPC is one row of a table (see routes.go)
// that names its endpoint, the permission it needs, its required fields
// and the store call; both prefixes are served from that one table.
//
// Optional authentication (see Auth) takes HTTP basic credentials and
// bearer tokens, as MLflow's basic-auth app and clients do, with
// server-wide READ, EDIT and MANAGE permissions.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
)

// DefaultMaxBodyBytes bounds a JSON request body. Artifact uploads are
// streamed and have no limit.
const DefaultMaxBodyBytes = 16 << 20

// notImplemented is MLflow's NOT_IMPLEMENTED code, which it answers with
// 501; tracking.ErrorCode has no constant for it because no store
// returns it.
const notImplemented tracking.ErrorCode = "NOT_IMPLEMENTED"

// Config configures a Server.
type Config struct {
	// Store keeps experiments, runs and models. Required.
	Store tracking.Store
	// Artifacts is the artifacts destination that proxied artifact URIs
	// (mlflow-artifacts:/...) resolve to. Nil disables the artifact
	// endpoints (503), as `mlflow server --no-serve-artifacts` does.
	Artifacts artifacts.Store
	// Auth, when set, requires credentials (see Auth).
	Auth *Auth
	// Logger receives one access log record per request; nil logs nothing.
	Logger *slog.Logger
	// MaxBodyBytes bounds JSON request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// UI, when set, serves every path outside the API (the web UI at /),
	// behind the same authentication; Identify tells it who is asking.
	UI http.Handler
}

// Server is an http.Handler serving the API.
type Server struct {
	store   tracking.Store
	arts    artifacts.Store
	auth    *Auth
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux
	// methods lists the methods served at each path, for 405 answers.
	methods map[string][]string
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no tracking store")
	}
	s := &Server{
		store:   cfg.Store,
		arts:    cfg.Artifacts,
		auth:    cfg.Auth,
		log:     cfg.Logger,
		maxBody: cfg.MaxBodyBytes,
		mux:     http.NewServeMux(),
		methods: map[string][]string{},
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	for _, rt := range s.routes() {
		h := s.guard(rt.perm, rt.handler)
		prefixes := []string{rest.APIPrefix, rest.AjaxPrefix}
		if rt.root {
			prefixes = []string{""}
		}
		for _, p := range prefixes {
			path := p + rt.ep.Path
			s.mux.Handle(rt.ep.Method+" "+path, h)
			s.methods[path] = append(s.methods[path], rt.ep.Method)
		}
	}
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") })
	if cfg.UI != nil {
		// Unknown API paths still get MLflow's JSON error, not a page.
		s.mux.HandleFunc(rest.APIPrefix+"/", s.notFound)
		s.mux.HandleFunc(rest.AjaxPrefix+"/", s.notFound)
		s.mux.Handle("/", cfg.UI)
	} else {
		s.mux.HandleFunc("/", s.notFound)
	}
	return s, nil
}

// ServeHTTP implements http.Handler: it authenticates the request, routes
// it and writes an access log record.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	var who identity
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err := fmt.Errorf("panic: %v", p)
			if !rec.wrote {
				writeError(rec, tracking.Errorf(tracking.InternalError, "internal error"))
			}
			rec.err = err
		}
		s.logRequest(r, rec, who, time.Since(start))
	}()
	if s.auth != nil && r.URL.Path != "/health" {
		var err error
		who, err = s.auth.authenticate(r)
		if err != nil {
			unauthenticated(rec, err.Error())
			return
		}
	} else {
		who = identity{perm: Manage}
	}
	r = r.WithContext(context.WithValue(r.Context(), identityKey{}, who))
	// Artifact paths go around the ServeMux, which would answer a path
	// holding ".." with a redirect instead of the 400 MLflow gives.
	for _, p := range []string{rest.APIPrefix, rest.AjaxPrefix} {
		if rel, ok := strings.CutPrefix(r.URL.Path, p+rest.ArtifactsPath); ok {
			s.serveArtifactObject(rec, r, rel)
			return
		}
	}
	s.mux.ServeHTTP(rec, r)
}

// notFound answers paths and methods the API does not have.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if methods := s.methods[r.URL.Path]; len(methods) > 0 {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		writeErrorStatus(w, http.StatusMethodNotAllowed, tracking.Errorf(tracking.BadRequest,
			"Method %s is not allowed for %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(methods, ", ")))
		return
	}
	writeError(w, tracking.Errorf(tracking.EndpointNotFound, "No API endpoint at %s %s", r.Method, r.URL.Path))
}

// logRequest writes the access log record.
func (s *Server) logRequest(r *http.Request, rec *recorder, who identity, d time.Duration) {
	if s.log == nil {
		return
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", rec.bytes),
		slog.Float64("ms", float64(d.Microseconds())/1000),
		slog.String("remote", r.RemoteAddr),
	}
	if who.name != "" {
		attrs = append(attrs, slog.String("user", who.name))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if rec.err != nil {
		attrs = append(attrs, slog.String("error", rec.err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// recorder notes what a handler wrote, for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	err    error // an internal error worth logging
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeJSON writes a 200 response.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, &tracking.Error{Code: tracking.InternalError, Message: "encode response: " + err.Error(), Err: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// writeError writes err as MLflow does: {"error_code", "message"} with the
// code's HTTP status. Errors without a code are INTERNAL_ERROR.
func writeError(w http.ResponseWriter, err error) {
	code := tracking.CodeOf(err)
	status := code.HTTPStatus()
	if code == notImplemented {
		status = http.StatusNotImplemented
	}
	writeErrorStatus(w, status, err)
}

func writeErrorStatus(w http.ResponseWriter, status int, err error) {
	code := tracking.CodeOf(err)
	msg := err.Error()
	var te *tracking.Error
	if !errors.As(err, &te) {
		// Not an error meant for clients (an artifact store's I/O error
		// names server paths): the access log has it.
		msg = "Internal error; the server's log has the details."
	}
	if rec, ok := w.(*recorder); ok && status >= 500 {
		rec.err = err
	}
	b, _ := json.Marshal(rest.ErrorBody{ErrorCode: string(code), Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
