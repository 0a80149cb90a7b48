package client

import (
	"testing"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/server/servertest"
	"github.com/yolops/yolops/tracking/storetest"
)

// TestConformanceREST runs the store conformance suite through the REST
// client and the server: every RPC the suite uses crosses HTTP, JSON and
// back, error codes included.
func TestConformanceREST(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tracking.Store {
		ts := servertest.Start(t, servertest.Options{})
		c := NewREST(ts.URL)
		t.Cleanup(func() { c.Close() })
		return c
	})
}
