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

// stageDeleted marks a deleted model version, as MLflow does: the row stays
// so that its number is never given again.
const stageDeleted = "Deleted_Internal"

const (
	searchModelsMaxResultsDefault     = 100
	searchModelsMaxResultsThreshold   = 1000
	searchVersionsMaxResultsDefault   = 1000
	searchVersionsMaxResultsThreshold = 200000
	maxModelNameLength                = 256
)

func validateModelName(name string) error {
	if err := tracking.ValidateModelName(name); err != nil {
		return err
	}
	if len([]rune(name)) > maxModelNameLength {
		return tracking.Errorf(tracking.InvalidParameterValue, "Registered model name '%s' exceeds the maximum length of %d characters", name, maxModelNameLength)
	}
	return nil
}

func modelNotFound(name string) error {
	return tracking.Errorf(tracking.ResourceDoesNotExist, "Registered Model with name=%s not found", name)
}

func versionNotFound(name, version string) error {
	return tracking.Errorf(tracking.ResourceDoesNotExist, "Model Version (name=%s, version=%s) not found", name, version)
}

// lockModel checks that a registered model exists and, on PostgreSQL, locks
// its row so that concurrent version creations number one at a time.
func (s *Store) lockModel(ctx context.Context, tx *sql.Tx, name string) error {
	var n string
	err := tx.QueryRowContext(ctx, s.d.q("SELECT name FROM registered_models WHERE name = ?"+s.d.forUpdate), name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return modelNotFound(name)
	}
	return err
}

func (s *Store) touchModel(ctx context.Context, tx *sql.Tx, name string, now int64) error {
	_, err := tx.ExecContext(ctx, s.d.q("UPDATE registered_models SET last_updated_time = ? WHERE name = ?"), now, name)
	return err
}

// CreateRegisteredModel implements tracking.RegistryStore.
func (s *Store) CreateRegisteredModel(ctx context.Context, name string, tags []tracking.Tag, description string) (*tracking.RegisteredModel, error) {
	if err := validateModelName(name); err != nil {
		return nil, err
	}
	for _, t := range tags {
		if err := tracking.ValidateRegistryTag(t); err != nil {
			return nil, err
		}
	}
	var rm *tracking.RegisteredModel
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		_, err := tx.ExecContext(ctx, s.d.q("INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)"),
			name, now, now, nullString(description))
		if isUniqueViolation(err) {
			return tracking.Errorf(tracking.ResourceAlreadyExists, "Registered Model (name=%s) already exists.", name)
		}
		if err != nil {
			return err
		}
		for _, t := range lastByKey(tags) {
			if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO registered_model_tags (key, value, name) VALUES (?, ?, ?)"), t.Key, t.Value, name); err != nil {
				return err
			}
		}
		rm, err = s.registeredModel(ctx, tx, name)
		return err
	})
	return rm, err
}

// registeredModel reads a model with its tags, aliases and latest versions.
func (s *Store) registeredModel(ctx context.Context, tx *sql.Tx, name string) (*tracking.RegisteredModel, error) {
	models, err := s.queryModels(ctx, tx, "SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE name = ?", []any{name})
	if err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, modelNotFound(name)
	}
	return &models[0], nil
}

