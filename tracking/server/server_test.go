package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking/server"
	"github.com/yolops/yolops/tracking/server/servertest"
	"github.com/yolops/yolops/tracking/sqlstore"
)

// env is a server over a new SQLite store and local artifacts folder, and
// a raw HTTP client, so that the tests see the wire as any client does.
type env struct {
	t       *testing.T
	url     string
	store   *sqlstore.Store
	dir     string // holds mlruns.db, mlartifacts/ and outside.txt
	artsDir string
	header  http.Header // sent with every request
}

func start(t *testing.T, configure func(*server.Config)) *env {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Configure: configure})
	return &env{t: t, url: s.URL, store: s.Store, dir: s.Dir, artsDir: s.ArtifactsDir, header: http.Header{}}
}

// do sends a request; a non-empty body is sent as JSON.
func (e *env) do(method, path, body string) (int, []byte, http.Header) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range e.header {
		req.Header[k] = v
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, b, res.Header
}

// call sends a request that must answer 200 and decodes the answer.
func (e *env) call(method, path, body string) map[string]any {
	e.t.Helper()
	status, b, _ := e.do(method, path, body)
	if status != http.StatusOK {
		e.t.Fatalf("%s %s %s: HTTP %d %s", method, path, body, status, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("%s %s: response %s: %v", method, path, b, err)
	}
	return m
}

// fail sends a request that must fail with the status and MLflow error code,
// and returns the message.
func (e *env) fail(method, path, body string, status int, code string) string {
	e.t.Helper()
	got, b, _ := e.do(method, path, body)
	var eb struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(b, &eb); err != nil {
		e.t.Errorf("%s %s %.80s: HTTP %d, body %q is not an MLflow error", method, path, body, got, b)
		return ""
	}
	if got != status || eb.ErrorCode != code {
		e.t.Errorf("%s %s %.80s: HTTP %d %s (%s), want HTTP %d %s", method, path, body, got, eb.ErrorCode, eb.Message, status, code)
	}
	return eb.Message
}

// get walks a decoded JSON value: get(m, "run", "info", "run_id").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (e *env) newRun(exp string) string {
	e.t.Helper()
	m := e.call("POST", "/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id": %q, "run_name": "r", "start_time": 1700000000000}`, exp))
	return get(m, "run", "info", "run_id").(string)
}

func TestExperimentsAndRuns(t *testing.T) {
	e := start(t, nil)
	id := e.call("POST", "/api/2.0/mlflow/experiments/create", `{"name": "people", "tags": [{"key": "team", "value": "cv"}]}`)["experiment_id"]
	if id != "1" {
		t.Fatalf("experiment_id = %#v, want the string \"1\"", id)
	}
	exp := e.call("GET", "/api/2.0/mlflow/experiments/get?experiment_id=1", "")
	if get(exp, "experiment", "artifact_location") != "mlflow-artifacts:/1" || get(exp, "experiment", "tags", 0, "value") != "cv" {
		t.Errorf("experiment = %v", exp)
	}
	if _, ok := get(exp, "experiment", "creation_time").(float64); !ok {
		t.Errorf("creation_time %#v is not a JSON number (int64 fields are numbers)", get(exp, "experiment", "creation_time"))
	}
	e.fail("POST", "/api/2.0/mlflow/experiments/create", `{"name": "people"}`, 400, "RESOURCE_ALREADY_EXISTS")
	e.fail("GET", "/api/2.0/mlflow/experiments/get?experiment_id=42", "", 404, "RESOURCE_DOES_NOT_EXIST")
	e.fail("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=nope", "", 404, "RESOURCE_DOES_NOT_EXIST")

	// An experiment id may come as a number (MLflow stringifies them).
	m := e.call("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id": 1, "run_name": "a", "start_time": "1700000000000", "tags": [{"key": "k", "value": "v"}]}`)
	run := get(m, "run", "info", "run_id").(string)
	info := get(m, "run", "info").(map[string]any)
	if info["run_uuid"] != run || info["status"] != "RUNNING" || info["start_time"] != float64(1700000000000) ||
		info["artifact_uri"] != "mlflow-artifacts:/1/"+run+"/artifacts" || info["lifecycle_stage"] != "active" || info["experiment_id"] != "1" {
		t.Errorf("run info = %v", info)
	}
	if _, ok := info["end_time"]; ok {
		t.Errorf("a running run has end_time %v", info["end_time"])
	}

	p := "/api/2.0/mlflow/runs/"
	e.call("POST", p+"log-parameter", fmt.Sprintf(`{"run_id": %q, "key": "lr0", "value": "0.01"}`, run))
	e.call("POST", p+"log-parameter", fmt.Sprintf(`{"run_uuid": %q, "key": "lr0", "value": "0.01"}`, run))
	e.fail("POST", p+"log-parameter", fmt.Sprintf(`{"run_id": %q, "key": "lr0", "value": "0.02"}`, run), 400, "INVALID_PARAMETER_VALUE")
	e.call("POST", p+"set-tag", fmt.Sprintf(`{"run_id": %q, "key": "k", "value": "w"}`, run))
	e.call("POST", p+"log-metric", fmt.Sprintf(`{"run_id": %q, "key": "loss", "value": 2.5, "timestamp": 10, "step": 0}`, run))
	e.call("POST", p+"log-metric", fmt.Sprintf(`{"run_id": %q, "key": "loss", "value": "NaN", "timestamp": 11, "step": 1}`, run))
	// Python's json.dumps writes bare NaN and Infinity; MLflow's Flask reads them.
	e.call("POST", p+"log-batch", fmt.Sprintf(`{"run_id": %q, "metrics": [{"key": "inf", "value": Infinity, "timestamp": 12, "step": 0}, {"key": "ninf", "value": -Infinity, "timestamp": 12}]}`, run))
	got := e.call("GET", p+"get?run_id="+run, "")
	metrics := map[string]any{}
	for _, m := range get(got, "run", "data", "metrics").([]any) {
		metrics[get(m, "key").(string)] = get(m, "value")
	}
	// NaN travels as "NaN"; ±Inf is stored as ±MaxFloat64, as MLflow's SQL
	// store keeps it, and comes back so.
	if metrics["loss"] != "NaN" || metrics["inf"] != math.MaxFloat64 || metrics["ninf"] != -math.MaxFloat64 {
		t.Errorf("latest metrics = %v, want loss \"NaN\" (step 1), inf and ninf ±MaxFloat64", metrics)
	}
	if get(got, "run", "data", "params", 0, "value") != "0.01" {
		t.Errorf("params = %v", get(got, "run", "data", "params"))
	}
	tags := map[string]any{}
	for _, tg := range get(got, "run", "data", "tags").([]any) {
		tags[get(tg, "key").(string)] = get(tg, "value")
	}
	if tags["k"] != "w" || tags["mlflow.runName"] != "a" {
		t.Errorf("tags = %v, want k overwritten to w", tags)
	}
	hist := e.call("GET", "/api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key=loss", "")
	if get(hist, "metrics", 0, "value") != 2.5 || get(hist, "metrics", 1, "value") != "NaN" || get(hist, "metrics", 1, "step") != float64(1) {
		t.Errorf("history = %v", hist)
	}

	upd := e.call("POST", p+"update", fmt.Sprintf(`{"run_id": %q, "status": "FINISHED", "end_time": 1700000001000}`, run))
	if get(upd, "run_info", "status") != "FINISHED" || get(upd, "run_info", "end_time") != float64(1700000001000) {
		t.Errorf("update = %v", upd)
	}
	// Enums may come as numbers: 4 is FAILED.
	upd = e.call("POST", p+"update", fmt.Sprintf(`{"run_id": %q, "status": 4}`, run))
	if get(upd, "run_info", "status") != "FAILED" {
		t.Errorf("update with status 4 = %v", upd)
	}
	e.fail("GET", p+"get?run_id=0123456789abcdef0123456789abcdef", "", 404, "RESOURCE_DOES_NOT_EXIST")
}

