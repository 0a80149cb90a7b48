package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
)

// Read-only RPCs need Read, those that create or change something Edit,
// and those that delete or restore experiments, runs, models and versions
// Manage, as in MLflow's basic-auth app.

// Endpoints lists the RPCs of the endpoint table, for documentation and
// tests. Paths starting with /mlflow are served under both API prefixes,
// the others at the root; objects of the artifacts destination are served
// below rest.ArtifactsPath besides.
func Endpoints() []rest.Endpoint {
	var eps []rest.Endpoint
	for _, rt := range (&Server{}).routes() {
		eps = append(eps, rt.ep)
	}
	return eps
}

// routes is the endpoint table: every RPC once, served under both API
// prefixes.
func (s *Server) routes() []route {
	st := s.store
	searchExperiments := bind(s, nil, func(ctx context.Context, c *call, req *rest.SearchExperimentsRequest) (any, error) {
		exps, next, err := st.SearchExperiments(ctx, tracking.SearchExperiments{
			ViewType: tracking.ViewType(req.ViewType), MaxResults: int(req.MaxResults),
			Filter: req.Filter, OrderBy: req.OrderBy, PageToken: req.PageToken,
		})
		if err != nil {
			return nil, err
		}
		resp := &rest.SearchExperimentsResponse{NextPageToken: next}
		for i := range exps {
			resp.Experiments = append(resp.Experiments, rest.FromExperiment(&exps[i]))
		}
		return resp, nil
	})
	getLatestVersions := bind(s, []string{"name"}, func(ctx context.Context, c *call, req *rest.GetLatestVersionsRequest) (any, error) {
		vs, err := st.GetLatestVersions(ctx, req.Name, req.Stages)
		return &rest.ModelVersionsResponse{ModelVersions: rest.FromModelVersions(vs)}, err
	})
	return []route{
		// Experiments.
		{ep: rest.CreateExperiment, perm: Edit, handler: bind(s, []string{"name"}, func(ctx context.Context, c *call, req *rest.CreateExperimentRequest) (any, error) {
			id, err := st.CreateExperiment(ctx, req.Name, req.ArtifactLocation, rest.ToTags(req.Tags))
			return &rest.CreateExperimentResponse{ExperimentID: rest.ID(id)}, err
		})},
		{ep: rest.GetExperiment, perm: Read, handler: bind(s, []string{"experiment_id"}, func(ctx context.Context, c *call, req *rest.ExperimentRequest) (any, error) {
			e, err := st.GetExperiment(ctx, string(req.ExperimentID))
			if err != nil {
				return nil, err
			}
			return &rest.ExperimentResponse{Experiment: rest.FromExperiment(e)}, nil
		})},
		{ep: rest.GetExperimentByName, perm: Read, handler: bind(s, []string{"experiment_name"}, func(ctx context.Context, c *call, req *rest.GetExperimentByNameRequest) (any, error) {
			e, err := st.GetExperimentByName(ctx, req.ExperimentName)
			if err != nil {
				return nil, err
			}
			return &rest.ExperimentResponse{Experiment: rest.FromExperiment(e)}, nil
		})},
		{ep: rest.DeleteExperiment, perm: Manage, handler: bind(s, []string{"experiment_id"}, func(ctx context.Context, c *call, req *rest.ExperimentRequest) (any, error) {
			return empty(st.DeleteExperiment(ctx, string(req.ExperimentID)))
		})},
		{ep: rest.RestoreExperiment, perm: Manage, handler: bind(s, []string{"experiment_id"}, func(ctx context.Context, c *call, req *rest.ExperimentRequest) (any, error) {
			return empty(st.RestoreExperiment(ctx, string(req.ExperimentID)))
		})},
		{ep: rest.UpdateExperiment, perm: Edit, handler: bind(s, []string{"experiment_id", "new_name"}, func(ctx context.Context, c *call, req *rest.UpdateExperimentRequest) (any, error) {
			return empty(st.RenameExperiment(ctx, string(req.ExperimentID), req.NewName))
		})},
		{ep: rest.SetExperimentTag, perm: Edit, handler: bind(s, []string{"experiment_id", "key"}, func(ctx context.Context, c *call, req *rest.SetExperimentTagRequest) (any, error) {
			return empty(st.SetExperimentTag(ctx, string(req.ExperimentID), tracking.Tag{Key: req.Key, Value: req.Value}))
		})},
		{ep: rest.DeleteExperimentTag, perm: Edit, handler: bind(s, []string{"experiment_id", "key"}, func(ctx context.Context, c *call, req *rest.DeleteExperimentTagRequest) (any, error) {
			return empty(st.DeleteExperimentTag(ctx, string(req.ExperimentID), req.Key))
		})},
		{ep: rest.SearchExperiments, perm: Read, handler: searchExperiments},
		{ep: rest.SearchExperimentsGet, perm: Read, handler: searchExperiments},
		{ep: rest.ListExperiments, perm: Read, handler: searchExperiments},

		// Runs.
		{ep: rest.CreateRun, perm: Edit, handler: bind(s, nil, func(ctx context.Context, c *call, req *rest.CreateRunRequest) (any, error) {
			user := req.UserID // MLflow records what the client says
			if user == "" {
				user = c.user
			}
			r, err := st.CreateRun(ctx, tracking.CreateRun{
				ExperimentID: string(req.ExperimentID), UserID: user, RunName: req.RunName,
				StartTime: int64(req.StartTime), Tags: rest.ToTags(req.Tags),
			})
			if err != nil {
				return nil, err
			}
			return &rest.RunResponse{Run: rest.FromRun(r)}, nil
		})},
		{ep: rest.UpdateRun, perm: Edit, handler: bind(s, []string{"run_id"}, func(ctx context.Context, c *call, req *rest.UpdateRunRequest) (any, error) {
			id := req.RunID
			if id == "" {
				id = req.RunUUID
			}
			ri, err := st.UpdateRun(ctx, tracking.UpdateRun{
				RunID: id, Status: tracking.RunStatus(req.Status), EndTime: int64(req.EndTime), RunName: req.RunName,
			})
			if err != nil {
				return nil, err
			}
			return &rest.UpdateRunResponse{RunInfo: rest.FromRunInfo(ri)}, nil
		})},
		{ep: rest.DeleteRun, perm: Manage, handler: bind(s, []string{"run_id"}, func(ctx context.Context, c *call, req *rest.RunRequest) (any, error) {
			return empty(st.DeleteRun(ctx, req.ID()))
		})},
		{ep: rest.RestoreRun, perm: Manage, handler: bind(s, []string{"run_id"}, func(ctx context.Context, c *call, req *rest.RunRequest) (any, error) {
			return empty(st.RestoreRun(ctx, req.ID()))
		})},
		{ep: rest.LogMetric, perm: Edit, handler: bind(s, []string{"run_id", "key", "value", "timestamp"}, func(ctx context.Context, c *call, req *rest.LogMetricRequest) (any, error) {
			return empty(st.LogMetric(ctx, runID(req.RunID, req.RunUUID), tracking.Metric{
				Key: req.Key, Value: float64(req.Value), Timestamp: int64(req.Timestamp), Step: int64(req.Step),
			}))
		})},
		{ep: rest.LogParam, perm: Edit, handler: bind(s, []string{"run_id", "key"}, func(ctx context.Context, c *call, req *rest.LogParamRequest) (any, error) {
			return empty(st.LogParam(ctx, runID(req.RunID, req.RunUUID), tracking.Param{Key: req.Key, Value: req.Value}))
		})},
		{ep: rest.SetTag, perm: Edit, handler: bind(s, []string{"run_id", "key"}, func(ctx context.Context, c *call, req *rest.SetTagRequest) (any, error) {
			return empty(st.SetTag(ctx, runID(req.RunID, req.RunUUID), tracking.Tag{Key: req.Key, Value: req.Value}))
		})},
		{ep: rest.DeleteTag, perm: Edit, handler: bind(s, []string{"run_id", "key"}, func(ctx context.Context, c *call, req *rest.DeleteTagRequest) (any, error) {
			return empty(st.DeleteTag(ctx, req.RunID, req.Key))
		})},
		{ep: rest.LogBatch, perm: Edit, handler: bind(s, []string{"run_id"}, func(ctx context.Context, c *call, req *rest.LogBatchRequest) (any, error) {
			// The size limit of LogBatch's proto documentation.
			if len(c.body) > tracking.MaxBatchLogRequestSize {
				return nil, tracking.Errorf(tracking.InvalidParameterValue,
					"Batched logging API requests must be at most %d bytes, got a request of size %d.",
					tracking.MaxBatchLogRequestSize, len(c.body))
			}
			for _, chk := range []struct {
				list     string
				required []string
			}{{"metrics", []string{"key", "value", "timestamp"}}, {"params", []string{"key"}}, {"tags", []string{"key"}}} {
				if err := checkElements(c.fields, chk.list, chk.required...); err != nil {
					return nil, err
				}
			}
			return empty(st.LogBatch(ctx, req.RunID, rest.ToMetrics(req.Metrics), rest.ToParams(req.Params), rest.ToTags(req.Tags)))
		})},
		{ep: rest.LogModel, perm: Edit, handler: bind(s, []string{"run_id", "model_json"}, func(ctx context.Context, c *call, req *rest.LogModelRequest) (any, error) {
			return empty(s.logModel(ctx, req.RunID, req.ModelJSON))
		})},
		{ep: rest.LogInputs, perm: Edit, handler: bind(s, []string{"run_id"}, func(ctx context.Context, c *call, req *rest.LogInputsRequest) (any, error) {
			return empty(st.LogInputs(ctx, req.RunID, rest.ToDatasetInputs(req.Datasets)))
		})},
		{ep: rest.GetRun, perm: Read, handler: bind(s, []string{"run_id"}, func(ctx context.Context, c *call, req *rest.RunRequest) (any, error) {
			r, err := st.GetRun(ctx, req.ID())
			if err != nil {
				return nil, err
			}
			return &rest.RunResponse{Run: rest.FromRun(r)}, nil
		})},
		{ep: rest.SearchRuns, perm: Read, handler: bind(s, nil, func(ctx context.Context, c *call, req *rest.SearchRunsRequest) (any, error) {
			ids := make([]string, len(req.ExperimentIDs))
			for i, id := range req.ExperimentIDs {
				ids[i] = string(id)
			}
			runs, next, err := st.SearchRuns(ctx, tracking.SearchRuns{
				ExperimentIDs: ids, Filter: req.Filter, ViewType: tracking.ViewType(req.RunViewType),
				MaxResults: int(req.MaxResults), OrderBy: req.OrderBy, PageToken: req.PageToken,
			})
			if err != nil {
				return nil, err
			}
			resp := &rest.SearchRunsResponse{NextPageToken: next}
			for i := range runs {
				resp.Runs = append(resp.Runs, rest.FromRun(&runs[i]))
			}
			return resp, nil
		})},
		{ep: rest.GetMetricHistory, perm: Read, handler: bind(s, []string{"run_id", "metric_key"}, func(ctx context.Context, c *call, req *rest.GetMetricHistoryRequest) (any, error) {
			ms, next, err := st.GetMetricHistory(ctx, tracking.GetMetricHistory{
				RunID: runID(req.RunID, req.RunUUID), MetricKey: req.MetricKey,
				MaxResults: int(req.MaxResults), PageToken: req.PageToken,
			})
			return &rest.GetMetricHistoryResponse{Metrics: rest.FromMetrics(ms), NextPageToken: next}, err
		})},
		{ep: rest.GetMetricHistoryBulk, perm: Read, handler: bind(s, []string{"run_id", "metric_key"}, s.metricHistoryBulk)},
		{ep: rest.ListArtifacts, perm: Read, handler: bind(s, []string{"run_id"}, s.listRunArtifacts)},

		// Model registry.
		{ep: rest.CreateRegisteredModel, perm: Edit, handler: bind(s, []string{"name"}, func(ctx context.Context, c *call, req *rest.CreateRegisteredModelRequest) (any, error) {
			return modelResponse(st.CreateRegisteredModel(ctx, req.Name, rest.ToTags(req.Tags), req.Description))
		})},
		{ep: rest.GetRegisteredModel, perm: Read, handler: bind(s, []string{"name"}, func(ctx context.Context, c *call, req *rest.RegisteredModelRequest) (any, error) {
			return modelResponse(st.GetRegisteredModel(ctx, req.Name))
		})},
		{ep: rest.RenameRegisteredModel, perm: Edit, handler: bind(s, []string{"name", "new_name"}, func(ctx context.Context, c *call, req *rest.RenameRegisteredModelRequest) (any, error) {
			return modelResponse(st.RenameRegisteredModel(ctx, req.Name, req.NewName))
		})},
		{ep: rest.UpdateRegisteredModel, perm: Edit, handler: bind(s, []string{"name"}, func(ctx context.Context, c *call, req *rest.UpdateRegisteredModelRequest) (any, error) {
			return modelResponse(st.UpdateRegisteredModel(ctx, req.Name, req.Description))
		})},
		{ep: rest.DeleteRegisteredModel, perm: Manage, handler: bind(s, []string{"name"}, func(ctx context.Context, c *call, req *rest.RegisteredModelRequest) (any, error) {
			return empty(st.DeleteRegisteredModel(ctx, req.Name))
		})},
		{ep: rest.SearchRegisteredModels, perm: Read, handler: bind(s, nil, func(ctx context.Context, c *call, req *rest.SearchRegisteredModelsRequest) (any, error) {
			ms, next, err := st.SearchRegisteredModels(ctx, tracking.SearchRegisteredModels{
				Filter: req.Filter, MaxResults: int(req.MaxResults), OrderBy: req.OrderBy, PageToken: req.PageToken,
			})
			if err != nil {
				return nil, err
			}
			resp := &rest.SearchRegisteredModelsResponse{NextPageToken: next}
			for i := range ms {
				resp.RegisteredModels = append(resp.RegisteredModels, rest.FromRegisteredModel(&ms[i]))
			}
			return resp, nil
		})},
		{ep: rest.GetLatestVersions, perm: Read, handler: getLatestVersions},
		{ep: rest.GetLatestVersionsGet, perm: Read, handler: getLatestVersions},
		{ep: rest.SetRegisteredModelTag, perm: Edit, handler: bind(s, []string{"name", "key"}, func(ctx context.Context, c *call, req *rest.SetRegisteredModelTagRequest) (any, error) {
			return empty(st.SetRegisteredModelTag(ctx, req.Name, tracking.Tag{Key: req.Key, Value: req.Value}))
		})},
		{ep: rest.DeleteRegisteredModelTag, perm: Edit, handler: bind(s, []string{"name", "key"}, func(ctx context.Context, c *call, req *rest.DeleteRegisteredModelTagRequest) (any, error) {
			return empty(st.DeleteRegisteredModelTag(ctx, req.Name, req.Key))
		})},
		{ep: rest.CreateModelVersion, perm: Edit, handler: bind(s, []string{"name", "source"}, func(ctx context.Context, c *call, req *rest.CreateModelVersionRequest) (any, error) {
			if err := checkSource(req.Source); err != nil {
				return nil, err
			}
			return versionResponse(st.CreateModelVersion(ctx, tracking.CreateModelVersion{
				Name: req.Name, Source: req.Source, RunID: req.RunID, Tags: rest.ToTags(req.Tags),
				RunLink: req.RunLink, Description: req.Description, UserID: c.userOr(req.UserID),
			}))
		})},
		{ep: rest.GetModelVersion, perm: Read, handler: bind(s, []string{"name", "version"}, func(ctx context.Context, c *call, req *rest.ModelVersionRequest) (any, error) {
			return versionResponse(st.GetModelVersion(ctx, req.Name, string(req.Version)))
		})},
		{ep: rest.UpdateModelVersion, perm: Edit, handler: bind(s, []string{"name", "version"}, func(ctx context.Context, c *call, req *rest.UpdateModelVersionRequest) (any, error) {
			return versionResponse(st.UpdateModelVersion(ctx, req.Name, string(req.Version), req.Description))
		})},
		{ep: rest.TransitionModelVersion, perm: Edit, handler: bind(s, []string{"name", "version", "stage"}, func(ctx context.Context, c *call, req *rest.TransitionStageRequest) (any, error) {
			return versionResponse(st.TransitionModelVersionStage(ctx, tracking.TransitionStage{
				Name: req.Name, Version: string(req.Version), Stage: req.Stage,
				ArchiveExistingVersions: req.ArchiveExistingVersions, UserID: c.userOr(req.UserID), Comment: req.Comment,
			}))
		})},
		{ep: rest.DeleteModelVersion, perm: Manage, handler: bind(s, []string{"name", "version"}, func(ctx context.Context, c *call, req *rest.ModelVersionRequest) (any, error) {
			return empty(st.DeleteModelVersion(ctx, req.Name, string(req.Version)))
		})},
		{ep: rest.SearchModelVersions, perm: Read, handler: bind(s, nil, func(ctx context.Context, c *call, req *rest.SearchModelVersionsRequest) (any, error) {
			vs, next, err := st.SearchModelVersions(ctx, tracking.SearchModelVersions{
				Filter: req.Filter, MaxResults: int(req.MaxResults), OrderBy: req.OrderBy, PageToken: req.PageToken,
			})
			return &rest.SearchModelVersionsResponse{ModelVersions: rest.FromModelVersions(vs), NextPageToken: next}, err
		})},
		{ep: rest.GetModelVersionDownloadURI, perm: Read, handler: bind(s, []string{"name", "version"}, func(ctx context.Context, c *call, req *rest.ModelVersionRequest) (any, error) {
			uri, err := st.GetModelVersionDownloadURI(ctx, req.Name, string(req.Version))
			return &rest.DownloadURIResponse{ArtifactURI: uri}, err
		})},
		{ep: rest.SetModelVersionTag, perm: Edit, handler: bind(s, []string{"name", "version", "key"}, func(ctx context.Context, c *call, req *rest.SetModelVersionTagRequest) (any, error) {
			return empty(st.SetModelVersionTag(ctx, req.Name, string(req.Version), tracking.Tag{Key: req.Key, Value: req.Value}))
		})},
		{ep: rest.DeleteModelVersionTag, perm: Edit, handler: bind(s, []string{"name", "version", "key"}, func(ctx context.Context, c *call, req *rest.DeleteModelVersionTagRequest) (any, error) {
			return empty(st.DeleteModelVersionTag(ctx, req.Name, string(req.Version), req.Key))
		})},
		{ep: rest.SetRegisteredModelAlias, perm: Edit, handler: bind(s, []string{"name", "alias", "version"}, func(ctx context.Context, c *call, req *rest.SetAliasRequest) (any, error) {
			return empty(st.SetRegisteredModelAlias(ctx, req.Name, req.Alias, string(req.Version)))
		})},
		{ep: rest.DeleteRegisteredModelAlias, perm: Edit, handler: bind(s, []string{"name", "alias"}, func(ctx context.Context, c *call, req *rest.AliasRequest) (any, error) {
			return empty(st.DeleteRegisteredModelAlias(ctx, req.Name, req.Alias))
		})},
		{ep: rest.GetModelVersionByAlias, perm: Read, handler: bind(s, []string{"name", "alias"}, func(ctx context.Context, c *call, req *rest.AliasRequest) (any, error) {
			return versionResponse(st.GetModelVersionByAlias(ctx, req.Name, req.Alias))
		})},
		{ep: rest.GetStageTransitions, perm: Read, handler: bind(s, []string{"name", "version"}, func(ctx context.Context, c *call, req *rest.ModelVersionRequest) (any, error) {
			ts, err := st.GetStageTransitions(ctx, req.Name, string(req.Version))
			if err != nil {
				return nil, err
			}
			resp := &rest.StageTransitionsResponse{}
			for _, t := range ts {
				resp.Transitions = append(resp.Transitions, rest.StageTransition{
					Name: t.Name, Version: t.Version, FromStage: t.FromStage, ToStage: t.ToStage,
					UserID: t.UserID, Timestamp: rest.Int64(t.Timestamp), Comment: t.Comment,
				})
			}
			return resp, nil
		})},

		// Proxied artifacts; objects themselves are served by
		// serveArtifactObject.
		{ep: rest.ListArtifactsProxied, perm: Read, handler: bind(s, nil, s.listProxiedArtifacts)},
		{ep: rest.CreateMultipartUpload, perm: Edit, handler: http.HandlerFunc(multipartUnsupported)},
		{ep: rest.CompleteMultipartUpld, perm: Edit, handler: http.HandlerFunc(multipartUnsupported)},
		{ep: rest.AbortMultipartUpload, perm: Edit, handler: http.HandlerFunc(multipartUnsupported)},
		{ep: rest.UploadArtifactUI, perm: Edit, handler: http.HandlerFunc(s.uploadRunArtifact)},
		{ep: rest.GetArtifactUI, perm: Read, root: true, handler: http.HandlerFunc(s.getRunArtifact)},
		{ep: rest.GetModelVersionFileUI, perm: Read, root: true, handler: http.HandlerFunc(s.getModelVersionArtifact)},
	}
}

