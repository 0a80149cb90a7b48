package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/yolops/yolops/datastore"
	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/tracking/rest"
	"github.com/yolops/yolops/tracking/server/servertest"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/train"
)

// personDataset writes a data YAML over n images with persons: the
// first n COCO128 images holding one (their person boxes only), or, where
// ../shared/data/coco128 is absent, n synthetic 96-pixel images with a
// box labelled person.
func personDataset(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	img, lab := filepath.Join(dir, "images"), filepath.Join(dir, "labels")
	for _, d := range []string{img, lab} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	coco := filepath.Join("..", "..", sharedCOCO128)
	labels, _ := filepath.Glob(filepath.Join(coco, "labels", "train2017", "*.txt"))
	k := 0
	for _, l := range labels {
		if k == n {
			break
		}
		f, err := os.Open(l)
		if err != nil {
			t.Fatal(err)
		}
		var persons []string
		s := bufio.NewScanner(f)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), "0 ") {
				persons = append(persons, s.Text())
			}
		}
		f.Close()
		stem := strings.TrimSuffix(filepath.Base(l), ".txt")
		b, err := os.ReadFile(filepath.Join(coco, "images", "train2017", stem+".jpg"))
		if len(persons) == 0 || err != nil {
			continue
		}
		write(t, filepath.Join(img, stem+".jpg"), b)
		write(t, filepath.Join(lab, stem+".txt"), []byte(strings.Join(persons, "\n")+"\n"))
		k++
	}
	for i := k; i < n; i++ { // synthetic, when COCO128 is absent
		m := imgproc.NewRGB(96, 96)
		imgproc.FillRect(m, 0, 0, 96, 96, [3]uint8{120, 120, 120})
		x := 8 + 6*i
		imgproc.FillRect(m, x, 20, x+30, 80, [3]uint8{200, 40, 40})
		f, err := os.Create(filepath.Join(img, fmt.Sprintf("s%02d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := imgproc.EncodePNG(f, m); err != nil {
			t.Fatal(err)
		}
		f.Close()
		write(t, filepath.Join(lab, fmt.Sprintf("s%02d.txt", i)), fmt.Appendf(nil, "0 %f %f %f %f\n", (float64(x)+15)/96, 50.0/96, 30.0/96, 60.0/96))
	}
	p := filepath.Join(dir, "data.yaml")
	write(t, p, []byte("train: images\nval: images\nnames: [person]\n"))
	return p
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// recentPipelineSteps returns the step statuses of the n newest pipeline
// runs, by step name.
func recentPipelineSteps(t *testing.T, c *client.Client, exp string, n int) []map[string]pipeline.StepStatus {
	t.Helper()
	ctx := context.Background()
	runs, err := pipeline.List(ctx, c, pipeline.ListOptions{Experiment: exp, MaxResults: n})
	if err != nil || len(runs) != n {
		t.Fatalf("pipeline runs: %d, %v", len(runs), err)
	}
	var out []map[string]pipeline.StepStatus
	for _, r := range runs {
		rec, err := pipeline.Inspect(ctx, c, r.RunID)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]pipeline.StepStatus{}
		for _, s := range rec.Steps {
			m[s.Name] = s.Status
		}
		out = append(out, m)
	}
	return out
}

// TestGridWorkflow is the CI end-to-end test of the workflow: a grid of
// two one-epoch trainings (seeds 42 and 1) on a handful of person
// images, then promotion; the tracked runs, their params, per-epoch
// metrics and artifacts, the registry; a rerun that trains nothing; and
// a new lr0 that trains again without preparing the data again.
func TestGridWorkflow(t *testing.T) {
	ctx := context.Background()
	data := personDataset(t, 8)
	dir := t.TempDir()
	track, runsDir, report := filepath.Join(dir, "track"), filepath.Join(dir, "runs"), filepath.Join(dir, "report")
	base := []string{"grid", "--quick", "--source", data, "--tracking-uri", track, "--dir", runsDir, "--threads", "2", "--batch", "8"}
	names := []string{"yolov8n_e1_sz64_lr0.01_s42", "yolov8n_e1_sz64_lr0.01_s1"}

	stdout, stderr, err := execute(t, append(base, "--report", report)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range append(slices.Clone(names), "mAP50-95", "train time", "experiment person-yolov8n",
		"2 runs ranked in 1 configurations", "person-yolov8n version", "stage Staging",
		"report: "+filepath.Join(report, "decision.html")) {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, " yes") {
		t.Errorf("a first run reports cached points:\n%s", stdout)
	}
	if !strings.HasSuffix(strings.TrimSpace(stdout), ".md") && !strings.Contains(stdout, "report: ") {
		t.Errorf("the output does not end with where the report is:\n%s", stdout)
	}

	c, err := client.Open(ctx, track)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, err := c.GetExperimentByName(ctx, "person-yolov8n")
	if err != nil {
		t.Fatal(err)
	}
	trainingRuns := func(name string) []tracking.Run {
		runs, _, err := c.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ExperimentID},
			Filter: fmt.Sprintf("attributes.run_name = '%s'", name)})
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	ids := map[string]string{}
	for i, name := range names {
		runs := trainingRuns(name)
		if len(runs) != 1 || runs[0].Info.Status != tracking.RunFinished {
			t.Fatalf("runs named %s: %d, want one finished", name, len(runs))
		}
		r := runs[0]
		ids[name] = r.Info.RunID
		params := map[string]string{}
		for _, p := range r.Data.Params {
			params[p.Key] = p.Value
		}
		seed := []string{"42", "1"}[i]
		for k, v := range map[string]string{"imgsz": "64", "lr0": "0.01", "seed": seed, "epochs": "1", "batch": "8",
			"model": "yolov8n.yaml", "optimizer": "auto", "warmup_bias_lr": "0.0", "name": name, "mosaic": "1.0"} {
			if params[k] != v {
				t.Errorf("%s: param %s = %q, want %q", name, k, params[k], v)
			}
		}
		if want := len(train.DefaultArgs().Params()); len(params) != want {
			t.Errorf("%s: %d params, want every training argument (%d)", name, len(params), want)
		}
		// Per-epoch metrics under the MLflow callback's names, step 0; the
		// final validation of best logged after the epoch's own.
		for _, key := range []string{"metrics/mAP50B", "metrics/mAP50-95B", "metrics/precisionB", "metrics/recallB",
			"train/box_loss", "val/cls_loss", "lr/pg0"} {
			hist, _, err := c.GetMetricHistory(ctx, tracking.GetMetricHistory{RunID: r.Info.RunID, MetricKey: key})
			if err != nil || len(hist) == 0 || hist[0].Step != 0 {
				t.Errorf("%s: history of %s: %+v, %v", name, key, hist, err)
			}
		}
		// The run folder as artifacts.
		var got []string
		for _, p := range []string{"", "weights"} {
			list, err := c.ListArtifacts(ctx, r.Info.RunID, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range list {
				got = append(got, a.Key)
			}
		}
		for _, want := range []string{"weights/best.safetensors", "weights/last.safetensors", "results.csv", "results.png",
			"args.yaml", "PR_curve.png", "confusion_matrix.png", "confusion_matrix_normalized.png", "val_batch0_pred.jpg", "train_batch0.jpg"} {
			if !slices.Contains(got, want) {
				t.Errorf("%s: no artifact %s (has %v)", name, want, got)
			}
		}
		// The dataset version: the DVC md5 of the folder the run read.
		tags := map[string]string{}
		for _, tg := range r.Data.Tags {
			tags[tg.Key] = tg.Value
		}
		ds := filepath.Dir(params["data"])
		version, err := datastore.Hash(ctx, ds)
		if err != nil {
			t.Fatal(err)
		}
		if tags["yolops.dataset_version"] != version || !strings.HasSuffix(version, ".dir") {
			t.Errorf("%s: dataset version tag %q, the data it read hashes to %s", name, tags["yolops.dataset_version"], version)
		}
		if tags["yolops.dataset.train_images"] != "8" || tags["yolops.dataset.train_equals_val"] != "true" {
			t.Errorf("%s: dataset tags %v", name, tags)
		}
		if in := r.Inputs.DatasetInputs; len(in) != 1 || in[0].Dataset.Digest != version {
			t.Errorf("%s: dataset inputs %+v", name, in)
		}
	}

	// The registry: one version per training, sourced from its weights;
	// promote moved the best to Staging.
	vs, _, err := c.SearchModelVersions(ctx, tracking.SearchModelVersions{Filter: "name = 'person-yolov8n'"})
	if err != nil {
		t.Fatal(err)
	}
	staging := 0
	for _, v := range vs {
		// The store resolves runs:/<id>/weights/best.safetensors to the
		// run's artifact URI, as MLflow does.
		if !strings.HasSuffix(v.Source, "/"+v.RunID+"/artifacts/weights/best.safetensors") || (v.RunID != ids[names[0]] && v.RunID != ids[names[1]]) {
			t.Errorf("version %s: source %s, run %s", v.Version, v.Source, v.RunID)
		}
		if v.CurrentStage == tracking.StageStaging {
			staging++
		}
	}
	if len(vs) != 2 || staging != 1 {
		t.Errorf("%d versions, %d in Staging; want 2 and 1", len(vs), staging)
	}
	if _, err := os.Stat(filepath.Join(report, "decision.md")); err != nil {
		t.Error(err)
	}

	// The same grid again: every step cached, no training.
	stdout, stderr, err = execute(t, append(base, "--promote=false")...)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, stderr)
	}
	if strings.Count(stdout, " yes") != 2 {
		t.Errorf("rerun: want both points cached:\n%s", stdout)
	}
	if strings.Contains(stderr, "Starting training") {
		t.Errorf("rerun trained:\n%s", stderr)
	}
	for _, steps := range recentPipelineSteps(t, c, exp.Name, 2) {
		for s, st := range steps {
			if st != pipeline.StepCached {
				t.Errorf("rerun: step %s %s, want cached", s, st)
			}
		}
	}
	for _, name := range names {
		if n := len(trainingRuns(name)); n != 1 {
			t.Errorf("rerun: %d runs named %s, want the first only", n, name)
		}
	}

	// Another lr0: the data is cached, the trainer and evaluator run.
	stdout, stderr, err = execute(t, append(base, "--promote=false", "--lr0", "0.005")...)
	if err != nil {
		t.Fatalf("lr0 0.005: %v\n%s", err, stderr)
	}
	for _, steps := range recentPipelineSteps(t, c, exp.Name, 2) {
		if steps["data_loader"] != pipeline.StepCached || steps["trainer"] != pipeline.StepExecuted || steps["evaluator"] != pipeline.StepExecuted {
			t.Errorf("lr0 0.005: steps %v, want data_loader cached, trainer and evaluator executed", steps)
		}
	}
	if !strings.Contains(stdout, "yolov8n_e1_sz64_lr0.005_s42") {
		t.Errorf("lr0 0.005:\n%s", stdout)
	}
}

