package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/web/webtest"
)

// fixture is a UI over a store seeded with webtest.Seed.
type fixture struct {
	ui    *UI
	store *sqlstore.Store
	art   *artifacts.Local
	grid  *webtest.Grid
}

var base = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newFixture seeds a new store in dir.
func newFixture(tb testing.TB, dir string, identify func(*http.Request) (string, bool)) *fixture {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "mlflow.db"))
	if err != nil {
		tb.Fatal(err)
	}
	art, err := artifacts.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		tb.Fatal(err)
	}
	g, err := webtest.Seed(ctx, st, art, base)
	if err != nil {
		tb.Fatal(err)
	}
	ui, err := New(Options{Store: st, ArtifactRoots: []ArtifactRoot{{Prefix: webtest.ProxyPrefix, Store: art}}, Identify: identify})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{ui: ui, store: st, art: art, grid: g}
}

// The read-only tests share one seeded store: seeding draws the plots
// and takes a second.
var (
	sharedOnce sync.Once
	sharedFix  *fixture
	sharedDir  string
)

func shared(tb testing.TB) *fixture {
	sharedOnce.Do(func() {
		var err error
		if sharedDir, err = os.MkdirTemp("", "web-test-"); err != nil {
			tb.Fatal(err)
		}
		sharedFix = newFixture(tb, sharedDir, nil)
	})
	if sharedFix == nil {
		tb.Fatal("the shared fixture failed to seed")
	}
	return sharedFix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedFix != nil {
		sharedFix.store.Close()
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

func (f *fixture) get(tb testing.TB, target string, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.ui.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) runName(id string) string {
	for i, r := range f.grid.Runs {
		if r == id {
			return f.grid.Names[i]
		}
	}
	return ""
}

var rowRE = regexp.MustCompile(`<td class="name"><a href="/runs/([0-9a-f]+)">`)

// rows returns the run ids of a runs table, in order.
func rows(body string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// headers returns the column keys of a runs table.
func headers(body string) []string {
	var keys []string
	for _, m := range regexp.MustCompile(`<span class="entity">(\w+)</span>([^<]+)</span>`).FindAllStringSubmatch(body, -1) {
		keys = append(keys, m[1]+"."+m[2])
	}
	return keys
}

func TestPages(t *testing.T) {
	f := shared(t)
	g := f.grid
	best := f.runName(g.Best)
	cases := []struct {
		name    string
		target  string
		status  int
		want    []string
		notWant []string
	}{
		{"experiments", "/", 200, []string{"yolov8n-person-grid", "person-pipeline", "imgsz x lr0 x seed", `href="/experiments/` + g.Experiment + `"`}, nil},
		{"runs table", "/experiments/" + g.Experiment, 200,
			[]string{"yolov8n_e3_sz320_lr0.005_s42", "yolov8n_e3_sz416_lr0.01_s1", `name="run" value="` + g.Best + `"`, "Runs 1–8"},
			[]string{`rel="next"`, `rel="prev"`}},
		{"bad filter", "/experiments/" + g.Experiment + "?filter=" + url.QueryEscape("metrics.mAP50-95B > 1"), 400,
			[]string{"This filter cannot be run", "quote keys with special characters"}, nil},
		{"unknown experiment", "/experiments/999", 404, []string{"No Experiment with id=999"}, nil},
		{"run page", "/runs/" + g.Best, 200,
			[]string{best, "imgsz", "416", "metrics/mAP50-95B", `id="chart-data"`, `data-path="results.png"`, `data-path="promotion/report.md"`,
				`data-path="weights/best.safetensors"`, "yolov8n-person v3", "Validation scores", "Training losses"}, nil},
		{"run page with preview", "/runs/" + g.Best + "?artifact=args.yaml", 200, []string{"imgsz: 416", `<pre class="lang-yaml">`}, nil},
		{"unknown run", "/runs/0123456789abcdef0123456789abcdef", 404, []string{"0123456789abcdef0123456789abcdef"}, nil},
		{"preview csv", "/runs/" + g.Best + "/preview?path=results.csv", 200,
			[]string{"<th>metrics/mAP50(B)</th>", "<th>epoch</th>", `<td class="num">3</td>`}, []string{"<html"}},
		{"preview markdown", "/runs/" + g.Best + "/preview?path=promotion/report.md", 200,
			[]string{"<h1>Promotion report: yolov8n-person v3</h1>", "<table>", `src="/runs/` + g.Best + `/files/results.png"`}, nil},
		{"preview image", "/runs/" + g.Best + "/preview?path=PR_curve.png", 200, []string{`<img src="/runs/` + g.Best + `/files/PR_curve.png"`}, nil},
		{"preview binary", "/runs/" + g.Best + "/preview?path=weights/best.safetensors", 200, []string{"A binary file"}, nil},
		{"preview folder", "/runs/" + g.Best + "/preview?path=weights", 200, []string{"best.safetensors", "last.safetensors"}, nil},
		{"preview missing", "/runs/" + g.Best + "/preview?path=nope.txt", 404, []string{"No artifact"}, nil},
		{"preview escape", "/runs/" + g.Best + "/preview?path=" + url.QueryEscape("../../etc/passwd"), 400, []string{"path segment"}, nil},
		{"compare", "/compare?run=" + strings.Join(g.Runs, "&run="), 200,
			[]string{"Compare 8 runs", `<tr class="differs"><td class="key">imgsz</td>`, `<tr class="differs"><td class="key">seed</td>`,
				`<option value="params.imgsz" selected>`, `<option value="metrics.metrics/mAP50B" selected>`, `<option value="params.seed" selected>`},
			[]string{`<tr class="differs"><td class="key">batch</td>`}},
		{"compare one", "/compare?run=" + g.Runs[0], 400, []string{"Compare takes 2 to 10 runs"}, nil},
		{"compare eleven", "/compare?run=" + strings.Repeat(g.Runs[0]+",", 1) + "a,b,c,d,e,f,g,h,i,j", 400, []string{"11 given"}, nil},
		{"models", "/models", 200, []string{"yolov8n-person", "Production", "Staging", "@champion → v3", "@challenger → v2"}, nil},
		{"model", "/models/yolov8n-person", 200,
			[]string{"Passed the promotion gate; see the report.", "archive_existing_versions: version 3 moved to Production", "alice", "bob", `href="/runs/` + g.Best + `"`}, nil},
		{"version with report", "/models/yolov8n-person/versions/3", 200,
			[]string{"Promotion report: yolov8n-person v3", "Move v3 from Production to", `name="comment"`, "Passed the promotion gate"}, []string{" disabled"}},
		{"unknown model", "/models/nope", 404, nil, nil},
		{"pipelines", "/pipelines", 200, []string{"person-1", "person-2", "3 executed, 2 cached", "5 executed, 0 cached"}, nil},
		{"pipeline run", "/runs/" + g.PipelineRuns[1], 200,
			[]string{`<svg class="dag"`, "3 steps executed, 2 cached", `href="/runs/` + g.Steps["split"] + `"`}, nil},
		{"cached step", "/runs/" + g.Steps["split"], 200, []string{"reused the outputs of", "person-1.split", "prepare.dataset"}, nil},
		{"executed step", "/runs/" + g.Steps["train"], 200, []string{"Executed (step version 1)", `href="/runs/` + g.Steps["train"] + `?artifact=outputs%2Fweights.json#artifacts"`}, nil},
		{"no page", "/nope", 404, []string{"No page at /nope"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := f.get(t, c.target)
			body := rec.Body.String()
			if rec.Code != c.status {
				t.Fatalf("GET %s: status %d, want %d; body:\n%.2000s", c.target, rec.Code, c.status, body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in the page", c.target, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: %q in the page", c.target, w)
				}
			}
			if strings.Contains(body, "ZgotmplZ") {
				t.Errorf("GET %s: html/template rejected a value (ZgotmplZ)", c.target)
			}
			if ct := rec.Header().Get("Content-Security-Policy"); !strings.Contains(ct, "script-src 'self'") {
				t.Errorf("GET %s: CSP %q", c.target, ct)
			}
		})
	}
}

func TestRunsTableColumns(t *testing.T) {
	f := shared(t)
	path := "/experiments/" + f.grid.Experiment
	cases := []struct {
		name    string
		query   string
		want    []string // the columns, in order
		rows    int
		first   string // name of the first run, "" for any
		headers []string
	}{
		{name: "default: varying params then metrics", query: "", rows: 8,
			want: []string{"params.imgsz", "params.lr0", "params.seed", "metrics.metrics/mAP50-95B", "metrics.metrics/mAP50B",
				"metrics.metrics/precisionB", "metrics.metrics/recallB", "metrics.val/box_loss", "metrics.val/cls_loss", "metrics.val/dfl_loss", "metrics.train/box_loss"}},
		{name: "a filtered column stays", query: "filter=" + url.QueryEscape("params.imgsz = '416'"), rows: 4,
			want: []string{"params.imgsz", "params.lr0", "params.seed", "metrics.metrics/mAP50-95B", "metrics.metrics/mAP50B",
				"metrics.metrics/precisionB", "metrics.metrics/recallB", "metrics.val/box_loss", "metrics.val/cls_loss", "metrics.val/dfl_loss", "metrics.train/box_loss"}},
		{name: "chosen columns", query: "c=params.optimizer&c=metrics.lr/pg0&c=tags.grid", rows: 8,
			want: []string{"params.optimizer", "metrics.lr/pg0", "tags.grid"}},
		{name: "sorted by a metric, best first", query: "order=" + url.QueryEscape("metrics.`metrics/mAP50B` DESC"), rows: 8, first: f.runName(f.grid.Best)},
		{name: "sorted by a param", query: "order=" + url.QueryEscape("params.`imgsz` ASC") + "&filter=" + url.QueryEscape("params.seed = '1'"), rows: 4, first: "yolov8n_e3_sz320_lr0.01_s1"}, // ties: newest first
		{name: "filter on a metric", query: "filter=" + url.QueryEscape("metrics.`metrics/mAP50B` > 0.42"), rows: 4},
		{name: "bad column is left out", query: "c=bogus&c=params.imgsz", rows: 8, want: []string{"params.imgsz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := f.get(t, path+"?"+c.query)
			body := rec.Body.String()
			if rec.Code != 200 {
				t.Fatalf("status %d: %.1000s", rec.Code, body)
			}
			ids := rows(body)
			if len(ids) != c.rows {
				t.Errorf("%d rows, want %d", len(ids), c.rows)
			}
			if c.want != nil {
				if got := headers(body); strings.Join(got, " ") != strings.Join(c.want, " ") {
					t.Errorf("columns\n%v\nwant\n%v", got, c.want)
				}
			}
			if c.first != "" && (len(ids) == 0 || f.runName(ids[0]) != c.first) {
				t.Errorf("first row %v, want %s", ids, c.first)
			}
		})
	}
}

// TestRunsTablePaging checks the pages of a table of 230 runs: sizes,
// order across pages, and the Next and Previous links.
func TestRunsTablePaging(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	exp, err := f.store.GetExperimentByName(ctx, "paging")
	if err != nil {
		id, err := webtest.SeedScale(ctx, f.store, "paging", 230, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		exp = &tracking.Experiment{ExperimentID: id}
	}
	target := "/experiments/" + exp.ExperimentID + "?order=" + url.QueryEscape("attributes.run_name ASC")
	var seen []string
	linkRE := regexp.MustCompile(`<a class="button" href="([^"]+)" rel="(next|prev)">`)
	var prev string
	for page := 1; target != ""; page++ {
		rec := f.get(t, target)
		if rec.Code != 200 {
			t.Fatalf("page %d: status %d", page, rec.Code)
		}
		body := rec.Body.String()
		ids := rows(body)
		want := 100
		if page == 3 {
			want = 30
		}
		if len(ids) != want {
			t.Fatalf("page %d: %d rows, want %d", page, len(ids), want)
		}
		seen = append(seen, ids...)
		links := map[string]string{}
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			links[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if (page > 1) != (links["prev"] != "") {
			t.Errorf("page %d: previous link %q", page, links["prev"])
		}
		if page > 1 {
			// Previous leads back to the page before.
			back := rows(f.get(t, links["prev"]).Body.String())
			if len(back) != 100 || back[0] != prev {
				t.Errorf("page %d: previous page starts with %v, want %s", page, back[:min(len(back), 1)], prev)
			}
		}
		if len(ids) > 0 {
			prev = ids[0]
		}
		target = links["next"]
		if page > 3 {
			t.Fatal("more than 3 pages")
		}
	}
	if len(seen) != 230 {
		t.Fatalf("%d runs over the pages, want 230", len(seen))
	}
	names := map[string]bool{}
	last := ""
	for _, id := range seen {
		run, err := f.store.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if names[run.Info.RunName] || run.Info.RunName < last {
			t.Fatalf("run %s out of order or repeated after %s", run.Info.RunName, last)
		}
		names[run.Info.RunName], last = true, run.Info.RunName
	}
	if rec := f.get(t, "/experiments/"+exp.ExperimentID+"?n=1001"); !strings.Contains(rec.Body.String(), "is not a number from 1 to 1000") {
		t.Error("page size 1001 is not refused")
	}
}

func TestChartData(t *testing.T) {
	f := shared(t)
	body := f.get(t, "/compare?run="+f.grid.Runs[0]+"&run="+f.grid.Runs[7]).Body.String()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-data">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no chart data")
	}
	var data struct {
		Runs    []chartRun
		Metrics map[string][][3][]*float64
	}
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Runs) != 2 || data.Runs[0].Name != f.grid.Names[0] || data.Runs[1].Color != palette[1] {
		t.Errorf("runs %+v", data.Runs)
	}
	if len(data.Metrics) != len(webtest.MetricKeys) {
		t.Errorf("%d metrics, want %d", len(data.Metrics), len(webtest.MetricKeys))
	}
	h := data.Metrics["metrics/mAP50B"]
	if len(h) != 2 || len(h[0][0]) != webtest.Epochs || len(h[1][2]) != webtest.Epochs {
		t.Fatalf("mAP50 history %v", h)
	}
	for i := range webtest.Epochs {
		if *h[0][0][i] != float64(i) {
			t.Errorf("step %d is %v", i, *h[0][0][i])
		}
	}
	if *h[1][2][2] <= *h[0][2][2] {
		t.Errorf("the 416 run's final mAP50 %v is not above the 320 run's %v", *h[1][2][2], *h[0][2][2])
	}
}

func TestArtifactFile(t *testing.T) {
	f := shared(t)
	rec := f.get(t, "/runs/"+f.grid.Best+"/files/results.png")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(rec.Body.String(), "\x89PNG") {
		t.Fatalf("results.png: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
		t.Errorf("an artifact is served without a sandbox: %q", csp)
	}
	rec = f.get(t, "/runs/"+f.grid.Best+"/files/promotion/report.md?download=1")
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename=report.md` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Markdown served as %q", ct)
	}
	for _, p := range []string{"../../../etc/passwd", "a/../../b", "%2e%2e/x", "a%2f..%2f..%2fb"} {
		rec := f.get(t, "/runs/"+f.grid.Best+"/files/"+p)
		switch {
		case rec.Code == 400 || rec.Code == 404:
		case rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusMovedPermanently:
			// The mux cleans ".." out of the path and redirects to the
			// clean path, on this server: it reads nothing.
			if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Errorf("GET files/%s: redirected to %s", p, loc)
			}
		default:
			t.Errorf("GET files/%s: status %d", p, rec.Code)
		}
	}
	run, _ := f.store.GetRun(context.Background(), f.grid.Best)
	uri := run.Info.ArtifactURI + "/args.yaml"
	if rec := f.get(t, "/artifact?uri="+url.QueryEscape(uri)); rec.Code != 200 || !strings.Contains(rec.Body.String(), "imgsz: 416") {
		t.Errorf("GET /artifact?uri=%s: %d", uri, rec.Code)
	}
	for _, uri := range []string{"file:///etc/passwd", "s3://bucket/x", "mlflow-artifacts:/", "mlflow-artifacts:/../x"} {
		if rec := f.get(t, "/artifact?uri="+url.QueryEscape(uri)); rec.Code != 404 && rec.Code != 400 {
			t.Errorf("GET /artifact?uri=%s: %d, want 400 or 404", uri, rec.Code)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	f := shared(t)
	src, err := f.ui.assets.url("app.js")
	if err != nil {
		t.Fatal(err)
	}
	rec := f.get(t, src, "Accept-Encoding", "gzip, br")
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d %v", src, rec.Code, rec.Header())
	}
	if n := rec.Body.Len(); n >= len(f.ui.assets.files["app.js"].body) {
		t.Errorf("gzip body %d bytes, not smaller", n)
	}
	etag := rec.Header().Get("ETag")
	if rec := f.get(t, src, "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d", rec.Code)
	}
	if rec := f.get(t, "/static/app.js"); rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("unversioned, no gzip asked: %v", rec.Header())
	}
	// Every page links the versioned assets.
	body := f.get(t, "/").Body.String()
	if !strings.Contains(body, src) {
		t.Errorf("the page does not link %s", src)
	}
}

// postTransition sends the stage form.
func postTransition(f *fixture, version string, form url.Values, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/models/yolov8n-person/versions/"+version+"/stage", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.ui.ServeHTTP(rec, req)
	return rec
}

func TestTransition(t *testing.T) {
	users := map[string]bool{"alice": true, "viewer": false}
	identify := func(r *http.Request) (string, bool) {
		u, _, ok := r.BasicAuth()
		if !ok {
			return "", false
		}
		w, known := users[u]
		if !known {
			return "", false
		}
		return u, w
	}
	f := newFixture(t, t.TempDir(), identify)
	defer f.store.Close()
	ctx := context.Background()
	stage := func() string {
		mv, err := f.store.GetModelVersion(ctx, "yolov8n-person", "2")
		if err != nil {
			t.Fatal(err)
		}
		return mv.CurrentStage
	}
	good := url.Values{"stage": {"Production"}, "comment": {"beats v3 on person-val"}, "archive": {"on"}}
	auth := func(user string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.SetBasicAuth(user, "pw")
		return req.Header.Get("Authorization")
	}
	cases := []struct {
		name   string
		form   url.Values
		header []string
		status int
		want   string
	}{
		{"anonymous", good, nil, 401, "Sign in"},
		{"read-only user", good, []string{"Authorization", auth("viewer")}, 403, "may read the registry but not change it"},
		{"cross-origin", good, []string{"Authorization", auth("alice"), "Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"no reason", url.Values{"stage": {"Production"}, "comment": {"  "}}, []string{"Authorization", auth("alice")}, 400, "Give a reason"},
		{"bad stage", url.Values{"stage": {"Prod"}, "comment": {"x"}}, []string{"Authorization", auth("alice")}, 400, "Prod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := postTransition(f, "2", c.form, c.header...)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
				t.Fatalf("status %d, want %d with %q: %.1500s", rec.Code, c.status, c.want, rec.Body.String())
			}
			if c.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic") {
				t.Error("401 without a Basic challenge")
			}
			if got := stage(); got != "Staging" {
				t.Fatalf("a refused transition moved v2 to %s", got)
			}
		})
	}
	// The refused form keeps what was typed.
	rec := postTransition(f, "2", url.Values{"stage": {"Archived"}, "comment": {""}}, "Authorization", auth("alice"))
	if !strings.Contains(rec.Body.String(), "<option selected>Archived</option>") {
		t.Error("the refused form does not keep the chosen stage")
	}

	rec = postTransition(f, "2", good, "Authorization", auth("alice"), "Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/models/yolov8n-person/versions/2?done=Production" {
		t.Fatalf("transition: %d %q: %.1000s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	if got := stage(); got != "Production" {
		t.Fatalf("v2 is in %s after the transition", got)
	}
	ts, err := f.store.GetStageTransitions(ctx, "yolov8n-person", "2")
	if err != nil {
		t.Fatal(err)
	}
	last := ts[len(ts)-1]
	if last.UserID != "alice" || last.Comment != "beats v3 on person-val" || last.FromStage != "Staging" || last.ToStage != "Production" {
		t.Errorf("recorded transition %+v", last)
	}
	v3, _ := f.store.GetModelVersion(ctx, "yolov8n-person", "3")
	if v3.CurrentStage != "Archived" {
		t.Errorf("archive: v3 is in %s", v3.CurrentStage)
	}
	page := f.get(t, "/models/yolov8n-person/versions/2?done=Production", "Authorization", auth("alice")).Body.String()
	for _, w := range []string{"Moved to Production.", "Signed in as <b>alice</b>", "beats v3 on person-val"} {
		if !strings.Contains(page, w) {
			t.Errorf("version page after the transition lacks %q", w)
		}
	}
	// Read-only and anonymous users see the form disabled.
	if page := f.get(t, "/models/yolov8n-person/versions/2", "Authorization", auth("viewer")).Body.String(); !strings.Contains(page, " disabled>") {
		t.Error("the form is enabled for a read-only user")
	}
	if rec := f.get(t, "/models/yolov8n-person/versions/2?signin=1"); rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("sign-in link: %d", rec.Code)
	}
}

func TestTransitionWithoutAuth(t *testing.T) {
	f := newFixture(t, t.TempDir(), nil)
	defer f.store.Close()
	rec := postTransition(f, "1", url.Values{"stage": {"staging"}, "comment": {"retry the baseline"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d: %.1000s", rec.Code, rec.Body.String())
	}
	ts, _ := f.store.GetStageTransitions(context.Background(), "yolov8n-person", "1")
	if last := ts[len(ts)-1]; last.ToStage != "Staging" || last.UserID != "" || last.Comment != "retry the baseline" {
		t.Errorf("recorded %+v", last)
	}
}

func TestResolve(t *testing.T) {
	a, _ := artifacts.NewLocal(t.TempDir())
	b, _ := artifacts.NewLocal(t.TempDir())
	u := &UI{roots: []ArtifactRoot{{Prefix: "mlflow-artifacts:/", Store: a}, {Prefix: "s3://bucket/runs", Store: b}, {Prefix: "s3://bucket/runs/special", Store: a}}}
	cases := []struct {
		uri   string
		store artifacts.Store
		key   string
		code  tracking.ErrorCode
	}{
		{"mlflow-artifacts:/1/abc/artifacts", a, "1/abc/artifacts", ""},
		{"mlflow-artifacts:/", a, "", ""},
		{"s3://bucket/runs/1/x", b, "1/x", ""},
		{"s3://bucket/runs", b, "", ""},
		{"s3://bucket/runs/special/y", a, "y", ""},
		{"s3://bucket/runs2/x", nil, "", tracking.ResourceDoesNotExist},
		{"file:///etc/passwd", nil, "", tracking.ResourceDoesNotExist},
		{"mlflow-artifacts:/1/../../x", nil, "", tracking.InvalidParameterValue},
		{"mlflow-artifacts:/a//b", nil, "", tracking.InvalidParameterValue},
	}
	for _, c := range cases {
		st, key, err := u.resolve(c.uri)
		if tracking.CodeOf(err) != c.code || key != c.key || st != c.store {
			t.Errorf("resolve(%q) = %v, %q, %v; want %v, %q, code %q", c.uri, st, key, err, c.store, c.key, c.code)
		}
	}
}

func TestRenderMarkdown(t *testing.T) {
	link := func(rel string) string { return "/runs/r/files/" + escapePath(rel) }
	cases := []struct {
		dir, src string
		want     []string
		notWant  []string
	}{
		{"promotion", "![r](../results.png)", []string{`<img src="/runs/r/files/results.png" alt="r">`}, nil},
		{"promotion", "![r](plots/pr%20curve.png)", []string{`src="/runs/r/files/promotion/plots/pr%20curve.png"`}, nil},
		{"", "![r](../../../../etc/passwd)", []string{`src="/runs/r/files/etc/passwd"`}, nil},
		{"", "[doc](https://example.com/x) [top](#top) [abs](/models)", []string{`href="https://example.com/x"`, `href="#top"`, `href="/models"`}, nil},
		{"", "[x](javascript:alert(1))", nil, []string{"javascript:"}},
		{"", "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>", []string{"raw HTML omitted"}, []string{"<script", "onerror"}},
		{"", "| a | b |\n|---|--:|\n| 1 | 2 |", []string{"<table>", `<td style="text-align:right">2</td>`}, nil},
	}
	for _, c := range cases {
		html, err := renderMarkdown([]byte(c.src), c.dir, link)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(html), w) {
				t.Errorf("render(%q) = %s, want %q in it", c.src, html, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(string(html), w) {
				t.Errorf("render(%q) = %s, has %q", c.src, html, w)
			}
		}
	}
}

func TestFormatNumber(t *testing.T) {
	cases := map[float64]string{
		0: "0", 0.018344: "0.01834", 3.4567: "3.457", 1234.56: "1235", 416: "416", -2.5: "-2.5",
		0.00068: "0.00068", 1e-5: "1.000e-05", 2.5e6: "2.500e+06",
	}
	for v, want := range cases {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestLayoutDAG(t *testing.T) {
	mk := func(name string, up ...string) *dagNode { return &dagNode{Name: name, Upstream: up} }
	cases := []struct {
		name  string
		nodes []*dagNode
		edges int
		cols  int
	}{
		{"chain with a fork", []*dagNode{mk("prepare"), mk("split", "prepare"), mk("train", "split"), mk("evaluate", "train", "split"), mk("register", "evaluate")}, 5, 5},
		{"two sources", []*dagNode{mk("a"), mk("b"), mk("c", "a", "b")}, 2, 2},
		{"a cycle does not hang", []*dagNode{mk("a", "b"), mk("b", "a")}, 2, 0},
		{"unknown upstream", []*dagNode{mk("a", "ghost")}, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &dagView{Nodes: c.nodes}
			byName := map[string]*dagNode{}
			for _, n := range c.nodes {
				byName[n.Name] = n
			}
			layoutDAG(d, byName)
			if len(d.Edges) != c.edges {
				t.Errorf("%d edges, want %d", len(d.Edges), c.edges)
			}
			if want := 2*dagPad + c.cols*nodeW + (c.cols-1)*gapX; c.cols > 0 && d.Width != want {
				t.Errorf("width %d, want %d (%d columns)", d.Width, want, c.cols)
			}
			if c.name == "a cycle does not hang" {
				return
			}
			// evaluate skips a layer to reach split: its edge arcs over
			// train, in a band above the nodes.
			skips := c.name == "chain with a fork"
			if want := 2*dagPad + nodeH; skips {
				want += arcBand
				if d.Height != want || !strings.Contains(d.Edges[3].Path+d.Edges[2].Path, fmt.Sprintf(" %d, ", dagPad+6)) {
					t.Errorf("height %d (want %d), edges %+v: no arc above the nodes", d.Height, want, d.Edges)
				}
			}
			for _, n := range d.Nodes {
				for _, up := range n.Upstream {
					if u := byName[up]; u != nil && u.X >= n.X {
						t.Errorf("%s (x %d) is not right of its upstream %s (x %d)", n.Name, n.X, up, u.X)
					}
				}
			}
		})
	}
}

func TestScatter(t *testing.T) {
	f := shared(t)
	var runs []compareRun
	for _, id := range f.grid.Runs {
		r, _ := f.store.GetRun(context.Background(), id)
		runs = append(runs, compareRun{Run: r, Name: runName(r)})
	}
	s := buildScatter(runs, column{"params", "imgsz"}, column{"metrics", "metrics/mAP50B"}, column{"params", "seed"})
	if len(s.Points) != 8 || len(s.Legend) != 2 || s.Legend[0].Label != "1" || s.Legend[1].Label != "42" {
		t.Fatalf("%d points, legend %+v", len(s.Points), s.Legend)
	}
	// imgsz has two values: two tick columns at their values.
	if len(s.XTicks) != 2 || s.XTicks[0].Label != "320" || s.XTicks[1].Label != "416" {
		t.Errorf("x ticks %+v", s.XTicks)
	}
	for _, p := range s.Points {
		if p.X < 0 || p.X > float64(s.PlotW) || p.Y < 0 || p.Y > float64(s.PlotH) {
			t.Errorf("point %+v outside the plot %dx%d", p, s.PlotW, s.PlotH)
		}
	}
	// Higher mAP50 is drawn higher (smaller y) for the 416 runs.
	var y320, y416 float64
	for i, p := range s.Points {
		if strings.Contains(runs[i].Name, "sz416") {
			y416 += p.Y
		} else {
			y320 += p.Y
		}
	}
	if y416 >= y320 {
		t.Errorf("416 runs drawn below the 320 ones (%v >= %v)", y416, y320)
	}
	for _, tk := range s.YTicks {
		if tk.Pos < 0 || tk.Pos > float64(s.PlotH) {
			t.Errorf("y tick %+v outside the plot", tk)
		}
	}
	if len(s.YTicks) < 3 {
		t.Errorf("only %d y ticks", len(s.YTicks))
	}
	// A run without the value is listed, not plotted.
	s = buildScatter(runs, column{"params", "nope"}, column{"metrics", "metrics/mAP50B"}, column{})
	if len(s.Points) != 0 || len(s.Missing) != 8 {
		t.Errorf("missing x: %d points, %d missing", len(s.Points), len(s.Missing))
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a store succeeded")
	}
	f := shared(t)
	if _, err := New(Options{Store: f.store, ArtifactRoots: []ArtifactRoot{{Prefix: "", Store: f.art}}}); err == nil {
		t.Error("New with an empty artifact root prefix succeeded")
	}
}

// FuzzRunsTableQuery sends any query to the runs table: bad input is a
// 200 with a warning or a 400 that says why, never a 500 or a panic.
func FuzzRunsTableQuery(f *testing.F) {
	f.Add("metrics.`metrics/mAP50B` > 0.3", "params.imgsz DESC", "params.imgsz", "100", "")
	f.Add("params.x = 'a''b'", "metrics.`a b` ASC", "metrics.", "0", "eyJvZmZzZXQiOiAxfQ==")
	f.Add("tags.`mlflow.runName` LIKE '%s4%'", "", "tags.`x", "-1", "!!")
	fx := shared(f)
	f.Fuzz(func(t *testing.T, filter, order, col, n, page string) {
		q := url.Values{"filter": {filter}, "order": {order}, "c": {col}, "n": {n}, "page": {page}}
		rec := fx.get(t, "/experiments/"+fx.grid.Experiment+"?"+q.Encode())
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("query %v: status %d: %.500s", q, rec.Code, rec.Body.String())
		}
	})
}

// FuzzArtifactPath asks for any artifact path: the answer is a preview, a
// 400 for a path that is not a clean key, or a 404, never a 500.
func FuzzArtifactPath(f *testing.F) {
	for _, s := range []string{"results.csv", "weights", "../x", "a/./b", "promotion/report.md", "/etc/passwd", "x\x00y"} {
		f.Add(s)
	}
	fx := shared(f)
	f.Fuzz(func(t *testing.T, p string) {
		rec := fx.get(t, "/runs/"+fx.grid.Best+"/preview?path="+url.QueryEscape(p))
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 404 {
			t.Fatalf("path %q: status %d", p, rec.Code)
		}
	})
}

var (
	unsafeURL   = regexp.MustCompile(`(href|src)="\s*(javascript|vbscript|data:text/html)`)
	handlerAttr = regexp.MustCompile(`<[a-z][^>]*\son[a-z]+=`)
)

// FuzzMarkdown renders any document: no panic, and no script or event
// handler gets through.
func FuzzMarkdown(f *testing.F) {
	f.Add("# t\n![a](../b.png)\n<script>x</script>", "promotion")
	f.Add("[x](javascript:alert(1)) <a onclick=1>", "")
	f.Fuzz(func(t *testing.T, src, dir string) {
		html, err := renderMarkdown([]byte(src), dir, func(rel string) string { return "/f/" + escapePath(rel) })
		if err != nil {
			t.Fatal(err)
		}
		low := strings.ToLower(string(html))
		if strings.Contains(low, "<script") || unsafeURL.MatchString(low) || handlerAttr.MatchString(low) {
			t.Fatalf("render(%q) let through: %s", src, html)
		}
	})
}
