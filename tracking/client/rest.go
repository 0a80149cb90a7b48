package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
)

// REST is a tracking.Store that calls an MLflow-compatible tracking server
// (yolops server, or MLflow's own) over its REST API. Errors the server
// reports come back as *tracking.Error with the server's code. It is safe
// for concurrent use.
type REST struct {
	base string // scheme://host[:port][/path], no trailing slash
	hc   *http.Client
	auth func(*http.Request)
}

var _ tracking.Store = (*REST)(nil)

// RESTOption configures NewREST.
type RESTOption func(*REST)

// WithBasicAuth sends HTTP basic credentials (MLflow's
// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD).
func WithBasicAuth(user, password string) RESTOption {
	return func(c *REST) { c.auth = func(r *http.Request) { r.SetBasicAuth(user, password) } }
}

// WithToken sends a bearer token (MLFLOW_TRACKING_TOKEN).
func WithToken(token string) RESTOption {
	return func(c *REST) { c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) } }
}

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(hc *http.Client) RESTOption {
	return func(c *REST) { c.hc = hc }
}

// WithInsecureTLS skips certificate checks (MLFLOW_TRACKING_INSECURE_TLS).
func WithInsecureTLS() RESTOption {
	return func(c *REST) {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		c.hc = &http.Client{Transport: t}
	}
}

// NewREST returns a store calling the server at baseURL
// (http://127.0.0.1:5000).
func NewREST(baseURL string, opts ...RESTOption) *REST {
	c := &REST{base: strings.TrimRight(baseURL, "/"), hc: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the server's URL.
func (c *REST) BaseURL() string { return c.base }

// Close releases idle connections.
func (c *REST) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// maxTries bounds the attempts at a request; with the doubling delays
// between them from 100 ms, a client rides through about 13 s of server
// restart.
const maxTries = 8

// idempotent reports whether sending the request twice does what sending
// it once does, so that it may be sent again when its answer was lost:
// reads, and writes the store deduplicates (a metric value logged twice
// is stored once, a param with the same value is accepted, a tag or a run
// status is overwritten with the same value).
func idempotent(ep rest.Endpoint) bool {
	switch ep {
	case rest.LogBatch, rest.LogMetric, rest.LogParam, rest.SetTag, rest.SetExperimentTag, rest.UpdateRun,
		rest.SearchRuns, rest.SearchExperiments, rest.GetLatestVersions:
		return true
	}
	return ep.Method == http.MethodGet
}

// call sends req to an endpoint and decodes the response into resp.
func (c *REST) call(ctx context.Context, ep rest.Endpoint, req, resp any) error {
	url := c.base + rest.APIPrefix + ep.Path
	var body []byte
	if ep.Method == http.MethodGet {
		q, err := rest.EncodeQuery(req)
		if err != nil {
			return fmt.Errorf("tracking client: %s %s: %w", ep.Method, ep.Path, err)
		}
		if len(q) > 0 {
			url += "?" + q.Encode()
		}
	} else {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return fmt.Errorf("tracking client: %s %s: %w", ep.Method, ep.Path, err)
		}
	}
	return c.do(ctx, idempotent(ep), func() (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, ep.Method, url, bytes.NewReader(body))
		if err == nil && body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	}, func(res *http.Response) error {
		if resp == nil {
			return nil
		}
		if err := json.NewDecoder(res.Body).Decode(resp); err != nil {
			return fmt.Errorf("tracking client: %s %s: decode response: %w", ep.Method, ep.Path, err)
		}
		return nil
	})
}

