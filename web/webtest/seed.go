// Package webtest fills a tracking store and an artifact store with what a
// user of the UI looks at: a grid of YOLOv8n training runs as Ultralytics'
// MLflow callback logs them (params, per-epoch metrics, results.png,
// results.csv, args.yaml, weights), a registered model with versions in
// Staging and Production and their transition history, and two runs of a
// pipeline whose second run reuses cached steps. The UI's tests and its
// browser test (.ci/ui_test.sh) serve it; SeedScale adds thousands of runs
// for the page-load measurements.
package webtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/metrics"
	"github.com/yolops/yolops/plots"
	"github.com/yolops/yolops/tracking"
)

// ProxyPrefix is the artifact root of a store opened with its default
// (sqlstore's mlflow-artifacts:/): run artifacts live in the artifact store
// under the rest of their URI.
const ProxyPrefix = "mlflow-artifacts:/"

// Grid says what Seed created.
type Grid struct {
	Experiment string   // the grid's experiment id
	Runs       []string // the 8 grid runs, in Names' order
	Names      []string // yolov8n_e3_sz320_lr0.005_s42 ...
	Best       string   // the run with the best mAP50, which has a promotion report
	Model      string   // the registered model
	// Versions are the model's versions: 1 Archived, 2 Staging, 3 Production.
	Versions []string
	// PipelineExperiment holds two runs of pipeline "person": the first
	// executes every step, the second reuses prepare and split from it.
	PipelineExperiment string
	PipelineRuns       []string
	// Steps maps a step name to its step run in the second pipeline run.
	Steps map[string]string
}

// MetricKeys are the metrics Ultralytics' MLflow callback logs per epoch
// (parentheses removed, as its sanitize_dict does).
var MetricKeys = []string{
	"train/box_loss", "train/cls_loss", "train/dfl_loss",
	"metrics/precisionB", "metrics/recallB", "metrics/mAP50B", "metrics/mAP50-95B",
	"val/box_loss", "val/cls_loss", "val/dfl_loss",
	"lr/pg0", "lr/pg1", "lr/pg2",
}

// Epochs is how many epochs each grid run logs.
const Epochs = 3