// TestPipelineRunHTTP runs `pipeline run` against a yolops tracking
// server over HTTP, which stores the artifacts it proxies.
func TestPipelineRunHTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ts := servertest.Start(t, servertest.Options{Store: []sqlstore.Option{sqlstore.WithDefaultArtifactRoot(rest.ProxiedScheme + ":/")}})
	st, arts := ts.Store, ts.Artifacts

	stdout, stderr, err := execute(t, "pipeline", "run", "--tracking-uri", ts.URL, "--source", personDataset(t, 4),
		"--model", "yolov8n.yaml", "--epochs", "1", "--imgsz", "64", "--batch", "4", "--seed", "3", "--threads", "2",
		"--dir", filepath.Join(dir, "runs"), "--experiment", "served")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "training run yolov8n_e1_sz64_lr0.01_s3 (") || !strings.Contains(stdout, "registered served version 1") {
		t.Errorf("stdout:\n%s", stdout)
	}
	exp, err := st.GetExperimentByName(ctx, "served")
	if err != nil {
		t.Fatal(err)
	}
	runs, _, err := st.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ExperimentID},
		Filter: "attributes.run_name = 'yolov8n_e1_sz64_lr0.01_s3'"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %d, %v", len(runs), err)
	}
	key := strings.TrimPrefix(runs[0].Info.ArtifactURI, rest.ProxiedScheme+":/") + "/weights/best.safetensors"
	if _, err := arts.Stat(ctx, key); err != nil {
		t.Errorf("the server holds no weights: %v", err)
	}
}