// do sends a request and hands a 200 response to read. It sends the
// request again, after a delay, when the server could not take it (no
// connection, 503, 429) and, for an idempotent request, when the answer
// was lost (the connection broke, 502, 504).
func (c *REST) do(ctx context.Context, idempotent bool, newReq func() (*http.Request, error), read func(*http.Response) error) error {
	delay := 100 * time.Millisecond
	for try := 1; ; try++ {
		r, err := newReq()
		if err != nil {
			return fmt.Errorf("tracking client: %w", err)
		}
		r.Header.Set("Accept", "application/json")
		if c.auth != nil {
			c.auth(r)
		}
		res, err := c.hc.Do(r)
		retry := false
		if err != nil {
			var op *net.OpError
			retry = (errors.As(err, &op) && op.Op == "dial") || (idempotent && ctx.Err() == nil)
			err = fmt.Errorf("tracking client: %s %s: %w", r.Method, r.URL.Path, err)
		} else {
			switch res.StatusCode {
			case http.StatusServiceUnavailable, http.StatusTooManyRequests:
				retry = true
			case http.StatusBadGateway, http.StatusGatewayTimeout:
				retry = idempotent
			}
			if res.StatusCode == http.StatusOK {
				err = read(res)
			} else {
				err = responseError(r, res)
			}
			io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
			res.Body.Close()
		}
		if !retry || try == maxTries || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// responseError turns an error response into a *tracking.Error: the
// server's {"error_code", "message"}, or a code from the HTTP status when
// the body is not MLflow's.
func responseError(r *http.Request, res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var eb rest.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.ErrorCode != "" {
		return &tracking.Error{Code: tracking.ErrorCode(eb.ErrorCode), Message: eb.Message}
	}
	code := tracking.InternalError
	switch res.StatusCode {
	case http.StatusBadRequest:
		code = tracking.BadRequest
	case http.StatusUnauthorized:
		code = tracking.Unauthenticated
	case http.StatusForbidden:
		code = tracking.PermissionDenied
	case http.StatusNotFound:
		code = tracking.EndpointNotFound
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		code = tracking.TemporarilyUnavailable
	}
	text := strings.TrimSpace(string(b))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return &tracking.Error{Code: code, Message: fmt.Sprintf("%s %s: HTTP %s: %s", r.Method, r.URL.Path, res.Status, text)}
}

// Experiments.

// CreateExperiment implements tracking.Store.
func (c *REST) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []tracking.Tag) (string, error) {
	var resp rest.CreateExperimentResponse
	err := c.call(ctx, rest.CreateExperiment, &rest.CreateExperimentRequest{Name: name, ArtifactLocation: artifactLocation, Tags: rest.FromTags(tags)}, &resp)
	return string(resp.ExperimentID), err
}

// GetExperiment implements tracking.Store. The empty id names the default
// experiment, as in MLflow's stores (the server itself would call it a
// missing parameter, so it is not sent).
func (c *REST) GetExperiment(ctx context.Context, id string) (*tracking.Experiment, error) {
	if id == "" {
		id = tracking.DefaultExperimentID
	}
	var resp rest.ExperimentResponse
	if err := c.call(ctx, rest.GetExperiment, &rest.ExperimentRequest{ExperimentID: rest.ID(id)}, &resp); err != nil {
		return nil, err
	}
	e := rest.ToExperiment(&resp.Experiment)
	return &e, nil
}

// GetExperimentByName implements tracking.Store.
func (c *REST) GetExperimentByName(ctx context.Context, name string) (*tracking.Experiment, error) {
	var resp rest.ExperimentResponse
	if err := c.call(ctx, rest.GetExperimentByName, &rest.GetExperimentByNameRequest{ExperimentName: name}, &resp); err != nil {
		return nil, err
	}
	e := rest.ToExperiment(&resp.Experiment)
	return &e, nil
}

// DeleteExperiment implements tracking.Store.
func (c *REST) DeleteExperiment(ctx context.Context, id string) error {
	return c.call(ctx, rest.DeleteExperiment, &rest.ExperimentRequest{ExperimentID: rest.ID(id)}, nil)
}

// RestoreExperiment implements tracking.Store.
func (c *REST) RestoreExperiment(ctx context.Context, id string) error {
	return c.call(ctx, rest.RestoreExperiment, &rest.ExperimentRequest{ExperimentID: rest.ID(id)}, nil)
}

// RenameExperiment implements tracking.Store.
func (c *REST) RenameExperiment(ctx context.Context, id, newName string) error {
	return c.call(ctx, rest.UpdateExperiment, &rest.UpdateExperimentRequest{ExperimentID: rest.ID(id), NewName: newName}, nil)
}

// SetExperimentTag implements tracking.Store.
func (c *REST) SetExperimentTag(ctx context.Context, id string, tag tracking.Tag) error {
	return c.call(ctx, rest.SetExperimentTag, &rest.SetExperimentTagRequest{ExperimentID: rest.ID(id), Key: tag.Key, Value: tag.Value}, nil)
}

// DeleteExperimentTag implements tracking.Store.
func (c *REST) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return c.call(ctx, rest.DeleteExperimentTag, &rest.DeleteExperimentTagRequest{ExperimentID: rest.ID(id), Key: key}, nil)
}

