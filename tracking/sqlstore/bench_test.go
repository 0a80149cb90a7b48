package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking"
)

const seededRuns = 10000

// seed fills a new experiment with runs that each have 3 metrics, 3 params
// and 2 tags, inserted in bulk (the API would commit, and fsync, once per
// run), and returns the experiment id.
func seed(tb testing.TB, s *Store, runs int) string {
	tb.Helper()
	ctx := context.Background()
	expID, err := s.CreateExperiment(ctx, "bench", "", nil)
	if err != nil {
		tb.Fatal(err)
	}
	exp, _ := parseExperimentID(expID)
	rng := rand.New(rand.NewPCG(1, 2))
	models := []string{"n", "s", "m", "l"}
	const chunk = 200
	start := time.Now()
	for first := 0; first < runs; first += chunk {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			n := min(chunk, runs-first)
			var runArgs, metricArgs, latestArgs, paramArgs, tagArgs []any
			for i := first; i < first+n; i++ {
				id := newID()
				name := fmt.Sprintf("run-%05d", i)
				runArgs = append(runArgs, id, name, exp, "bench", tracking.RunFinished, int64(i), appendURI("mlflow-artifacts:/", expID, id, "artifacts"), tracking.Active)
				for _, key := range []string{"acc", "loss", "mAP50-95"} {
					v := rng.Float64()
					metricArgs = append(metricArgs, key, v, int64(1000+i), int64(2), false, id)
					latestArgs = append(latestArgs, key, v, int64(1000+i), int64(2), false, id)
				}
				paramArgs = append(paramArgs, "model", models[rng.IntN(len(models))], id, "lr0", fmt.Sprint(0.001*float64(1+rng.IntN(10))), id, "epochs", "3", id)
				tagArgs = append(tagArgs, tracking.TagRunName, name, id, "team", "cv", id)
			}
			for _, ins := range []struct {
				query string
				rows  int
				args  []any
			}{
				{"INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, artifact_uri, lifecycle_stage) VALUES ", n, runArgs},
				{"INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ", 3 * n, metricArgs},
				{"INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ", 3 * n, latestArgs},
				{"INSERT INTO params (key, value, run_uuid) VALUES ", 3 * n, paramArgs},
				{"INSERT INTO tags (key, value, run_uuid) VALUES ", 2 * n, tagArgs},
			} {
				rows := valueRows(ins.rows, len(ins.args)/ins.rows)
				if _, err := tx.ExecContext(ctx, s.d.q(ins.query+rows), ins.args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if s.d == postgresDialect {
		// What autovacuum would have done a minute after the inserts.
		if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("seeded %d runs on %s in %v", runs, s.d.name, time.Since(start).Round(time.Millisecond))
	return expID
}

// BenchmarkSearchRuns times a search over 10,000 runs with a metric filter
// and an order_by on another metric, the query an MLflow UI sends for a
// sorted, filtered run table.
func BenchmarkSearchRuns(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) *Store
	}{
		{"sqlite", func(tb testing.TB) *Store { return openSQLite(tb) }},
		{"postgres", func(tb testing.TB) *Store { return openPostgres(tb) }},
	}
	queries := []struct {
		name string
		req  tracking.SearchRuns
	}{
		{"filter+order/100", tracking.SearchRuns{Filter: "metrics.acc > 0.5", OrderBy: []string{"metrics.`mAP50-95` DESC"}, MaxResults: 100}},
		{"filter+order/1000", tracking.SearchRuns{Filter: "metrics.acc > 0.5", OrderBy: []string{"metrics.`mAP50-95` DESC"}, MaxResults: 1000}},
		{"2filters+2orders/100", tracking.SearchRuns{Filter: "metrics.acc > 0.5 and params.model = 'n'",
			OrderBy: []string{"params.lr0 DESC", "metrics.loss ASC"}, MaxResults: 100}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			exp := seed(b, s, seededRuns)
			for _, q := range queries {
				b.Run(q.name, func(b *testing.B) {
					req := q.req
					req.ExperimentIDs = []string{exp}
					ctx := context.Background()
					runs, _, err := s.SearchRuns(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					if len(runs) != req.MaxResults {
						b.Fatalf("%d runs, want a full page of %d", len(runs), req.MaxResults)
					}
					cpu0 := cpuTime()
					for b.Loop() {
						if _, _, err := s.SearchRuns(ctx, req); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
					// This process's CPU time: all of the work on SQLite, the
					// client's share on PostgreSQL.
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}
