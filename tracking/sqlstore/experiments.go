package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/search"
)

const (
	searchMaxResultsDefault   = 1000
	searchMaxResultsThreshold = 50000
)

// CreateExperiment implements tracking.TrackingStore.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []tracking.Tag) (string, error) {
	if err := tracking.ValidateExperimentName(name); err != nil {
		return "", err
	}
	if err := tracking.ValidateArtifactLocation(artifactLocation); err != nil {
		return "", err
	}
	for _, t := range tags {
		if err := tracking.ValidateExperimentTag(t); err != nil {
			return "", err
		}
	}
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		err := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO experiments
			(name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id`),
			name, nullString(artifactLocation), now, now).Scan(&id)
		if isUniqueViolation(err) {
			return tracking.Errorf(tracking.ResourceAlreadyExists, "Experiment(name=%s) already exists.", name)
		}
		if err != nil {
			return err
		}
		if artifactLocation == "" {
			loc := appendURI(s.artifactRoot, strconv.FormatInt(id, 10))
			if _, err := tx.ExecContext(ctx, s.d.q("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?"), loc, id); err != nil {
				return err
			}
		}
		for _, t := range lastByKey(tags) {
			if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)"),
				t.Key, t.Value, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

// lastByKey drops all but the last tag of each key, keeping first-seen
// order: a later value of a key overwrites an earlier one.
func lastByKey(tags []tracking.Tag) []tracking.Tag {
	idx := make(map[string]int, len(tags))
	var out []tracking.Tag
	for _, t := range tags {
		if i, ok := idx[t.Key]; ok {
			out[i].Value = t.Value
			continue
		}
		idx[t.Key] = len(out)
		out = append(out, t)
	}
	return out
}

const experimentColumns = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"

func scanExperiment(row interface{ Scan(...any) error }) (tracking.Experiment, error) {
	var (
		e       tracking.Experiment
		id      int64
		loc     sql.NullString
		created sql.NullInt64
		updated sql.NullInt64
	)
	err := row.Scan(&id, &e.Name, &loc, &e.LifecycleStage, &created, &updated)
	e.ExperimentID = strconv.FormatInt(id, 10)
	e.ArtifactLocation, e.CreationTime, e.LastUpdateTime = loc.String, created.Int64, updated.Int64
	return e, err
}

// experiment reads an experiment, with its tags, in any lifecycle stage; ""
// is the default experiment, as in MLflow.
func (s *Store) experiment(ctx context.Context, tx *sql.Tx, id string) (*tracking.Experiment, error) {
	if id == "" {
		id = tracking.DefaultExperimentID
	}
	n, err := parseExperimentID(id)
	if err != nil {
		return nil, err
	}
	e, err := scanExperiment(tx.QueryRowContext(ctx, s.d.q("SELECT "+experimentColumns+" FROM experiments WHERE experiment_id = ?"), n))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tracking.Errorf(tracking.ResourceDoesNotExist, "No Experiment with id=%s exists", id)
	}
	if err != nil {
		return nil, err
	}
	exps := []tracking.Experiment{e}
	if err := s.experimentTags(ctx, tx, exps); err != nil {
		return nil, err
	}
	return &exps[0], nil
}

// experimentTags fills in the tags of experiments.
func (s *Store) experimentTags(ctx context.Context, tx *sql.Tx, exps []tracking.Experiment) error {
	if len(exps) == 0 {
		return nil
	}
	byID := make(map[string]*tracking.Experiment, len(exps))
	ids := make([]string, len(exps))
	for i := range exps {
		byID[exps[i].ExperimentID] = &exps[i]
		ids[i] = exps[i].ExperimentID
	}
	err := inChunks(ids, func(chunk []any) error {
		return scanRows(ctx, tx, s.d.q("SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ("+placeholders(len(chunk))+")"), chunk, func(rows *sql.Rows) error {
			var (
				id    int64
				t     tracking.Tag
				value sql.NullString
			)
			if err := rows.Scan(&id, &t.Key, &value); err != nil {
				return err
			}
			t.Value = value.String
			e := byID[strconv.FormatInt(id, 10)]
			e.Tags = append(e.Tags, t)
			return nil
		})
	})
	for i := range exps {
		sortTags(exps[i].Tags)
	}
	return err
}

func sortTags(tags []tracking.Tag) {
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
}

// activeExperiment reads an experiment that must be active.
func (s *Store) activeExperiment(ctx context.Context, tx *sql.Tx, id string) (*tracking.Experiment, error) {
	e, err := s.experiment(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if e.LifecycleStage != tracking.Active {
		return nil, tracking.Errorf(tracking.InvalidParameterValue,
			"The experiment %s must be in the 'active' state. Current state is %s.", id, e.LifecycleStage)
	}
	return e, nil
}

// GetExperiment implements tracking.TrackingStore.
func (s *Store) GetExperiment(ctx context.Context, id string) (*tracking.Experiment, error) {
	var e *tracking.Experiment
	err := s.read(ctx, func(tx *sql.Tx) (err error) {
		e, err = s.experiment(ctx, tx, id)
		return err
	})
	return e, err
}

// GetExperimentByName implements tracking.TrackingStore.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*tracking.Experiment, error) {
	var e tracking.Experiment
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = scanExperiment(tx.QueryRowContext(ctx, s.d.q("SELECT "+experimentColumns+" FROM experiments WHERE name = ?"), name))
		if errors.Is(err, sql.ErrNoRows) {
			return tracking.Errorf(tracking.ResourceDoesNotExist, "Could not find experiment with name %s", name)
		}
		if err != nil {
			return err
		}
		exps := []tracking.Experiment{e}
		err = s.experimentTags(ctx, tx, exps)
		e = exps[0]
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// setExperimentStage moves an experiment in stage from to stage to, with
// all its runs, as MLflow's delete_experiment and restore_experiment do.
func (s *Store) setExperimentStage(ctx context.Context, id string, from, to tracking.LifecycleStage) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		e, err := s.experiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != from {
			return tracking.Errorf(tracking.ResourceDoesNotExist, "No Experiment with id=%s exists in the '%s' state", id, from)
		}
		now := s.now()
		n, _ := parseExperimentID(e.ExperimentID)
		if _, err := tx.ExecContext(ctx, s.d.q("UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?"), to, now, n); err != nil {
			return err
		}
		deletedTime := sql.NullInt64{Int64: now, Valid: to == tracking.Deleted}
		_, err = tx.ExecContext(ctx, s.d.q("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?"), to, deletedTime, n)
		return err
	})
}

// DeleteExperiment implements tracking.TrackingStore.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return s.setExperimentStage(ctx, id, tracking.Active, tracking.Deleted)
}

// RestoreExperiment implements tracking.TrackingStore.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.setExperimentStage(ctx, id, tracking.Deleted, tracking.Active)
}

// RenameExperiment implements tracking.TrackingStore.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := tracking.ValidateExperimentName(newName); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		e, err := s.experiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != tracking.Active {
			return tracking.Errorf(tracking.InvalidState, "Cannot rename a non-active experiment.")
		}
		n, _ := parseExperimentID(e.ExperimentID)
		_, err = tx.ExecContext(ctx, s.d.q("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?"), newName, s.now(), n)
		if isUniqueViolation(err) {
			return tracking.Errorf(tracking.ResourceAlreadyExists, "Experiment(name=%s) already exists.", newName)
		}
		return err
	})
}

// SetExperimentTag implements tracking.TrackingStore.
func (s *Store) SetExperimentTag(ctx context.Context, id string, tag tracking.Tag) error {
	if err := tracking.ValidateExperimentTag(tag); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		e, err := s.activeExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		n, _ := parseExperimentID(e.ExperimentID)
		_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)
			ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value`), tag.Key, tag.Value, n)
		return err
	})
}