func TestWorkflowCommandErrors(t *testing.T) {
	data := personDataset(t, 1)
	track := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad imgsz", []string{"grid", "--imgsz", "320,abc"}, []string{"--imgsz", `"abc" is not a valid whole number`}},
		{"imgsz not a multiple of 32", []string{"grid", "--imgsz", "100"}, []string{"imgsz 100", "multiple of 32"}},
		{"unknown --set", []string{"grid", "--set", "speed=3"}, []string{`unknown training argument "speed"`}},
		{"--set without value", []string{"grid", "--set", "mosaic"}, []string{"want key=value"}},
		{"reserved --set", []string{"grid", "--set", "data=x.yaml"}, []string{`"data" cannot be set here`}},
		{"missing config", []string{"grid", "--config", filepath.Join(track, "none.yaml")}, []string{"none.yaml"}},
		{"parallel 0", []string{"grid", "--parallel", "0"}, []string{`invalid argument "0" for "--parallel"`}},
		{"pipeline run sweeps", []string{"pipeline", "run", "--seed", "1,2"}, []string{"use yolops grid to sweep", "seed=1,2"}},
		{"unknown weights", []string{"grid", "--quick", "--model", filepath.Join(track, "nope.pt"), "--source", data, "--tracking-uri", track},
			[]string{"nope.pt: no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestGridConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "grid.yaml")
	write(t, cfg, []byte("epochs: 2\nimgsz: [320, 416]\nseed: 5\n"))
	var w workflowFlags
	fs := pflag.NewFlagSet("grid", pflag.ContinueOnError)
	w.bind(fs, gridDefaults, true)
	w.config = cfg
	if err := fs.Parse([]string{"--lr0", "0.02"}); err != nil {
		t.Fatal(err)
	}
	g, err := w.grid(fs, gridDefaults)
	if err != nil {
		t.Fatal(err)
	}
	points, err := g.Points()
	if err != nil {
		t.Fatal(err)
	}
	// The file fixes seed and epochs, keeps the imgsz sweep; --lr0
	// overrides the default sweep.
	got := pointNames(g, points)
	want := []string{"yolov8n_e2_sz320_lr0.02_s5", "yolov8n_e2_sz416_lr0.02_s5"}
	if !slices.Equal(got, want) {
		t.Errorf("points %v, want %v", got, want)
	}
}

func TestWorkflowHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"grid", "--help"}, []string{"--imgsz", "--lr0", "--seed", "--epochs", "--parallel", "--config", "--quick",
			"--tracking-uri", "--promote", "data_loader", "trainer", "evaluator", "register", "--model yolov8n.yaml"}},
		{[]string{"pipeline", "run", "--help"}, []string{"--imgsz", "--lr0", "--seed", "--epochs", "--tracking-uri", "yolov8n_e3_sz416_lr0.01_s42"}},
		{[]string{"pipeline", "--help"}, []string{"run ", "list", "show"}},
	} {
		stdout, _, err := execute(t, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v lacks %q", tc.args, w)
			}
		}
	}
}
