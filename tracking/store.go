package tracking

import "context"

// Store keeps experiments, runs and registered models. Every error it
// returns for bad input or a missing or conflicting entity is an *Error with
// MLflow's code; anything else (the database is gone) is INTERNAL_ERROR.
type Store interface {
	TrackingStore
	RegistryStore
	// Close releases the store's connections.
	Close() error
}

// TrackingStore is the part of Store that MLflow's tracking AbstractStore
// covers: experiments and runs.
type TrackingStore interface {
	// CreateExperiment creates an experiment and returns its id. Names are
	// unique among all experiments, deleted ones included. An empty
	// artifactLocation means <default artifact root>/<id>.
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error)
	// GetExperiment returns an experiment in any lifecycle stage; "" is
	// the default experiment.
	GetExperiment(ctx context.Context, id string) (*Experiment, error)
	// GetExperimentByName returns the experiment with the name, in any
	// lifecycle stage, or RESOURCE_DOES_NOT_EXIST.
	GetExperimentByName(ctx context.Context, name string) (*Experiment, error)
	// DeleteExperiment marks an active experiment and all its runs deleted.
	DeleteExperiment(ctx context.Context, id string) error
	// RestoreExperiment marks a deleted experiment and all its runs active.
	RestoreExperiment(ctx context.Context, id string) error
	// RenameExperiment renames an active experiment.
	RenameExperiment(ctx context.Context, id, newName string) error
	// SetExperimentTag sets (or overwrites) a tag of an active experiment.
	SetExperimentTag(ctx context.Context, id string, tag Tag) error
	// DeleteExperimentTag deletes a tag of an active experiment.
	DeleteExperimentTag(ctx context.Context, id, key string) error
	// SearchExperiments lists experiments matching a filter, one page at a
	// time; an empty next token means there are no more.
	SearchExperiments(ctx context.Context, req SearchExperiments) (exps []Experiment, nextPageToken string, err error)

	// CreateRun starts a run (status RUNNING) in an active experiment.
	CreateRun(ctx context.Context, req CreateRun) (*Run, error)
	// GetRun returns a run in any lifecycle stage, with its latest metrics,
	// params, tags and dataset inputs.
	GetRun(ctx context.Context, runID string) (*Run, error)
	// UpdateRun changes an active run's status, end time or name.
	UpdateRun(ctx context.Context, req UpdateRun) (*RunInfo, error)
	// DeleteRun marks a run deleted.
	DeleteRun(ctx context.Context, runID string) error
	// RestoreRun marks a run active.
	RestoreRun(ctx context.Context, runID string) error
	// LogMetric appends a metric value to an active run.
	LogMetric(ctx context.Context, runID string, m Metric) error
	// LogParam logs a param; logging a different value for a key already
	// logged is INVALID_PARAMETER_VALUE, the same value is accepted.
	LogParam(ctx context.Context, runID string, p Param) error
	// SetTag sets (or overwrites) a run tag; mlflow.runName renames the run.
	SetTag(ctx context.Context, runID string, tag Tag) error
	// DeleteTag deletes a run tag.
	DeleteTag(ctx context.Context, runID, key string) error
	// LogBatch logs metrics, params and tags to an active run in one
	// transaction: all of them or, on error, none. Limits: MaxMetricsPerBatch,
	// MaxParamsTagsPerBatch, MaxEntitiesPerBatch.
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	// LogInputs records datasets an active run used. A dataset is identified
	// by (experiment, name, digest); logging it again is a no-op.
	LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error
	// GetMetricHistory returns every value logged for a metric of a run,
	// ordered by timestamp, step and value, one page at a time.
	GetMetricHistory(ctx context.Context, req GetMetricHistory) (metrics []Metric, nextPageToken string, err error)
	// SearchRuns returns the runs of some experiments matching MLflow's
	// filter grammar, ordered as asked, one page at a time.
	SearchRuns(ctx context.Context, req SearchRuns) (runs []Run, nextPageToken string, err error)
}

