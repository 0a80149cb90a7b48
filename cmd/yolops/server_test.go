package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that a running command and the test may
// use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServerCommand starts yolops server on a free port, creates an
// experiment through it, and stops it as SIGINT would (the command's
// context ends), checking that it shuts down cleanly and logged the
// request.
func TestServerCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd("test")
	var stderr lockedBuffer
	root.SetOut(io.Discard)
	root.SetErr(&stderr)
	root.SetArgs([]string{"server", "--port", "0", "--log-format", "json",
		"--backend-store-uri", "sqlite:///" + filepath.Join(dir, "m.db"),
		"--artifacts-destination", filepath.Join(dir, "arts")})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addr := regexp.MustCompile(`listening on (http://\S+)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("the server stopped at start: %v\n%s", err, stderr.String())
		default:
		}
	}
	if url == "" {
		t.Fatalf("no address printed:\n%s", stderr.String())
	}
	res, err := http.Post(url+"/api/2.0/mlflow/experiments/create", "application/json", strings.NewReader(`{"name": "cli"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != `{"experiment_id":"1"}` {
		t.Errorf("create experiment: %d %s", res.StatusCode, b)
	}
	// The web UI answers outside the API, and lists the new experiment;
	// unknown API paths still get MLflow's JSON error.
	for _, c := range []struct{ path, want string }{{"/", "cli"}, {"/api/2.0/mlflow/nope", "ENDPOINT_NOT_FOUND"}} {
		res, err := http.Get(url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s: %d, body lacks %q:\n%.300s", c.path, res.StatusCode, c.want, b)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop within 10 s of its context ending")
	}
	log := stderr.String()
	for _, want := range []string{`"path":"/api/2.0/mlflow/experiments/create"`, `"status":200`, "shutting down"} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %s:\n%s", want, log)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m.db")); err != nil {
		t.Errorf("database: %v", err)
	}
}

func TestServerCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "auth.yaml")
	os.WriteFile(bad, []byte("users:\n  - username: a\n    password_hash: plain\n    permission: READ\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "--port", "70000"}, "port 70000"},
		{[]string{"server", "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"server", "--backend-store-uri", "mysql://x", "--artifacts-destination", dir}, "--backend-store-uri"},
		{[]string{"server", "--auth-config", bad}, "password_hash"},
		{[]string{"server", "--auth-config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	} {
		_, _, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
	out, _, err := executeStdin(t, "correct horse battery\n", "server", "hash-password")
	if err != nil || !strings.HasPrefix(out, "$2a$") {
		t.Errorf("hash-password: %q, %v", out, err)
	}
	if _, _, err := executeStdin(t, "short\n", "server", "hash-password"); err == nil {
		t.Error("hash-password took a 5-character password")
	}
	out, _, err = execute(t, "server", "new-token")
	if err != nil || !regexp.MustCompile(`^token:  yolops_[0-9a-f]{64}\nsha256: [0-9a-f]{64}\n$`).MatchString(out) {
		t.Errorf("new-token: %q, %v", out, err)
	}
}

func executeStdin(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd("test")
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}
