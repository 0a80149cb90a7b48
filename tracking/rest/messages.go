package rest

// Endpoint is one route of the API: a method and a path below an API
// prefix (APIPrefix, or AjaxPrefix, which MLflow's web UI uses and which
// reaches the same handlers).
type Endpoint struct {
	Method string
	Path   string
}

// The API prefixes.
const (
	APIPrefix  = "/api/2.0"
	AjaxPrefix = "/ajax-api/2.0"
)

// The endpoints, with the paths of MLflow's protos. Where MLflow serves an
// RPC under two methods, the client uses the first one listed here.
var (
	// service.proto
	CreateExperiment      = Endpoint{"POST", "/mlflow/experiments/create"}
	GetExperiment         = Endpoint{"GET", "/mlflow/experiments/get"}
	GetExperimentByName   = Endpoint{"GET", "/mlflow/experiments/get-by-name"}
	DeleteExperiment      = Endpoint{"POST", "/mlflow/experiments/delete"}
	RestoreExperiment     = Endpoint{"POST", "/mlflow/experiments/restore"}
	UpdateExperiment      = Endpoint{"POST", "/mlflow/experiments/update"}
	SetExperimentTag      = Endpoint{"POST", "/mlflow/experiments/set-experiment-tag"}
	DeleteExperimentTag   = Endpoint{"POST", "/mlflow/experiments/delete-experiment-tag"}
	SearchExperiments     = Endpoint{"POST", "/mlflow/experiments/search"}
	SearchExperimentsGet  = Endpoint{"GET", "/mlflow/experiments/search"}
	ListExperiments       = Endpoint{"GET", "/mlflow/experiments/list"} // MLflow 1.x; old clients still call it
	CreateRun             = Endpoint{"POST", "/mlflow/runs/create"}
	UpdateRun             = Endpoint{"POST", "/mlflow/runs/update"}
	DeleteRun             = Endpoint{"POST", "/mlflow/runs/delete"}
	RestoreRun            = Endpoint{"POST", "/mlflow/runs/restore"}
	LogMetric             = Endpoint{"POST", "/mlflow/runs/log-metric"}
	LogParam              = Endpoint{"POST", "/mlflow/runs/log-parameter"}
	SetTag                = Endpoint{"POST", "/mlflow/runs/set-tag"}
	DeleteTag             = Endpoint{"POST", "/mlflow/runs/delete-tag"}
	LogBatch              = Endpoint{"POST", "/mlflow/runs/log-batch"}
	LogModel              = Endpoint{"POST", "/mlflow/runs/log-model"}
	LogInputs             = Endpoint{"POST", "/mlflow/runs/log-inputs"}
	GetRun                = Endpoint{"GET", "/mlflow/runs/get"}
	SearchRuns            = Endpoint{"POST", "/mlflow/runs/search"}
	ListArtifacts         = Endpoint{"GET", "/mlflow/artifacts/list"}
	GetMetricHistory      = Endpoint{"GET", "/mlflow/metrics/get-history"}
	GetMetricHistoryBulk  = Endpoint{"GET", "/mlflow/metrics/get-history-bulk"} // the web UI's, under AjaxPrefix in MLflow
	UploadArtifactUI      = Endpoint{"POST", "/mlflow/upload-artifact"}         // the web UI's, under AjaxPrefix in MLflow
	GetArtifactUI         = Endpoint{"GET", "/get-artifact"}                    // at the root, no API prefix
	GetModelVersionFileUI = Endpoint{"GET", "/model-versions/get-artifact"}     // at the root, no API prefix

	// model_registry.proto
	CreateRegisteredModel      = Endpoint{"POST", "/mlflow/registered-models/create"}
	RenameRegisteredModel      = Endpoint{"POST", "/mlflow/registered-models/rename"}
	UpdateRegisteredModel      = Endpoint{"PATCH", "/mlflow/registered-models/update"}
	DeleteRegisteredModel      = Endpoint{"DELETE", "/mlflow/registered-models/delete"}
	GetRegisteredModel         = Endpoint{"GET", "/mlflow/registered-models/get"}
	SearchRegisteredModels     = Endpoint{"GET", "/mlflow/registered-models/search"}
	GetLatestVersions          = Endpoint{"POST", "/mlflow/registered-models/get-latest-versions"}
	GetLatestVersionsGet       = Endpoint{"GET", "/mlflow/registered-models/get-latest-versions"}
	CreateModelVersion         = Endpoint{"POST", "/mlflow/model-versions/create"}
	UpdateModelVersion         = Endpoint{"PATCH", "/mlflow/model-versions/update"}
	TransitionModelVersion     = Endpoint{"POST", "/mlflow/model-versions/transition-stage"}
	DeleteModelVersion         = Endpoint{"DELETE", "/mlflow/model-versions/delete"}
	GetModelVersion            = Endpoint{"GET", "/mlflow/model-versions/get"}
	SearchModelVersions        = Endpoint{"GET", "/mlflow/model-versions/search"}
	GetModelVersionDownloadURI = Endpoint{"GET", "/mlflow/model-versions/get-download-uri"}
	SetRegisteredModelTag      = Endpoint{"POST", "/mlflow/registered-models/set-tag"}
	SetModelVersionTag         = Endpoint{"POST", "/mlflow/model-versions/set-tag"}
	DeleteRegisteredModelTag   = Endpoint{"DELETE", "/mlflow/registered-models/delete-tag"}
	DeleteModelVersionTag      = Endpoint{"DELETE", "/mlflow/model-versions/delete-tag"}
	SetRegisteredModelAlias    = Endpoint{"POST", "/mlflow/registered-models/alias"}
	DeleteRegisteredModelAlias = Endpoint{"DELETE", "/mlflow/registered-models/alias"}
	GetModelVersionByAlias     = Endpoint{"GET", "/mlflow/registered-models/alias"}
	// A yolops extension: the stage history the promotion report shows.
	GetStageTransitions = Endpoint{"GET", "/mlflow/model-versions/stage-transitions"}

	// mlflow_artifacts.proto; the object's path follows ArtifactsPath.
	ListArtifactsProxied  = Endpoint{"GET", "/mlflow-artifacts/artifacts"}
	DownloadArtifact      = Endpoint{"GET", ArtifactsPath}
	UploadArtifact        = Endpoint{"PUT", ArtifactsPath}
	DeleteArtifact        = Endpoint{"DELETE", ArtifactsPath}
	CreateMultipartUpload = Endpoint{"POST", "/mlflow-artifacts/mpu/create/"}
	CompleteMultipartUpld = Endpoint{"POST", "/mlflow-artifacts/mpu/complete/"}
	AbortMultipartUpload  = Endpoint{"POST", "/mlflow-artifacts/mpu/abort/"}
)