// queryModels runs a query selecting name, creation_time,
// last_updated_time and description of registered models, and fills in
// their tags, aliases and latest versions.
func (s *Store) queryModels(ctx context.Context, tx *sql.Tx, query string, args []any) ([]tracking.RegisteredModel, error) {
	var models []tracking.RegisteredModel
	err := scanRows(ctx, tx, s.d.q(query), args, func(rows *sql.Rows) error {
		var (
			m                tracking.RegisteredModel
			created, updated sql.NullInt64
			description      sql.NullString
		)
		if err := rows.Scan(&m.Name, &created, &updated, &description); err != nil {
			return err
		}
		m.CreationTimestamp, m.LastUpdatedTimestamp, m.Description = created.Int64, updated.Int64, description.String
		models = append(models, m)
		return nil
	})
	if err != nil || len(models) == 0 {
		return models, err
	}
	byName := make(map[string]*tracking.RegisteredModel, len(models))
	names := make([]string, len(models))
	for i := range models {
		byName[models[i].Name] = &models[i]
		names[i] = models[i].Name
	}
	err = inChunks(names, func(chunk []any) error {
		in := " IN (" + placeholders(len(chunk)) + ")"
		if err := scanRows(ctx, tx, s.d.q("SELECT name, key, value FROM registered_model_tags WHERE name"+in), chunk, func(rows *sql.Rows) error {
			var name string
			var t tracking.Tag
			var v sql.NullString
			if err := rows.Scan(&name, &t.Key, &v); err != nil {
				return err
			}
			t.Value = v.String
			m := byName[name]
			m.Tags = append(m.Tags, t)
			return nil
		}); err != nil {
			return err
		}
		if err := scanRows(ctx, tx, s.d.q("SELECT name, alias, version FROM registered_model_aliases WHERE name"+in), chunk, func(rows *sql.Rows) error {
			var name string
			var a tracking.RegisteredModelAlias
			var v int64
			if err := rows.Scan(&name, &a.Alias, &v); err != nil {
				return err
			}
			a.Version = strconv.FormatInt(v, 10)
			m := byName[name]
			m.Aliases = append(m.Aliases, a)
			return nil
		}); err != nil {
			return err
		}
		latest, err := s.queryVersions(ctx, tx, `SELECT `+versionColumns+` FROM model_versions
			WHERE (name, version) IN (SELECT name, MAX(version) FROM model_versions
				WHERE name`+in+` AND current_stage <> ? GROUP BY name, current_stage)`,
			append(chunk, stageDeleted))
		if err != nil {
			return err
		}
		for _, v := range latest {
			m := byName[v.Name]
			m.LatestVersions = append(m.LatestVersions, v)
		}
		return nil
	})
	for i := range models {
		m := &models[i]
		sortTags(m.Tags)
		sort.Slice(m.Aliases, func(a, b int) bool { return m.Aliases[a].Alias < m.Aliases[b].Alias })
		sort.Slice(m.LatestVersions, func(a, b int) bool {
			return versionNumber(m.LatestVersions[a]) < versionNumber(m.LatestVersions[b])
		})
	}
	return models, err
}

func versionNumber(v tracking.ModelVersion) int64 {
	n, _ := strconv.ParseInt(v.Version, 10, 64)
	return n
}

const versionColumns = "name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, run_link, status, status_message"

// queryVersions runs a query selecting versionColumns and fills in the
// versions' tags and aliases.
func (s *Store) queryVersions(ctx context.Context, tx *sql.Tx, query string, args []any) ([]tracking.ModelVersion, error) {
	var versions []tracking.ModelVersion
	err := scanRows(ctx, tx, s.d.q(query), args, func(rows *sql.Rows) error {
		var (
			v                                                 tracking.ModelVersion
			n                                                 int64
			created, updated                                  sql.NullInt64
			description, user, source, runID, link, statusMsg sql.NullString
		)
		if err := rows.Scan(&v.Name, &n, &created, &updated, &description, &user, &v.CurrentStage,
			&source, &runID, &link, &v.Status, &statusMsg); err != nil {
			return err
		}
		v.Version = strconv.FormatInt(n, 10)
		v.CreationTimestamp, v.LastUpdatedTimestamp = created.Int64, updated.Int64
		v.Description, v.UserID, v.Source, v.RunID, v.RunLink, v.StatusMessage =
			description.String, user.String, source.String, runID.String, link.String, statusMsg.String
		versions = append(versions, v)
		return nil
	})
	if err != nil || len(versions) == 0 {
		return versions, err
	}
	type key struct {
		name    string
		version int64
	}
	byKey := make(map[key]*tracking.ModelVersion, len(versions))
	nameSet := map[string]bool{}
	var names []string
	for i := range versions {
		byKey[key{versions[i].Name, versionNumber(versions[i])}] = &versions[i]
		if !nameSet[versions[i].Name] {
			nameSet[versions[i].Name] = true
			names = append(names, versions[i].Name)
		}
	}
	err = inChunks(names, func(chunk []any) error {
		in := " IN (" + placeholders(len(chunk)) + ")"
		if err := scanRows(ctx, tx, s.d.q("SELECT name, version, key, value FROM model_version_tags WHERE name"+in), chunk, func(rows *sql.Rows) error {
			var k key
			var t tracking.Tag
			var val sql.NullString
			if err := rows.Scan(&k.name, &k.version, &t.Key, &val); err != nil {
				return err
			}
			t.Value = val.String
			if v := byKey[k]; v != nil {
				v.Tags = append(v.Tags, t)
			}
			return nil
		}); err != nil {
			return err
		}
		return scanRows(ctx, tx, s.d.q("SELECT name, version, alias FROM registered_model_aliases WHERE name"+in), chunk, func(rows *sql.Rows) error {
			var k key
			var alias string
			if err := rows.Scan(&k.name, &k.version, &alias); err != nil {
				return err
			}
			if v := byKey[k]; v != nil {
				v.Aliases = append(v.Aliases, alias)
			}
			return nil
		})
	})
	for i := range versions {
		sortTags(versions[i].Tags)
		sort.Strings(versions[i].Aliases)
	}
	return versions, err
}

