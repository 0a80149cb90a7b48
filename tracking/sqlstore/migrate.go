package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/yolops/yolops/tracking"
)

// A migration moves the schema from version-1 to version. Migrations are
// applied in order, each in its own transaction together with its row in
// schema_version, so a crash leaves the schema at a known version and the
// next Open carries on. Published migrations are never edited: a change is
// a new migration at the end of the list.
type migration struct {
	version int
	name    string
	stmts   []string
}

var migrations = []migration{
	{1, "MLflow tracking and registry tables, stage transitions", []string{
		`CREATE TABLE experiments (
			experiment_id {{ID}},
			name VARCHAR(500) NOT NULL UNIQUE,
			artifact_location TEXT,
			lifecycle_stage VARCHAR(32) NOT NULL DEFAULT 'active',
			creation_time BIGINT,
			last_update_time BIGINT,
			CONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted'))
		)`,
		`CREATE TABLE experiment_tags (
			key VARCHAR(250) NOT NULL,
			value VARCHAR(5000),
			experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
			CONSTRAINT experiment_tag_pk PRIMARY KEY (key, experiment_id)
		)`,
		`CREATE TABLE runs (
			run_uuid VARCHAR(32) NOT NULL,
			name TEXT,
			user_id TEXT,
			status VARCHAR(20) NOT NULL,
			start_time BIGINT,
			end_time BIGINT,
			deleted_time BIGINT,
			lifecycle_stage VARCHAR(20) NOT NULL DEFAULT 'active',
			artifact_uri TEXT,
			experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
			CONSTRAINT run_pk PRIMARY KEY (run_uuid),
			CONSTRAINT status CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED')),
			CONSTRAINT runs_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted'))
		)`,
		// The primary keys of metrics, latest_metrics, params and tags have
		// MLflow's columns, with run_uuid first: a run's data, or one
		// metric's history, is then one range of the key, which SQLite
		// stores the rows in (WITHOUT ROWID).
		`CREATE TABLE metrics (
			key VARCHAR(250) NOT NULL,
			value {{DOUBLE}} NOT NULL,
			timestamp BIGINT NOT NULL,
			step BIGINT NOT NULL DEFAULT 0,
			is_nan BOOLEAN NOT NULL DEFAULT FALSE,
			run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
			CONSTRAINT metric_pk PRIMARY KEY (run_uuid, key, timestamp, step, value, is_nan)
		) {{WITHOUT_ROWID}}`,
		`CREATE TABLE latest_metrics (
			key VARCHAR(250) NOT NULL,
			value {{DOUBLE}} NOT NULL,
			timestamp BIGINT NOT NULL,
			step BIGINT NOT NULL,
			is_nan BOOLEAN NOT NULL,
			run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
			CONSTRAINT latest_metric_pk PRIMARY KEY (run_uuid, key)
		) {{WITHOUT_ROWID}}`,
		`CREATE TABLE params (
			key VARCHAR(250) NOT NULL,
			value VARCHAR(8000) NOT NULL,
			run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
			CONSTRAINT param_pk PRIMARY KEY (run_uuid, key)
		) {{WITHOUT_ROWID}}`,
		`CREATE TABLE tags (
			key VARCHAR(250) NOT NULL,
			value VARCHAR(8000),
			run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
			CONSTRAINT tag_pk PRIMARY KEY (run_uuid, key)
		) {{WITHOUT_ROWID}}`,
		`CREATE TABLE datasets (
			dataset_uuid VARCHAR(36) NOT NULL UNIQUE,
			experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
			name VARCHAR(500) NOT NULL,
			digest VARCHAR(36) NOT NULL,
			dataset_source_type VARCHAR(36) NOT NULL,
			dataset_source TEXT NOT NULL,
			dataset_schema TEXT,
			dataset_profile TEXT,
			CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest)
		)`,
		`CREATE TABLE inputs (
			input_uuid VARCHAR(36) NOT NULL UNIQUE,
			source_type VARCHAR(36) NOT NULL,
			source_id VARCHAR(36) NOT NULL,
			destination_type VARCHAR(36) NOT NULL,
			destination_id VARCHAR(36) NOT NULL,
			CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id)
		)`,
		`CREATE INDEX index_inputs_destination ON inputs (destination_type, destination_id)`,
		`CREATE TABLE input_tags (
			input_uuid VARCHAR(36) NOT NULL REFERENCES inputs (input_uuid) ON DELETE CASCADE,
			name VARCHAR(255) NOT NULL,
			value VARCHAR(500) NOT NULL,
			CONSTRAINT input_tags_pk PRIMARY KEY (input_uuid, name)
		)`,
		`CREATE TABLE registered_models (
			name VARCHAR(256) NOT NULL,
			creation_time BIGINT,
			last_updated_time BIGINT,
			description TEXT,
			CONSTRAINT registered_model_pk PRIMARY KEY (name)
		)`,
		`CREATE TABLE registered_model_tags (
			key VARCHAR(250) NOT NULL,
			value VARCHAR(5000),
			name VARCHAR(256) NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
			CONSTRAINT registered_model_tag_pk PRIMARY KEY (key, name)
		)`,
		`CREATE TABLE model_versions (
			name VARCHAR(256) NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
			version INTEGER NOT NULL,
			creation_time BIGINT,
			last_updated_time BIGINT,
			description TEXT,
			user_id TEXT,
			current_stage VARCHAR(20) NOT NULL,
			source TEXT,
			run_id VARCHAR(32),
			run_link TEXT,
			status VARCHAR(20) NOT NULL,
			status_message TEXT,
			CONSTRAINT model_version_pk PRIMARY KEY (name, version)
		)`,
		`CREATE TABLE model_version_tags (
			key VARCHAR(250) NOT NULL,
			value VARCHAR(5000),
			name VARCHAR(256) NOT NULL,
			version INTEGER NOT NULL,
			CONSTRAINT model_version_tag_pk PRIMARY KEY (key, name, version),
			FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
		)`,
		`CREATE TABLE registered_model_aliases (
			alias VARCHAR(256) NOT NULL,
			version INTEGER NOT NULL,
			name VARCHAR(256) NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
			CONSTRAINT registered_model_alias_pk PRIMARY KEY (name, alias)
		)`,
		`CREATE TABLE model_version_transitions (
			id {{ID}},
			name VARCHAR(256) NOT NULL,
			version INTEGER NOT NULL,
			from_stage VARCHAR(20) NOT NULL,
			to_stage VARCHAR(20) NOT NULL,
			user_id TEXT,
			timestamp BIGINT NOT NULL,
			comment TEXT,
			FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
		)`,
		`CREATE INDEX index_model_version_transitions ON model_version_transitions (name, version)`,
	}},
	{2, "indexes for searching runs", []string{
		`CREATE INDEX index_runs_experiment_id ON runs (experiment_id, lifecycle_stage, start_time)`,
		// metrics.x > v filters read a range of this instead of every run.
		`CREATE INDEX index_latest_metrics_key_value ON latest_metrics (key, value)`,
	}},
}

