package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
)

// joinKey joins a key prefix and a relative path, either possibly empty.
func joinKey(prefix, rel string) string {
	rel = strings.Trim(rel, "/")
	switch {
	case prefix == "":
		return rel
	case rel == "":
		return prefix
	}
	return prefix + "/" + rel
}

// artifactError maps an artifact store error to MLflow's codes.
func artifactError(err error, key string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, artifacts.ErrBadKey):
		return &tracking.Error{Code: tracking.InvalidParameterValue, Message: err.Error(), Err: err}
	case errors.Is(err, artifacts.ErrNotExist):
		return &tracking.Error{Code: tracking.ResourceDoesNotExist, Message: fmt.Sprintf("Artifact %q does not exist", key), Err: err}
	}
	return err
}

func (s *Server) artifactsDisabled() error {
	if s.arts == nil {
		return tracking.Errorf(tracking.TemporarilyUnavailable,
			"Artifact endpoints are disabled: the server runs without an artifacts destination.")
	}
	return nil
}

// serveArtifactObject serves GET, PUT and DELETE of one object of the
// artifacts destination.
func (s *Server) serveArtifactObject(w http.ResponseWriter, r *http.Request, rel string) {
	var need Permission
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		need = Read
	case http.MethodPut:
		need = Edit
	case http.MethodDelete:
		need = Manage
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeErrorStatus(w, http.StatusMethodNotAllowed, tracking.Errorf(tracking.BadRequest, "Method %s is not allowed for artifacts", r.Method))
		return
	}
	if !s.allowed(w, r, need) {
		return
	}
	if err := s.artifactsDisabled(); err != nil {
		writeError(w, err)
		return
	}
	if err := rest.CheckArtifactPath(rel); err != nil {
		writeError(w, err)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.sendArtifact(w, r, rel)
	case http.MethodPut:
		// Streamed from the request to the store: no size limit and
		// nothing held in memory. A broken upload stores nothing.
		size := r.ContentLength
		if err := s.arts.Put(r.Context(), rel, r.Body, size); err != nil {
			writeError(w, artifactError(err, rel))
			return
		}
		writeJSON(w, &rest.Empty{})
	case http.MethodDelete:
		if err := s.deleteArtifacts(r.Context(), rel); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, &rest.Empty{})
	}
}

// deleteArtifacts deletes the object at key and every object below it, as
// MLflow's delete_artifacts does for a file or a directory.
func (s *Server) deleteArtifacts(ctx context.Context, key string) error {
	below, err := s.arts.List(ctx, key, true)
	if err != nil && !errors.Is(err, artifacts.ErrNotExist) {
		return artifactError(err, key)
	}
	for _, info := range below {
		if err := s.arts.Delete(ctx, info.Key); err != nil {
			return artifactError(err, info.Key)
		}
	}
	return artifactError(s.arts.Delete(ctx, key), key)
}

// risky lists media types a browser would run or render as a page; they are
// sent as plain text.
var risky = map[string]bool{
	"text/html": true, "application/xhtml+xml": true, "image/svg+xml": true,
	"application/javascript": true, "text/javascript": true, "application/xml": true, "text/xml": true,
}

// sendArtifact streams an object as an attachment, with MLflow's headers
// (the guessed media type, nosniff) and a sandboxing CSP, so that an
// uploaded page cannot run script on the server's origin.
func (s *Server) sendArtifact(w http.ResponseWriter, r *http.Request, key string) {
	rc, info, err := s.arts.Get(r.Context(), key)
	if err != nil {
		writeError(w, artifactError(err, key))
		return
	}
	defer rc.Close()
	base := path.Base(key)
	ct := mime.TypeByExtension(path.Ext(base))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if mt, _, _ := mime.ParseMediaType(ct); risky[mt] {
		ct = "text/plain; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": base}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are gone; abort so the client sees a broken transfer,
		// not a short file.
		if rec, ok := w.(*recorder); ok {
			rec.err = err
		}
		panic(http.ErrAbortHandler)
	}
}

// fileInfos converts a listing below prefix into MLflow FileInfos whose
// paths are relPrefix joined with each entry's name.
func fileInfos(list []artifacts.Info, relPrefix string) []rest.FileInfo {
	out := make([]rest.FileInfo, 0, len(list))
	for _, info := range list {
		fi := rest.FileInfo{Path: joinKey(relPrefix, path.Base(info.Key)), IsDir: info.Dir}
		if !info.Dir {
			size := rest.Int64(info.Size)
			fi.FileSize = &size
		}
		out = append(out, fi)
	}
	return out
}

// list lists the entries directly below key; a key naming nothing, or a
// file, lists as empty.
func (s *Server) list(ctx context.Context, key string) ([]artifacts.Info, error) {
	list, err := s.arts.List(ctx, key, false)
	if err != nil {
		if errors.Is(err, artifacts.ErrNotExist) {
			return nil, nil
		}
		if _, serr := s.arts.Stat(ctx, key); serr == nil {
			return nil, nil // a file: nothing below it
		}
		return nil, artifactError(err, key)
	}
	return list, nil
}

