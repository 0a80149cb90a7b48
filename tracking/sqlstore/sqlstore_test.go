package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/storetest"
)

func openSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite:///"+filepath.Join(t.TempDir(), "mlflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresSchemaURI creates a schema in the test database, dropped when the
// test ends, and returns a URI whose connections use it, so that tests start
// empty and do not see each other.
func postgresSchemaURI(t testing.TB) string {
	t.Helper()
	base := storetest.PostgresURL(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := fmt.Sprintf("t_%x", rand.Uint64())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema in %s: %v", redact(base), err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openPostgres opens a store in a schema of its own.
func openPostgres(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), postgresSchemaURI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tracking.Store { return openSQLite(t) })
}

func TestConformanceSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tracking.Store {
		s, err := Open(context.Background(), "sqlite:///:memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformancePostgres(t *testing.T) {
	storetest.PostgresURL(t)
	storetest.Run(t, func(t *testing.T) tracking.Store { return openPostgres(t) })
}

func TestOpenURIs(t *testing.T) {
	dir := t.TempDir() // absolute: "sqlite:///" + dir is sqlite:////abs/path
	tests := []struct {
		uri string
		ok  bool
	}{
		{"sqlite:///" + dir + "/abs.db", true},
		{"sqlite://", true},
		{"sqlite:///:memory:", true},
		{"sqlite:///", false},
		{"sqlite://host/x.db", false},
		{"sqlite:///" + dir + "/a?b.db", false},
		{"mysql://u:p@h/db", false},
		{"file:///tmp/x", false},
		{"", false},
	}
	for _, tt := range tests {
		s, err := Open(context.Background(), tt.uri)
		if (err == nil) != tt.ok {
			t.Errorf("Open(%q): err = %v, want ok=%v", tt.uri, err, tt.ok)
		}
		if err == nil {
			s.Close()
		}
	}
}

func TestRelativeSQLitePath(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := Open(context.Background(), "sqlite:///sub.db")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat("sub.db"); err != nil {
		t.Errorf("sqlite:///sub.db did not create sub.db in the working directory: %v", err)
	}
}

func TestPasswordNotInErrors(t *testing.T) {
	_, err := Open(context.Background(), "postgresql://user:hunter2@127.0.0.1:1/db?connect_timeout=1")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestArtifactRoot(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:///:memory:", WithDefaultArtifactRoot("s3://bucket/mlruns/"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	def, err := s.GetExperiment(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateExperiment(ctx, "e", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.GetExperiment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, tracking.CreateRun{ExperimentID: id})
	if err != nil {
		t.Fatal(err)
	}
	if def.ArtifactLocation != "s3://bucket/mlruns/0" || e.ArtifactLocation != "s3://bucket/mlruns/"+id ||
		r.Info.ArtifactURI != "s3://bucket/mlruns/"+id+"/"+r.Info.RunID+"/artifacts" {
		t.Errorf("locations %q, %q, %q", def.ArtifactLocation, e.ArtifactLocation, r.Info.ArtifactURI)
	}
}

func TestAppendURI(t *testing.T) {
	tests := []struct {
		base  string
		parts []string
		want  string
	}{
		{"mlflow-artifacts:/", []string{"0"}, "mlflow-artifacts:/0"},
		{"mlflow-artifacts:/0", []string{"abc", "artifacts"}, "mlflow-artifacts:/0/abc/artifacts"},
		{"s3://b/p/", []string{"/x"}, "s3://b/p/x"},
		{"/abs/dir", []string{"1"}, "/abs/dir/1"},
		{"", []string{"1"}, "1"},
	}
	for _, tt := range tests {
		if got := appendURI(tt.base, tt.parts...); got != tt.want {
			t.Errorf("appendURI(%q, %q) = %q, want %q", tt.base, tt.parts, got, tt.want)
		}
	}
}
