// Package client is how yolops records and reads runs: one Client whatever
// the tracking URI names, a tracking server (through MLflow's REST API, see
// REST) or the embedded store (tracking/sqlstore and a local artifacts
// folder, no server needed).
//
// Tracking URIs, as MLflow and Ultralytics read MLFLOW_TRACKING_URI:
//
//	http://host:port, https://...  a tracking server (yolops server, or MLflow's)
//	a plain path, or file:///path  a folder holding mlruns.db and mlartifacts/
//	sqlite:///path.db              that database, with mlartifacts/ beside it
//	postgresql://...               that database
//	""                             $MLFLOW_TRACKING_URI, else the working directory
//
// An embedded store gives runs the artifact URIs a server that proxies
// artifacts gives (mlflow-artifacts:/<experiment>/<run>/artifacts) and
// keeps those artifacts in its artifacts folder ($MLFLOW_ARTIFACTS_DESTINATION
// for sqlite:// and postgresql:// URIs when set), so that
//
//	yolops server --backend-store-uri sqlite:///mlruns.db --artifacts-destination ./mlartifacts
//
// started in that folder later serves the same runs and their artifacts.
// Runs whose artifact URI is anything else (an experiment created with
// s3://bucket/prefix as its artifact location) have their artifacts
// written there directly, as MLflow's client does.
package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
	"github.com/yolops/yolops/tracking/sqlstore"
)

// The names of the embedded store's database and artifacts folder.
const (
	DefaultDB        = "mlruns.db"
	DefaultArtifacts = "mlartifacts"
)

// Client records and reads runs. Its tracking.Store methods reach the
// store itself (every MLflow RPC, the registry's included); the methods
// below add what a training loop wants on top: batching, defaults, and
// artifacts. It is safe for concurrent use.
type Client struct {
	tracking.Store
	uri string
	// proxied is the store mlflow-artifacts:/ URIs resolve to: the
	// server's artifact API, or the embedded store's folder.
	proxied artifacts.Store
}

// Open opens the store a tracking URI names (see the package
// documentation). The caller closes the Client.
func Open(ctx context.Context, trackingURI string) (*Client, error) {
	return openEnv(ctx, trackingURI, os.Getenv)
}

func openEnv(ctx context.Context, uri string, getenv func(string) string) (*Client, error) {
	if uri == "" {
		uri = getenv("MLFLOW_TRACKING_URI")
	}
	if uri == "" {
		uri = "."
	}
	switch {
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "https://"):
		var opts []RESTOption
		switch {
		case getenv("MLFLOW_TRACKING_TOKEN") != "":
			opts = append(opts, WithToken(getenv("MLFLOW_TRACKING_TOKEN")))
		case getenv("MLFLOW_TRACKING_USERNAME") != "" || getenv("MLFLOW_TRACKING_PASSWORD") != "":
			opts = append(opts, WithBasicAuth(getenv("MLFLOW_TRACKING_USERNAME"), getenv("MLFLOW_TRACKING_PASSWORD")))
		}
		if v := strings.ToLower(getenv("MLFLOW_TRACKING_INSECURE_TLS")); v == "true" || v == "1" {
			opts = append(opts, WithInsecureTLS())
		}
		r := NewREST(uri, opts...)
		return &Client{Store: r, uri: uri, proxied: r.Artifacts()}, nil
	case strings.HasPrefix(uri, "sqlite:"), strings.HasPrefix(uri, "postgres"):
		dest := getenv("MLFLOW_ARTIFACTS_DESTINATION")
		if dest == "" {
			dest = DefaultArtifacts
			if db, ok := strings.CutPrefix(uri, "sqlite:///"); ok && db != ":memory:" && db != "" {
				dest = filepath.Join(filepath.Dir(db), DefaultArtifacts)
			}
		}
		return openEmbedded(ctx, uri, uri, dest)
	case strings.Contains(uri, "://") && !strings.HasPrefix(uri, "file://"):
		return nil, fmt.Errorf("tracking URI %q: unsupported scheme (want http(s)://, sqlite:///, postgresql://, file:/// or a folder)", uri)
	}
	dir := uri
	if strings.HasPrefix(uri, "file:") {
		dir = strings.TrimPrefix(strings.TrimPrefix(uri, "file:"), "//")
		if dir == "" || !strings.HasPrefix(dir, "/") {
			return nil, fmt.Errorf("tracking URI %q: a file URI needs an absolute path (file:///path)", uri)
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, DefaultDB))
	if err != nil {
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	return openEmbedded(ctx, uri, "sqlite:///"+abs, filepath.Join(dir, DefaultArtifacts))
}