// SearchExperiments implements tracking.Store.
func (c *REST) SearchExperiments(ctx context.Context, req tracking.SearchExperiments) ([]tracking.Experiment, string, error) {
	var resp rest.SearchExperimentsResponse
	err := c.call(ctx, rest.SearchExperiments, &rest.SearchExperimentsRequest{
		MaxResults: rest.Int64(req.MaxResults), PageToken: req.PageToken, Filter: req.Filter,
		OrderBy: req.OrderBy, ViewType: rest.ViewType(req.ViewType),
	}, &resp)
	if err != nil {
		return nil, "", err
	}
	exps := make([]tracking.Experiment, len(resp.Experiments))
	for i := range resp.Experiments {
		exps[i] = rest.ToExperiment(&resp.Experiments[i])
	}
	return exps, resp.NextPageToken, nil
}

// Runs.

// CreateRun implements tracking.Store.
func (c *REST) CreateRun(ctx context.Context, req tracking.CreateRun) (*tracking.Run, error) {
	var resp rest.RunResponse
	if err := c.call(ctx, rest.CreateRun, &rest.CreateRunRequest{
		ExperimentID: rest.ID(req.ExperimentID), UserID: req.UserID, RunName: req.RunName,
		StartTime: rest.Int64(req.StartTime), Tags: rest.FromTags(req.Tags),
	}, &resp); err != nil {
		return nil, err
	}
	r := rest.ToRun(&resp.Run)
	return &r, nil
}

// GetRun implements tracking.Store.
func (c *REST) GetRun(ctx context.Context, runID string) (*tracking.Run, error) {
	var resp rest.RunResponse
	if err := c.call(ctx, rest.GetRun, &rest.RunRequest{RunID: runID}, &resp); err != nil {
		return nil, err
	}
	r := rest.ToRun(&resp.Run)
	return &r, nil
}

// UpdateRun implements tracking.Store.
func (c *REST) UpdateRun(ctx context.Context, req tracking.UpdateRun) (*tracking.RunInfo, error) {
	var resp rest.UpdateRunResponse
	if err := c.call(ctx, rest.UpdateRun, &rest.UpdateRunRequest{
		RunID: req.RunID, Status: rest.RunStatus(req.Status), EndTime: rest.Int64(req.EndTime), RunName: req.RunName,
	}, &resp); err != nil {
		return nil, err
	}
	ri := rest.ToRunInfo(&resp.RunInfo)
	return &ri, nil
}

// DeleteRun implements tracking.Store.
func (c *REST) DeleteRun(ctx context.Context, runID string) error {
	return c.call(ctx, rest.DeleteRun, &rest.RunRequest{RunID: runID}, nil)
}

// RestoreRun implements tracking.Store.
func (c *REST) RestoreRun(ctx context.Context, runID string) error {
	return c.call(ctx, rest.RestoreRun, &rest.RunRequest{RunID: runID}, nil)
}

// LogMetric implements tracking.Store.
func (c *REST) LogMetric(ctx context.Context, runID string, m tracking.Metric) error {
	return c.call(ctx, rest.LogMetric, &rest.LogMetricRequest{
		RunID: runID, Key: m.Key, Value: rest.Float(m.Value), Timestamp: rest.Int64(m.Timestamp), Step: rest.Int64(m.Step),
	}, nil)
}

// LogParam implements tracking.Store.
func (c *REST) LogParam(ctx context.Context, runID string, p tracking.Param) error {
	return c.call(ctx, rest.LogParam, &rest.LogParamRequest{RunID: runID, Key: p.Key, Value: p.Value}, nil)
}