// checkSource refuses a model version source that climbs with ".." or
// holds a NUL, however often percent-encoded, as MLflow's
// _validate_non_local_source_contains_relative_paths does. (Sources are
// served only when they are this server's mlflow-artifacts:/ URIs, so a
// local path is inert and not refused.)
func checkSource(source string) error {
	for d := source; ; {
		if strings.Contains(d, "\x00") || slices.Contains(strings.Split(d, "/"), "..") {
			return tracking.Errorf(tracking.InvalidParameterValue,
				"Invalid model version source: '%s'. An absolute path without relative path references ('..') must be provided.", source)
		}
		u, err := url.QueryUnescape(d)
		if err != nil || u == d {
			return nil
		}
		d = u
	}
}

func runID(id, uuid string) string {
	if id != "" {
		return id
	}
	return uuid
}

func empty(err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return &rest.Empty{}, nil
}

func modelResponse(m *tracking.RegisteredModel, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return &rest.RegisteredModelResponse{RegisteredModel: rest.FromRegisteredModel(m)}, nil
}

func versionResponse(v *tracking.ModelVersion, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return &rest.ModelVersionResponse{ModelVersion: rest.FromModelVersion(v)}, nil
}

// logModel appends a model's metadata to the run's
// mlflow.log-model.history tag, as MLflow's record_logged_model does.
func (s *Server) logModel(ctx context.Context, runID, modelJSON string) error {
	var model map[string]any
	if err := json.Unmarshal([]byte(modelJSON), &model); err != nil {
		return tracking.Errorf(tracking.InvalidParameterValue, "Malformed model info. \n %s \n is not a valid JSON.", modelJSON)
	}
	var missing []string
	for _, k := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
		if _, ok := model[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return tracking.Errorf(tracking.InvalidParameterValue, "Model json is missing mandatory fields: %q", missing)
	}
	run, err := s.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	const key = "mlflow.log-model.history"
	var history []any
	for _, t := range run.Data.Tags {
		if t.Key == key {
			if err := json.Unmarshal([]byte(t.Value), &history); err != nil {
				history = nil // a corrupt history is replaced, as MLflow would fail to parse it too
			}
		}
	}
	history = append(history, model)
	b, err := json.Marshal(history)
	if err != nil {
		return err
	}
	return s.store.SetTag(ctx, runID, tracking.Tag{Key: key, Value: string(b)})
}