func openEmbedded(ctx context.Context, uri, dbURI, artifactsURI string) (*Client, error) {
	arts, err := artifacts.Open(ctx, artifactsURI)
	if err != nil {
		return nil, fmt.Errorf("tracking URI %q: artifacts: %w", uri, err)
	}
	st, err := sqlstore.Open(ctx, dbURI, sqlstore.WithDefaultArtifactRoot(rest.ProxiedScheme+":/"))
	if err != nil {
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	return &Client{Store: st, uri: uri, proxied: arts}, nil
}

// New returns a Client over a store, resolving mlflow-artifacts:/ URIs to
// proxied (nil: such artifacts cannot be written).
func New(st tracking.Store, proxied artifacts.Store) *Client {
	return &Client{Store: st, proxied: proxied}
}

// URI returns the tracking URI the Client was opened with.
func (c *Client) URI() string { return c.uri }

// GetOrCreateExperiment returns the id of the experiment with the name,
// creating it if there is none, as MLflow's set_experiment does. A deleted
// experiment of that name is an error (restore it or pick another name).
func (c *Client) GetOrCreateExperiment(ctx context.Context, name string) (string, error) {
	for range 2 {
		e, err := c.GetExperimentByName(ctx, name)
		if err == nil {
			if e.LifecycleStage == tracking.Deleted {
				return "", tracking.Errorf(tracking.InvalidParameterValue,
					"Cannot use the deleted experiment '%s' (id %s): restore it or choose another name.", name, e.ExperimentID)
			}
			return e.ExperimentID, nil
		}
		if !tracking.IsNotFound(err) {
			return "", err
		}
		id, err := c.CreateExperiment(ctx, name, "", nil)
		if tracking.CodeOf(err) == tracking.ResourceAlreadyExists {
			continue // created by someone else meanwhile
		}
		return id, err
	}
	return "", fmt.Errorf("experiment %q: created and gone again", name)
}

// StartRun creates a run (status RUNNING) in an experiment.
func (c *Client) StartRun(ctx context.Context, experimentID, name string, tags []tracking.Tag) (*tracking.Run, error) {
	return c.CreateRun(ctx, tracking.CreateRun{ExperimentID: experimentID, RunName: name, Tags: tags})
}

// LogParams logs params in batches of at most MaxParamsTagsPerBatch.
func (c *Client) LogParams(ctx context.Context, runID string, params []tracking.Param) error {
	for start := 0; start < len(params); start += tracking.MaxParamsTagsPerBatch {
		end := min(start+tracking.MaxParamsTagsPerBatch, len(params))
		if err := c.LogBatch(ctx, runID, nil, params[start:end], nil); err != nil {
			return err
		}
	}
	return nil
}

// LogMetrics logs metric values in batches of at most MaxMetricsPerBatch.
// A zero Timestamp is taken as now.
func (c *Client) LogMetrics(ctx context.Context, runID string, metrics []tracking.Metric) error {
	ts := time.Now().UnixMilli()
	for start := 0; start < len(metrics); start += tracking.MaxMetricsPerBatch {
		batch := append([]tracking.Metric(nil), metrics[start:min(start+tracking.MaxMetricsPerBatch, len(metrics))]...)
		for i := range batch {
			if batch[i].Timestamp == 0 {
				batch[i].Timestamp = ts
			}
		}
		if err := c.LogBatch(ctx, runID, batch, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// SetTags sets run tags in batches of at most MaxParamsTagsPerBatch.
func (c *Client) SetTags(ctx context.Context, runID string, tags []tracking.Tag) error {
	for start := 0; start < len(tags); start += tracking.MaxParamsTagsPerBatch {
		end := min(start+tracking.MaxParamsTagsPerBatch, len(tags))
		if err := c.LogBatch(ctx, runID, nil, nil, tags[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// SetTerminated ends a run with a status (FINISHED, FAILED or KILLED) and
// the current time.
func (c *Client) SetTerminated(ctx context.Context, runID string, status tracking.RunStatus) error {
	_, err := c.UpdateRun(ctx, tracking.UpdateRun{RunID: runID, Status: status, EndTime: time.Now().UnixMilli()})
	return err
}

// ArtifactStore resolves an artifact URI (a run's artifact_uri) to a store
// and the key prefix below which the URI's artifacts are.
func (c *Client) ArtifactStore(ctx context.Context, artifactURI string) (artifacts.Store, string, error) {
	if root, ok := rest.ProxiedPath(artifactURI); ok {
		if c.proxied == nil {
			return nil, "", fmt.Errorf("artifact URI %q: this client has no proxied artifact store", artifactURI)
		}
		return c.proxied, root, nil
	}
	if strings.HasPrefix(artifactURI, rest.ProxiedScheme+":") {
		return nil, "", fmt.Errorf("artifact URI %q: not a valid %s URI", artifactURI, rest.ProxiedScheme)
	}
	st, err := artifacts.Open(ctx, artifactURI)
	if err != nil {
		return nil, "", err
	}
	return st, "", nil
}

// runArtifacts resolves a run's artifact root.
func (c *Client) runArtifacts(ctx context.Context, runID string) (artifacts.Store, string, error) {
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return nil, "", err
	}
	return c.ArtifactStore(ctx, run.Info.ArtifactURI)
}

func joinKey(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// LogArtifact uploads a file, or a folder with everything in it, under
// artifactPath ("" for the run's artifact root) keeping its base name:
// LogArtifact(ctx, id, "runs/exp/weights", "") stores weights/best.pt.
func (c *Client) LogArtifact(ctx context.Context, runID, localPath, artifactPath string) error {
	st, root, err := c.runArtifacts(ctx, runID)
	if err != nil {
		return err
	}
	fi, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	dest := joinKey(root, artifactPath, filepath.Base(localPath))
	if !fi.IsDir() {
		return artifacts.PutFile(ctx, st, dest, localPath)
	}
	return putTree(ctx, st, dest, localPath)
}

// LogArtifacts uploads the contents of a folder under artifactPath.
func (c *Client) LogArtifacts(ctx context.Context, runID, localDir, artifactPath string) error {
	st, root, err := c.runArtifacts(ctx, runID)
	if err != nil {
		return err
	}
	return putTree(ctx, st, joinKey(root, artifactPath), localDir)
}

// putTree uploads every regular file below dir under prefix.
func putTree(ctx context.Context, st artifacts.Store, prefix, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("log artifacts: %w", err)
		}
		if !d.Type().IsRegular() {
			return nil // folders are implied by keys; links and devices are skipped
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return artifacts.PutFile(ctx, st, joinKey(prefix, filepath.ToSlash(rel)), p)
	})
}

// ListArtifacts lists a run's artifacts directly below artifactPath, with
// keys relative to the run's artifact root.
func (c *Client) ListArtifacts(ctx context.Context, runID, artifactPath string) ([]artifacts.Info, error) {
	st, root, err := c.runArtifacts(ctx, runID)
	if err != nil {
		return nil, err
	}
	list, err := st.List(ctx, joinKey(root, artifactPath), false)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Key = joinKey(artifactPath, path.Base(list[i].Key))
	}
	return list, nil
}

// DownloadArtifact writes a run's artifact file to the local file dst
// (atomically: dst holds the old contents or the new, never a part).
func (c *Client) DownloadArtifact(ctx context.Context, runID, artifactPath, dst string) error {
	st, root, err := c.runArtifacts(ctx, runID)
	if err != nil {
		return err
	}
	if err := artifacts.GetFile(ctx, st, joinKey(root, artifactPath), dst); err != nil {
		if errors.Is(err, artifacts.ErrNotExist) {
			return tracking.Errorf(tracking.ResourceDoesNotExist, "Run %s has no artifact %q", runID, artifactPath)
		}
		return err
	}
	return nil
}

// EpochMetrics turns one epoch's results, keyed as Ultralytics' results.csv
// is ("metrics/mAP50(B)", "train/box_loss"), into metric values with
// step = epoch, keyed as Ultralytics' MLflow callback logs them: its
// SANITIZE drops "(" and ")" ("metrics/mAP50B"). A zero timestamp is
// filled in by LogMetrics. The values come sorted by key.
func EpochMetrics(results map[string]float64, epoch int) []tracking.Metric {
	ms := make([]tracking.Metric, 0, len(results))
	for k, v := range results {
		k = strings.NewReplacer("(", "", ")", "").Replace(k)
		ms = append(ms, tracking.Metric{Key: k, Value: v, Step: int64(epoch)})
	}
	slices.SortFunc(ms, func(a, b tracking.Metric) int { return strings.Compare(a.Key, b.Key) })
	return ms
}
