package tracking

// The entities mirror the messages of MLflow's service.proto and
// model_registry.proto; JSON names are the proto field names. Timestamps are
// milliseconds since the Unix epoch; 0 means "not set" where the proto field
// is optional (RunInfo.EndTime).

// LifecycleStage says whether an experiment or run is deleted (soft deletion:
// deleted ones can be restored).
type LifecycleStage string

// The lifecycle stages.
const (
	Active  LifecycleStage = "active"
	Deleted LifecycleStage = "deleted"
)

// ViewType selects runs or experiments by lifecycle stage; the values are
// those of the proto enum. The zero value means ActiveOnly, MLflow's default.
type ViewType int

// The view types.
const (
	ActiveOnly  ViewType = 1
	DeletedOnly ViewType = 2
	AllStages   ViewType = 3
)

// Stages returns the lifecycle stages the view selects.
func (v ViewType) Stages() []LifecycleStage {
	switch v {
	case DeletedOnly:
		return []LifecycleStage{Deleted}
	case AllStages:
		return []LifecycleStage{Active, Deleted}
	default:
		return []LifecycleStage{Active}
	}
}

// RunStatus is the state of a run.
type RunStatus string

// The run statuses.
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

// Valid reports whether s is one of the run statuses.
func (s RunStatus) Valid() bool {
	switch s {
	case RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled:
		return true
	}
	return false
}

// Tag is a key-value annotation of an experiment, run, registered model or
// model version (ExperimentTag, RunTag, RegisteredModelTag and
// ModelVersionTag in the protos, all the same shape).
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter; once logged its value cannot change.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one logged value of a metric. Value may be NaN or ±Inf.
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

// Experiment groups runs.
type Experiment struct {
	ExperimentID     string         `json:"experiment_id"`
	Name             string         `json:"name"`
	ArtifactLocation string         `json:"artifact_location"`
	LifecycleStage   LifecycleStage `json:"lifecycle_stage"`
	LastUpdateTime   int64          `json:"last_update_time"`
	CreationTime     int64          `json:"creation_time"`
	Tags             []Tag          `json:"tags,omitempty"`
}

// DefaultExperimentID and DefaultExperimentName name the experiment every
// store starts with, as MLflow's does.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string         `json:"run_id"`
	RunName        string         `json:"run_name"`
	ExperimentID   string         `json:"experiment_id"`
	UserID         string         `json:"user_id"`
	Status         RunStatus      `json:"status"`
	StartTime      int64          `json:"start_time"`
	EndTime        int64          `json:"end_time,omitempty"` // 0: not ended
	ArtifactURI    string         `json:"artifact_uri"`
	LifecycleStage LifecycleStage `json:"lifecycle_stage"`
}

// RunData is what was logged to a run. Metrics holds the latest value of each
// key: the one with the largest step, then timestamp, then value.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Dataset describes a dataset a run used (MLflow's Dataset message).
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// DatasetInput is a dataset used by a run, with tags such as
// mlflow.data.context = "training".
type DatasetInput struct {
	Tags    []Tag   `json:"tags,omitempty"`
	Dataset Dataset `json:"dataset"`
}

// RunInputs lists a run's inputs.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
}

// Run is a run with what was logged to it.
type Run struct {
	Info   RunInfo   `json:"info"`
	Data   RunData   `json:"data"`
	Inputs RunInputs `json:"inputs"`
}

// Tag keys MLflow gives a meaning to.
const (
	TagRunName        = "mlflow.runName"      // the run's name, kept equal to RunInfo.RunName
	TagDatasetContext = "mlflow.data.context" // a dataset input's role: "training", "eval"...
	TagUser           = "mlflow.user"
	TagParentRunID    = "mlflow.parentRunId"
)

// Model version stages. Stages are deprecated in MLflow since 2.9 in favour of
// aliases, and both are supported.
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// Stages lists the model version stages in the order MLflow lists them.
var Stages = []string{StageNone, StageStaging, StageProduction, StageArchived}

// ModelVersionStatus is the registration status of a model version.
type ModelVersionStatus string

// The model version statuses.
const (
	VersionPendingRegistration ModelVersionStatus = "PENDING_REGISTRATION"
	VersionFailedRegistration  ModelVersionStatus = "FAILED_REGISTRATION"
	VersionReady               ModelVersionStatus = "READY"
)

// RegisteredModelAlias points an alias (e.g. "champion") at a version.
type RegisteredModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModel is a named model with numbered versions.
type RegisteredModel struct {
	Name                 string `json:"name"`
	CreationTimestamp    int64  `json:"creation_timestamp"`
	LastUpdatedTimestamp int64  `json:"last_updated_timestamp"`
	Description          string `json:"description,omitempty"`
	// LatestVersions holds the newest version in each stage.
	LatestVersions []ModelVersion         `json:"latest_versions,omitempty"`
	Tags           []Tag                  `json:"tags,omitempty"`
	Aliases        []RegisteredModelAlias `json:"aliases,omitempty"`
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name                 string             `json:"name"`
	Version              string             `json:"version"`
	CreationTimestamp    int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp int64              `json:"last_updated_timestamp"`
	UserID               string             `json:"user_id,omitempty"`
	CurrentStage         string             `json:"current_stage"`
	Description          string             `json:"description,omitempty"`
	Source               string             `json:"source"`
	RunID                string             `json:"run_id,omitempty"`
	Status               ModelVersionStatus `json:"status"`
	StatusMessage        string             `json:"status_message,omitempty"`
	Tags                 []Tag              `json:"tags,omitempty"`
	RunLink              string             `json:"run_link,omitempty"`
	Aliases              []string           `json:"aliases,omitempty"`
}

// StageTransition records one change of a model version's stage: who made
// it, when, why, and from which stage to which. MLflow's open-source server
// keeps no such history; yolops does, for the promotion report.
type StageTransition struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	FromStage string `json:"from_stage"`
	ToStage   string `json:"to_stage"`
	UserID    string `json:"user_id,omitempty"`
	Timestamp int64  `json:"timestamp"`
	Comment   string `json:"comment,omitempty"`
}