// RegistryStore is the part of Store that MLflow's model registry
// AbstractStore covers, plus the stage transition history.
type RegistryStore interface {
	CreateRegisteredModel(ctx context.Context, name string, tags []Tag, description string) (*RegisteredModel, error)
	GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error)
	UpdateRegisteredModel(ctx context.Context, name, description string) (*RegisteredModel, error)
	// RenameRegisteredModel renames a model and, with it, its versions.
	RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error)
	// DeleteRegisteredModel deletes a model with its versions, tags, aliases
	// and transition history.
	DeleteRegisteredModel(ctx context.Context, name string) error
	SearchRegisteredModels(ctx context.Context, req SearchRegisteredModels) (models []RegisteredModel, nextPageToken string, err error)
	// GetLatestVersions returns the newest version in each of the stages
	// (all stages when none are given).
	GetLatestVersions(ctx context.Context, name string, stages []string) ([]ModelVersion, error)
	SetRegisteredModelTag(ctx context.Context, name string, tag Tag) error
	DeleteRegisteredModelTag(ctx context.Context, name, key string) error

	// CreateModelVersion registers the next version of a model. A source of
	// the form runs:/<run_id>/<path> is resolved to the run's artifact URI.
	CreateModelVersion(ctx context.Context, req CreateModelVersion) (*ModelVersion, error)
	GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error)
	UpdateModelVersion(ctx context.Context, name, version, description string) (*ModelVersion, error)
	// TransitionModelVersionStage moves a version to another stage and
	// records the transition; with ArchiveExistingVersions the other
	// versions in the target stage (Staging or Production) are archived.
	TransitionModelVersionStage(ctx context.Context, req TransitionStage) (*ModelVersion, error)
	// DeleteModelVersion deletes a version; its number is not reused.
	DeleteModelVersion(ctx context.Context, name, version string) error
	GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error)
	SearchModelVersions(ctx context.Context, req SearchModelVersions) (versions []ModelVersion, nextPageToken string, err error)
	SetModelVersionTag(ctx context.Context, name, version string, tag Tag) error
	DeleteModelVersionTag(ctx context.Context, name, version, key string) error
	// SetRegisteredModelAlias points alias at a version, moving it if it
	// pointed elsewhere.
	SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error
	DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error)
	// GetStageTransitions returns a version's stage transitions, oldest
	// first.
	GetStageTransitions(ctx context.Context, name, version string) ([]StageTransition, error)
}

// SearchExperiments is a request for TrackingStore.SearchExperiments.
type SearchExperiments struct {
	ViewType   ViewType
	MaxResults int // 0: 1000; at most 50000
	Filter     string
	OrderBy    []string // default: creation_time DESC, experiment_id ASC
	PageToken  string
}

// CreateRun is a request for TrackingStore.CreateRun.
type CreateRun struct {
	ExperimentID string // "": the default experiment
	UserID       string
	RunName      string // "": the mlflow.runName tag, else a generated name
	StartTime    int64  // 0: now
	Tags         []Tag
}

// UpdateRun is a request for TrackingStore.UpdateRun; zero fields are left
// unchanged.
type UpdateRun struct {
	RunID   string
	Status  RunStatus
	EndTime int64
	RunName string
}

// GetMetricHistory is a request for TrackingStore.GetMetricHistory.
type GetMetricHistory struct {
	RunID      string
	MetricKey  string
	MaxResults int // 0: all
	PageToken  string
}

// SearchRuns is a request for TrackingStore.SearchRuns.
type SearchRuns struct {
	ExperimentIDs []string
	Filter        string
	ViewType      ViewType
	MaxResults    int      // 0: 1000; at most 50000
	OrderBy       []string // ties are broken by start_time DESC, run_id
	PageToken     string
}

// SearchRegisteredModels is a request for RegistryStore.SearchRegisteredModels.
type SearchRegisteredModels struct {
	Filter     string
	MaxResults int      // 0: 100; at most 1000
	OrderBy    []string // ties are broken by name ASC
	PageToken  string
}

// SearchModelVersions is a request for RegistryStore.SearchModelVersions.
type SearchModelVersions struct {
	Filter     string
	MaxResults int      // 0: 1000; at most 200000
	OrderBy    []string // default: last_updated_timestamp DESC, name ASC, version_number DESC
	PageToken  string
}

// CreateModelVersion is a request for RegistryStore.CreateModelVersion.
type CreateModelVersion struct {
	Name        string
	Source      string
	RunID       string
	Tags        []Tag
	RunLink     string
	Description string
	UserID      string
}

// TransitionStage is a request for RegistryStore.TransitionModelVersionStage.
type TransitionStage struct {
	Name                    string
	Version                 string
	Stage                   string // None, Staging, Production or Archived, any case
	ArchiveExistingVersions bool
	UserID                  string // who; kept in the transition history
	Comment                 string // why
}
