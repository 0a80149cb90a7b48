package server_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking/server"
)

const artifactsAPI = "/api/2.0/mlflow-artifacts/artifacts"

func TestProxiedArtifacts(t *testing.T) {
	e := start(t, nil)
	run := e.newRun("0")
	root := "0/" + run + "/artifacts"
	e.header.Set("Content-Type", "application/octet-stream")
	e.call("PUT", artifactsAPI+"/"+root+"/weights/best.pt", "checkpoint bytes")
	e.call("PUT", artifactsAPI+"/"+root+"/results.csv", "epoch,loss\n0,1.5\n")
	e.call("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/"+root+"/page.html", "<script>alert(1)</script>")
	e.header.Del("Content-Type")

	status, b, h := e.do("GET", artifactsAPI+"/"+root+"/weights/best.pt", "")
	if status != 200 || string(b) != "checkpoint bytes" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Length") != "16" {
		t.Errorf("download: %d %q %v", status, b, h)
	}
	// An uploaded page is not served as a page.
	if _, _, h := e.do("GET", artifactsAPI+"/"+root+"/page.html", ""); !strings.HasPrefix(h.Get("Content-Type"), "text/plain") ||
		h.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("an HTML artifact is served with %v", h)
	}

	// The proxied listing names entries by base name; the run listing by
	// path below the run's artifact root.
	l := e.call("GET", artifactsAPI+"?path="+root, "")
	want := `[map[is_dir:false path:page.html] map[file_size:17 is_dir:false path:results.csv] map[is_dir:true path:weights]]`
	if got := fmt.Sprint(dropSizes(get(l, "files"), "page.html")); got != want {
		t.Errorf("proxied list = %s, want %s", got, want)
	}
	rl := e.call("GET", "/api/2.0/mlflow/artifacts/list?run_id="+run+"&path=weights", "")
	if get(rl, "root_uri") != "mlflow-artifacts:/"+root || get(rl, "files", 0, "path") != "weights/best.pt" || get(rl, "files", 0, "file_size") != float64(16) {
		t.Errorf("run list = %v", rl)
	}
	top := e.call("GET", "/api/2.0/mlflow/artifacts/list?run_id="+run, "")
	if len(get(top, "files").([]any)) != 3 {
		t.Errorf("run list of the root = %v", top)
	}
	if empty := e.call("GET", "/api/2.0/mlflow/artifacts/list?run_id="+run+"&path=nothing", ""); get(empty, "files") != nil {
		t.Errorf("list of a missing folder = %v", empty)
	}

	// The web UI's download by run.
	status, b, _ = e.do("GET", "/get-artifact?run_id="+run+"&path=results.csv", "")
	if status != 200 || !strings.HasPrefix(string(b), "epoch") {
		t.Errorf("get-artifact: %d %q", status, b)
	}

	e.fail("GET", artifactsAPI+"/"+root+"/missing.pt", "", 404, "RESOURCE_DOES_NOT_EXIST")
	e.call("DELETE", artifactsAPI+"/"+root+"/weights", "")
	e.fail("GET", artifactsAPI+"/"+root+"/weights/best.pt", "", 404, "RESOURCE_DOES_NOT_EXIST")
	if _, err := os.Stat(filepath.Join(e.artsDir, root, "results.csv")); err != nil {
		t.Errorf("deleting weights/ took results.csv: %v", err)
	}

	// Without an artifacts destination the endpoints are off (503).
	off := start(t, func(c *server.Config) { c.Artifacts = nil })
	off.fail("GET", artifactsAPI+"/x", "", 503, "TEMPORARILY_UNAVAILABLE")
}

// dropSizes removes the size of one entry, whose length the test does not
// care about.
func dropSizes(files any, name string) any {
	for _, f := range files.([]any) {
		m := f.(map[string]any)
		if m["path"] == name {
			delete(m, "file_size")
		}
	}
	return files
}