// latestVersion is the schema version this binary creates.
func latestVersion() int { return migrations[len(migrations)-1].version }

// migrate applies the migrations the database lacks and refuses a database
// whose schema is newer than this binary's.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOnce(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateOnce applies the next missing migration, if any, in one
// transaction; done says there was none.
func (s *Store) migrateOnce(ctx context.Context) (done bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if s.d == postgresDialect {
			// Processes opening the same database migrate one at a time.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7418005119)"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version INTEGER NOT NULL PRIMARY KEY,
			name VARCHAR(200) NOT NULL,
			applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_version: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&current); err != nil {
			return fmt.Errorf("read schema_version: %w", err)
		}
		if current > latestVersion() {
			return fmt.Errorf("the database schema is at version %d, newer than this binary knows (%d): use a newer yolops", current, latestVersion())
		}
		if current == latestVersion() {
			done = true
			return nil
		}
		if current == 0 {
			foreign, err := s.tableExists(ctx, tx, "experiments")
			if err != nil {
				return err
			}
			if foreign {
				return fmt.Errorf("the database has an experiments table but no schema_version: it was not created by yolops (an MLflow database?); use an empty database")
			}
		}
		m := migrations[current] // versions are 1, 2, ... in order
		for _, stmt := range m.stmts {
			if _, err := tx.ExecContext(ctx, s.d.types.Replace(stmt)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		_, err := tx.ExecContext(ctx, s.d.q("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)"),
			m.version, m.name, s.now())
		return err
	})
	return done, err
}

func (s *Store) tableExists(ctx context.Context, tx *sql.Tx, table string) (bool, error) {
	var n int
	var err error
	if s.d == postgresDialect {
		err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1", table).Scan(&n)
	} else {
		err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n)
	}
	return n > 0, err
}

// SchemaVersion returns the schema version of the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.rdb.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&v)
	return v, err
}

// createDefaultExperiment creates experiment 0, "Default", when the store
// has no experiment at all, as MLflow's SQL store does on start.
func (s *Store) createDefaultExperiment(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM experiments").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := s.now()
		_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO experiments
			(experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (0, ?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING`),
			tracking.DefaultExperimentName, appendURI(s.artifactRoot, tracking.DefaultExperimentID), now, now)
		return err
	})
}
