package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking/server"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// authConfig returns a config with users admin (MANAGE), writer (EDIT) and
// viewer (READ), each with password <name>-password, and the token
// "the-ci-token" with EDIT.
func authConfig(t *testing.T, defaultPerm string) *server.Auth {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "default_permission: %s\nusers:\n", defaultPerm)
	for _, u := range []struct{ name, perm string }{{"admin", "MANAGE"}, {"writer", "EDIT"}, {"viewer", "read"}} {
		h, err := server.HashPassword(u.name + "-password")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - username: %s\n    password_hash: '%s'\n    permission: %s\n", u.name, h, u.perm)
	}
	sum := sha256.Sum256([]byte("the-ci-token"))
	fmt.Fprintf(&b, "tokens:\n  - name: ci\n    sha256: %s\n    permission: EDIT\n", hex.EncodeToString(sum[:]))
	a, err := server.ParseAuthConfig([]byte(b.String()), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuth(t *testing.T) {
	auth := authConfig(t, "NO_PERMISSIONS")
	e := start(t, func(c *server.Config) { c.Auth = auth })
	as := func(who string) {
		e.header = http.Header{}
		if who != "" {
			e.header.Set("Authorization", who)
		}
	}
	create := func(name string) string {
		return fmt.Sprintf(`{"name": %q}`, name)
	}

	as("")
	status, _, h := e.do("GET", "/api/2.0/mlflow/experiments/search", "")
	if status != 401 || h.Get("WWW-Authenticate") != `Basic realm="mlflow"` {
		t.Errorf("anonymous search: HTTP %d, WWW-Authenticate %q", status, h.Get("WWW-Authenticate"))
	}
	e.fail("POST", "/api/2.0/mlflow/experiments/create", create("anon"), 401, "UNAUTHENTICATED")
	e.fail("GET", "/ajax-api/2.0/mlflow/experiments/search", "", 401, "UNAUTHENTICATED")
	e.fail("GET", artifactsAPI+"/x", "", 401, "UNAUTHENTICATED")
	if status, _, _ := e.do("GET", "/health", ""); status != 200 {
		t.Errorf("/health needs no credentials, got HTTP %d", status)
	}

	for _, bad := range []string{basic("viewer", "wrong"), basic("nobody", "viewer-password"), basic("viewer", ""),
		"Bearer not-the-token", "Bearer ", "Digest abc", "Basic !!!"} {
		as(bad)
		e.fail("GET", "/api/2.0/mlflow/experiments/search", "", 401, "UNAUTHENTICATED")
	}

	as(basic("viewer", "viewer-password"))
	e.call("GET", "/api/2.0/mlflow/experiments/search", "")
	e.call("POST", "/api/2.0/mlflow/experiments/search", `{}`)
	e.fail("POST", "/api/2.0/mlflow/experiments/create", create("v"), 403, "PERMISSION_DENIED")
	e.fail("POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "x"}`, 403, "PERMISSION_DENIED")
	e.header.Set("Content-Type", "application/octet-stream")
	e.fail("PUT", artifactsAPI+"/a.txt", "data", 403, "PERMISSION_DENIED")

	as(basic("writer", "writer-password"))
	id := e.call("POST", "/api/2.0/mlflow/experiments/create", create("w"))["experiment_id"].(string)
	run := e.call("POST", "/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id": %q}`, id))
	if got := get(run, "run", "info", "user_id"); got != "writer" {
		t.Errorf("a run created by writer without user_id has user_id %v", got)
	}
	e.header.Set("Content-Type", "application/octet-stream")
	e.call("PUT", artifactsAPI+"/a.txt", "data")
	e.header.Del("Content-Type")
	e.fail("POST", "/api/2.0/mlflow/experiments/delete", fmt.Sprintf(`{"experiment_id": %q}`, id), 403, "PERMISSION_DENIED")
	e.fail("DELETE", artifactsAPI+"/a.txt", "", 403, "PERMISSION_DENIED")

	as("Bearer the-ci-token")
	e.call("POST", "/api/2.0/mlflow/experiments/create", create("token"))
	e.call("POST", "/api/2.0/mlflow/registered-models/create", `{"name": "m"}`)
	e.fail("DELETE", "/api/2.0/mlflow/registered-models/delete", `{"name": "m"}`, 403, "PERMISSION_DENIED")

	as(basic("admin", "admin-password"))
	e.call("POST", "/api/2.0/mlflow/experiments/delete", fmt.Sprintf(`{"experiment_id": %q}`, id))
	e.call("DELETE", "/api/2.0/mlflow/registered-models/delete", `{"name": "m"}`)
	e.call("DELETE", artifactsAPI+"/a.txt", "")
	// Credentials are cached after the first check; a wrong password must
	// still fail afterwards.
	as(basic("admin", "admin-passwore"))
	e.fail("GET", "/api/2.0/mlflow/experiments/search", "", 401, "UNAUTHENTICATED")
}

func TestAuthAnonymousRead(t *testing.T) {
	auth := authConfig(t, "READ")
	e := start(t, func(c *server.Config) { c.Auth = auth })
	e.call("GET", "/api/2.0/mlflow/experiments/search", "")
	// Anonymous callers may log in to write: 401, not 403.
	e.fail("POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`, 401, "UNAUTHENTICATED")
	e.header.Set("Authorization", basic("viewer", "viewer-password"))
	e.fail("POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`, 403, "PERMISSION_DENIED")
}

func TestParseAuthConfigErrors(t *testing.T) {
	hash, err := server.HashPassword("long enough")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ yaml, want string }{
		{"default_permission: ROOT\n", "default_permission"},
		{"users:\n  - username: a\n    password_hash: plain\n    permission: READ\n", "users[0] (a): password_hash"},
		{"users:\n  - username: a\n    password_hash: '" + hash + "'\n    permission: WRITE\n", `users[0] (a): permission "WRITE"`},
		{"users:\n  - username: ''\n    password_hash: '" + hash + "'\n    permission: READ\n", "users[0]: username"},
		{"users:\n  - username: 'a:b'\n    password_hash: '" + hash + "'\n    permission: READ\n", "users[0]: username"},
		{"users:\n  - {username: a, password_hash: '" + hash + "', permission: READ}\n  - {username: a, password_hash: '" + hash + "', permission: READ}\n", "users[1]: username \"a\" appears twice"},
		{"tokens:\n  - name: ci\n    sha256: abc\n    permission: EDIT\n", "tokens[0] (ci): sha256"},
		{"tokens:\n  - sha256: " + strings.Repeat("ab", 32) + "\n    permission: EDIT\n", "tokens[0]: no name"},
		{"user:\n  - username: a\n", "field user not found"},
		{"users: {a: b}\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		_, err := server.ParseAuthConfig([]byte(tt.yaml), "auth.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "auth.yaml") {
			t.Errorf("ParseAuthConfig(%q) = %v, want an error naming auth.yaml and saying %q", tt.yaml, err, tt.want)
		}
	}
	if _, err := server.HashPassword("short"); err == nil {
		t.Error("a 5-character password was hashed")
	}
	tok, digest := server.NewToken()
	if sum := sha256.Sum256([]byte(tok)); hex.EncodeToString(sum[:]) != digest || len(tok) < 40 {
		t.Errorf("NewToken() = %q, %q", tok, digest)
	}
}

// FuzzParseAuthConfig checks that no file makes the parser panic.
func FuzzParseAuthConfig(f *testing.F) {
	f.Add([]byte("default_permission: READ\nusers:\n  - username: a\n    password_hash: x\n    permission: READ\n"))
	f.Add([]byte("tokens:\n  - {name: ci, sha256: 00, permission: EDIT}\n"))
	f.Add([]byte("users: [[]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		server.ParseAuthConfig(data, "fuzz.yaml")
	})
}

// syncBuffer collects log output written by server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLog(t *testing.T) {
	var buf syncBuffer
	auth := authConfig(t, "READ")
	e := start(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
		c.Auth = auth
	})
	e.call("GET", "/api/2.0/mlflow/experiments/search", "")
	e.header.Set("Authorization", basic("viewer", "viewer-password"))
	e.fail("POST", "/api/2.0/mlflow/experiments/create", `{"name": "x"}`, 403, "PERMISSION_DENIED")
	type record struct {
		Level, Method, Path, User string
		Status                    int
		MS                        *float64
	}
	var recs []record
	for deadline := time.Now().Add(5 * time.Second); len(recs) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		recs = recs[:0]
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var r record
			if json.Unmarshal([]byte(line), &r) == nil {
				recs = append(recs, r)
			}
		}
	}
	if len(recs) != 2 || recs[0].Method != "GET" || recs[0].Status != 200 || recs[0].User != "" || recs[0].MS == nil ||
		recs[1].Path != "/api/2.0/mlflow/experiments/create" || recs[1].Status != 403 || recs[1].User != "viewer" || recs[1].Level != "INFO" {
		t.Errorf("access log:\n%s", buf.String())
	}
}