func TestArtifactPathTraversal(t *testing.T) {
	e := start(t, nil)
	// A file beside the artifacts folder that no request may read or
	// replace.
	outside := filepath.Join(e.dir, "outside.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := e.newRun("0")
	paths := []string{
		"../outside.txt",
		"../../etc/passwd",
		"a/../../outside.txt",
		"%2e%2e/outside.txt",
		"%2E%2E%2Foutside.txt",
		"..%2foutside.txt",
		"%252e%252e/outside.txt",
		"%25252e%25252e/outside.txt",
		"/" + e.dir + "/outside.txt", // absolute (after the prefix's slash)
		"C:/Windows/win.ini",
		"file:///etc/passwd",
		"a%5c..%5c..%5coutside.txt", // backslashes
		"a/%00/b",
		"a/.%2e/.%2e/outside.txt",
	}
	for _, p := range paths {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			body := ""
			if method == "PUT" {
				body = "overwritten"
				e.header.Set("Content-Type", "application/octet-stream")
			}
			status, b, _ := e.do(method, artifactsAPI+"/"+p, body)
			e.header.Del("Content-Type")
			if status != 400 || !strings.Contains(string(b), "INVALID_PARAMETER_VALUE") {
				t.Errorf("%s %s: HTTP %d %s, want 400 INVALID_PARAMETER_VALUE", method, p, status, b)
			}
		}
		e.fail("GET", artifactsAPI+"?path="+p, "", 400, "INVALID_PARAMETER_VALUE")
		e.fail("GET", "/api/2.0/mlflow/artifacts/list?run_id="+run+"&path="+p, "", 400, "INVALID_PARAMETER_VALUE")
		e.fail("GET", "/get-artifact?run_id="+run+"&path="+p, "", 400, "INVALID_PARAMETER_VALUE")
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "secret" {
		t.Fatalf("the file outside the artifacts folder: %q, %v", b, err)
	}

	// An experiment whose artifact location climbs out, or points at the
	// server's own files, has runs whose artifacts the server will not
	// touch.
	for i, loc := range []string{"mlflow-artifacts:/../..", "mlflow-artifacts:/a/%2e%2e/%2e%2e", "file://" + e.dir, e.dir} {
		id := e.call("POST", "/api/2.0/mlflow/experiments/create", fmt.Sprintf(`{"name": "x%d", "artifact_location": %q}`, i, loc))["experiment_id"].(string)
		r := e.newRun(id)
		e.fail("GET", "/api/2.0/mlflow/artifacts/list?run_id="+r, "", 400, "INVALID_PARAMETER_VALUE")
		e.fail("GET", "/get-artifact?run_id="+r+"&path=outside.txt", "", 400, "INVALID_PARAMETER_VALUE")
	}
}

// patternReader yields n bytes of a repeating pattern without holding
// them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range b[:n] {
		b[i] = byte((p.left - int64(i)) % 251)
	}
	p.left -= n
	return int(n), nil
}

// TestArtifactStreaming uploads 64 MiB with chunked encoding (no length
// known) and downloads it, checking the bytes and that the process did
// not allocate anything near the object's size: the server streams.
func TestArtifactStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 128 MiB")
	}
	const size = 64 << 20
	e := start(t, nil)
	want := sha256.New()
	io.Copy(want, &patternReader{left: size})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	began := time.Now()
	req, err := http.NewRequest("PUT", e.url+artifactsAPI+"/big/blob.bin", io.NopCloser(&patternReader{left: size}))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: HTTP %d", res.StatusCode)
	}
	res, err = http.Get(e.url + artifactsAPI + "/big/blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, res.Body)
	res.Body.Close()
	if err != nil || n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("download: %d bytes, %v, digest match %v", n, err, string(got.Sum(nil)) == string(want.Sum(nil)))
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > size/4 {
		t.Errorf("moving %d MiB up and down allocated %d MiB: the object is being buffered", size>>20, alloc>>20)
	}
	t.Logf("%d MiB up and down in %v, %.1f MiB allocated", size>>20, time.Since(began).Round(time.Millisecond), float64(alloc)/(1<<20))
}

// TestUploadArtifactUI checks the web UI's upload and its guard against
// cross-site form posts.
func TestUploadArtifactUI(t *testing.T) {
	e := start(t, nil)
	run := e.newRun("0")
	path := "/ajax-api/2.0/mlflow/upload-artifact?run_uuid=" + run + "&path=notes/readme.txt"
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		e.header.Set("Content-Type", ct)
		e.fail("POST", path, "hello", 400, "INVALID_PARAMETER_VALUE")
	}
	e.header.Set("Content-Type", "application/octet-stream")
	e.call("POST", path, "hello")
	e.header.Del("Content-Type")
	if status, b, _ := e.do("GET", "/get-artifact?run_id="+run+"&path=notes/readme.txt", ""); status != 200 || string(b) != "hello" {
		t.Errorf("uploaded file: %d %q", status, b)
	}
	e.header.Set("Content-Type", "application/octet-stream")
	e.fail("POST", "/ajax-api/2.0/mlflow/upload-artifact?run_uuid="+run+"&path=../x", "hello", 400, "INVALID_PARAMETER_VALUE")
}
