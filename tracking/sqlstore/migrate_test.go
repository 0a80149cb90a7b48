package sqlstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking"
)

// An opener opens a new store and returns a function that opens its
// database once more.
type opener struct {
	name string
	open func(t testing.TB) (first *Store, reopen func() (*Store, error))
}

func openers() []opener {
	return []opener{
		{"sqlite", func(t testing.TB) (*Store, func() (*Store, error)) {
			uri := "sqlite:///" + t.TempDir() + "/m.db"
			s, err := Open(context.Background(), uri)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, func() (*Store, error) { return Open(context.Background(), uri) }
		}},
		{"postgres", func(t testing.TB) (*Store, func() (*Store, error)) {
			uri := postgresSchemaURI(t)
			s, err := Open(context.Background(), uri)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, func() (*Store, error) { return Open(context.Background(), uri) }
		}},
	}
}

func TestMigrations(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Fatalf("migration %d has version %d: versions must be 1, 2, 3... in order", i, m.version)
		}
	}
	for _, o := range openers() {
		t.Run(o.name, func(t *testing.T) {
			ctx := context.Background()
			s, reopen := o.open(t)
			v, err := s.SchemaVersion(ctx)
			if err != nil || v != latestVersion() {
				t.Fatalf("schema version %d, %v; want %d", v, err, latestVersion())
			}
			id, err := s.CreateExperiment(ctx, "kept", "", nil)
			if err != nil {
				t.Fatal(err)
			}

			// Reopening applies nothing and keeps the data and the single
			// default experiment.
			s2, err := reopen()
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			exps, _, err := s2.SearchExperiments(ctx, tracking.SearchExperiments{ViewType: tracking.AllStages})
			if err != nil || len(exps) != 2 {
				t.Errorf("after reopen: %d experiments, %v; want Default and kept", len(exps), err)
			}
			s2.Close()

			// A database left at version 1 (as if the process died before
			// migration 2 committed) is brought up to date.
			for _, stmt := range []string{
				"DROP INDEX index_runs_experiment_id",
				"DROP INDEX index_latest_metrics_key_value",
				"DELETE FROM schema_version WHERE version = 2",
			} {
				if _, err := s.db.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			s3, err := reopen()
			if err != nil {
				t.Fatalf("reopen at version 1: %v", err)
			}
			if v, _ := s3.SchemaVersion(ctx); v != latestVersion() {
				t.Errorf("schema version after the re-run: %d", v)
			}
			if e, err := s3.GetExperiment(ctx, id); err != nil || e.Name != "kept" {
				t.Errorf("experiment after migrating: %+v, %v", e, err)
			}
			s3.Close()

			// A database from a newer yolops is refused, not changed.
			if _, err := s.db.ExecContext(ctx, s.d.q("INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'from the future', 0)"), latestVersion()+5); err != nil {
				t.Fatal(err)
			}
			if s4, err := reopen(); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
				if s4 != nil {
					s4.Close()
				}
				t.Errorf("opening a newer database: %v", err)
			}
		})
	}
}

func TestForeignDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, "sqlite:///"+dir+"/ok.db")
	if err != nil {
		t.Fatal(err)
	}
	// Make a database with MLflow's experiments table but no schema_version.
	if _, err := s.db.ExecContext(ctx, "ATTACH DATABASE ? AS other", dir+"/mlflow.db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "CREATE TABLE other.experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "DETACH DATABASE other"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, "sqlite:///"+dir+"/mlflow.db"); err == nil || !strings.Contains(err.Error(), "not created by yolops") {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of an MLflow database: %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	s := openSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.CreateExperiment(ctx, "x", "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateExperiment with a canceled context: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if _, _, err := s.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{"0"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("SearchRuns past its deadline: %v", err)
	}
}