// listProxiedArtifacts serves GET /mlflow-artifacts/artifacts?path=.
func (s *Server) listProxiedArtifacts(ctx context.Context, c *call, req *rest.ListArtifactsProxiedRequest) (any, error) {
	if err := s.artifactsDisabled(); err != nil {
		return nil, err
	}
	var p string
	if req.Path != nil {
		if err := rest.CheckArtifactPath(*req.Path); err != nil {
			return nil, err
		}
		p = strings.TrimRight(*req.Path, "/")
	}
	list, err := s.list(ctx, p)
	if err != nil {
		return nil, err
	}
	return &rest.ListArtifactsProxiedResponse{Files: fileInfos(list, "")}, nil
}

// runArtifactKey resolves a path below a run's artifact root to a key of
// the artifacts destination.
func (s *Server) runArtifactKey(artifactURI, rel string) (string, error) {
	if err := s.artifactsDisabled(); err != nil {
		return "", err
	}
	root, ok := rest.ProxiedPath(artifactURI)
	if !ok {
		// Serving any other URI would read wherever a client's
		// artifact_location points, with the server's credentials.
		return "", tracking.Errorf(tracking.InvalidParameterValue,
			"The artifact URI %q is not served by this server, which serves %s:/ URIs only; read it directly.", artifactURI, rest.ProxiedScheme)
	}
	if err := rest.CheckArtifactPath(rel); err != nil {
		return "", err
	}
	return joinKey(root, strings.TrimRight(rel, "/")), nil
}

// listRunArtifacts serves GET /mlflow/artifacts/list?run_id=&path=.
func (s *Server) listRunArtifacts(ctx context.Context, c *call, req *rest.ListArtifactsRequest) (any, error) {
	run, err := s.store.GetRun(ctx, runID(req.RunID, req.RunUUID))
	if err != nil {
		return nil, err
	}
	var rel string
	if req.Path != nil {
		rel = *req.Path
	}
	key, err := s.runArtifactKey(run.Info.ArtifactURI, rel)
	if err != nil {
		return nil, err
	}
	list, err := s.list(ctx, key)
	if err != nil {
		return nil, err
	}
	return &rest.ListArtifactsResponse{RootURI: run.Info.ArtifactURI, Files: fileInfos(list, strings.TrimRight(rel, "/"))}, nil
}

// getRunArtifact serves the web UI's GET /get-artifact?run_id=&path=.
func (s *Server) getRunArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := runID(q.Get("run_id"), q.Get("run_uuid"))
	if id == "" || q.Get("path") == "" {
		writeError(w, tracking.Errorf(tracking.InvalidParameterValue, "Request must specify run_id and path."))
		return
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	key, err := s.runArtifactKey(run.Info.ArtifactURI, q.Get("path"))
	if err != nil {
		writeError(w, err)
		return
	}
	s.sendArtifact(w, r, key)
}

// getModelVersionArtifact serves the web UI's GET
// /model-versions/get-artifact?name=&version=&path=.
func (s *Server) getModelVersionArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("name") == "" || q.Get("version") == "" || q.Get("path") == "" {
		writeError(w, tracking.Errorf(tracking.InvalidParameterValue, "Request must specify name, version and path."))
		return
	}
	uri, err := s.store.GetModelVersionDownloadURI(r.Context(), q.Get("name"), q.Get("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	key, err := s.runArtifactKey(uri, q.Get("path"))
	if err != nil {
		writeError(w, err)
		return
	}
	s.sendArtifact(w, r, key)
}

// uploadRunArtifact serves the web UI's POST
// /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=, whose raw body is
// the file (MLflow caps it at 10 MB; it is streamed here, so it need not).
func (s *Server) uploadRunArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := runID(q.Get("run_uuid"), q.Get("run_id"))
	if id == "" || q.Get("path") == "" {
		writeError(w, tracking.Errorf(tracking.InvalidParameterValue, "Request must specify run_uuid and path."))
		return
	}
	// A cross-site form can POST a simple body (form or text/plain) with
	// a browser's cached credentials; the web UI sends another type.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "" || mt == "text/plain" ||
		mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		writeError(w, tracking.Errorf(tracking.InvalidParameterValue,
			"Bad Request. Send the file with a Content-Type such as application/octet-stream, not %q.", mt))
		return
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	key, err := s.runArtifactKey(run.Info.ArtifactURI, q.Get("path"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.arts.Put(r.Context(), key, r.Body, r.ContentLength); err != nil {
		writeError(w, artifactError(err, key))
		return
	}
	writeJSON(w, &rest.Empty{})
}

// multipartUnsupported answers the multipart upload RPCs as MLflow does for
// an artifact repository without them; clients then upload in one PUT.
func multipartUnsupported(w http.ResponseWriter, r *http.Request) {
	writeError(w, tracking.Errorf(notImplemented, "Multipart upload is not supported for the current artifact repository"))
}
