package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/search"
)

const runColumns = "run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"

func scanRunInfo(row interface{ Scan(...any) error }) (tracking.RunInfo, error) {
	var (
		ri                   tracking.RunInfo
		name, user, artifact sql.NullString
		exp                  int64
		start, end           sql.NullInt64
	)
	err := row.Scan(&ri.RunID, &name, &exp, &user, &ri.Status, &start, &end, &artifact, &ri.LifecycleStage)
	ri.RunName, ri.UserID, ri.ArtifactURI = name.String, user.String, artifact.String
	ri.ExperimentID = strconv.FormatInt(exp, 10)
	ri.StartTime, ri.EndTime = start.Int64, end.Int64
	return ri, err
}

// runInfo reads a run's metadata, in any lifecycle stage.
func (s *Store) runInfo(ctx context.Context, tx *sql.Tx, runID string) (*tracking.RunInfo, error) {
	ri, err := scanRunInfo(tx.QueryRowContext(ctx, s.d.q("SELECT "+runColumns+" FROM runs WHERE run_uuid = ?"), runID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tracking.Errorf(tracking.ResourceDoesNotExist, "Run with id=%s not found", runID)
	}
	if err != nil {
		return nil, err
	}
	return &ri, nil
}

// activeRun reads a run that must be active to be written to.
func (s *Store) activeRun(ctx context.Context, tx *sql.Tx, runID string) (*tracking.RunInfo, error) {
	ri, err := s.runInfo(ctx, tx, runID)
	if err != nil {
		return nil, err
	}
	if ri.LifecycleStage != tracking.Active {
		return nil, tracking.Errorf(tracking.InvalidParameterValue,
			"The run %s must be in the 'active' state. Current state is %s.", runID, ri.LifecycleStage)
	}
	return ri, nil
}

// CreateRun implements tracking.TrackingStore.
func (s *Store) CreateRun(ctx context.Context, req tracking.CreateRun) (*tracking.Run, error) {
	for _, t := range req.Tags {
		if err := tracking.ValidateTag(t); err != nil {
			return nil, err
		}
	}
	expID := req.ExperimentID
	if expID == "" {
		expID = tracking.DefaultExperimentID
	}
	tags := lastByKey(req.Tags)
	nameTag := ""
	for _, t := range tags {
		if t.Key == tracking.TagRunName {
			nameTag = t.Value
		}
	}
	if req.RunName != "" && nameTag != "" && req.RunName != nameTag {
		return nil, tracking.Errorf(tracking.InvalidParameterValue,
			"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').",
			req.RunName, nameTag)
	}
	name := req.RunName
	if name == "" {
		name = nameTag
	}
	if name == "" {
		name = tracking.RandomRunName()
	}
	if nameTag == "" {
		tags = append(tags, tracking.Tag{Key: tracking.TagRunName, Value: name})
	}
	start := req.StartTime
	if start == 0 {
		start = s.now()
	}
	var run tracking.Run
	err := s.tx(ctx, func(tx *sql.Tx) error {
		exp, err := s.activeExperiment(ctx, tx, expID)
		if err != nil {
			return err
		}
		runID := newID()
		run.Info = tracking.RunInfo{
			RunID:          runID,
			RunName:        name,
			ExperimentID:   exp.ExperimentID,
			UserID:         req.UserID,
			Status:         tracking.RunRunning,
			StartTime:      start,
			ArtifactURI:    appendURI(exp.ArtifactLocation, runID, "artifacts"),
			LifecycleStage: tracking.Active,
		}
		expNum, _ := parseExperimentID(exp.ExperimentID)
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO runs
			(run_uuid, name, experiment_id, user_id, status, start_time, artifact_uri, lifecycle_stage)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'active')`),
			runID, name, expNum, req.UserID, tracking.RunRunning, start, run.Info.ArtifactURI); err != nil {
			return err
		}
		return s.upsertTags(ctx, tx, runID, tags)
	})
	if err != nil {
		return nil, err
	}
	run.Data.Tags = append([]tracking.Tag(nil), tags...)
	sortTags(run.Data.Tags)
	return &run, nil
}

// GetRun implements tracking.TrackingStore.
func (s *Store) GetRun(ctx context.Context, runID string) (*tracking.Run, error) {
	var runs []tracking.Run
	err := s.read(ctx, func(tx *sql.Tx) error {
		ri, err := s.runInfo(ctx, tx, runID)
		if err != nil {
			return err
		}
		runs, err = s.loadRuns(ctx, tx, []tracking.RunInfo{*ri})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &runs[0], nil
}

// UpdateRun implements tracking.TrackingStore.
func (s *Store) UpdateRun(ctx context.Context, req tracking.UpdateRun) (*tracking.RunInfo, error) {
	if req.Status != "" && !req.Status.Valid() {
		return nil, tracking.Errorf(tracking.InvalidParameterValue, "Invalid run status '%s': must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED", req.Status)
	}
	if req.RunName != "" {
		if err := tracking.ValidateTag(tracking.Tag{Key: tracking.TagRunName, Value: req.RunName}); err != nil {
			return nil, err
		}
	}
	var ri *tracking.RunInfo
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ri, err = s.activeRun(ctx, tx, req.RunID); err != nil {
			return err
		}
		if req.Status != "" {
			ri.Status = req.Status
		}
		if req.EndTime != 0 {
			ri.EndTime = req.EndTime
		}
		if req.RunName != "" {
			ri.RunName = req.RunName
			if err := s.upsertTags(ctx, tx, req.RunID, []tracking.Tag{{Key: tracking.TagRunName, Value: req.RunName}}); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.d.q("UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?"),
			ri.Status, nullInt(ri.EndTime), ri.RunName, req.RunID)
		return err
	})
	return ri, err
}

func (s *Store) setRunStage(ctx context.Context, runID string, stage tracking.LifecycleStage) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.runInfo(ctx, tx, runID); err != nil {
			return err
		}
		deletedTime := sql.NullInt64{Int64: s.now(), Valid: stage == tracking.Deleted}
		_, err := tx.ExecContext(ctx, s.d.q("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?"), stage, deletedTime, runID)
		return err
	})
}

// DeleteRun implements tracking.TrackingStore.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.setRunStage(ctx, runID, tracking.Deleted)
}

// RestoreRun implements tracking.TrackingStore.
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return s.setRunStage(ctx, runID, tracking.Active)
}

// LogMetric implements tracking.TrackingStore.
func (s *Store) LogMetric(ctx context.Context, runID string, m tracking.Metric) error {
	if err := tracking.ValidateMetric(m); err != nil {
		return err
	}
	return s.logBatch(ctx, runID, []tracking.Metric{m}, nil, nil)
}

// LogParam implements tracking.TrackingStore.
func (s *Store) LogParam(ctx context.Context, runID string, p tracking.Param) error {
	if err := tracking.ValidateParam(p); err != nil {
		return err
	}
	return s.logBatch(ctx, runID, nil, []tracking.Param{p}, nil)
}

// SetTag implements tracking.TrackingStore.
func (s *Store) SetTag(ctx context.Context, runID string, tag tracking.Tag) error {
	if err := tracking.ValidateTag(tag); err != nil {
		return err
	}
	return s.logBatch(ctx, runID, nil, nil, []tracking.Tag{tag})
}

// DeleteTag implements tracking.TrackingStore.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q("DELETE FROM tags WHERE run_uuid = ? AND key = ?"), runID, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tracking.Errorf(tracking.ResourceDoesNotExist, "No tag with name: %s in run with id %s", key, runID)
		}
		return nil
	})
}

// LogBatch implements tracking.TrackingStore.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	if err := tracking.ValidateLogBatch(runID, metrics, params, tags); err != nil {
		return err
	}
	return s.logBatch(ctx, runID, metrics, params, tags)
}

// Rows per multi-row INSERT: well under SQLite's 32766 and PostgreSQL's
// 65535 bound parameters.
const rowsPerInsert = 500

// logBatch writes validated params, metrics and tags in one transaction.
func (s *Store) logBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		if err := s.insertParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := s.insertMetrics(ctx, tx, runID, metrics); err != nil {
			return err
		}
		return s.upsertTags(ctx, tx, runID, lastByKey(tags))
	})
}

// insertParams adds params a run does not have and checks that the ones it
// has keep their value. It inserts first and compares after, so that of two
// transactions logging one key with different values, one fails.
func (s *Store) insertParams(ctx context.Context, tx *sql.Tx, runID string, params []tracking.Param) error {
	if len(params) == 0 {
		return nil
	}
	params = append([]tracking.Param(nil), params...)
	// One order for every writer, so that their row locks cannot deadlock.
	sort.Slice(params, func(i, j int) bool { return params[i].Key < params[j].Key })
	for start := 0; start < len(params); start += rowsPerInsert {
		chunk := params[start:min(start+rowsPerInsert, len(params))]
		args := make([]any, 0, 3*len(chunk))
		for _, p := range chunk {
			args = append(args, p.Key, p.Value, runID)
		}
		if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO params (key, value, run_uuid) VALUES "+
			valueRows(len(chunk), 3)+" ON CONFLICT (key, run_uuid) DO NOTHING"), args...); err != nil {
			return err
		}
	}
	keys := make([]any, 0, len(params)+1)
	keys = append(keys, runID)
	for _, p := range params {
		keys = append(keys, p.Key)
	}
	rows, err := tx.QueryContext(ctx, s.d.q("SELECT key, value FROM params WHERE run_uuid = ? AND key IN ("+placeholders(len(params))+")"), keys...)
	if err != nil {
		return err
	}
	stored := make(map[string]string, len(params))
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		stored[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var conflicts []string
	for _, p := range params {
		if old, ok := stored[p.Key]; ok && old != p.Value {
			conflicts = append(conflicts, fmt.Sprintf("{'key': '%s', 'old_value': '%s', 'new_value': '%s'}", p.Key, old, p.Value))
		}
	}
	if len(conflicts) > 0 {
		return tracking.Errorf(tracking.InvalidParameterValue,
			"Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.",
			strings.Join(conflicts, ", "), runID)
	}
	return nil
}

// storedValue maps a metric value to what the value column holds: NaN is
// stored as 0 with is_nan set, ±Inf as ±MaxFloat64, as MLflow stores them.
func storedValue(v float64) (value float64, isNaN bool) {
	switch {
	case math.IsNaN(v):
		return 0, true
	case math.IsInf(v, 1):
		return math.MaxFloat64, false
	case math.IsInf(v, -1):
		return -math.MaxFloat64, false
	}
	return v, false
}

// newer reports whether a is a later value of a metric than b: larger step,
// then timestamp, then stored value, the order MLflow's latest_metrics
// keeps.
func newer(aStep, aTS int64, aVal float64, bStep, bTS int64, bVal float64) bool {
	if aStep != bStep {
		return aStep > bStep
	}
	if aTS != bTS {
		return aTS > bTS
	}
	return aVal > bVal
}

type latest struct {
	value     float64
	isNaN     bool
	timestamp int64
	step      int64
}

// insertMetrics appends metric values, ignoring exact duplicates, and moves
// each key's latest value forward.
func (s *Store) insertMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []tracking.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	latestByKey := make(map[string]latest)
	for start := 0; start < len(metrics); start += rowsPerInsert {
		chunk := metrics[start:min(start+rowsPerInsert, len(metrics))]
		args := make([]any, 0, 6*len(chunk))
		for _, m := range chunk {
			v, isNaN := storedValue(m.Value)
			args = append(args, m.Key, v, m.Timestamp, m.Step, isNaN, runID)
			l, ok := latestByKey[m.Key]
			if !ok || newer(m.Step, m.Timestamp, v, l.step, l.timestamp, l.value) {
				latestByKey[m.Key] = latest{v, isNaN, m.Timestamp, m.Step}
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES "+
			valueRows(len(chunk), 6)+" ON CONFLICT DO NOTHING"), args...); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(latestByKey))
	for k := range latestByKey {
		keys = append(keys, k)
	}
	sort.Strings(keys) // one lock order for every writer
	for start := 0; start < len(keys); start += rowsPerInsert {
		chunk := keys[start:min(start+rowsPerInsert, len(keys))]
		args := make([]any, 0, 6*len(chunk))
		for _, k := range chunk {
			l := latestByKey[k]
			args = append(args, k, l.value, l.timestamp, l.step, l.isNaN, runID)
		}
		if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES "+
			valueRows(len(chunk), 6)+` ON CONFLICT (key, run_uuid) DO UPDATE SET
				value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan
			WHERE (excluded.step, excluded.timestamp, excluded.value) >
				(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`), args...); err != nil {
			return err
		}
	}
	return nil
}

// upsertTags sets run tags, which must have distinct keys; mlflow.runName
// renames the run too.
func (s *Store) upsertTags(ctx context.Context, tx *sql.Tx, runID string, tags []tracking.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	tags = append([]tracking.Tag(nil), tags...)
	sortTags(tags)
	args := make([]any, 0, 3*len(tags))
	for _, t := range tags {
		args = append(args, t.Key, t.Value, runID)
		if t.Key == tracking.TagRunName {
			if _, err := tx.ExecContext(ctx, s.d.q("UPDATE runs SET name = ? WHERE run_uuid = ?"), t.Value, runID); err != nil {
				return err
			}
		}
	}
	_, err := tx.ExecContext(ctx, s.d.q("INSERT INTO tags (key, value, run_uuid) VALUES "+valueRows(len(tags), 3)+
		" ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value"), args...)
	return err
}

// valueRows returns "(?, ?), (?, ?)" for rows rows of cols values.
func valueRows(rows, cols int) string {
	row := "(" + placeholders(cols) + ")"
	return strings.Repeat(row+", ", rows-1) + row
}

// LogInputs implements tracking.TrackingStore.
func (s *Store) LogInputs(ctx context.Context, runID string, inputs []tracking.DatasetInput) error {
	if err := tracking.ValidateRunID(runID); err != nil {
		return err
	}
	if err := tracking.ValidateDatasetInputs(inputs); err != nil {
		return err
	}
	// The first input of each (name, digest) wins, as in MLflow.
	seen := map[[2]string]bool{}
	var unique []tracking.DatasetInput
	for _, in := range inputs {
		k := [2]string{in.Dataset.Name, in.Dataset.Digest}
		if !seen[k] {
			seen[k] = true
			unique = append(unique, in)
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		ri, err := s.activeRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		exp, _ := parseExperimentID(ri.ExperimentID)
		for _, in := range unique {
			d := in.Dataset
			if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO datasets
				(dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (experiment_id, name, digest) DO NOTHING`),
				newID(), exp, d.Name, d.Digest, d.SourceType, d.Source, nullString(d.Schema), nullString(d.Profile)); err != nil {
				return err
			}
			var datasetID string
			if err := tx.QueryRowContext(ctx, s.d.q("SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?"),
				exp, d.Name, d.Digest).Scan(&datasetID); err != nil {
				return err
			}
			inputID := newID()
			res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id)
				VALUES (?, 'DATASET', ?, 'RUN', ?) ON CONFLICT DO NOTHING`), inputID, datasetID, runID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // logged before: its tags stay as they were
			}
			for _, t := range lastByKey(in.Tags) {
				if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)"),
					inputID, t.Key, t.Value); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// GetMetricHistory implements tracking.TrackingStore. Like MLflow's SQL
// store it returns an empty history for a run that does not exist.
func (s *Store) GetMetricHistory(ctx context.Context, req tracking.GetMetricHistory) ([]tracking.Metric, string, error) {
	if req.MaxResults < 0 {
		return nil, "", tracking.Errorf(tracking.InvalidParameterValue, "Invalid value for max_results: %d", req.MaxResults)
	}
	offset, err := search.DecodePageToken(req.PageToken)
	if err != nil {
		return nil, "", err
	}
	limit := math.MaxInt32
	if req.MaxResults > 0 {
		limit = req.MaxResults
	}
	var metrics []tracking.Metric
	err = s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.q(`SELECT value, timestamp, step, is_nan FROM metrics
			WHERE run_uuid = ? AND key = ? ORDER BY timestamp, step, value LIMIT ? OFFSET ?`),
			req.RunID, req.MetricKey, int64(limit)+1, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := tracking.Metric{Key: req.MetricKey}
			var isNaN bool
			if err := rows.Scan(&m.Value, &m.Timestamp, &m.Step, &isNaN); err != nil {
				return err
			}
			if isNaN {
				m.Value = math.NaN()
			}
			metrics = append(metrics, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	return page(metrics, limit, offset)
}
