package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/server"
	"github.com/yolops/yolops/tracking/server/servertest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		name, uri string
		vars      map[string]string
		db, arts  string // files that must exist after a run logs an artifact, relative to dir
	}{
		{"default: the working directory", "", nil, DefaultDB, DefaultArtifacts},
		{"MLFLOW_TRACKING_URI", "", map[string]string{"MLFLOW_TRACKING_URI": "fromenv"}, "fromenv/" + DefaultDB, "fromenv/" + DefaultArtifacts},
		{"plain path", "runs/mlflow", nil, "runs/mlflow/" + DefaultDB, "runs/mlflow/" + DefaultArtifacts},
		{"file URI", "file://" + filepath.Join(dir, "abs"), nil, "abs/" + DefaultDB, "abs/" + DefaultArtifacts},
		{"sqlite URI", "sqlite:///db/track.db", nil, "db/track.db", "db/" + DefaultArtifacts},
		{"sqlite URI with a destination", "sqlite:///db2/track.db", map[string]string{"MLFLOW_ARTIFACTS_DESTINATION": filepath.Join(dir, "dest")}, "db2/track.db", "dest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.uri == "" || strings.HasPrefix(tt.uri, "sqlite") {
				os.MkdirAll("db", 0o777)
				os.MkdirAll("db2", 0o777)
			}
			c, err := openEnv(ctx, tt.uri, env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			exp, err := c.GetOrCreateExperiment(ctx, "e")
			if err != nil {
				t.Fatal(err)
			}
			run, err := c.StartRun(ctx, exp, "r", nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := "mlflow-artifacts:/" + exp + "/" + run.Info.RunID + "/artifacts"; run.Info.ArtifactURI != want {
				t.Errorf("artifact URI %q, want %q", run.Info.ArtifactURI, want)
			}
			f := filepath.Join(t.TempDir(), "args.yaml")
			os.WriteFile(f, []byte("epochs: 3\n"), 0o644)
			if err := c.LogArtifact(ctx, run.Info.RunID, f, ""); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{tt.db, filepath.Join(tt.arts, exp, run.Info.RunID, "artifacts", "args.yaml")} {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
		})
	}
	for _, bad := range []string{"databricks://profile", "file:relative/path", "ftp://host/x"} {
		if c, err := openEnv(ctx, bad, env(nil)); err == nil {
			c.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

// backends returns a Client of each kind: embedded in a folder, and over
// HTTP to a server.
func backends(t *testing.T) map[string]*Client {
	t.Helper()
	emb, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	ts := servertest.Start(t, servertest.Options{})
	remote, err := openEnv(context.Background(), ts.URL, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	return map[string]*Client{"embedded": emb, "server": remote}
}

func TestClient(t *testing.T) {
	for name, c := range backends(t) {
		t.Run(name, func(t *testing.T) {
			testClient(t, c)
		})
	}
}

func testClient(t *testing.T, c *Client) {
	ctx := context.Background()
	exp, err := c.GetOrCreateExperiment(ctx, "person-detector")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.GetOrCreateExperiment(ctx, "person-detector"); err != nil || again != exp {
		t.Fatalf("second GetOrCreateExperiment = %q, %v; want %q", again, err, exp)
	}
	run, err := c.StartRun(ctx, exp, "train-320", []tracking.Tag{{Key: "source", Value: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID

	// More than one batch of each.
	var params []tracking.Param
	for i := range 250 {
		params = append(params, tracking.Param{Key: fmt.Sprintf("p%03d", i), Value: fmt.Sprint(i)})
	}
	if err := c.LogParams(ctx, id, params); err != nil {
		t.Fatal(err)
	}
	var metrics []tracking.Metric
	for epoch := range 2500 {
		metrics = append(metrics, tracking.Metric{Key: "train/box_loss", Value: 3 - float64(epoch)/1000, Step: int64(epoch)})
	}
	if err := c.LogMetrics(ctx, id, metrics); err != nil {
		t.Fatal(err)
	}
	var tags []tracking.Tag
	for i := range 150 {
		tags = append(tags, tracking.Tag{Key: fmt.Sprint("t", i), Value: "v"})
	}
	if err := c.SetTags(ctx, id, tags); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data.Params) != 250 || len(got.Data.Tags) < 150 || len(got.Data.Metrics) != 1 || got.Data.Metrics[0].Step != 2499 {
		t.Errorf("run has %d params, %d tags, metrics %+v", len(got.Data.Params), len(got.Data.Tags), got.Data.Metrics)
	}
	history, _, err := c.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: id, MetricKey: "train/box_loss"})
	if err != nil || len(history) != 2500 || history[0].Timestamp == 0 {
		t.Errorf("history: %d points, %v (first %+v)", len(history), err, history[:min(1, len(history))])
	}

	// Artifacts: a file, a folder keeping its name, a folder's contents.
	src := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(src, rel)
		os.MkdirAll(filepath.Dir(p), 0o777)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("weights/best.pt", "best weights")
	write("weights/last.pt", "last weights")
	write("plots/results.png", "png")
	write("plots/sub/F1_curve.png", "f1")
	write("args.yaml", "epochs: 3\n")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.LogArtifact(ctx, id, filepath.Join(src, "weights"), ""))
	must(c.LogArtifact(ctx, id, filepath.Join(src, "args.yaml"), "config"))
	must(c.LogArtifacts(ctx, id, filepath.Join(src, "plots"), ""))
	list, err := c.ListArtifacts(ctx, id, "")
	must(err)
	var names []string
	for _, a := range list {
		names = append(names, fmt.Sprintf("%s:%v", a.Key, a.Dir))
	}
	if want := "config:true results.png:false sub:true weights:true"; strings.Join(names, " ") != want {
		t.Errorf("artifacts at the root: %s, want %s", strings.Join(names, " "), want)
	}
	sub, err := c.ListArtifacts(ctx, id, "weights")
	must(err)
	if len(sub) != 2 || sub[0].Key != "weights/best.pt" || sub[0].Size != int64(len("best weights")) {
		t.Errorf("weights/: %+v", sub)
	}
	dst := filepath.Join(t.TempDir(), "out", "best.pt")
	must(c.DownloadArtifact(ctx, id, "weights/best.pt", dst))
	if b, err := os.ReadFile(dst); err != nil || string(b) != "best weights" {
		t.Errorf("downloaded %q, %v", b, err)
	}
	if err := c.DownloadArtifact(ctx, id, "weights/none.pt", dst); tracking.CodeOf(err) != tracking.ResourceDoesNotExist {
		t.Errorf("download of a missing artifact: %v", err)
	}

	must(c.SetTerminated(ctx, id, tracking.RunFinished))
	got, err = c.GetRun(ctx, id)
	must(err)
	if got.Info.Status != tracking.RunFinished || got.Info.EndTime == 0 {
		t.Errorf("after SetTerminated: %+v", got.Info)
	}
	found, _, err := c.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp}, Filter: `metrics."train/box_loss" < 1 and params.p001 = '1'`})
	must(err)
	if len(found) != 1 || found[0].Info.RunID != id {
		t.Errorf("search found %d runs", len(found))
	}

	// Promotion: a model, a version from the run, a stage and an alias.
	_, err = c.CreateRegisteredModel(ctx, "person-detector", nil, "YOLOv8n, person only")
	must(err)
	mv, err := c.CreateModelVersion(ctx, tracking.CreateModelVersion{Name: "person-detector", Source: "runs:/" + id + "/weights/best.pt", RunID: id})
	must(err)
	if mv.Source != got.Info.ArtifactURI+"/weights/best.pt" {
		t.Errorf("version source %q", mv.Source)
	}
	_, err = c.TransitionModelVersionStage(ctx, tracking.TransitionStage{Name: "person-detector", Version: mv.Version, Stage: "Production", Comment: "first"})
	must(err)
	must(c.SetRegisteredModelAlias(ctx, "person-detector", "champion", mv.Version))
	champ, err := c.GetModelVersionByAlias(ctx, "person-detector", "champion")
	must(err)
	if champ.CurrentStage != tracking.StageProduction || champ.Version != mv.Version {
		t.Errorf("champion = %+v", champ)
	}
	// The champion's weights, through the version's download URI.
	uri, err := c.GetModelVersionDownloadURI(ctx, "person-detector", mv.Version)
	must(err)
	st, key, err := c.ArtifactStore(ctx, uri)
	must(err)
	rc, _, err := st.Get(ctx, key)
	must(err)
	rc.Close()

	// An experiment whose artifacts live elsewhere: written there directly.
	elsewhere := t.TempDir()
	exp2, err := c.CreateExperiment(ctx, "elsewhere", elsewhere, nil)
	must(err)
	run2, err := c.StartRun(ctx, exp2, "", nil)
	must(err)
	must(c.LogArtifact(ctx, run2.Info.RunID, filepath.Join(src, "args.yaml"), ""))
	if _, err := os.Stat(filepath.Join(elsewhere, run2.Info.RunID, "artifacts", "args.yaml")); err != nil {
		t.Errorf("artifact of a run with a local artifact location: %v", err)
	}
}

