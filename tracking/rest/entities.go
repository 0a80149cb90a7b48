package rest

import "github.com/yolops/yolops/tracking"

// The wire forms of the tracking entities (service.proto and
// model_registry.proto messages). They differ from the tracking types
// where the JSON does: NaN metric values, int64 and enum encodings, and
// RunInfo's deprecated run_uuid, which MLflow still sends.

// Tag is ExperimentTag, RunTag, RegisteredModelTag, ModelVersionTag and
// InputTag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one value of a metric.
type Metric struct {
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp Int64  `json:"timestamp"`
	Step      Int64  `json:"step"`
}

// Experiment is an experiment.
type Experiment struct {
	ExperimentID     ID     `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	LastUpdateTime   Int64  `json:"last_update_time"`
	CreationTime     Int64  `json:"creation_time"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string    `json:"run_id"`
	RunUUID        string    `json:"run_uuid"` // deprecated alias of run_id
	RunName        string    `json:"run_name"`
	ExperimentID   ID        `json:"experiment_id"`
	UserID         string    `json:"user_id"`
	Status         RunStatus `json:"status"`
	StartTime      Int64     `json:"start_time"`
	EndTime        *Int64    `json:"end_time,omitempty"`
	ArtifactURI    string    `json:"artifact_uri"`
	LifecycleStage string    `json:"lifecycle_stage"`
}

// RunData is what was logged to a run.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Dataset describes a dataset; its wire form is the store's.
type Dataset = tracking.Dataset

// DatasetInput is a dataset a run used.
type DatasetInput struct {
	Tags    []Tag   `json:"tags,omitempty"`
	Dataset Dataset `json:"dataset"`
}

// RunInputs lists a run's inputs.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
}

// Run is a run with its data.
type Run struct {
	Info   RunInfo   `json:"info"`
	Data   RunData   `json:"data"`
	Inputs RunInputs `json:"inputs"`
}

// FileInfo describes an artifact file or directory.
type FileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *Int64 `json:"file_size,omitempty"` // unset for directories
}

// RegisteredModelAlias points an alias at a version.
type RegisteredModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModel is a registered model.
type RegisteredModel struct {
	Name                 string                 `json:"name"`
	CreationTimestamp    Int64                  `json:"creation_timestamp"`
	LastUpdatedTimestamp Int64                  `json:"last_updated_timestamp"`
	Description          string                 `json:"description,omitempty"`
	LatestVersions       []ModelVersion         `json:"latest_versions,omitempty"`
	Tags                 []Tag                  `json:"tags,omitempty"`
	Aliases              []RegisteredModelAlias `json:"aliases,omitempty"`
}

// ModelVersion is a version of a registered model.
type ModelVersion struct {
	Name                 string             `json:"name"`
	Version              string             `json:"version"`
	CreationTimestamp    Int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp Int64              `json:"last_updated_timestamp"`
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

// StageTransition is one stage change of a model version (a yolops
// extension: MLflow's open-source server keeps no history).
type StageTransition struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	FromStage string `json:"from_stage"`
	ToStage   string `json:"to_stage"`
	UserID    string `json:"user_id,omitempty"`
	Timestamp Int64  `json:"timestamp"`
	Comment   string `json:"comment,omitempty"`
}

// Conversions between the wire forms and the tracking entities.

// FromTags converts tags to the wire.
func FromTags(tags []tracking.Tag) []Tag {
	if tags == nil {
		return nil
	}
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag(t)
	}
	return out
}

// ToTags converts wire tags.
func ToTags(tags []Tag) []tracking.Tag {
	if tags == nil {
		return nil
	}
	out := make([]tracking.Tag, len(tags))
	for i, t := range tags {
		out[i] = tracking.Tag(t)
	}
	return out
}

// FromParams converts params to the wire.
func FromParams(ps []tracking.Param) []Param {
	if ps == nil {
		return nil
	}
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = Param(p)
	}
	return out
}

// ToParams converts wire params.
func ToParams(ps []Param) []tracking.Param {
	if ps == nil {
		return nil
	}
	out := make([]tracking.Param, len(ps))
	for i, p := range ps {
		out[i] = tracking.Param(p)
	}
	return out
}