// modelVersion reads a version that is not deleted.
func (s *Store) modelVersion(ctx context.Context, tx *sql.Tx, name, version string) (*tracking.ModelVersion, error) {
	n, err := tracking.ParseModelVersion(version)
	if err != nil {
		return nil, err
	}
	vs, err := s.queryVersions(ctx, tx, "SELECT "+versionColumns+" FROM model_versions WHERE name = ? AND version = ? AND current_stage <> ?",
		[]any{name, n, stageDeleted})
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, versionNotFound(name, version)
	}
	return &vs[0], nil
}

// GetRegisteredModel implements tracking.RegistryStore.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*tracking.RegisteredModel, error) {
	if err := tracking.ValidateModelName(name); err != nil {
		return nil, err
	}
	var rm *tracking.RegisteredModel
	err := s.read(ctx, func(tx *sql.Tx) (err error) {
		rm, err = s.registeredModel(ctx, tx, name)
		return err
	})
	return rm, err
}

// UpdateRegisteredModel implements tracking.RegistryStore.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*tracking.RegisteredModel, error) {
	if err := tracking.ValidateModelName(name); err != nil {
		return nil, err
	}
	var rm *tracking.RegisteredModel
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q("UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?"),
			nullString(description), s.now(), name); err != nil {
			return err
		}
		var err error
		rm, err = s.registeredModel(ctx, tx, name)
		return err
	})
	return rm, err
}

// RenameRegisteredModel implements tracking.RegistryStore.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*tracking.RegisteredModel, error) {
	if err := validateModelName(newName); err != nil {
		return nil, err
	}
	var rm *tracking.RegisteredModel
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		now := s.now()
		// ON UPDATE CASCADE renames the versions, tags, aliases and
		// transitions with the model.
		_, err := tx.ExecContext(ctx, s.d.q("UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?"), newName, now, name)
		if isUniqueViolation(err) {
			return tracking.Errorf(tracking.ResourceAlreadyExists, "Registered Model (name=%s) already exists.", newName)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q("UPDATE model_versions SET last_updated_time = ? WHERE name = ?"), now, newName); err != nil {
			return err
		}
		rm, err = s.registeredModel(ctx, tx, newName)
		return err
	})
	return rm, err
}

// DeleteRegisteredModel implements tracking.RegistryStore.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	if err := tracking.ValidateModelName(name); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q("DELETE FROM registered_models WHERE name = ?"), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modelNotFound(name)
		}
		return nil
	})
}

// modelOrderColumns maps search_registered_models order_by keys to columns.
var modelOrderColumns = map[string]string{
	"name":                   "m.name",
	"timestamp":              "m.last_updated_time",
	"last_updated_timestamp": "m.last_updated_time",
	"creation_timestamp":     "m.creation_time",
}

