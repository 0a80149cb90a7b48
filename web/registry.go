package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
)

type modelsPage struct {
	Models []tracking.RegisteredModel
}

func (u *UI) models(w http.ResponseWriter, r *http.Request) {
	var all []tracking.RegisteredModel
	token := ""
	for {
		ms, next, err := u.store.SearchRegisteredModels(r.Context(), tracking.SearchRegisteredModels{MaxResults: 1000, PageToken: token})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		all = append(all, ms...)
		if next == "" || len(all) >= 10000 {
			break
		}
		token = next
	}
	for i := range all {
		sortVersionsDesc(all[i].LatestVersions)
	}
	u.render(w, r, "models", page{Title: "Models", Nav: "models", Data: modelsPage{all}})
}

func sortVersionsDesc(vs []tracking.ModelVersion) {
	slices.SortFunc(vs, func(a, b tracking.ModelVersion) int {
		na, _ := strconv.Atoi(a.Version)
		nb, _ := strconv.Atoi(b.Version)
		return cmp.Compare(nb, na)
	})
}

type modelPage struct {
	Model    *tracking.RegisteredModel
	Versions []tracking.ModelVersion
	RunNames map[string]string
	History  []tracking.StageTransition // all versions, newest first
}

func (u *UI) model(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := u.store.GetRegisteredModel(ctx, r.PathValue("name"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := modelPage{Model: m, RunNames: map[string]string{}}
	token := ""
	for {
		vs, next, err := u.store.SearchModelVersions(ctx, tracking.SearchModelVersions{
			Filter: "name = " + quote(m.Name), OrderBy: []string{"version_number DESC"}, MaxResults: 1000, PageToken: token,
		})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		p.Versions = append(p.Versions, vs...)
		if next == "" || len(p.Versions) >= 5000 {
			break
		}
		token = next
	}
	for _, v := range p.Versions {
		u.noteRunName(ctx, p.RunNames, v.RunID)
		ts, err := u.store.GetStageTransitions(ctx, m.Name, v.Version)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		p.History = append(p.History, ts...)
	}
	slices.SortStableFunc(p.History, func(a, b tracking.StageTransition) int { return cmp.Compare(b.Timestamp, a.Timestamp) })
	u.render(w, r, "model", page{Title: m.Name, Nav: "models", Data: p})
}

func (u *UI) noteRunName(ctx context.Context, names map[string]string, runID string) {
	if runID == "" || names[runID] != "" {
		return
	}
	if run, err := u.store.GetRun(ctx, runID); err == nil {
		names[runID] = runName(run)
	}
}

type versionPage struct {
	Model   *tracking.RegisteredModel
	Version *tracking.ModelVersion
	Run     *tracking.Run
	History []tracking.StageTransition // newest first
	Report  *report
	Stages  []string // the stages it can move to
	// The transition form: who is signed in and whether the form is
	// usable, and what was sent when it was refused.
	AuthOn   bool
	User     string
	CanWrite bool
	Form     transitionForm
	Error    string
	Done     string
}

type transitionForm struct {
	Stage   string
	Comment string
	Archive bool
}

// report is a promotion report found for a version.
type report struct {
	Title   string
	Source  string // the URI or the run artifact it came from
	Preview *preview
	Error   string
}

func (u *UI) modelVersion(w http.ResponseWriter, r *http.Request) {
	p, err := u.versionPage(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("signin") != "" && p.AuthOn && p.User == "" {
		// Basic authentication: the challenge makes the browser ask for
		// a user and password, and send them from then on.
		w.Header().Set("WWW-Authenticate", `Basic realm="yolops", charset="UTF-8"`)
		u.fail(w, r, tracking.Errorf(tracking.Unauthenticated, "Sign in to change a model's stage."))
		return
	}
	if done := r.URL.Query().Get("done"); done != "" {
		p.Done = "Moved to " + done + "."
	}
	u.render(w, r, "version", page{Title: p.Model.Name + " v" + p.Version.Version, Nav: "models", Data: p})
}

func (u *UI) versionPage(r *http.Request) (*versionPage, error) {
	ctx := r.Context()
	name, version := r.PathValue("name"), r.PathValue("version")
	m, err := u.store.GetRegisteredModel(ctx, name)
	if err != nil {
		return nil, err
	}
	v, err := u.store.GetModelVersion(ctx, name, version)
	if err != nil {
		return nil, err
	}
	p := &versionPage{Model: m, Version: v, AuthOn: u.identify != nil, CanWrite: u.identify == nil}
	if u.identify != nil {
		p.User, p.CanWrite = u.identify(r)
		p.CanWrite = p.CanWrite && p.User != ""
	}
	for _, s := range tracking.Stages {
		if s != v.CurrentStage {
			p.Stages = append(p.Stages, s)
		}
	}
	if v.RunID != "" {
		if run, err := u.store.GetRun(ctx, v.RunID); err == nil {
			p.Run = run
		}
	}
	if p.History, err = u.store.GetStageTransitions(ctx, name, version); err != nil {
		return nil, err
	}
	slices.Reverse(p.History)
	p.Report = u.findReport(ctx, v, p.Run)
	return p, nil
}

// findReport looks for the version's promotion report: the artifact its
// yolops.report_uri tag names, else a report*.md or report*.html among
// the artifacts of the run it was registered from.
func (u *UI) findReport(ctx context.Context, v *tracking.ModelVersion, run *tracking.Run) *report {
	if uri := tagValue(v.Tags, tagReportURI); uri != "" {
		rep := &report{Title: "Promotion report", Source: uri}
		if rest, ok := strings.CutPrefix(uri, "runs:/"); ok {
			// runs:/<run_id>/<path>, MLflow's way to name a run's artifact.
			id, rel, _ := strings.Cut(rest, "/")
			rr, err := u.store.GetRun(ctx, id)
			if err == nil {
				err = checkRel(rel)
			}
			if err != nil {
				rep.Error = "The report at " + uri + " cannot be shown: " + err.Error()
				return rep
			}
			uri = strings.TrimSuffix(rr.Info.ArtifactURI, "/") + "/" + rel
			run = rr
		}
		if run != nil {
			base := strings.TrimSuffix(run.Info.ArtifactURI, "/") + "/"
			if rel, ok := strings.CutPrefix(uri, base); ok && checkRel(rel) == nil {
				if f, err := u.runFilesOf(run); err == nil {
					rep.Preview, err = buildPreview(ctx, f, run.Info.RunID, rel)
					if err != nil {
						rep.Error = "The report at " + uri + " cannot be shown: " + err.Error()
					}
					return rep
				}
			}
		}
		st, key, err := u.resolve(uri)
		if err == nil && key == "" {
			err = errors.New("it names a store's root")
		}
		if err != nil {
			rep.Error = "The report at " + uri + " cannot be shown: " + err.Error()
			return rep
		}
		// A report outside any run: previewed from its own folder, with
		// relative links served through /artifact.
		dir, file := path.Split(key)
		dirURI := strings.TrimSuffix(uri, file)
		rep.Preview, err = previewFile(ctx, runFiles{st, strings.TrimSuffix(dir, "/")}, file, "", func(rel string) string {
			return "/artifact?uri=" + url.QueryEscape(dirURI+rel)
		})
		if err != nil {
			rep.Error = "The report at " + uri + " cannot be shown: " + err.Error()
		}
		return rep
	}
	if run == nil {
		return nil
	}
	f, err := u.runFilesOf(run)
	if err != nil {
		return nil
	}
	infos, err := f.store.List(ctx, f.prefix, true)
	if err != nil {
		return nil
	}
	for _, in := range infos {
		rel := strings.TrimPrefix(in.Key, f.prefix+"/")
		base := strings.ToLower(path.Base(rel))
		kind := previewKind(base)
		if strings.Contains(base, "report") && (kind == "markdown" || kind == "html") {
			rep := &report{Title: "Promotion report", Source: rel}
			rep.Preview, err = buildPreview(ctx, f, run.Info.RunID, rel)
			if err != nil {
				rep.Error = err.Error()
			}
			return rep
		}
	}
	return nil
}

// transition handles the stage-change form. With authentication on, the
// user must be signed in (401 asks the browser to) and allowed to write
// (403 otherwise); a reason is required, and recorded with the user in
// the transition history.
func (u *UI) transition(w http.ResponseWriter, r *http.Request) {
	if u.identify != nil {
		user, canWrite := u.identify(r)
		if user == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="yolops", charset="UTF-8"`)
			u.fail(w, r, tracking.Errorf(tracking.Unauthenticated, "Sign in to change a model's stage."))
			return
		}
		if !canWrite {
			u.fail(w, r, tracking.Errorf(tracking.PermissionDenied, "User %s may read the registry but not change it.", user))
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, tracking.Errorf(tracking.MalformedRequest, "Bad form: %v", err))
		return
	}
	form := transitionForm{
		Stage:   r.PostForm.Get("stage"),
		Comment: strings.TrimSpace(r.PostForm.Get("comment")),
		Archive: r.PostForm.Get("archive") != "",
	}
	user := ""
	if u.identify != nil {
		user, _ = u.identify(r)
	}
	refuse := func(msg string) {
		p, err := u.versionPage(r)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		p.Form, p.Error = form, msg
		u.renderStatus(w, r, http.StatusBadRequest, "version", page{Title: p.Model.Name + " v" + p.Version.Version, Nav: "models", Data: p})
	}
	stage, err := tracking.CanonicalStage(form.Stage)
	switch {
	case err != nil:
		refuse(err.Error())
		return
	case form.Comment == "":
		refuse("Give a reason for the transition: it is kept in the history.")
		return
	}
	if form.Archive && stage != tracking.StageStaging && stage != tracking.StageProduction {
		form.Archive = false // only meaningful for the active stages
	}
	name, version := r.PathValue("name"), r.PathValue("version")
	_, err = u.store.TransitionModelVersionStage(r.Context(), tracking.TransitionStage{
		Name: name, Version: version, Stage: stage, ArchiveExistingVersions: form.Archive,
		UserID: user, Comment: form.Comment,
	})
	if err != nil {
		if code := tracking.CodeOf(err); code.HTTPStatus() == http.StatusBadRequest {
			refuse(err.Error())
			return
		}
		u.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/models/"+url.PathEscape(name)+"/versions/"+url.PathEscape(version)+"?done="+url.QueryEscape(stage), http.StatusSeeOther)
}