// FromMetrics converts metrics to the wire.
func FromMetrics(ms []tracking.Metric) []Metric {
	if ms == nil {
		return nil
	}
	out := make([]Metric, len(ms))
	for i, m := range ms {
		out[i] = Metric{Key: m.Key, Value: Float(m.Value), Timestamp: Int64(m.Timestamp), Step: Int64(m.Step)}
	}
	return out
}

// ToMetrics converts wire metrics.
func ToMetrics(ms []Metric) []tracking.Metric {
	if ms == nil {
		return nil
	}
	out := make([]tracking.Metric, len(ms))
	for i, m := range ms {
		out[i] = tracking.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: int64(m.Timestamp), Step: int64(m.Step)}
	}
	return out
}

// FromExperiment converts an experiment to the wire.
func FromExperiment(e *tracking.Experiment) Experiment {
	return Experiment{
		ExperimentID:     ID(e.ExperimentID),
		Name:             e.Name,
		ArtifactLocation: e.ArtifactLocation,
		LifecycleStage:   string(e.LifecycleStage),
		LastUpdateTime:   Int64(e.LastUpdateTime),
		CreationTime:     Int64(e.CreationTime),
		Tags:             FromTags(e.Tags),
	}
}

// ToExperiment converts a wire experiment.
func ToExperiment(e *Experiment) tracking.Experiment {
	return tracking.Experiment{
		ExperimentID:     string(e.ExperimentID),
		Name:             e.Name,
		ArtifactLocation: e.ArtifactLocation,
		LifecycleStage:   tracking.LifecycleStage(e.LifecycleStage),
		LastUpdateTime:   int64(e.LastUpdateTime),
		CreationTime:     int64(e.CreationTime),
		Tags:             ToTags(e.Tags),
	}
}

// FromRunInfo converts a run's metadata to the wire.
func FromRunInfo(ri *tracking.RunInfo) RunInfo {
	w := RunInfo{
		RunID:          ri.RunID,
		RunUUID:        ri.RunID,
		RunName:        ri.RunName,
		ExperimentID:   ID(ri.ExperimentID),
		UserID:         ri.UserID,
		Status:         RunStatus(ri.Status),
		StartTime:      Int64(ri.StartTime),
		ArtifactURI:    ri.ArtifactURI,
		LifecycleStage: string(ri.LifecycleStage),
	}
	if ri.EndTime != 0 {
		end := Int64(ri.EndTime)
		w.EndTime = &end
	}
	return w
}

// ToRunInfo converts wire run metadata.
func ToRunInfo(w *RunInfo) tracking.RunInfo {
	ri := tracking.RunInfo{
		RunID:          w.RunID,
		RunName:        w.RunName,
		ExperimentID:   string(w.ExperimentID),
		UserID:         w.UserID,
		Status:         tracking.RunStatus(w.Status),
		StartTime:      int64(w.StartTime),
		ArtifactURI:    w.ArtifactURI,
		LifecycleStage: tracking.LifecycleStage(w.LifecycleStage),
	}
	if ri.RunID == "" {
		ri.RunID = w.RunUUID
	}
	if w.EndTime != nil {
		ri.EndTime = int64(*w.EndTime)
	}
	return ri
}

// FromDatasetInputs converts dataset inputs to the wire.
func FromDatasetInputs(ins []tracking.DatasetInput) []DatasetInput {
	if ins == nil {
		return nil
	}
	out := make([]DatasetInput, len(ins))
	for i, in := range ins {
		out[i] = DatasetInput{Tags: FromTags(in.Tags), Dataset: in.Dataset}
	}
	return out
}

// ToDatasetInputs converts wire dataset inputs.
func ToDatasetInputs(ins []DatasetInput) []tracking.DatasetInput {
	if ins == nil {
		return nil
	}
	out := make([]tracking.DatasetInput, len(ins))
	for i, in := range ins {
		out[i] = tracking.DatasetInput{Tags: ToTags(in.Tags), Dataset: in.Dataset}
	}
	return out
}