// SetTag implements tracking.Store.
func (c *REST) SetTag(ctx context.Context, runID string, tag tracking.Tag) error {
	return c.call(ctx, rest.SetTag, &rest.SetTagRequest{RunID: runID, Key: tag.Key, Value: tag.Value}, nil)
}

// DeleteTag implements tracking.Store.
func (c *REST) DeleteTag(ctx context.Context, runID, key string) error {
	return c.call(ctx, rest.DeleteTag, &rest.DeleteTagRequest{RunID: runID, Key: key}, nil)
}

// LogBatch implements tracking.Store.
func (c *REST) LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	return c.call(ctx, rest.LogBatch, &rest.LogBatchRequest{
		RunID: runID, Metrics: rest.FromMetrics(metrics), Params: rest.FromParams(params), Tags: rest.FromTags(tags),
	}, nil)
}

// LogInputs implements tracking.Store.
func (c *REST) LogInputs(ctx context.Context, runID string, inputs []tracking.DatasetInput) error {
	return c.call(ctx, rest.LogInputs, &rest.LogInputsRequest{RunID: runID, Datasets: rest.FromDatasetInputs(inputs)}, nil)
}

// GetMetricHistory implements tracking.Store.
func (c *REST) GetMetricHistory(ctx context.Context, req tracking.GetMetricHistory) ([]tracking.Metric, string, error) {
	var resp rest.GetMetricHistoryResponse
	if err := c.call(ctx, rest.GetMetricHistory, &rest.GetMetricHistoryRequest{
		RunID: req.RunID, MetricKey: req.MetricKey, MaxResults: rest.Int64(req.MaxResults), PageToken: req.PageToken,
	}, &resp); err != nil {
		return nil, "", err
	}
	return rest.ToMetrics(resp.Metrics), resp.NextPageToken, nil
}

// SearchRuns implements tracking.Store.
func (c *REST) SearchRuns(ctx context.Context, req tracking.SearchRuns) ([]tracking.Run, string, error) {
	ids := make([]rest.ID, len(req.ExperimentIDs))
	for i, id := range req.ExperimentIDs {
		ids[i] = rest.ID(id)
	}
	var resp rest.SearchRunsResponse
	if err := c.call(ctx, rest.SearchRuns, &rest.SearchRunsRequest{
		ExperimentIDs: ids, Filter: req.Filter, RunViewType: rest.ViewType(req.ViewType),
		MaxResults: rest.Int64(req.MaxResults), OrderBy: req.OrderBy, PageToken: req.PageToken,
	}, &resp); err != nil {
		return nil, "", err
	}
	runs := make([]tracking.Run, len(resp.Runs))
	for i := range resp.Runs {
		runs[i] = rest.ToRun(&resp.Runs[i])
	}
	return runs, resp.NextPageToken, nil
}

// Model registry.

func (c *REST) model(ctx context.Context, ep rest.Endpoint, req any) (*tracking.RegisteredModel, error) {
	var resp rest.RegisteredModelResponse
	if err := c.call(ctx, ep, req, &resp); err != nil {
		return nil, err
	}
	m := rest.ToRegisteredModel(&resp.RegisteredModel)
	return &m, nil
}

func (c *REST) version(ctx context.Context, ep rest.Endpoint, req any) (*tracking.ModelVersion, error) {
	var resp rest.ModelVersionResponse
	if err := c.call(ctx, ep, req, &resp); err != nil {
		return nil, err
	}
	v := rest.ToModelVersion(&resp.ModelVersion)
	return &v, nil
}

// CreateRegisteredModel implements tracking.Store.
func (c *REST) CreateRegisteredModel(ctx context.Context, name string, tags []tracking.Tag, description string) (*tracking.RegisteredModel, error) {
	return c.model(ctx, rest.CreateRegisteredModel, &rest.CreateRegisteredModelRequest{Name: name, Tags: rest.FromTags(tags), Description: description})
}

// GetRegisteredModel implements tracking.Store.
func (c *REST) GetRegisteredModel(ctx context.Context, name string) (*tracking.RegisteredModel, error) {
	return c.model(ctx, rest.GetRegisteredModel, &rest.RegisteredModelRequest{Name: name})
}

