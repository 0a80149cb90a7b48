package workflow

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/train"
)

var _ train.Observer = (*Tracker)(nil)

func TestTracker(t *testing.T) {
	ctx := context.Background()
	c, err := client.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, err := c.GetOrCreateExperiment(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.StartRun(ctx, exp, "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	tr := NewTracker(ctx, c, id)

	params := train.DefaultArgs().Params()
	tr.OnTrainStart(params)
	// The last epoch's metrics, then the final validation under the same
	// step at once: the final value must be the latest.
	tr.OnEpochEnd(0, map[string]float64{"metrics/mAP50B": 0.1, "train/box_loss": 3})
	tr.OnEpochEnd(1, map[string]float64{"metrics/mAP50B": 0.2, "train/box_loss": 2})
	tr.OnEpochEnd(1, map[string]float64{"metrics/mAP50(B)": 0.25})
	dir := t.TempDir()
	for _, f := range []string{"results.csv", "weights/best.safetensors"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		tr.OnArtifact(p, f)
	}
	tr.OnTrainEnd(nil)
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}

	got, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data.Params) != len(params) {
		t.Errorf("%d params logged, want %d", len(got.Data.Params), len(params))
	}
	for _, p := range got.Data.Params {
		if params[p.Key] != p.Value {
			t.Errorf("param %s = %q, want %q", p.Key, p.Value, params[p.Key])
		}
	}
	latest := map[string]float64{}
	for _, m := range got.Data.Metrics {
		latest[m.Key] = m.Value
	}
	if latest["metrics/mAP50B"] != 0.25 || latest["train/box_loss"] != 2 {
		t.Errorf("latest metrics %v, want mAP50B 0.25 (the final validation) and box_loss 2", latest)
	}
	hist, _, err := c.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: id, MetricKey: "metrics/mAP50B"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Step != 0 || hist[1].Step != 1 || hist[2].Step != 1 || !(hist[1].Timestamp < hist[2].Timestamp) {
		t.Errorf("history %+v: want steps 0, 1, 1 with the final validation last", hist)
	}
	for _, f := range []string{"results.csv", "weights/best.safetensors"} {
		dst := filepath.Join(t.TempDir(), "x")
		if err := c.DownloadArtifact(ctx, id, f, dst); err != nil {
			t.Errorf("artifact %s: %v", f, err)
		}
	}

	// A failure is kept for Err, not raised.
	if err := c.SetTerminated(ctx, id, tracking.RunFinished); err != nil {
		t.Fatal(err)
	}
	bad := NewTracker(ctx, c, "0123456789abcdef0123456789abcdef")
	bad.OnEpochEnd(0, map[string]float64{"x": 1})
	if bad.Err() == nil {
		t.Error("logging to a missing run reported no error")
	}
}