func TestRequestErrors(t *testing.T) {
	e := start(t, func(c *server.Config) { c.MaxBodyBytes = 4 << 20 })
	run := e.newRun("0")
	lb := "/api/2.0/mlflow/runs/log-batch"
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"missing required", "GET", "/api/2.0/mlflow/runs/get", "", 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'"},
		{"empty required", "POST", "/api/2.0/mlflow/experiments/create", `{"name": ""}`, 400, "INVALID_PARAMETER_VALUE", "'name'"},
		{"null required", "POST", "/api/2.0/mlflow/experiments/create", `{"name": null}`, 400, "INVALID_PARAMETER_VALUE", "'name'"},
		{"wrong type", "POST", "/api/2.0/mlflow/experiments/create", `{"name": 7}`, 400, "INVALID_PARAMETER_VALUE", "parameter 'name'"},
		{"not a number", "POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "` + run + `", "key": "a", "value": "x", "timestamp": 1}`, 400, "INVALID_PARAMETER_VALUE", "parameter 'value'"},
		{"not JSON", "POST", "/api/2.0/mlflow/experiments/create", `{"name": `, 400, "INVALID_PARAMETER_VALUE", "malformed"},
		{"bad view type", "GET", "/api/2.0/mlflow/experiments/search?view_type=SOME", "", 400, "INVALID_PARAMETER_VALUE", "view_type"},
		{"nested required", "POST", lb, `{"run_id": "` + run + `", "metrics": [{"key": "a", "value": 1}]}`, 400, "INVALID_PARAMETER_VALUE", "metrics[0].timestamp"},
		{"param key required", "POST", lb, `{"run_id": "` + run + `", "params": [{"value": "1"}]}`, 400, "INVALID_PARAMETER_VALUE", "params[0].key"},
		{"too many metrics", "POST", lb, logBatch(run, 1001, 0), 400, "INVALID_PARAMETER_VALUE", "at most 1000 metrics"},
		{"log-batch over 1 MB", "POST", lb, logBatch(run, 0, 120), 400, "INVALID_PARAMETER_VALUE", "at most 1000000 bytes"},
		{"body over the limit", "POST", "/api/2.0/mlflow/experiments/create", `{"name": "` + strings.Repeat("x", 5<<20) + `"}`, 400, "INVALID_PARAMETER_VALUE", "larger than the limit"},
		{"unknown endpoint", "GET", "/api/2.0/mlflow/runs/nothing", "", 404, "ENDPOINT_NOT_FOUND", ""},
		{"wrong method", "POST", "/api/2.0/mlflow/runs/get", `{}`, 405, "BAD_REQUEST", "allowed: GET"},
		{"runs of a missing experiment", "POST", "/api/2.0/mlflow/runs/create", `{"experiment_id": "99"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			msg := e.fail(tt.method, tt.path, tt.body, tt.status, tt.code)
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not say %q", msg, tt.msg)
			}
		})
	}

	// A JSON body must say it is JSON (MLflow's CSRF guard).
	e.t = t
	e.header.Set("Content-Type", "text/plain")
	e.fail("POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`, 400, "INVALID_PARAMETER_VALUE")
	e.header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.fail("POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`, 400, "INVALID_PARAMETER_VALUE")
	e.header.Set("Content-Type", "application/json; charset=utf-8")
	e.call("POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`)
}

// logBatch returns a log-batch body with n metrics and m params of 9,000
// bytes each (params over 6,000 characters are refused, but only after the
// size check).
func logBatch(run string, n, m int) string {
	var ms, ps []string
	for i := range n {
		ms = append(ms, fmt.Sprintf(`{"key": "m", "value": %d, "timestamp": 1, "step": %d}`, i, i))
	}
	for i := range m {
		ps = append(ps, fmt.Sprintf(`{"key": "p%d", "value": %q}`, i, strings.Repeat("v", 9000)))
	}
	return fmt.Sprintf(`{"run_id": %q, "metrics": [%s], "params": [%s]}`, run, strings.Join(ms, ","), strings.Join(ps, ","))
}

func TestAjaxAliasAndQueryParams(t *testing.T) {
	e := start(t, nil)
	for i := range 5 {
		e.call("POST", "/ajax-api/2.0/mlflow/experiments/create", fmt.Sprintf(`{"name": "e%d"}`, i))
	}
	// The two prefixes reach the same handlers.
	a := e.call("GET", "/api/2.0/mlflow/experiments/search?max_results=100", "")
	b := e.call("GET", "/ajax-api/2.0/mlflow/experiments/search?max_results=100", "")
	if fmt.Sprint(a) != fmt.Sprint(b) || len(get(a, "experiments").([]any)) != 6 {
		t.Errorf("api %v\najax %v", a, b)
	}
	// Pages: POST search with a token from the GET one.
	page := e.call("GET", "/api/2.0/mlflow/experiments/search?max_results=4&order_by=name+ASC", "")
	tok, _ := page["next_page_token"].(string)
	if len(get(page, "experiments").([]any)) != 4 || tok == "" {
		t.Fatalf("first page = %v", page)
	}
	rest := e.call("POST", "/api/2.0/mlflow/experiments/search", fmt.Sprintf(`{"max_results": 4, "order_by": ["name ASC"], "page_token": %q}`, tok))
	if len(get(rest, "experiments").([]any)) != 2 || rest["next_page_token"] != nil || get(rest, "experiments", 1, "name") != "e4" {
		t.Errorf("second page = %v", rest)
	}
	e.fail("POST", "/api/2.0/mlflow/experiments/search", `{"page_token": "not a token"}`, 400, "INVALID_PARAMETER_VALUE")

	// A repeated GET parameter is a list, one value too.
	e.call("POST", "/api/2.0/mlflow/registered-models/create", `{"name": "det"}`)
	run := e.newRun("1")
	for range 3 {
		e.call("POST", "/api/2.0/mlflow/model-versions/create", fmt.Sprintf(`{"name": "det", "source": "runs:/%s/model", "run_id": %q}`, run, run))
	}
	e.call("POST", "/api/2.0/mlflow/model-versions/transition-stage", `{"name": "det", "version": "1", "stage": "Staging", "archive_existing_versions": false}`)
	e.call("POST", "/api/2.0/mlflow/model-versions/transition-stage", `{"name": "det", "version": 2, "stage": "production", "archive_existing_versions": true}`)
	two := e.call("GET", "/api/2.0/mlflow/registered-models/get-latest-versions?name=det&stages=Staging&stages=Production", "")
	one := e.call("GET", "/ajax-api/2.0/mlflow/registered-models/get-latest-versions?name=det&stages=Production", "")
	if len(get(two, "model_versions").([]any)) != 2 || len(get(one, "model_versions").([]any)) != 1 || get(one, "model_versions", 0, "version") != "2" {
		t.Errorf("latest versions: two stages %v, one stage %v", two, one)
	}
	runs := e.call("POST", "/api/2.0/mlflow/runs/search", `{"experiment_ids": [1, "0"], "run_view_type": "ALL", "max_results": 10}`)
	if len(get(runs, "runs").([]any)) != 1 {
		t.Errorf("search runs = %v", runs)
	}

	// Aliases, and DELETE with a JSON body or with query parameters.
	e.call("POST", "/api/2.0/mlflow/registered-models/alias", `{"name": "det", "alias": "champion", "version": "2"}`)
	mv := e.call("GET", "/api/2.0/mlflow/registered-models/alias?name=det&alias=champion", "")
	if get(mv, "model_version", "version") != "2" || get(mv, "model_version", "current_stage") != "Production" || get(mv, "model_version", "status") != "READY" {
		t.Errorf("by alias = %v", mv)
	}
	e.call("DELETE", "/api/2.0/mlflow/registered-models/alias", `{"name": "det", "alias": "champion"}`)
	e.fail("GET", "/api/2.0/mlflow/registered-models/alias?name=det&alias=champion", "", 404, "RESOURCE_DOES_NOT_EXIST")
	e.call("DELETE", "/api/2.0/mlflow/model-versions/delete?name=det&version=3", "")
	e.fail("GET", "/api/2.0/mlflow/model-versions/get?name=det&version=3", "", 404, "RESOURCE_DOES_NOT_EXIST")
	hist := e.call("GET", "/api/2.0/mlflow/model-versions/stage-transitions?name=det&version=2", "")
	if get(hist, "transitions", 0, "to_stage") != "Production" {
		t.Errorf("stage transitions = %v", hist)
	}
	// Sources that climb out are refused, however encoded.
	for _, src := range []string{"mlflow-artifacts:/1/../../x", "s3://b/%2e%2e/x", "s3://b/%252e%252e/x", "/models/../../etc", "s3://b/a%00b"} {
		e.fail("POST", "/api/2.0/mlflow/model-versions/create", fmt.Sprintf(`{"name": "det", "source": %q}`, src), 400, "INVALID_PARAMETER_VALUE")
	}
	// Multipart uploads are not offered; clients fall back to one PUT.
	e.fail("POST", "/api/2.0/mlflow-artifacts/mpu/create/1/x", `{"path": "x"}`, 501, "NOT_IMPLEMENTED")
}

// TestEveryRoute checks that each RPC of the table answers under both
// prefixes with its method (an error about the request, not about the
// route) and that /health answers.
func TestEveryRoute(t *testing.T) {
	e := start(t, nil)
	for _, ep := range server.Endpoints() {
		prefixes := []string{"/api/2.0", "/ajax-api/2.0"}
		if !strings.HasPrefix(ep.Path, "/mlflow") {
			prefixes = []string{""}
		}
		for _, p := range prefixes {
			body := ""
			if ep.Method != "GET" && ep.Method != "DELETE" {
				body = "{}"
			}
			status, b, _ := e.do(ep.Method, p+ep.Path, body)
			if status == http.StatusMethodNotAllowed || strings.Contains(string(b), "ENDPOINT_NOT_FOUND") {
				t.Errorf("%s %s%s: HTTP %d %s", ep.Method, p, ep.Path, status, b)
			}
		}
	}
	if status, b, _ := e.do("GET", "/health", ""); status != 200 || string(b) != "OK" {
		t.Errorf("/health: %d %q", status, b)
	}
}