// metricHistoryBulk serves the web UI's history of one metric for several
// runs.
func (s *Server) metricHistoryBulk(ctx context.Context, c *call, req *rest.GetMetricHistoryBulkRequest) (any, error) {
	const maxRuns, maxResults = 100, 25000
	if len(req.RunIDs) > maxRuns {
		return nil, tracking.Errorf(tracking.InvalidParameterValue,
			"GetMetricHistoryBulk request cannot specify more than %d run_ids. Received %d run_ids.", maxRuns, len(req.RunIDs))
	}
	limit := int(req.MaxResults)
	if limit <= 0 || limit > maxResults {
		limit = maxResults
	}
	ids := append([]string(nil), req.RunIDs...)
	sort.Strings(ids)
	resp := &rest.GetMetricHistoryBulkResponse{Metrics: []rest.MetricWithRunID{}}
	for _, id := range ids {
		ms, _, err := s.store.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: id, MetricKey: req.MetricKey, MaxResults: limit})
		if err != nil {
			return nil, err
		}
		for _, m := range rest.FromMetrics(ms) {
			if len(resp.Metrics) == limit {
				return resp, nil
			}
			resp.Metrics = append(resp.Metrics, rest.MetricWithRunID{Metric: m, RunID: id})
		}
	}
	return resp, nil
}