// SearchRegisteredModels implements tracking.RegistryStore.
func (s *Store) SearchRegisteredModels(ctx context.Context, req tracking.SearchRegisteredModels) ([]tracking.RegisteredModel, string, error) {
	pg, err := parsePage(req.MaxResults, searchModelsMaxResultsDefault, searchModelsMaxResultsThreshold, req.Filter, req.PageToken, search.ParseRegisteredModelFilter)
	if err != nil {
		return nil, "", err
	}
	limit, offset, clauses := pg.limit, pg.offset, pg.clauses
	var w where
	for _, c := range clauses {
		if c.Entity == search.Tag {
			cond, args := s.compare("t.value", c)
			w.add("EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.name = m.name AND t.key = ? AND "+cond+")", append([]any{c.Key}, args...)...)
			continue
		}
		cond, args := s.compare("m.name", c)
		w.add(cond, args...)
	}
	var order []string
	seen := map[string]bool{}
	for _, ob := range req.OrderBy {
		o, err := search.ParseRegisteredModelOrderBy(ob)
		if err != nil {
			return nil, "", err
		}
		col := modelOrderColumns[o.Key]
		if seen[col] {
			return nil, "", tracking.Errorf(tracking.InvalidParameterValue, "`order_by` contains duplicate fields: %q", req.OrderBy)
		}
		seen[col] = true
		if o.Key == "name" {
			col += s.d.collate
		}
		order = append(order, col+direction(o.Ascending))
	}
	if !seen["m.name"] {
		order = append(order, "m.name"+s.d.collate+" ASC")
	}
	query := "SELECT m.name, m.creation_time, m.last_updated_time, m.description FROM registered_models m" + w.String() +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT ? OFFSET ?"
	var models []tracking.RegisteredModel
	err = s.read(ctx, func(tx *sql.Tx) (err error) {
		models, err = s.queryModels(ctx, tx, query, append(w.args, limit+1, offset))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return page(models, limit, offset)
}

// GetLatestVersions implements tracking.RegistryStore.
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]tracking.ModelVersion, error) {
	want := map[string]bool{}
	for _, st := range stages {
		c, err := tracking.CanonicalStage(st)
		if err != nil {
			return nil, err
		}
		want[c] = true
	}
	rm, err := s.GetRegisteredModel(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []tracking.ModelVersion
	for _, v := range rm.LatestVersions {
		if len(want) == 0 || want[v.CurrentStage] {
			out = append(out, v)
		}
	}
	return out, nil
}

// SetRegisteredModelTag implements tracking.RegistryStore.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag tracking.Tag) error {
	if err := tracking.ValidateModelName(name); err != nil {
		return err
	}
	if err := tracking.ValidateRegistryTag(tag); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO registered_model_tags (key, value, name) VALUES (?, ?, ?)
			ON CONFLICT (key, name) DO UPDATE SET value = excluded.value`), tag.Key, tag.Value, name)
		return err
	})
}

// DeleteRegisteredModelTag implements tracking.RegistryStore. Deleting a
// tag the model does not have is not an error, as in MLflow.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	if err := tracking.ValidateModelName(name); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.d.q("DELETE FROM registered_model_tags WHERE name = ? AND key = ?"), name, key)
		return err
	})
}

// resolveSource turns runs:/<run_id>/<path> into the run's artifact URI
// joined with path and checks that the run a version names exists.
func (s *Store) resolveSource(ctx context.Context, tx *sql.Tx, source, runID string) (string, string, error) {
	if rest, ok := strings.CutPrefix(source, "runs:/"); ok {
		id, path, _ := strings.Cut(strings.TrimLeft(rest, "/"), "/")
		if id == "" {
			return "", "", tracking.Errorf(tracking.InvalidParameterValue, "Invalid source '%s': want runs:/<run_id>/<artifact path>", source)
		}
		if runID != "" && runID != id {
			return "", "", tracking.Errorf(tracking.InvalidParameterValue, "The source '%s' names run %s, but run_id is %s", source, id, runID)
		}
		ri, err := s.runInfo(ctx, tx, id)
		if err != nil {
			return "", "", err
		}
		return appendURI(ri.ArtifactURI, path), id, nil
	}
	if runID != "" {
		if _, err := s.runInfo(ctx, tx, runID); err != nil {
			return "", "", err
		}
	}
	return source, runID, nil
}

// CreateModelVersion implements tracking.RegistryStore.
func (s *Store) CreateModelVersion(ctx context.Context, req tracking.CreateModelVersion) (*tracking.ModelVersion, error) {
	if err := tracking.ValidateModelName(req.Name); err != nil {
		return nil, err
	}
	if req.Source == "" {
		return nil, tracking.Errorf(tracking.InvalidParameterValue, "Missing value for required parameter 'source'.")
	}
	for _, t := range req.Tags {
		if err := tracking.ValidateRegistryTag(t); err != nil {
			return nil, err
		}
	}
	var mv *tracking.ModelVersion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, req.Name); err != nil {
			return err
		}
		source, runID, err := s.resolveSource(ctx, tx, req.Source, req.RunID)
		if err != nil {
			return err
		}
		var version int64
		if err := tx.QueryRowContext(ctx, s.d.q("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?"), req.Name).Scan(&version); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO model_versions (`+versionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`),
			req.Name, version, now, now, nullString(req.Description), nullString(req.UserID), tracking.StageNone,
			source, nullString(runID), nullString(req.RunLink), tracking.VersionReady); err != nil {
			return err
		}
		for _, t := range lastByKey(req.Tags) {
			if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO model_version_tags (key, value, name, version) VALUES (?, ?, ?, ?)"),
				t.Key, t.Value, req.Name, version); err != nil {
				return err
			}
		}
		if err := s.touchModel(ctx, tx, req.Name, now); err != nil {
			return err
		}
		mv, err = s.modelVersion(ctx, tx, req.Name, strconv.FormatInt(version, 10))
		return err
	})
	return mv, err
}

// GetModelVersion implements tracking.RegistryStore.
func (s *Store) GetModelVersion(ctx context.Context, name, version string) (*tracking.ModelVersion, error) {
	if err := tracking.ValidateModelName(name); err != nil {
		return nil, err
	}
	var mv *tracking.ModelVersion
	err := s.read(ctx, func(tx *sql.Tx) (err error) {
		mv, err = s.modelVersion(ctx, tx, name, version)
		return err
	})
	return mv, err
}

// UpdateModelVersion implements tracking.RegistryStore.
func (s *Store) UpdateModelVersion(ctx context.Context, name, version, description string) (*tracking.ModelVersion, error) {
	var mv *tracking.ModelVersion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := s.modelVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q("UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?"),
			nullString(description), s.now(), name, versionNumber(*old)); err != nil {
			return err
		}
		mv, err = s.modelVersion(ctx, tx, name, version)
		return err
	})
	return mv, err
}

// TransitionModelVersionStage implements tracking.RegistryStore.
func (s *Store) TransitionModelVersionStage(ctx context.Context, req tracking.TransitionStage) (*tracking.ModelVersion, error) {
	stage, err := tracking.CanonicalStage(req.Stage)
	if err != nil {
		return nil, err
	}
	if req.ArchiveExistingVersions && stage != tracking.StageStaging && stage != tracking.StageProduction {
		return nil, tracking.Errorf(tracking.InvalidParameterValue,
			"Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are %s, %s",
			req.Stage, tracking.StageStaging, tracking.StageProduction)
	}
	var mv *tracking.ModelVersion
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, req.Name); err != nil {
			return err
		}
		old, err := s.modelVersion(ctx, tx, req.Name, req.Version)
		if err != nil {
			return err
		}
		n := versionNumber(*old)
		now := s.now()
		record := func(version int64, from, comment string) error {
			_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO model_version_transitions
				(name, version, from_stage, to_stage, user_id, timestamp, comment) VALUES (?, ?, ?, ?, ?, ?, ?)`),
				req.Name, version, from, stageTo(version, n, stage), nullString(req.UserID), now, nullString(comment))
			return err
		}
		if req.ArchiveExistingVersions {
			var others []int64
			if err := scanRows(ctx, tx, s.d.q("SELECT version FROM model_versions WHERE name = ? AND version <> ? AND current_stage = ? ORDER BY version"),
				[]any{req.Name, n, stage}, func(rows *sql.Rows) error {
					var v int64
					if err := rows.Scan(&v); err != nil {
						return err
					}
					others = append(others, v)
					return nil
				}); err != nil {
				return err
			}
			for _, v := range others {
				if _, err := tx.ExecContext(ctx, s.d.q("UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?"),
					tracking.StageArchived, now, req.Name, v); err != nil {
					return err
				}
				why := "archive_existing_versions: version " + req.Version + " moved to " + stage
				if err := record(v, stage, why); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.q("UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?"),
			stage, now, req.Name, n); err != nil {
			return err
		}
		if err := record(n, old.CurrentStage, req.Comment); err != nil {
			return err
		}
		if err := s.touchModel(ctx, tx, req.Name, now); err != nil {
			return err
		}
		mv, err = s.modelVersion(ctx, tx, req.Name, req.Version)
		return err
	})
	return mv, err
}

