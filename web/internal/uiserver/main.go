// Command uiserver serves the web UI over a store seeded by webtest, for
// the browser test (.ci/ui_test.sh) and for looking at the UI by hand:
//
//	go run ./web/internal/uiserver -addr 127.0.0.1:8765 -scale 10000
//
// It writes what it seeded (run ids, the address) as JSON to -info, once
// it listens. With -auth, basic authentication is on with two users:
// alice (may write) and viewer (read-only), both with password "secret".
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/web"
	"github.com/yolops/yolops/web/webtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback)")
	dir := flag.String("dir", "", "folder for the database and artifacts (default: a new temporary folder)")
	scale := flag.Int("scale", 0, "also seed an experiment of this many runs")
	info := flag.String("info", "", "write what was seeded, as JSON, to this file")
	auth := flag.Bool("auth", false, "basic authentication: alice (write) and viewer (read), password secret")
	flag.Parse()
	if err := run(*addr, *dir, *scale, *info, *auth); err != nil {
		log.Fatal(err)
	}
}

type seeded struct {
	URL       string            `json:"url"`
	Grid      *webtest.Grid     `json:"grid"`
	Scale     string            `json:"scale_experiment,omitempty"`
	ScaleRuns int               `json:"scale_runs,omitempty"`
	Timing    map[string]string `json:"seed_time"`
}

func run(addr, dir string, scale int, infoPath string, auth bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dir == "" {
		d, err := os.MkdirTemp("", "uiserver-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	st, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "mlflow.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	art, err := artifacts.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		return err
	}
	out := seeded{Timing: map[string]string{}}
	t0 := time.Now()
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if out.Grid, err = webtest.Seed(ctx, st, art, base); err != nil {
		return err
	}
	out.Timing["grid"] = time.Since(t0).Round(time.Millisecond).String()
	if scale > 0 {
		t0 = time.Now()
		out.Scale, err = webtest.SeedScale(ctx, st, fmt.Sprintf("scale-%d-runs", scale), scale, base.Add(-24*time.Hour), func(n int) {
			log.Printf("seeded %d/%d runs", n, scale)
		})
		if err != nil {
			return err
		}
		out.ScaleRuns = scale
		out.Timing["scale"] = time.Since(t0).Round(time.Millisecond).String()
	}
	opts := web.Options{Store: st, ArtifactRoots: []web.ArtifactRoot{{Prefix: webtest.ProxyPrefix, Store: art}}}
	if auth {
		opts.Identify = basicUsers(map[string]bool{"alice": true, "viewer": false}, "secret")
	}
	ui, err := web.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	out.URL = "http://" + ln.Addr().String()
	if infoPath != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		if err := os.WriteFile(infoPath+".tmp", b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(infoPath+".tmp", infoPath); err != nil {
			return err
		}
	}
	log.Printf("serving the UI at %s (seeded in %v)", out.URL, out.Timing)
	srv := &http.Server{Handler: ui, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// basicUsers identifies users by HTTP basic authentication, as the
// tracking server's middleware will; writers says who may write.
func basicUsers(writers map[string]bool, password string) func(*http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pass), []byte(password)) != 1 {
			return "", false
		}
		w, known := writers[user]
		if !known {
			return "", false
		}
		return user, w
	}
}