// TestEmbeddedThenServed logs a run with the embedded store, then serves
// that folder with yolops' server and reads the run and its artifact back
// through HTTP.
func TestEmbeddedThenServed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := emb.GetOrCreateExperiment(ctx, "offline")
	run, err := emb.StartRun(ctx, exp, "offline-run", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "results.csv")
	os.WriteFile(f, []byte("epoch,loss\n"), 0o644)
	if err := emb.LogArtifact(ctx, run.Info.RunID, f, ""); err != nil {
		t.Fatal(err)
	}
	emb.LogMetrics(ctx, run.Info.RunID, []tracking.Metric{{Key: "metrics/mAP50B", Value: 0.5, Step: 0}})
	emb.Close()

	c, ts := serve(t, dir)
	defer ts.Close()
	got, err := c.GetRun(ctx, run.Info.RunID)
	if err != nil || got.Info.RunName != "offline-run" || len(got.Data.Metrics) != 1 {
		t.Fatalf("served run: %+v, %v", got, err)
	}
	dst := filepath.Join(t.TempDir(), "r.csv")
	if err := c.DownloadArtifact(ctx, run.Info.RunID, "results.csv", dst); err != nil {
		t.Fatal(err)
	}
}

// serve starts a server over an embedded store's folder.
func serve(t *testing.T, dir string) (*Client, *httptest.Server) {
	t.Helper()
	emb, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	h, err := server.New(server.Config{Store: emb.Store, Artifacts: emb.proxied})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	c, err := openEnv(context.Background(), ts.URL, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ts
}

func TestRESTAuth(t *testing.T) {
	ctx := context.Background()
	hash, err := server.HashPassword("secret-password")
	if err != nil {
		t.Fatal(err)
	}
	token, digest := server.NewToken()
	auth, err := server.NewAuth(server.AuthConfig{
		Users:  []server.AuthUser{{Username: "trainer", PasswordHash: hash, Permission: "EDIT"}},
		Tokens: []server.AuthToken{{Name: "ci", SHA256: digest, Permission: "READ"}},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ts := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) { c.Auth = auth }})
	for _, tt := range []struct {
		name string
		vars map[string]string
		code tracking.ErrorCode // of creating an experiment; "" for success
	}{
		{"anonymous", nil, tracking.Unauthenticated},
		{"password", map[string]string{"MLFLOW_TRACKING_USERNAME": "trainer", "MLFLOW_TRACKING_PASSWORD": "secret-password"}, ""},
		{"wrong password", map[string]string{"MLFLOW_TRACKING_USERNAME": "trainer", "MLFLOW_TRACKING_PASSWORD": "x"}, tracking.Unauthenticated},
		{"read-only token", map[string]string{"MLFLOW_TRACKING_TOKEN": token}, tracking.PermissionDenied},
	} {
		c, err := openEnv(ctx, ts.URL, env(tt.vars))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateExperiment(ctx, "e-"+strings.ReplaceAll(tt.name, " ", "-"), "", nil)
		if got := tracking.CodeOf(err); got != tt.code {
			t.Errorf("%s: create experiment: %v (code %q), want code %q", tt.name, err, got, tt.code)
		}
		c.Close()
	}
}