// stageTo is the stage a transition record gives version: the requested
// stage for the version transitioned, Archived for the ones it displaced.
func stageTo(version, transitioned int64, stage string) string {
	if version == transitioned {
		return stage
	}
	return tracking.StageArchived
}

// DeleteModelVersion implements tracking.RegistryStore. As MLflow, the row
// stays, marked deleted and with its source and run redacted, and the
// aliases that pointed at it are deleted.
func (s *Store) DeleteModelVersion(ctx context.Context, name, version string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		mv, err := s.modelVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		n, now := versionNumber(*mv), s.now()
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE model_versions SET current_stage = ?, last_updated_time = ?,
			description = NULL, user_id = NULL, source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID',
			run_link = 'REDACTED-RUN-LINK', status_message = NULL WHERE name = ? AND version = ?`),
			stageDeleted, now, name, n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM registered_model_aliases WHERE name = ? AND version = ?"), name, n); err != nil {
			return err
		}
		return s.touchModel(ctx, tx, name, now)
	})
}

// GetModelVersionDownloadURI implements tracking.RegistryStore.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	mv, err := s.GetModelVersion(ctx, name, version)
	if err != nil {
		return "", err
	}
	return mv.Source, nil
}

// versionColumnsByKey maps search_model_versions keys to columns.
var versionColumnsByKey = map[string]string{
	"name":                   "v.name",
	"run_id":                 "v.run_id",
	"source_path":            "v.source",
	"version_number":         "v.version",
	"creation_timestamp":     "v.creation_time",
	"last_updated_timestamp": "v.last_updated_time",
}

// SearchModelVersions implements tracking.RegistryStore.
func (s *Store) SearchModelVersions(ctx context.Context, req tracking.SearchModelVersions) ([]tracking.ModelVersion, string, error) {
	pg, err := parsePage(req.MaxResults, searchVersionsMaxResultsDefault, searchVersionsMaxResultsThreshold, req.Filter, req.PageToken, search.ParseModelVersionFilter)
	if err != nil {
		return nil, "", err
	}
	limit, offset, clauses := pg.limit, pg.offset, pg.clauses
	var w where
	w.add("v.current_stage <> ?", stageDeleted)
	for _, c := range clauses {
		if c.Entity == search.Tag {
			cond, args := s.compare("t.value", c)
			w.add("EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name AND t.version = v.version AND t.key = ? AND "+cond+")",
				append([]any{c.Key}, args...)...)
			continue
		}
		cond, args := s.compare(versionColumnsByKey[c.Key], c)
		w.add(cond, args...)
	}
	orderBy := req.OrderBy
	if len(orderBy) == 0 {
		orderBy = []string{"last_updated_timestamp DESC", "name ASC", "version_number DESC"}
	}
	var order []string
	seen := map[string]bool{}
	for _, ob := range orderBy {
		o, err := search.ParseModelVersionOrderBy(ob)
		if err != nil {
			return nil, "", err
		}
		if seen[o.Key] {
			return nil, "", tracking.Errorf(tracking.InvalidParameterValue, "`order_by` contains duplicate fields: %q", orderBy)
		}
		seen[o.Key] = true
		col := versionColumnsByKey[o.Key]
		if o.Key == "name" {
			col += s.d.collate
		}
		order = append(order, col+direction(o.Ascending))
	}
	if !seen["name"] {
		order = append(order, "v.name"+s.d.collate+" ASC")
	}
	if !seen["version_number"] {
		order = append(order, "v.version DESC")
	}
	query := "SELECT " + prefixColumns("v", versionColumns) + " FROM model_versions v" + w.String() +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT ? OFFSET ?"
	var versions []tracking.ModelVersion
	err = s.read(ctx, func(tx *sql.Tx) (err error) {
		versions, err = s.queryVersions(ctx, tx, query, append(w.args, limit+1, offset))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return page(versions, limit, offset)
}

// SetModelVersionTag implements tracking.RegistryStore.
func (s *Store) SetModelVersionTag(ctx context.Context, name, version string, tag tracking.Tag) error {
	if err := tracking.ValidateRegistryTag(tag); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		mv, err := s.modelVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO model_version_tags (key, value, name, version) VALUES (?, ?, ?, ?)
			ON CONFLICT (key, name, version) DO UPDATE SET value = excluded.value`), tag.Key, tag.Value, name, versionNumber(*mv))
		return err
	})
}

