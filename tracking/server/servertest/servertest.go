// Package servertest starts a yolops tracking server for tests: a new
// SQLite store and local artifacts folder in the test's temporary
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

// Server is a running test server and what it serves.
type Server struct {
	*httptest.Server
	Store     *sqlstore.Store
	Artifacts *artifacts.Local
}

// Start serves dir/mlruns.db and dir/mlartifacts, dir a new temporary
// directory, with auth (nil: none) and the store opened with opts; it
// stops them when the test ends.
func Start(t testing.TB, auth *server.Auth, opts ...sqlstore.Option) *Server {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.Open(context.Background(), "sqlite:///"+filepath.Join(dir, "mlruns.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifacts.NewLocal(filepath.Join(dir, "mlartifacts"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Config{Store: st, Artifacts: arts, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &Server{Server: ts, Store: st, Artifacts: arts}
}