// TestRESTRetries checks that requests the server turned away (503) are
// sent again, and other errors are not.
func TestRESTRetries(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Query().Get("run_id") == "bad":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<html>oops</html>")
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			fmt.Fprint(w, `{"run": {"info": {"run_id": "abc", "status": "RUNNING"}}}`)
		}
	}))
	defer ts.Close()
	c := NewREST(ts.URL)
	run, err := c.GetRun(context.Background(), "abc")
	if err != nil || run.Info.RunID != "abc" || calls.Load() != 3 {
		t.Errorf("GetRun after two 503s: %+v, %v, %d calls", run, err, calls.Load())
	}
	calls.Store(10)
	_, err = c.GetRun(context.Background(), "bad")
	if tracking.CodeOf(err) != tracking.InternalError || !strings.Contains(err.Error(), "500") || calls.Load() != 11 {
		t.Errorf("GetRun with a 500 that is not MLflow's: %v after %d calls", err, calls.Load()-10)
	}
}

// TestProxiedStore checks the HTTP artifact store against the server's
// folder: what one writes, the other reads.
func TestProxiedStore(t *testing.T) {
	ctx := context.Background()
	ts := servertest.Start(t, servertest.Options{})
	local := ts.Artifacts
	p := NewREST(ts.URL).Artifacts()
	data := strings.Repeat("x", 1<<20)
	if err := p.Put(ctx, "a/b/c.bin", strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	rc, info, err := local.Get(ctx, "a/b/c.bin")
	if err != nil || info.Size != 1<<20 {
		t.Fatalf("local copy: %+v, %v", info, err)
	}
	rc.Close()
	if st, err := p.Stat(ctx, "a/b/c.bin"); err != nil || st.Size != 1<<20 {
		t.Errorf("Stat: %+v, %v", st, err)
	}
	all, err := p.List(ctx, "a", true)
	if err != nil || len(all) != 1 || all[0].Key != "a/b/c.bin" {
		t.Errorf("recursive List: %+v, %v", all, err)
	}
	sum := sha256.Sum256([]byte(data))
	rc, _, err = p.Get(ctx, "a/b/c.bin")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 4096)
	for {
		n, err := rc.Read(buf)
		h.Write(buf[:n])
		if err != nil {
			break
		}
	}
	rc.Close()
	if hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(sum[:]) {
		t.Error("Get returned other bytes")
	}
	if err := p.Delete(ctx, "a/b/c.bin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Get(ctx, "a/b/c.bin"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := p.Delete(ctx, "a/b/c.bin"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if err := p.Put(ctx, "../x", strings.NewReader(""), 0); err == nil {
		t.Error("Put(../x) succeeded")
	}
}

