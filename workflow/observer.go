package workflow

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
)

// Tracker records a training in a tracking run as Ultralytics' MLflow
// callback does (ultralytics/utils/callbacks/mlflow.py): every argument
// as a param, each epoch's losses, learning rates and validation metrics
// with step = epoch under the callback's sanitised names
// (metrics/mAP50B), and the run folder's files as artifacts (weights/,
// results.csv, results.png, the curves, confusion matrices, batch images
// and args.yaml). It implements train.Observer. The run is neither
// created nor ended here: its owner (the pipeline) does that.
//
// As in Ultralytics, a tracking failure does not stop the training; Err
// reports the first one afterwards.
type Tracker struct {
	ctx   context.Context
	c     *client.Client
	runID string

	mu     sync.Mutex
	lastTS int64
	errs   []error
}

// NewTracker returns a Tracker logging to the run runID through c; ctx
// bounds its calls to the store.
func NewTracker(ctx context.Context, c *client.Client, runID string) *Tracker {
	return &Tracker{ctx: ctx, c: c, runID: runID}
}

func (t *Tracker) fail(what string, err error) {
	if err != nil {
		t.mu.Lock()
		t.errs = append(t.errs, fmt.Errorf("tracking run %s: %s: %w", t.runID, what, err))
		t.mu.Unlock()
	}
}

// Err returns the tracking failures, or nil.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Join(t.errs...)
}

// OnTrainStart logs every argument as a param.
func (t *Tracker) OnTrainStart(params map[string]string) {
	ps := make([]tracking.Param, 0, len(params))
	for k, v := range params {
		ps = append(ps, tracking.Param{Key: k, Value: v})
	}
	slices.SortFunc(ps, func(a, b tracking.Param) int { return strings.Compare(a.Key, b.Key) })
	t.fail("log params", t.c.LogParams(t.ctx, t.runID, ps))
}

// OnEpochEnd logs an epoch's metrics with step = epoch. Timestamps
// increase strictly from call to call, so that the final validation,
// logged under the last epoch's step after that epoch's values, is the
// latest value MLflow shows even when both land in one millisecond.
func (t *Tracker) OnEpochEnd(epoch int, metrics map[string]float64) {
	ms := client.EpochMetrics(metrics, epoch)
	t.mu.Lock()
	ts := max(time.Now().UnixMilli(), t.lastTS+1)
	t.lastTS = ts
	t.mu.Unlock()
	for i := range ms {
		ms[i].Timestamp = ts
	}
	t.fail(fmt.Sprintf("log epoch %d metrics", epoch), t.c.LogMetrics(t.ctx, t.runID, ms))
}

// OnArtifact uploads a file of the run folder under its relative path.
func (t *Tracker) OnArtifact(localPath, name string) {
	dir := path.Dir(name)
	if dir == "." {
		dir = ""
	}
	t.fail("log artifact "+name, t.c.LogArtifact(t.ctx, t.runID, localPath, dir))
}

// OnTrainEnd does nothing: the pipeline ends the run with the step.
func (t *Tracker) OnTrainEnd(error) {}