// DeleteExperimentTag implements tracking.TrackingStore.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		e, err := s.activeExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		n, _ := parseExperimentID(e.ExperimentID)
		res, err := tx.ExecContext(ctx, s.d.q("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?"), n, key)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return tracking.Errorf(tracking.ResourceDoesNotExist, "No tag with name: %s in experiment with id %s", key, id)
		}
		return nil
	})
}

// maxResults applies a search's default to 0 and checks its bound.
func maxResults(n, def, threshold int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, tracking.Errorf(tracking.InvalidParameterValue, "Invalid value for max_results. It must be a positive integer, but got %d", n)
	case n > threshold:
		return 0, tracking.Errorf(tracking.InvalidParameterValue, "Invalid value for request parameter max_results. It must be at most %d, but got value %d", threshold, n)
	}
	return n, nil
}

// searchPage is what every search request starts from: its page size (max_results
// with its default applied and its bound checked), its filter's clauses and
// the offset its page token encodes.
type searchPage struct {
	limit, offset int
	clauses       []search.Clause
}

// parsePage checks a search's paging and parses its filter with parse.
func parsePage(maxRes, def, threshold int, filter, token string, parse func(string) ([]search.Clause, error)) (searchPage, error) {
	limit, err := maxResults(maxRes, def, threshold)
	if err != nil {
		return searchPage{}, err
	}
	clauses, err := parse(filter)
	if err != nil {
		return searchPage{}, err
	}
	offset, err := search.DecodePageToken(token)
	if err != nil {
		return searchPage{}, err
	}
	return searchPage{limit: limit, offset: offset, clauses: clauses}, nil
}