// UpdateRegisteredModel implements tracking.Store.
func (c *REST) UpdateRegisteredModel(ctx context.Context, name, description string) (*tracking.RegisteredModel, error) {
	return c.model(ctx, rest.UpdateRegisteredModel, &rest.UpdateRegisteredModelRequest{Name: name, Description: description})
}

// RenameRegisteredModel implements tracking.Store.
func (c *REST) RenameRegisteredModel(ctx context.Context, name, newName string) (*tracking.RegisteredModel, error) {
	return c.model(ctx, rest.RenameRegisteredModel, &rest.RenameRegisteredModelRequest{Name: name, NewName: newName})
}

// DeleteRegisteredModel implements tracking.Store.
func (c *REST) DeleteRegisteredModel(ctx context.Context, name string) error {
	return c.call(ctx, rest.DeleteRegisteredModel, &rest.RegisteredModelRequest{Name: name}, nil)
}

// SearchRegisteredModels implements tracking.Store.
func (c *REST) SearchRegisteredModels(ctx context.Context, req tracking.SearchRegisteredModels) ([]tracking.RegisteredModel, string, error) {
	var resp rest.SearchRegisteredModelsResponse
	if err := c.call(ctx, rest.SearchRegisteredModels, &rest.SearchRegisteredModelsRequest{
		Filter: req.Filter, MaxResults: rest.Int64(req.MaxResults), OrderBy: req.OrderBy, PageToken: req.PageToken,
	}, &resp); err != nil {
		return nil, "", err
	}
	ms := make([]tracking.RegisteredModel, len(resp.RegisteredModels))
	for i := range resp.RegisteredModels {
		ms[i] = rest.ToRegisteredModel(&resp.RegisteredModels[i])
	}
	return ms, resp.NextPageToken, nil
}

// GetLatestVersions implements tracking.Store.
func (c *REST) GetLatestVersions(ctx context.Context, name string, stages []string) ([]tracking.ModelVersion, error) {
	var resp rest.ModelVersionsResponse
	if err := c.call(ctx, rest.GetLatestVersions, &rest.GetLatestVersionsRequest{Name: name, Stages: stages}, &resp); err != nil {
		return nil, err
	}
	return rest.ToModelVersions(resp.ModelVersions), nil
}

// SetRegisteredModelTag implements tracking.Store.
func (c *REST) SetRegisteredModelTag(ctx context.Context, name string, tag tracking.Tag) error {
	return c.call(ctx, rest.SetRegisteredModelTag, &rest.SetRegisteredModelTagRequest{Name: name, Key: tag.Key, Value: tag.Value}, nil)
}

// DeleteRegisteredModelTag implements tracking.Store.
func (c *REST) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return c.call(ctx, rest.DeleteRegisteredModelTag, &rest.DeleteRegisteredModelTagRequest{Name: name, Key: key}, nil)
}

// CreateModelVersion implements tracking.Store. A server with
// authentication records its authenticated user, not req.UserID.
func (c *REST) CreateModelVersion(ctx context.Context, req tracking.CreateModelVersion) (*tracking.ModelVersion, error) {
	return c.version(ctx, rest.CreateModelVersion, &rest.CreateModelVersionRequest{
		Name: req.Name, Source: req.Source, RunID: req.RunID, Tags: rest.FromTags(req.Tags),
		RunLink: req.RunLink, Description: req.Description, UserID: req.UserID,
	})
}

// GetModelVersion implements tracking.Store.
func (c *REST) GetModelVersion(ctx context.Context, name, version string) (*tracking.ModelVersion, error) {
	return c.version(ctx, rest.GetModelVersion, &rest.ModelVersionRequest{Name: name, Version: rest.ID(version)})
}

// UpdateModelVersion implements tracking.Store.
func (c *REST) UpdateModelVersion(ctx context.Context, name, version, description string) (*tracking.ModelVersion, error) {
	return c.version(ctx, rest.UpdateModelVersion, &rest.UpdateModelVersionRequest{Name: name, Version: rest.ID(version), Description: description})
}

