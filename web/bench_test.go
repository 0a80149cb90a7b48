package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking/search"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/web/webtest"
)

// benchRuns is how many runs BenchmarkRunsPage seeds: 10,000, the size
// the issue sets the runs table's page-load target (< 300 ms) at;
// YOLOPS_WEB_BENCH_RUNS changes it.
func benchRuns(b *testing.B) int {
	if v := os.Getenv("YOLOPS_WEB_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("YOLOPS_WEB_BENCH_RUNS=%q: want a positive number", v)
		}
		return n
	}
	return 10000
}

// BenchmarkRunsPage times the runs-table handler, from request to the
// last byte of HTML, over an experiment of 10,000 runs shaped like
// Ultralytics' (50 params, 13 metrics x 3 epochs) in a SQLite file: the
// first page, a filtered page sorted by a metric, and the last page.
// Seeding through the Store API takes a minute or two.
func BenchmarkRunsPage(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "mlflow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	art, err := artifacts.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		b.Fatal(err)
	}
	n := benchRuns(b)
	start := time.Now()
	exp, err := webtest.SeedScale(ctx, st, "scale", n, base, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d runs in %v", n, time.Since(start).Round(time.Millisecond))
	ui, err := New(Options{Store: st, ArtifactRoots: []ArtifactRoot{{Prefix: webtest.ProxyPrefix, Store: art}}})
	if err != nil {
		b.Fatal(err)
	}
	last := (n - 1) / defaultPageSize * defaultPageSize
	cases := []struct{ name, query string }{
		{"first page", ""},
		{"filtered, sorted by a metric", "filter=" + url.QueryEscape("metrics.`metrics/mAP50B` > 0.2 and params.imgsz = '416'") +
			"&order=" + url.QueryEscape("metrics.`metrics/mAP50B` DESC")},
		{"last page", "page=" + url.QueryEscape(search.EncodePageToken(last))},
		{"1000 per page", "n=1000"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			target := "/experiments/" + exp + "?" + c.query
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
				if rec.Code != 200 {
					b.Fatalf("GET %s: status %d", target, rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			b.ReportMetric(float64(size)/1024, "KiB/page")
		})
	}
}