// where accumulates SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// compare returns the SQL comparing col with a clause's value, and its
// arguments.
func (s *Store) compare(col string, c search.Clause) (string, []any) {
	switch c.Comparator {
	case "LIKE":
		return col + " LIKE ?", []any{c.Value.Str}
	case "ILIKE":
		return s.d.ilike(col), []any{c.Value.Str}
	case "IN", "NOT IN":
		args := make([]any, len(c.Value.List))
		for i, v := range c.Value.List {
			args[i] = v
		}
		return col + " " + c.Comparator + " (" + placeholders(len(args)) + ")", args
	}
	var arg any
	switch {
	case c.Value.Kind == search.String:
		arg = c.Value.Str
	case c.Value.IsInt:
		arg = c.Value.Int
	default:
		arg = c.Value.Num
	}
	return col + " " + c.Comparator + " ?", []any{arg}
}

func stageArgs(v tracking.ViewType) []any {
	var args []any
	for _, st := range v.Stages() {
		args = append(args, string(st))
	}
	return args
}

// SearchExperiments implements tracking.TrackingStore.
func (s *Store) SearchExperiments(ctx context.Context, req tracking.SearchExperiments) ([]tracking.Experiment, string, error) {
	pg, err := parsePage(req.MaxResults, searchMaxResultsDefault, searchMaxResultsThreshold, req.Filter, req.PageToken, search.ParseExperimentFilter)
	if err != nil {
		return nil, "", err
	}
	limit, offset, clauses := pg.limit, pg.offset, pg.clauses
	var w where
	stages := stageArgs(req.ViewType)
	w.add("e.lifecycle_stage IN ("+placeholders(len(stages))+")", stages...)
	for _, c := range clauses {
		if c.Entity == search.Tag {
			cond, args := s.compare("t.value", c)
			w.add("EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = ? AND "+cond+")",
				append([]any{c.Key}, args...)...)
			continue
		}
		cond, args := s.compare("e."+c.Key, c)
		w.add(cond, args...)
	}
	orderBy := req.OrderBy
	if len(orderBy) == 0 {
		orderBy = []string{"creation_time DESC", "experiment_id ASC"}
	}
	var order []string
	seen := map[string]bool{}
	for _, ob := range orderBy {
		o, err := search.ParseExperimentOrderBy(ob)
		if err != nil {
			return nil, "", err
		}
		if seen[o.Key] {
			return nil, "", tracking.Errorf(tracking.InvalidParameterValue, "`order_by` contains duplicate fields: %q", orderBy)
		}
		seen[o.Key] = true
		col := "e." + o.Key
		if o.Key == "name" {
			col += s.d.collate
		}
		order = append(order, col+direction(o.Ascending))
	}
	if !seen["experiment_id"] {
		order = append(order, "e.experiment_id DESC")
	}
	query := "SELECT " + prefixColumns("e", experimentColumns) + " FROM experiments e" + w.String() +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT ? OFFSET ?"
	var exps []tracking.Experiment
	err = s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.q(query), append(w.args, limit+1, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanExperiment(rows)
			if err != nil {
				return err
			}
			exps = append(exps, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.experimentTags(ctx, tx, exps)
	})
	if err != nil {
		return nil, "", err
	}
	return page(exps, limit, offset)
}

// page cuts the extra row a search asked for and returns the token of the
// next page when there was one.
func page[T any](items []T, limit, offset int) ([]T, string, error) {
	if len(items) > limit {
		return items[:limit], search.EncodePageToken(offset + limit), nil
	}
	return items, "", nil
}

func direction(ascending bool) string {
	if ascending {
		return " ASC"
	}
	return " DESC"
}

// prefixColumns qualifies a comma-separated column list with a table alias.
func prefixColumns(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + "." + p
	}
	return strings.Join(parts, ", ")
}