// TransitionModelVersionStage implements tracking.Store. A server with
// authentication records its authenticated user, not req.UserID.
func (c *REST) TransitionModelVersionStage(ctx context.Context, req tracking.TransitionStage) (*tracking.ModelVersion, error) {
	return c.version(ctx, rest.TransitionModelVersion, &rest.TransitionStageRequest{
		Name: req.Name, Version: rest.ID(req.Version), Stage: req.Stage,
		ArchiveExistingVersions: req.ArchiveExistingVersions, Comment: req.Comment, UserID: req.UserID,
	})
}

// DeleteModelVersion implements tracking.Store.
func (c *REST) DeleteModelVersion(ctx context.Context, name, version string) error {
	return c.call(ctx, rest.DeleteModelVersion, &rest.ModelVersionRequest{Name: name, Version: rest.ID(version)}, nil)
}

// GetModelVersionDownloadURI implements tracking.Store.
func (c *REST) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	var resp rest.DownloadURIResponse
	err := c.call(ctx, rest.GetModelVersionDownloadURI, &rest.ModelVersionRequest{Name: name, Version: rest.ID(version)}, &resp)
	return resp.ArtifactURI, err
}

// SearchModelVersions implements tracking.Store.
func (c *REST) SearchModelVersions(ctx context.Context, req tracking.SearchModelVersions) ([]tracking.ModelVersion, string, error) {
	var resp rest.SearchModelVersionsResponse
	if err := c.call(ctx, rest.SearchModelVersions, &rest.SearchModelVersionsRequest{
		Filter: req.Filter, MaxResults: rest.Int64(req.MaxResults), OrderBy: req.OrderBy, PageToken: req.PageToken,
	}, &resp); err != nil {
		return nil, "", err
	}
	return rest.ToModelVersions(resp.ModelVersions), resp.NextPageToken, nil
}

// SetModelVersionTag implements tracking.Store.
func (c *REST) SetModelVersionTag(ctx context.Context, name, version string, tag tracking.Tag) error {
	return c.call(ctx, rest.SetModelVersionTag, &rest.SetModelVersionTagRequest{Name: name, Version: rest.ID(version), Key: tag.Key, Value: tag.Value}, nil)
}

// DeleteModelVersionTag implements tracking.Store.
func (c *REST) DeleteModelVersionTag(ctx context.Context, name, version, key string) error {
	return c.call(ctx, rest.DeleteModelVersionTag, &rest.DeleteModelVersionTagRequest{Name: name, Version: rest.ID(version), Key: key}, nil)
}

// SetRegisteredModelAlias implements tracking.Store.
func (c *REST) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	return c.call(ctx, rest.SetRegisteredModelAlias, &rest.SetAliasRequest{Name: name, Alias: alias, Version: rest.ID(version)}, nil)
}

// DeleteRegisteredModelAlias implements tracking.Store.
func (c *REST) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	return c.call(ctx, rest.DeleteRegisteredModelAlias, &rest.AliasRequest{Name: name, Alias: alias}, nil)
}

// GetModelVersionByAlias implements tracking.Store.
func (c *REST) GetModelVersionByAlias(ctx context.Context, name, alias string) (*tracking.ModelVersion, error) {
	return c.version(ctx, rest.GetModelVersionByAlias, &rest.AliasRequest{Name: name, Alias: alias})
}

// GetStageTransitions implements tracking.Store, through a yolops
// extension of the API (MLflow's server answers ENDPOINT_NOT_FOUND).
func (c *REST) GetStageTransitions(ctx context.Context, name, version string) ([]tracking.StageTransition, error) {
	var resp rest.StageTransitionsResponse
	if err := c.call(ctx, rest.GetStageTransitions, &rest.ModelVersionRequest{Name: name, Version: rest.ID(version)}, &resp); err != nil {
		return nil, err
	}
	ts := make([]tracking.StageTransition, len(resp.Transitions))
	for i, t := range resp.Transitions {
		ts[i] = tracking.StageTransition{
			Name: t.Name, Version: t.Version, FromStage: t.FromStage, ToStage: t.ToStage,
			UserID: t.UserID, Timestamp: int64(t.Timestamp), Comment: t.Comment,
		}
	}
	return ts, nil
}
