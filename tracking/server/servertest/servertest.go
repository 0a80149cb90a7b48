// Package servertest starts a yolops tracking server for tests: a SQLite
// store and local artifacts folder, by default in the test's temporary
// directory, served over loopback HTTP until the test ends.
package servertest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking/server"
	"github.com/yolops/yolops/tracking/sqlstore"
)

// Options says what Start serves. The zero value serves a new store and
// artifacts folder with the server's defaults.
type Options struct {
	// Dir holds mlruns.db and mlartifacts (yolops' local tracking layout);
	// empty: a new temporary directory.
	Dir string
	// Store is passed to sqlstore.Open.
	Store []sqlstore.Option
	// Configure, when set, adjusts the server's configuration before it
	// starts (authentication, limits).
	Configure func(*server.Config)
}

// Server is a running test server and what it serves.
type Server struct {
	*httptest.Server
	Store        *sqlstore.Store
	Artifacts    *artifacts.Local
	Dir          string // holds mlruns.db and ArtifactsDir
	ArtifactsDir string
}

// Start starts the server described by o; it stops, and the store is
// closed, when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := sqlstore.Open(context.Background(), "sqlite:///"+filepath.Join(dir, "mlruns.db"), o.Store...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	artsDir := filepath.Join(dir, "mlartifacts")
	arts, err := artifacts.NewLocal(artsDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Store: st, Artifacts: arts}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	h, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &Server{Server: ts, Store: st, Artifacts: arts, Dir: dir, ArtifactsDir: artsDir}
}