// DeleteModelVersionTag implements tracking.RegistryStore. Deleting a tag
// the version does not have is not an error, as in MLflow.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name, version, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		mv, err := s.modelVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.q("DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?"), name, versionNumber(*mv), key)
		return err
	})
}

// SetRegisteredModelAlias implements tracking.RegistryStore.
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	if err := tracking.ValidateModelName(name); err != nil {
		return err
	}
	if err := tracking.ValidateAlias(alias); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		mv, err := s.modelVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO registered_model_aliases (alias, version, name) VALUES (?, ?, ?)
			ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`), alias, versionNumber(*mv), name); err != nil {
			return err
		}
		return s.touchModel(ctx, tx, name, s.now())
	})
}

// DeleteRegisteredModelAlias implements tracking.RegistryStore. Deleting an
// alias the model does not have is not an error, as in MLflow.
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	if err := tracking.ValidateModelName(name); err != nil {
		return err
	}
	if err := tracking.ValidateAlias(alias); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?"), name, alias)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return s.touchModel(ctx, tx, name, s.now())
		}
		return nil
	})
}

// GetModelVersionByAlias implements tracking.RegistryStore.
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (*tracking.ModelVersion, error) {
	if err := tracking.ValidateModelName(name); err != nil {
		return nil, err
	}
	var mv *tracking.ModelVersion
	err := s.read(ctx, func(tx *sql.Tx) error {
		var v int64
		err := tx.QueryRowContext(ctx, s.d.q("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?"), name, alias).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := s.registeredModel(ctx, tx, name); err != nil {
				return err
			}
			return tracking.Errorf(tracking.ResourceDoesNotExist, "Registered model alias %s not found.", alias)
		}
		if err != nil {
			return err
		}
		mv, err = s.modelVersion(ctx, tx, name, strconv.FormatInt(v, 10))
		return err
	})
	return mv, err
}

// GetStageTransitions implements tracking.RegistryStore.
func (s *Store) GetStageTransitions(ctx context.Context, name, version string) ([]tracking.StageTransition, error) {
	var out []tracking.StageTransition
	err := s.read(ctx, func(tx *sql.Tx) error {
		mv, err := s.modelVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		return scanRows(ctx, tx, s.d.q(`SELECT from_stage, to_stage, user_id, timestamp, comment FROM model_version_transitions
			WHERE name = ? AND version = ? ORDER BY id`), []any{name, versionNumber(*mv)}, func(rows *sql.Rows) error {
			t := tracking.StageTransition{Name: name, Version: mv.Version}
			var user, comment sql.NullString
			if err := rows.Scan(&t.FromStage, &t.ToStage, &user, &t.Timestamp, &comment); err != nil {
				return err
			}
			t.UserID, t.Comment = user.String, comment.String
			out = append(out, t)
			return nil
		})
	})
	return out, err
}
