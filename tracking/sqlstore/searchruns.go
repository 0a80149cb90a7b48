package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/search"
)

// runAttributeColumns maps search attributes to columns of runs.
var runAttributeColumns = map[string]string{
	"run_id":       "r.run_uuid",
	"run_name":     "r.name",
	"user_id":      "r.user_id",
	"status":       "r.status",
	"start_time":   "r.start_time",
	"end_time":     "r.end_time",
	"artifact_uri": "r.artifact_uri",
}

// SearchRuns implements tracking.TrackingStore. The filter, the order and
// the page are one SQL query: each metric, param or tag condition is an
// EXISTS on its table's primary key (run_uuid, key), each ordering key a
// LEFT JOIN on it. Only the page's runs then have their data loaded.
func (s *Store) SearchRuns(ctx context.Context, req tracking.SearchRuns) ([]tracking.Run, string, error) {
	pg, err := parsePage(req.MaxResults, searchMaxResultsDefault, searchMaxResultsThreshold, req.Filter, req.PageToken, search.ParseRunFilter)
	if err != nil {
		return nil, "", err
	}
	limit, offset, clauses := pg.limit, pg.offset, pg.clauses
	joins, order, err := s.runOrder(req.OrderBy)
	if err != nil {
		return nil, "", err
	}
	var expIDs []any
	for _, id := range req.ExperimentIDs {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			expIDs = append(expIDs, n)
		}
	}
	if len(expIDs) == 0 {
		return nil, "", nil
	}
	var w where
	w.add("r.experiment_id IN ("+placeholders(len(expIDs))+")", expIDs...)
	stages := stageArgs(req.ViewType)
	w.add("r.lifecycle_stage IN ("+placeholders(len(stages))+")", stages...)
	for _, c := range clauses {
		s.runCondition(&w, c)
	}
	query := "SELECT " + prefixColumns("r", runColumns) + " FROM runs r" + joins.sql + w.String() +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT ? OFFSET ?"
	args := append(append(joins.args, w.args...), limit+1, offset)

	var (
		runs []tracking.Run
		more bool
	)
	err = s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.q(query), args...)
		if err != nil {
			return err
		}
		var infos []tracking.RunInfo
		for rows.Next() {
			ri, err := scanRunInfo(rows)
			if err != nil {
				rows.Close()
				return err
			}
			infos = append(infos, ri)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(infos) > limit {
			infos, more = infos[:limit], true
		}
		runs, err = s.loadRuns(ctx, tx, infos)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if more {
		return runs, search.EncodePageToken(offset + limit), nil
	}
	return runs, "", nil
}

// runCondition adds the SQL for one filter clause.
func (s *Store) runCondition(w *where, c search.Clause) {
	exists := func(table, col string, key string) {
		cond, args := s.compare("x."+col, c)
		w.add("EXISTS (SELECT 1 FROM "+table+" x WHERE x.run_uuid = r.run_uuid AND x.key = ? AND "+cond+")",
			append([]any{key}, args...)...)
	}
	switch c.Entity {
	case search.Metric:
		exists("latest_metrics", "value", c.Key)
	case search.Param:
		exists("params", "value", c.Key)
	case search.Tag:
		exists("tags", "value", c.Key)
	case search.Attribute:
		if c.Key == "run_name" {
			// As MLflow, the name is matched through its tag.
			exists("tags", "value", tracking.TagRunName)
			return
		}
		cond, args := s.compare(runAttributeColumns[c.Key], c)
		w.add(cond, args...)
	case search.Dataset:
		base := "SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = r.run_uuid AND "
		if c.Key == "context" {
			cond, args := s.compare("it.value", c)
			w.add("EXISTS (SELECT 1 FROM inputs i JOIN input_tags it ON it.input_uuid = i.input_uuid WHERE i.destination_type = 'RUN' AND i.destination_id = r.run_uuid AND it.name = ? AND "+cond+")",
				append([]any{tracking.TagDatasetContext}, args...)...)
			return
		}
		cond, args := s.compare("d."+c.Key, c)
		w.add("EXISTS ("+base+cond+")", args...)
	}
}

type joinSQL struct {
	sql  string
	args []any
}

// runOrder turns order_by clauses into LEFT JOINs and ORDER BY terms. Rows
// without the key come last whatever the direction, and for metrics NaN
// comes after every number and before absent values, as in MLflow.
func (s *Store) runOrder(orderBy []string) (joinSQL, []string, error) {
	var (
		j         joinSQL
		order     []string
		seen      = map[search.OrderBy]bool{}
		startTime bool
	)
	for i, ob := range orderBy {
		o, err := search.ParseRunOrderBy(ob)
		if err != nil {
			return j, nil, err
		}
		k := search.OrderBy{Entity: o.Entity, Key: o.Key}
		if seen[k] {
			return j, nil, tracking.Errorf(tracking.InvalidParameterValue, "`order_by` contains duplicate fields: %q", orderBy)
		}
		seen[k] = true
		dir := direction(o.Ascending)
		alias := "o" + strconv.Itoa(i)
		switch o.Entity {
		case search.Attribute:
			col := runAttributeColumns[o.Key]
			startTime = startTime || o.Key == "start_time"
			order = append(order, "CASE WHEN "+col+" IS NULL THEN 1 ELSE 0 END")
			if o.Key != "start_time" && o.Key != "end_time" {
				col += s.d.collate
			}
			order = append(order, col+dir)
		case search.Metric:
			j.sql += " LEFT JOIN latest_metrics " + alias + " ON " + alias + ".run_uuid = r.run_uuid AND " + alias + ".key = ?"
			j.args = append(j.args, o.Key)
			order = append(order,
				"CASE WHEN "+alias+".is_nan THEN 1 WHEN "+alias+".value IS NULL THEN 2 ELSE 0 END",
				alias+".value"+dir)
		case search.Param, search.Tag:
			table := "params"
			if o.Entity == search.Tag {
				table = "tags"
			}
			j.sql += " LEFT JOIN " + table + " " + alias + " ON " + alias + ".run_uuid = r.run_uuid AND " + alias + ".key = ?"
			j.args = append(j.args, o.Key)
			order = append(order,
				"CASE WHEN "+alias+".value IS NULL THEN 1 ELSE 0 END",
				alias+".value"+s.d.collate+dir)
		}
	}
	if !startTime {
		order = append(order, "r.start_time DESC")
	}
	order = append(order, "r.run_uuid")
	return j, order, nil
}