// Seed creates the grid, the registry and the pipeline runs. Run start
// times count from base, so that pages read the same in every run of a
// test.
func Seed(ctx context.Context, st tracking.Store, art artifacts.Store, base time.Time) (*Grid, error) {
	g := &Grid{Model: "yolov8n-person", Steps: map[string]string{}}
	var err error
	if g.Experiment, err = st.CreateExperiment(ctx, "yolov8n-person-grid", "", []tracking.Tag{
		{Key: "mlflow.note.content", Value: "YOLOv8n fine-tuned on person-COCO128: imgsz x lr0 x seed, 3 epochs each."},
	}); err != nil {
		return nil, fmt.Errorf("webtest: create the grid experiment: %w", err)
	}
	tmp, err := os.MkdirTemp("", "webtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	bestMAP := -1.0
	i := 0
	for _, imgsz := range []int{320, 416} {
		for _, lr := range []string{"0.005", "0.01"} {
			for _, seed := range []int{42, 1} {
				name := fmt.Sprintf("yolov8n_e3_sz%d_lr%s_s%d", imgsz, lr, seed)
				start := base.Add(time.Duration(i) * 3 * time.Minute)
				id, m50, err := seedTrainingRun(ctx, st, art, tmp, g.Experiment, name, imgsz, lr, seed, start)
				if err != nil {
					return nil, err
				}
				g.Runs, g.Names = append(g.Runs, id), append(g.Names, name)
				if m50 > bestMAP {
					bestMAP, g.Best = m50, id
				}
				i++
			}
		}
	}
	if err := seedReport(ctx, st, art, g); err != nil {
		return nil, err
	}
	if err := seedRegistry(ctx, st, g); err != nil {
		return nil, err
	}
	if err := seedPipelines(ctx, st, art, g, base.Add(40*time.Minute)); err != nil {
		return nil, err
	}
	return g, nil
}

// curve returns a run's metrics at an epoch: plausible, smooth, and
// different for each image size and seed (optimizer=auto makes lr0 a no-op
// in Ultralytics, which the grid reproduces but for a trace).
func curve(imgsz int, lr string, seed, epoch int) map[string]float64 {
	e := float64(epoch + 1)
	size := 1.0
	if imgsz == 416 {
		size = 1.18
	}
	noise := 0.03 * math.Sin(float64(seed)*1.7+e)
	if lr == "0.01" {
		noise += 0.004
	}
	m50 := (0.06 + 0.11*e) * size * (1 + noise)
	lrv := 0.002 * (1 - float64(epoch)/Epochs*0.99) * e / Epochs
	return map[string]float64{
		"train/box_loss":     2.9 - 0.35*e*size + noise,
		"train/cls_loss":     4.2 - 0.8*e - noise,
		"train/dfl_loss":     2.1 - 0.12*e + noise/2,
		"metrics/precisionB": 0.12 + 0.14*e*size + noise,
		"metrics/recallB":    0.08 + 0.16*e*size - noise/2,
		"metrics/mAP50B":     m50,
		"metrics/mAP50-95B":  m50 * 0.42,
		"val/box_loss":       3.1 - 0.3*e*size - noise,
		"val/cls_loss":       4.5 - 0.7*e + noise,
		"val/dfl_loss":       2.3 - 0.1*e,
		"lr/pg0":             lrv,
		"lr/pg1":             lrv,
		"lr/pg2":             lrv,
	}
}

// ultralyticsArgs are a grid run's params: the train arguments, as
// Ultralytics' callback logs them (Python's str of each value).
func ultralyticsArgs(name string, imgsz int, lr string, seed int) []tracking.Param {
	args := [][2]string{
		{"task", "detect"}, {"mode", "train"}, {"model", "yolov8n.yaml"}, {"data", "person-coco128.yaml"},
		{"epochs", strconv.Itoa(Epochs)}, {"batch", "16"}, {"imgsz", strconv.Itoa(imgsz)}, {"device", "cpu"},
		{"workers", "0"}, {"optimizer", "auto"}, {"seed", strconv.Itoa(seed)}, {"deterministic", "True"},
		{"lr0", lr}, {"lrf", "0.01"}, {"momentum", "0.937"}, {"weight_decay", "0.0005"},
		{"warmup_epochs", "3.0"}, {"warmup_momentum", "0.8"}, {"warmup_bias_lr", "0.0"},
		{"box", "7.5"}, {"cls", "0.5"}, {"dfl", "1.5"}, {"nbs", "64"},
		{"hsv_h", "0.015"}, {"hsv_s", "0.7"}, {"hsv_v", "0.4"}, {"degrees", "0.0"}, {"translate", "0.1"},
		{"scale", "0.5"}, {"shear", "0.0"}, {"perspective", "0.0"}, {"flipud", "0.0"}, {"fliplr", "0.5"},
		{"mosaic", "1.0"}, {"mixup", "0.0"}, {"copy_paste", "0.0"}, {"close_mosaic", "10"},
		{"iou", "0.7"}, {"max_det", "300"}, {"amp", "False"}, {"plots", "True"}, {"patience", "100"},
		{"cos_lr", "False"}, {"cache", "False"}, {"single_cls", "False"}, {"rect", "False"},
		{"name", name}, {"project", "runs/detect"}, {"save_dir", "runs/detect/" + name}, {"pretrained", "True"},
	}
	ps := make([]tracking.Param, len(args))
	for i, a := range args {
		ps[i] = tracking.Param{Key: a[0], Value: a[1]}
	}
	return ps
}

func seedTrainingRun(ctx context.Context, st tracking.Store, art artifacts.Store, tmp, exp, name string,
	imgsz int, lr string, seed int, start time.Time) (string, float64, error) {
	run, err := st.CreateRun(ctx, tracking.CreateRun{
		ExperimentID: exp, RunName: name, UserID: "ci", StartTime: start.UnixMilli(),
		Tags: []tracking.Tag{{Key: tracking.TagUser, Value: "ci"}, {Key: "mlflow.source.name", Value: "yolops train"}, {Key: "grid", Value: "person-v1"}},
	})
	if err != nil {
		return "", 0, fmt.Errorf("webtest: create run %s: %w", name, err)
	}
	id := run.Info.RunID
	params := ultralyticsArgs(name, imgsz, lr, seed)
	if err := st.LogBatch(ctx, id, nil, params, nil); err != nil {
		return "", 0, fmt.Errorf("webtest: log params of %s: %w", name, err)
	}
	epochTime := 20 * time.Second
	if imgsz == 416 {
		epochTime = 29 * time.Second
	}
	res := plots.Results{Columns: plots.ResultsColumns()}
	var m50 float64
	for e := range Epochs {
		vals := curve(imgsz, lr, seed, e)
		ts := start.Add(time.Duration(e+1) * epochTime).UnixMilli()
		var ms []tracking.Metric
		for _, k := range MetricKeys {
			ms = append(ms, tracking.Metric{Key: k, Value: vals[k], Timestamp: ts, Step: int64(e)})
		}
		if err := st.LogBatch(ctx, id, ms, nil, nil); err != nil {
			return "", 0, fmt.Errorf("webtest: log metrics of %s: %w", name, err)
		}
		row := []float64{float64(e + 1)}
		for _, c := range plots.ResultsColumns()[1:] {
			row = append(row, vals[strings.NewReplacer("(", "", ")", "").Replace(c)])
		}
		res.Rows = append(res.Rows, row)
		m50 = vals["metrics/mAP50B"]
	}

	prefix, err := artifactKey(run.Info.ArtifactURI)
	if err != nil {
		return "", 0, err
	}
	dir := filepath.Join(tmp, name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", 0, err
	}
	if err := plots.PlotResults(ctx, filepath.Join(dir, "results.png"), res); err != nil {
		return "", 0, err
	}
	if err := plots.WriteResultsCSV(filepath.Join(dir, "results.csv"), res); err != nil {
		return "", 0, err
	}
	x, pr := prCurve(m50)
	if err := plots.PlotPRCurve(filepath.Join(dir, "PR_curve.png"), metrics.Curves{X: x, Classes: []int{0}, PR: [][]float64{pr}, AP50: []float64{m50}}, []string{"person"}); err != nil {
		return "", 0, err
	}
	var yaml strings.Builder
	for _, p := range params {
		v := p.Value
		if strings.ContainsAny(v, ":/") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&yaml, "%s: %s\n", p.Key, v)
	}
	files := map[string][]byte{
		"args.yaml":                []byte(yaml.String()),
		"weights/best.safetensors": safetensors(seed),
		"weights/last.safetensors": safetensors(seed + 1),
		"results.csv":              nil,
		"results.png":              nil,
		"PR_curve.png":             nil,
	}
	for rel, body := range files {
		if body == nil {
			if body, err = os.ReadFile(filepath.Join(dir, rel)); err != nil {
				return "", 0, err
			}
		}
		if err := art.Put(ctx, prefix+"/"+rel, bytes.NewReader(body), int64(len(body))); err != nil {
			return "", 0, fmt.Errorf("webtest: store %s of %s: %w", rel, name, err)
		}
	}
	end := start.Add(Epochs*epochTime + 4*time.Second).UnixMilli()
	if _, err := st.UpdateRun(ctx, tracking.UpdateRun{RunID: id, Status: tracking.RunFinished, EndTime: end}); err != nil {
		return "", 0, err
	}
	return id, m50, nil
}