// ArtifactsPath is the path below the API prefix that an artifact's path
// (relative to the server's artifacts destination) is appended to.
const ArtifactsPath = "/mlflow-artifacts/artifacts/"

// Empty is the response of the RPCs that return nothing ({}).
type Empty struct{}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// Experiments.

type CreateExperimentRequest struct {
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

type CreateExperimentResponse struct {
	ExperimentID ID `json:"experiment_id"`
}

type ExperimentRequest struct {
	ExperimentID ID `json:"experiment_id"`
}

type GetExperimentByNameRequest struct {
	ExperimentName string `json:"experiment_name"`
}

type ExperimentResponse struct {
	Experiment Experiment `json:"experiment"`
}

type UpdateExperimentRequest struct {
	ExperimentID ID     `json:"experiment_id"`
	NewName      string `json:"new_name"`
}

type SetExperimentTagRequest struct {
	ExperimentID ID     `json:"experiment_id"`
	Key          string `json:"key"`
	Value        string `json:"value"`
}

type DeleteExperimentTagRequest struct {
	ExperimentID ID     `json:"experiment_id"`
	Key          string `json:"key"`
}

type SearchExperimentsRequest struct {
	MaxResults Int64    `json:"max_results,omitempty"`
	PageToken  string   `json:"page_token,omitempty"`
	Filter     string   `json:"filter,omitempty"`
	OrderBy    []string `json:"order_by,omitempty"`
	ViewType   ViewType `json:"view_type,omitempty"`
}

type SearchExperimentsResponse struct {
	Experiments   []Experiment `json:"experiments,omitempty"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// Runs.

type CreateRunRequest struct {
	ExperimentID ID     `json:"experiment_id,omitempty"`
	UserID       string `json:"user_id,omitempty"`
	RunName      string `json:"run_name,omitempty"`
	StartTime    Int64  `json:"start_time,omitempty"`
	Tags         []Tag  `json:"tags,omitempty"`
}

type RunResponse struct {
	Run Run `json:"run"`
}

// RunRequest names a run; run_uuid is the deprecated name of run_id, which
// old clients still send.
type RunRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid,omitempty"`
}

// ID returns run_id, else run_uuid.
func (r *RunRequest) ID() string {
	if r.RunID != "" {
		return r.RunID
	}
	return r.RunUUID
}

type UpdateRunRequest struct {
	RunID   string    `json:"run_id"`
	RunUUID string    `json:"run_uuid,omitempty"`
	Status  RunStatus `json:"status,omitempty"`
	EndTime Int64     `json:"end_time,omitempty"`
	RunName string    `json:"run_name,omitempty"`
}

type UpdateRunResponse struct {
	RunInfo RunInfo `json:"run_info"`
}

type LogMetricRequest struct {
	RunID     string `json:"run_id"`
	RunUUID   string `json:"run_uuid,omitempty"`
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp Int64  `json:"timestamp"`
	Step      Int64  `json:"step"`
}

type LogParamRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid,omitempty"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

type SetTagRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid,omitempty"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

type DeleteTagRequest struct {
	RunID string `json:"run_id"`
	Key   string `json:"key"`
}

type LogBatchRequest struct {
	RunID   string   `json:"run_id"`
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

type LogModelRequest struct {
	RunID     string `json:"run_id"`
	ModelJSON string `json:"model_json"`
}

type LogInputsRequest struct {
	RunID    string         `json:"run_id"`
	Datasets []DatasetInput `json:"datasets,omitempty"`
}

type SearchRunsRequest struct {
	ExperimentIDs []ID     `json:"experiment_ids,omitempty"`
	Filter        string   `json:"filter,omitempty"`
	RunViewType   ViewType `json:"run_view_type,omitempty"`
	MaxResults    Int64    `json:"max_results,omitempty"`
	OrderBy       []string `json:"order_by,omitempty"`
	PageToken     string   `json:"page_token,omitempty"`
}

type SearchRunsResponse struct {
	Runs          []Run  `json:"runs,omitempty"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

type GetMetricHistoryRequest struct {
	RunID      string `json:"run_id"`
	RunUUID    string `json:"run_uuid,omitempty"`
	MetricKey  string `json:"metric_key"`
	PageToken  string `json:"page_token,omitempty"`
	MaxResults Int64  `json:"max_results,omitempty"`
}

type GetMetricHistoryResponse struct {
	Metrics       []Metric `json:"metrics,omitempty"`
	NextPageToken string   `json:"next_page_token,omitempty"`
}

type GetMetricHistoryBulkRequest struct {
	RunIDs     []string `json:"run_id"`
	MetricKey  string   `json:"metric_key"`
	MaxResults Int64    `json:"max_results,omitempty"`
}

// MetricWithRunID is a metric value of GetMetricHistoryBulkResponse.
type MetricWithRunID struct {
	Metric
	RunID string `json:"run_id"`
}

type GetMetricHistoryBulkResponse struct {
	Metrics []MetricWithRunID `json:"metrics"`
}

type ListArtifactsRequest struct {
	RunID     string  `json:"run_id"`
	RunUUID   string  `json:"run_uuid,omitempty"`
	Path      *string `json:"path,omitempty"`
	PageToken string  `json:"page_token,omitempty"`
}

type ListArtifactsResponse struct {
	RootURI       string     `json:"root_uri,omitempty"`
	Files         []FileInfo `json:"files,omitempty"`
	NextPageToken string     `json:"next_page_token,omitempty"`
}

// Proxied artifacts.

type ListArtifactsProxiedRequest struct {
	Path *string `json:"path,omitempty"`
}

type ListArtifactsProxiedResponse struct {
	Files []FileInfo `json:"files,omitempty"`
}

// Model registry.

type CreateRegisteredModelRequest struct {
	Name        string `json:"name"`
	Tags        []Tag  `json:"tags,omitempty"`
	Description string `json:"description,omitempty"`
}

type RegisteredModelResponse struct {
	RegisteredModel RegisteredModel `json:"registered_model"`
}

type RegisteredModelRequest struct {
	Name string `json:"name"`
}

type RenameRegisteredModelRequest struct {
	Name    string `json:"name"`
	NewName string `json:"new_name"`
}

type UpdateRegisteredModelRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type SearchRegisteredModelsRequest struct {
	Filter     string   `json:"filter,omitempty"`
	MaxResults Int64    `json:"max_results,omitempty"`
	OrderBy    []string `json:"order_by,omitempty"`
	PageToken  string   `json:"page_token,omitempty"`
}

type SearchRegisteredModelsResponse struct {
	RegisteredModels []RegisteredModel `json:"registered_models,omitempty"`
	NextPageToken    string            `json:"next_page_token,omitempty"`
}

type GetLatestVersionsRequest struct {
	Name   string   `json:"name"`
	Stages []string `json:"stages,omitempty"`
}

type ModelVersionsResponse struct {
	ModelVersions []ModelVersion `json:"model_versions,omitempty"`
}

type CreateModelVersionRequest struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	RunID       string `json:"run_id,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
	RunLink     string `json:"run_link,omitempty"`
	Description string `json:"description,omitempty"`
	// A yolops extension, as CreateRun's user_id: who registers the
	// version. A server with authentication records its user instead.
	UserID string `json:"user_id,omitempty"`
}

type ModelVersionResponse struct {
	ModelVersion ModelVersion `json:"model_version"`
}

// ModelVersionRequest names a version; the protos carry the number as a
// string, and numbers are accepted too.
type ModelVersionRequest struct {
	Name    string `json:"name"`
	Version ID     `json:"version"`
}

type UpdateModelVersionRequest struct {
	Name        string `json:"name"`
	Version     ID     `json:"version"`
	Description string `json:"description,omitempty"`
}

type TransitionStageRequest struct {
	Name                    string `json:"name"`
	Version                 ID     `json:"version"`
	Stage                   string `json:"stage"`
	ArchiveExistingVersions bool   `json:"archive_existing_versions"`
	// yolops extensions, kept in the stage history: why, and who (a
	// server with authentication records its user instead).
	Comment string `json:"comment,omitempty"`
	UserID  string `json:"user_id,omitempty"`
}

type SearchModelVersionsRequest struct {
	Filter     string   `json:"filter,omitempty"`
	MaxResults Int64    `json:"max_results,omitempty"`
	OrderBy    []string `json:"order_by,omitempty"`
	PageToken  string   `json:"page_token,omitempty"`
}

type SearchModelVersionsResponse struct {
	ModelVersions []ModelVersion `json:"model_versions,omitempty"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

type DownloadURIResponse struct {
	ArtifactURI string `json:"artifact_uri"`
}

type SetRegisteredModelTagRequest struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

type SetModelVersionTagRequest struct {
	Name    string `json:"name"`
	Version ID     `json:"version"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

type DeleteRegisteredModelTagRequest struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type DeleteModelVersionTagRequest struct {
	Name    string `json:"name"`
	Version ID     `json:"version"`
	Key     string `json:"key"`
}

type SetAliasRequest struct {
	Name    string `json:"name"`
	Alias   string `json:"alias"`
	Version ID     `json:"version"`
}

type AliasRequest struct {
	Name  string `json:"name"`
	Alias string `json:"alias"`
}

type StageTransitionsResponse struct {
	Transitions []StageTransition `json:"transitions,omitempty"`
}