func TestEpochMetrics(t *testing.T) {
	got := EpochMetrics(map[string]float64{"metrics/mAP50(B)": 0.5, "train/box_loss": 1.25, "metrics/mAP50-95(B)": 0.25, "lr/pg0": 0.002}, 2)
	want := []tracking.Metric{
		{Key: "lr/pg0", Value: 0.002, Step: 2},
		{Key: "metrics/mAP50-95B", Value: 0.25, Step: 2},
		{Key: "metrics/mAP50B", Value: 0.5, Step: 2},
		{Key: "train/box_loss", Value: 1.25, Step: 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("EpochMetrics = %v, want %v", got, want)
	}
	for _, m := range got {
		if err := tracking.ValidateMetric(tracking.Metric{Key: m.Key, Timestamp: 1}); err != nil {
			t.Errorf("key %q is not a valid MLflow metric name: %v", m.Key, err)
		}
	}
}

// TestRESTRetriesLostAnswers checks that an idempotent write whose
// connection broke is sent again, and a run creation is not (it would
// create a second run).
func TestRESTRetriesLostAnswers(t *testing.T) {
	calls := map[string]int{}
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		n := calls[r.URL.Path]
		mu.Unlock()
		if n == 1 {
			// Drop the connection without an answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer ts.Close()
	c := NewREST(ts.URL)
	ctx := context.Background()
	if err := c.LogBatch(ctx, "r", []tracking.Metric{{Key: "a", Timestamp: 1}}, nil, nil); err != nil {
		t.Errorf("log-batch after a dropped connection: %v", err)
	}
	if _, err := c.CreateRun(ctx, tracking.CreateRun{ExperimentID: "0"}); err == nil {
		t.Error("create-run with a dropped connection succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["/api/2.0/mlflow/runs/log-batch"] != 2 || calls["/api/2.0/mlflow/runs/create"] != 1 {
		t.Errorf("calls: %v, want log-batch sent twice and runs/create once", calls)
	}
}