// FromRun converts a run to the wire.
func FromRun(r *tracking.Run) Run {
	return Run{
		Info: FromRunInfo(&r.Info),
		Data: RunData{
			Metrics: FromMetrics(r.Data.Metrics),
			Params:  FromParams(r.Data.Params),
			Tags:    FromTags(r.Data.Tags),
		},
		Inputs: RunInputs{DatasetInputs: FromDatasetInputs(r.Inputs.DatasetInputs)},
	}
}

// ToRun converts a wire run.
func ToRun(w *Run) tracking.Run {
	return tracking.Run{
		Info: ToRunInfo(&w.Info),
		Data: tracking.RunData{
			Metrics: ToMetrics(w.Data.Metrics),
			Params:  ToParams(w.Data.Params),
			Tags:    ToTags(w.Data.Tags),
		},
		Inputs: tracking.RunInputs{DatasetInputs: ToDatasetInputs(w.Inputs.DatasetInputs)},
	}
}

// FromModelVersion converts a model version to the wire.
func FromModelVersion(v *tracking.ModelVersion) ModelVersion {
	return ModelVersion{
		Name:                 v.Name,
		Version:              v.Version,
		CreationTimestamp:    Int64(v.CreationTimestamp),
		LastUpdatedTimestamp: Int64(v.LastUpdatedTimestamp),
		UserID:               v.UserID,
		CurrentStage:         v.CurrentStage,
		Description:          v.Description,
		Source:               v.Source,
		RunID:                v.RunID,
		Status:               ModelVersionStatus(v.Status),
		StatusMessage:        v.StatusMessage,
		Tags:                 FromTags(v.Tags),
		RunLink:              v.RunLink,
		Aliases:              v.Aliases,
	}
}

// ToModelVersion converts a wire model version.
func ToModelVersion(w *ModelVersion) tracking.ModelVersion {
	return tracking.ModelVersion{
		Name:                 w.Name,
		Version:              w.Version,
		CreationTimestamp:    int64(w.CreationTimestamp),
		LastUpdatedTimestamp: int64(w.LastUpdatedTimestamp),
		UserID:               w.UserID,
		CurrentStage:         w.CurrentStage,
		Description:          w.Description,
		Source:               w.Source,
		RunID:                w.RunID,
		Status:               tracking.ModelVersionStatus(w.Status),
		StatusMessage:        w.StatusMessage,
		Tags:                 ToTags(w.Tags),
		RunLink:              w.RunLink,
		Aliases:              w.Aliases,
	}
}

// FromModelVersions converts model versions to the wire.
func FromModelVersions(vs []tracking.ModelVersion) []ModelVersion {
	if vs == nil {
		return nil
	}
	out := make([]ModelVersion, len(vs))
	for i := range vs {
		out[i] = FromModelVersion(&vs[i])
	}
	return out
}

// ToModelVersions converts wire model versions.
func ToModelVersions(vs []ModelVersion) []tracking.ModelVersion {
	if vs == nil {
		return nil
	}
	out := make([]tracking.ModelVersion, len(vs))
	for i := range vs {
		out[i] = ToModelVersion(&vs[i])
	}
	return out
}

// FromRegisteredModel converts a registered model to the wire.
func FromRegisteredModel(m *tracking.RegisteredModel) RegisteredModel {
	w := RegisteredModel{
		Name:                 m.Name,
		CreationTimestamp:    Int64(m.CreationTimestamp),
		LastUpdatedTimestamp: Int64(m.LastUpdatedTimestamp),
		Description:          m.Description,
		LatestVersions:       FromModelVersions(m.LatestVersions),
		Tags:                 FromTags(m.Tags),
	}
	for _, a := range m.Aliases {
		w.Aliases = append(w.Aliases, RegisteredModelAlias(a))
	}
	return w
}

// ToRegisteredModel converts a wire registered model.
func ToRegisteredModel(w *RegisteredModel) tracking.RegisteredModel {
	m := tracking.RegisteredModel{
		Name:                 w.Name,
		CreationTimestamp:    int64(w.CreationTimestamp),
		LastUpdatedTimestamp: int64(w.LastUpdatedTimestamp),
		Description:          w.Description,
		LatestVersions:       ToModelVersions(w.LatestVersions),
		Tags:                 ToTags(w.Tags),
	}
	for _, a := range w.Aliases {
		m.Aliases = append(m.Aliases, tracking.RegisteredModelAlias(a))
	}
	return m
}
