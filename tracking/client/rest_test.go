package client

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/server"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/tracking/storetest"
)

// testServer starts a yolops server over a new SQLite store and local
// artifacts folder.
func testServer(t testing.TB, auth *server.Auth) (*httptest.Server, *sqlstore.Store, *artifacts.Local) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.Open(context.Background(), "sqlite:///"+filepath.Join(dir, "mlruns.db"))
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
	return ts, st, arts
}

// TestConformanceREST runs the store conformance suite through the REST
// client and the server: every RPC the suite uses crosses HTTP, JSON and
// back, error codes included.
func TestConformanceREST(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tracking.Store {
		ts, _, _ := testServer(t, nil)
		c := NewREST(ts.URL)
		t.Cleanup(func() { c.Close() })
		return c
	})
}