// inChunks calls fn with the ids in slices short enough for an IN list.
func inChunks(ids []string, fn func(chunk []any) error) error {
	for start := 0; start < len(ids); start += rowsPerInsert {
		chunk := ids[start:min(start+rowsPerInsert, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if err := fn(args); err != nil {
			return err
		}
	}
	return nil
}

// loadRuns reads the latest metrics, params, tags and dataset inputs of
// runs, returned in the order of infos.
func (s *Store) loadRuns(ctx context.Context, tx *sql.Tx, infos []tracking.RunInfo) ([]tracking.Run, error) {
	runs := make([]tracking.Run, len(infos))
	byID := make(map[string]*tracking.Run, len(infos))
	ids := make([]string, len(infos))
	for i, ri := range infos {
		runs[i].Info = ri
		byID[ri.RunID] = &runs[i]
		ids[i] = ri.RunID
	}
	err := inChunks(ids, func(chunk []any) error {
		in := " WHERE run_uuid IN (" + placeholders(len(chunk)) + ")"
		if err := scanRows(ctx, tx, s.d.q("SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics"+in), chunk, func(rows *sql.Rows) error {
			var (
				id    string
				m     tracking.Metric
				isNaN bool
			)
			if err := rows.Scan(&id, &m.Key, &m.Value, &m.Timestamp, &m.Step, &isNaN); err != nil {
				return err
			}
			if isNaN {
				m.Value = math.NaN()
			}
			r := byID[id]
			r.Data.Metrics = append(r.Data.Metrics, m)
			return nil
		}); err != nil {
			return err
		}
		if err := scanRows(ctx, tx, s.d.q("SELECT run_uuid, key, value FROM params"+in), chunk, func(rows *sql.Rows) error {
			var id string
			var p tracking.Param
			if err := rows.Scan(&id, &p.Key, &p.Value); err != nil {
				return err
			}
			r := byID[id]
			r.Data.Params = append(r.Data.Params, p)
			return nil
		}); err != nil {
			return err
		}
		if err := scanRows(ctx, tx, s.d.q("SELECT run_uuid, key, value FROM tags"+in), chunk, func(rows *sql.Rows) error {
			var id string
			var t tracking.Tag
			var v sql.NullString
			if err := rows.Scan(&id, &t.Key, &v); err != nil {
				return err
			}
			t.Value = v.String
			r := byID[id]
			r.Data.Tags = append(r.Data.Tags, t)
			return nil
		}); err != nil {
			return err
		}
		return s.loadInputs(ctx, tx, chunk, byID)
	})
	if err != nil {
		return nil, err
	}
	for i := range runs {
		d := &runs[i].Data
		sort.Slice(d.Metrics, func(a, b int) bool { return d.Metrics[a].Key < d.Metrics[b].Key })
		sort.Slice(d.Params, func(a, b int) bool { return d.Params[a].Key < d.Params[b].Key })
		sortTags(d.Tags)
	}
	return runs, nil
}

// loadInputs reads the dataset inputs of runs.
func (s *Store) loadInputs(ctx context.Context, tx *sql.Tx, runIDs []any, byID map[string]*tracking.Run) error {
	type input struct {
		run, id string
		di      tracking.DatasetInput
	}
	var inputs []input
	err := scanRows(ctx, tx, s.d.q(`SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type,
			d.dataset_source, d.dataset_schema, d.dataset_profile
		FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
		WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id IN (`+placeholders(len(runIDs))+`)
		ORDER BY d.name, d.digest`), runIDs, func(rows *sql.Rows) error {
		var (
			in              input
			schema, profile sql.NullString
		)
		d := &in.di.Dataset
		if err := rows.Scan(&in.run, &in.id, &d.Name, &d.Digest, &d.SourceType, &d.Source, &schema, &profile); err != nil {
			return err
		}
		d.Schema, d.Profile = schema.String, profile.String
		inputs = append(inputs, in)
		return nil
	})
	if err != nil || len(inputs) == 0 {
		return err
	}
	ids := make([]string, len(inputs))
	for i, in := range inputs {
		ids[i] = in.id
	}
	tags := map[string][]tracking.Tag{}
	err = inChunks(ids, func(chunk []any) error {
		return scanRows(ctx, tx, s.d.q("SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN ("+placeholders(len(chunk))+")"), chunk, func(rows *sql.Rows) error {
			var id string
			var t tracking.Tag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			tags[id] = append(tags[id], t)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, in := range inputs {
		in.di.Tags = tags[in.id]
		sortTags(in.di.Tags)
		r := byID[in.run]
		r.Inputs.DatasetInputs = append(r.Inputs.DatasetInputs, in.di)
	}
	return nil
}

// scanRows runs a query and calls fn for each row.
func scanRows(ctx context.Context, tx *sql.Tx, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