// prCurve is a precision-recall curve whose area is about ap.
func prCurve(ap float64) ([]float64, []float64) {
	x := make([]float64, 101)
	y := make([]float64, 101)
	k := max(0.2, 1/max(ap, 0.01)-1)
	for i := range x {
		r := float64(i) / 100
		x[i] = r
		y[i] = math.Max(0, 1-math.Pow(r, 1/k))
	}
	return x, y
}

// safetensors returns a small but valid safetensors file: one float32
// tensor of 16 values.
func safetensors(seed int) []byte {
	header, _ := json.Marshal(map[string]any{
		"model.22.dfl.conv.weight": map[string]any{"dtype": "F32", "shape": []int{1, 16, 1, 1}, "data_offsets": []int{0, 64}},
		"__metadata__":             map[string]string{"format": "pt", "seed": strconv.Itoa(seed)},
	})
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.Write(header)
	for i := range 16 {
		binary.Write(&b, binary.LittleEndian, float32(i))
	}
	return b.Bytes()
}

// artifactKey maps a run's artifact URI to its key in the artifact store.
func artifactKey(uri string) (string, error) {
	key, ok := strings.CutPrefix(uri, ProxyPrefix)
	if !ok {
		return "", fmt.Errorf("webtest: artifact URI %q is not under %s (open the store with its default artifact root)", uri, ProxyPrefix)
	}
	return strings.Trim(key, "/"), nil
}

// seedReport logs a promotion report among the best run's artifacts.
func seedReport(ctx context.Context, st tracking.Store, art artifacts.Store, g *Grid) error {
	run, err := st.GetRun(ctx, g.Best)
	if err != nil {
		return err
	}
	prefix, err := artifactKey(run.Info.ArtifactURI)
	if err != nil {
		return err
	}
	var m50, m5095 float64
	for _, m := range run.Data.Metrics {
		switch m.Key {
		case "metrics/mAP50B":
			m50 = m.Value
		case "metrics/mAP50-95B":
			m5095 = m.Value
		}
	}
	report := fmt.Sprintf(`# Promotion report: %s v3

Candidate **%s** against the current Production version.

| metric | candidate | production | threshold |
|---|--:|--:|--:|
| mAP50 | %.3f | 0.301 | ≥ 0.30 |
| mAP50-95 | %.3f | 0.126 | — |

Decision: **promote to Production** (mAP50 above the threshold and above production).

![results](../results.png)
`, g.Model, run.Info.RunName, m50, m5095)
	body := []byte(report)
	return art.Put(ctx, prefix+"/promotion/report.md", bytes.NewReader(body), int64(len(body)))
}

func seedRegistry(ctx context.Context, st tracking.Store, g *Grid) error {
	if _, err := st.CreateRegisteredModel(ctx, g.Model, nil, "YOLOv8n person detector, fine-tuned on person-COCO128."); err != nil {
		return fmt.Errorf("webtest: create model: %w", err)
	}
	// Versions from runs 1 (sz320 s42), 5 (sz416 s42) and the best run.
	for _, runID := range []string{g.Runs[0], g.Runs[4], g.Best} {
		run, err := st.GetRun(ctx, runID)
		if err != nil {
			return err
		}
		mv, err := st.CreateModelVersion(ctx, tracking.CreateModelVersion{
			Name: g.Model, Source: run.Info.ArtifactURI + "/weights", RunID: runID, UserID: "ci",
			Description: "weights/best.safetensors of " + run.Info.RunName,
		})
		if err != nil {
			return fmt.Errorf("webtest: create model version: %w", err)
		}
		g.Versions = append(g.Versions, mv.Version)
	}
	run, err := st.GetRun(ctx, g.Best)
	if err != nil {
		return err
	}
	if err := st.SetModelVersionTag(ctx, g.Model, g.Versions[2], tracking.Tag{Key: "yolops.report_uri", Value: run.Info.ArtifactURI + "/promotion/report.md"}); err != nil {
		return err
	}
	for _, t := range []tracking.TransitionStage{
		{Version: g.Versions[0], Stage: tracking.StageStaging, UserID: "alice", Comment: "First baseline: mAP50 0.30 on person-val."},
		{Version: g.Versions[0], Stage: tracking.StageProduction, UserID: "alice", Comment: "Baseline serves until a better model passes the gate."},
		{Version: g.Versions[1], Stage: tracking.StageStaging, UserID: "bob", Comment: "imgsz 416 candidate for the A/B check."},
		{Version: g.Versions[2], Stage: tracking.StageStaging, UserID: "bob", Comment: "Best mAP50 of the grid."},
		{Version: g.Versions[2], Stage: tracking.StageProduction, ArchiveExistingVersions: true, UserID: "alice", Comment: "Passed the promotion gate; see the report."},
		{Version: g.Versions[1], Stage: tracking.StageStaging, UserID: "bob", Comment: "Kept in Staging as the challenger."},
	} {
		t.Name = g.Model
		if _, err := st.TransitionModelVersionStage(ctx, t); err != nil {
			return fmt.Errorf("webtest: transition v%s to %s: %w", t.Version, t.Stage, err)
		}
	}
	if err := st.SetRegisteredModelAlias(ctx, g.Model, "champion", g.Versions[2]); err != nil {
		return err
	}
	return st.SetRegisteredModelAlias(ctx, g.Model, "challenger", g.Versions[1])
}

// pipelineSteps is the person pipeline: each step with its upstream
// steps and outputs.
var pipelineSteps = []struct {
	name     string
	upstream []string
	outputs  []string
}{
	{"prepare", nil, []string{"dataset"}},
	{"split", []string{"prepare"}, []string{"train", "val"}},
	{"train", []string{"split"}, []string{"weights", "results"}},
	{"evaluate", []string{"train", "split"}, []string{"metrics"}},
	{"register", []string{"evaluate"}, []string{"version"}},
}

func seedPipelines(ctx context.Context, st tracking.Store, art artifacts.Store, g *Grid, base time.Time) error {
	var err error
	if g.PipelineExperiment, err = st.CreateExperiment(ctx, "person-pipeline", "", nil); err != nil {
		return err
	}
	first := map[string]*tracking.Run{} // step runs of the first pipeline run
	for attempt := range 2 {
		start := base.Add(time.Duration(attempt) * 20 * time.Minute)
		tags := []tracking.Tag{{Key: "yolops.pipeline", Value: "person"}}
		for _, s := range pipelineSteps {
			up, _ := json.Marshal(append([]string{}, s.upstream...))
			tags = append(tags, tracking.Tag{Key: "yolops.dag." + s.name, Value: string(up)})
		}
		pr, err := st.CreateRun(ctx, tracking.CreateRun{ExperimentID: g.PipelineExperiment, RunName: fmt.Sprintf("person-%d", attempt+1), StartTime: start.UnixMilli(), Tags: tags})
		if err != nil {
			return err
		}
		g.PipelineRuns = append(g.PipelineRuns, pr.Info.RunID)
		t := start
		executed, cached := 0, 0
		runs := map[string]*tracking.Run{}
		for si, s := range pipelineSteps {
			reuse := attempt == 1 && si < 2 // prepare and split are cached
			stags := []tracking.Tag{
				{Key: tracking.TagParentRunID, Value: pr.Info.RunID},
				{Key: "yolops.pipeline_run", Value: pr.Info.RunID},
				{Key: "yolops.step", Value: s.name},
				{Key: "yolops.step_version", Value: "1"},
				{Key: "yolops.cache_key", Value: fmt.Sprintf("%064x", si+1)},
				{Key: "yolops.cached", Value: strconv.FormatBool(reuse)},
			}
			if reuse {
				stags = append(stags, tracking.Tag{Key: "yolops.cached_from", Value: first[s.name].Info.RunID})
			}
			for _, up := range s.upstream {
				prod := runs[up]
				in, _ := json.Marshal(map[string]string{"step": up, "run_id": prod.Info.RunID, "output": outputsOf(up)[0], "kind": "dir", "hash": "sha256:" + strings.Repeat("ab", 32)})
				stags = append(stags, tracking.Tag{Key: "yolops.input." + up, Value: string(in)})
			}
			sr, err := st.CreateRun(ctx, tracking.CreateRun{ExperimentID: g.PipelineExperiment, RunName: fmt.Sprintf("person-%d.%s", attempt+1, s.name), StartTime: t.UnixMilli(), Tags: stags})
			if err != nil {
				return err
			}
			owner := sr
			if reuse {
				owner = first[s.name]
			}
			prefix, err := artifactKey(owner.Info.ArtifactURI)
			if err != nil {
				return err
			}
			var otags []tracking.Tag
			for _, o := range s.outputs {
				body := fmt.Appendf(nil, "{\"step\": %q, \"output\": %q}\n", s.name, o)
				rel := "outputs/" + o + ".json"
				if !reuse {
					if err := art.Put(ctx, prefix+"/"+rel, bytes.NewReader(body), int64(len(body))); err != nil {
						return err
					}
				}
				rec, _ := json.Marshal(map[string]any{"kind": "json", "hash": "sha256:" + strings.Repeat("cd", 32),
					"uri": owner.Info.ArtifactURI + "/" + rel, "size": len(body)})
				otags = append(otags, tracking.Tag{Key: "yolops.output." + o, Value: string(rec)})
			}
			if err := st.LogBatch(ctx, sr.Info.RunID, nil, []tracking.Param{{Key: "version", Value: "1"}}, otags); err != nil {
				return err
			}
			d := 2 * time.Second
			if !reuse {
				d = time.Duration(5+10*si) * time.Second
				executed++
			} else {
				cached++
			}
			t = t.Add(d)
			if _, err := st.UpdateRun(ctx, tracking.UpdateRun{RunID: sr.Info.RunID, Status: tracking.RunFinished, EndTime: t.UnixMilli()}); err != nil {
				return err
			}
			if sr, err = st.GetRun(ctx, sr.Info.RunID); err != nil {
				return err
			}
			runs[s.name] = sr
			if attempt == 0 {
				first[s.name] = sr
			} else {
				g.Steps[s.name] = sr.Info.RunID
			}
		}
		if err := st.SetTag(ctx, pr.Info.RunID, tracking.Tag{Key: "yolops.summary", Value: fmt.Sprintf("%d executed, %d cached", executed, cached)}); err != nil {
			return err
		}
		if _, err := st.UpdateRun(ctx, tracking.UpdateRun{RunID: pr.Info.RunID, Status: tracking.RunFinished, EndTime: t.UnixMilli()}); err != nil {
			return err
		}
	}
	return nil
}

func outputsOf(step string) []string {
	for _, s := range pipelineSteps {
		if s.name == step {
			return s.outputs
		}
	}
	return nil
}

// SeedScale creates an experiment of n runs shaped like the grid's
// (Ultralytics' params, 13 metrics over 3 epochs, a few tags) through the
// Store API, for the page-load measurements, and returns its id. progress,
// if not nil, is called every 500 runs.
func SeedScale(ctx context.Context, st tracking.Store, name string, n int, base time.Time, progress func(done int)) (string, error) {
	exp, err := st.CreateExperiment(ctx, name, "", nil)
	if err != nil {
		return "", fmt.Errorf("webtest: create experiment %s: %w", name, err)
	}
	sizes := []int{320, 416, 512, 640}
	lrs := []string{"0.001", "0.005", "0.01", "0.02"}
	for i := range n {
		imgsz, lr, seed := sizes[i%4], lrs[(i/4)%4], i/16
		runName := fmt.Sprintf("scale_%05d_sz%d_lr%s_s%d", i, imgsz, lr, seed)
		start := base.Add(time.Duration(i) * time.Second)
		run, err := st.CreateRun(ctx, tracking.CreateRun{ExperimentID: exp, RunName: runName, StartTime: start.UnixMilli(), UserID: "ci"})
		if err != nil {
			return "", err
		}
		var ms []tracking.Metric
		for e := range Epochs {
			vals := curve(imgsz, lr, seed, e)
			for _, k := range MetricKeys {
				ms = append(ms, tracking.Metric{Key: k, Value: vals[k], Timestamp: start.Add(time.Duration(e+1) * 20 * time.Second).UnixMilli(), Step: int64(e)})
			}
		}
		if err := st.LogBatch(ctx, run.Info.RunID, ms, ultralyticsArgs(runName, imgsz, lr, seed), []tracking.Tag{{Key: "grid", Value: "scale"}}); err != nil {
			return "", err
		}
		end := start.Add(Epochs*20*time.Second + 3*time.Second).UnixMilli()
		if _, err := st.UpdateRun(ctx, tracking.UpdateRun{RunID: run.Info.RunID, Status: tracking.RunFinished, EndTime: end}); err != nil {
			return "", err
		}
		if progress != nil && (i+1)%500 == 0 {
			progress(i + 1)
		}
	}
	return exp, nil
}
