// Package sqlstore implements tracking.Store over database/sql, with SQLite
// (modernc.org/sqlite, pure Go: the embedded default) and PostgreSQL
// (pgx) as dialects of one implementation.
//
// The schema keeps MLflow's table and column names (experiments, runs,
// metrics, latest_metrics, params, tags, registered_models,
// model_versions...), plus model_version_transitions for the stage history
// and schema_version for migrations. Searches are single SQL queries that
// filter, order and page in the database; only the page's runs are loaded.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/yolops/yolops/tracking"
)

// Store is a tracking.Store kept in a SQL database. It is safe for
// concurrent use, and several processes may share one database.
type Store struct {
	db *sql.DB // writes; reads too on PostgreSQL
	// rdb serves reads. On SQLite it is a second pool whose transactions
	// start deferred, so that readers run beside the single writer (WAL).
	rdb          *sql.DB
	d            *dialect
	artifactRoot string
	now          func() int64 // milliseconds since the epoch
}

var _ tracking.Store = (*Store)(nil)

// Option configures Open.
type Option func(*Store)

// WithDefaultArtifactRoot sets where experiments created without an artifact
// location keep their artifacts: <root>/<experiment id>, and a run's are
// <experiment location>/<run id>/artifacts. The default, mlflow-artifacts:/,
// is the root of an MLflow server that proxies artifacts.
func WithDefaultArtifactRoot(root string) Option {
	return func(s *Store) { s.artifactRoot = root }
}

// WithClock replaces the clock that stamps creation and update times.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = func() int64 { return now().UnixMilli() } }
}

// Open connects to the database an MLflow-style URI names, brings its
// schema up to date and creates the default experiment if the store has no
// experiment:
//
//	sqlite:///relative/path.db    a file relative to the working directory
//	sqlite:////absolute/path.db   an absolute path
//	sqlite:///:memory:            a private in-memory database
//	postgresql://user:pass@host:port/db?sslmode=disable
//
// postgres:// and SQLAlchemy's postgresql+<driver>:// are accepted too.
func Open(ctx context.Context, uri string, opts ...Option) (*Store, error) {
	s := &Store{
		artifactRoot: "mlflow-artifacts:/",
		now:          func() int64 { return time.Now().UnixMilli() },
	}
	for _, o := range opts {
		o(s)
	}
	var err error
	switch {
	case strings.HasPrefix(uri, "sqlite:"):
		err = s.openSQLite(uri)
	case strings.HasPrefix(uri, "postgresql:"), strings.HasPrefix(uri, "postgres:"),
		strings.HasPrefix(uri, "postgresql+"):
		err = s.openPostgres(uri)
	default:
		return nil, fmt.Errorf("open tracking store %q: unsupported URI scheme (want sqlite:/// or postgresql://)", redact(uri))
	}
	if err != nil {
		return nil, fmt.Errorf("open tracking store %q: %w", redact(uri), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open tracking store %q: %w", redact(uri), err)
	}
	if err := s.createDefaultExperiment(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open tracking store %q: create the default experiment: %w", redact(uri), err)
	}
	return s, nil
}

// redact hides the password of a database URI.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	return u.Redacted()
}

func (s *Store) openSQLite(uri string) error {
	s.d = sqliteDialect
	var path string
	switch {
	case uri == "sqlite://" || uri == "sqlite:///:memory:":
		// One connection: each connection to :memory: is its own database.
		db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_txlock=immediate")
		if err != nil {
			return err
		}
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.db, s.rdb = db, db
		return nil
	case strings.HasPrefix(uri, "sqlite:///"):
		path = strings.TrimPrefix(uri, "sqlite:///")
	default:
		return errors.New("a SQLite URI is sqlite:///relative.db or sqlite:////absolute.db")
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return fmt.Errorf("bad SQLite database path %q (empty, or holding '?' or '#')", path)
	}
	// WAL lets readers work beside the writer; synchronous=FULL makes every
	// acknowledged commit survive a power loss, not only a crash; SQLAlchemy
	// runs MLflow's SQLite sessions with case_sensitive_like as well; mmap
	// and a 16 MiB page cache spare searches a read() per page.
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_pragma=mmap_size(268435456)&_pragma=cache_size(-16384)"
	w, err := sql.Open("sqlite", path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return err
	}
	// SQLite has one writer at a time; queueing writers on one connection
	// in Go is cheaper than letting them spin on SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return err
	}
	r.SetMaxOpenConns(8)
	// Create the file and switch it to WAL before the readers connect.
	if err := w.Ping(); err != nil {
		w.Close()
		r.Close()
		return err
	}
	s.db, s.rdb = w, r
	return nil
}

func (s *Store) openPostgres(uri string) error {
	s.d = postgresDialect
	if i := strings.Index(uri, "://"); i >= 0 {
		uri = "postgres" + uri[i:] // drop SQLAlchemy's +driver
	}
	db, err := sql.Open("pgx", uri)
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s.db, s.rdb = db, db
	return nil
}

// Close closes the store's connections.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Dialect returns "sqlite" or "postgresql".
func (s *Store) Dialect() string { return s.d.name }

// tx runs fn in a write transaction, retrying it when PostgreSQL aborts it
// for a deadlock or serialization failure or SQLite reports the database
// busy (another process holds the write lock past busy_timeout).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.runTx(ctx, s.db, nil, fn)
		if err == nil || attempt >= 4 || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

// read runs fn in a read transaction, so that its queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.d == postgresDialect {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return s.runTx(ctx, s.rdb, opts, fn)
}

func (s *Store) runTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return internal(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return internal(err)
	}
	if err := tx.Commit(); err != nil {
		return internal(err)
	}
	return nil
}

// internal wraps an error that carries no MLflow code as INTERNAL_ERROR,
// keeping the cause.
func internal(err error) error {
	var te *tracking.Error
	if err == nil || errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &tracking.Error{Code: tracking.InternalError, Message: "database error: " + err.Error(), Err: err}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isUniqueViolation reports whether err is a primary key or unique
// constraint violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}

// newID returns a random 32-character lower-case hex id, as uuid4().hex.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return hex.EncodeToString(b[:])
}

// appendURI joins a path to a URI or local path with one slash, as MLflow's
// append_to_uri_path does.
func appendURI(base string, parts ...string) string {
	for _, p := range parts {
		p = strings.TrimLeft(p, "/")
		switch {
		case base == "":
			base = p
		case strings.HasSuffix(base, "/"):
			base += p
		default:
			base += "/" + p
		}
	}
	return base
}

// parseExperimentID parses an experiment id; ids that are not integers name
// no experiment.
func parseExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, tracking.Errorf(tracking.ResourceDoesNotExist, "No Experiment with id=%s exists", id)
	}
	return n, nil
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// nullString maps "" to NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// nullInt maps 0 to NULL.
func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }
