package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking/client"
)

// runDemoPipeline records, in a tracking folder, two runs of a pipeline
// whose second run reuses "load" and re-runs "train" (new param), and a
// third run in which "train" fails.
func runDemoPipeline(t *testing.T, dir string) (first, second, failed *pipeline.Result) {
	t.Helper()
	ctx := context.Background()
	c, err := client.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("some data"), 0o644); err != nil {
		t.Fatal(err)
	}
	type trainParams struct {
		LR   float64 `json:"lr0"`
		Fail bool    `json:"fail"`
	}
	build := func(prm trainParams) *pipeline.Pipeline {
		p := pipeline.New("demo")
		src := pipeline.SourceFile(data)
		load := pipeline.Add(p, pipeline.Spec[struct{}]{Name: "load", Version: "1", Inputs: pipeline.Inputs{"data": src}},
			func(ctx context.Context, sc *pipeline.StepContext, _ struct{}) (string, error) {
				path, err := pipeline.Get(ctx, sc, src)
				if err != nil {
					return "", err
				}
				b, err := os.ReadFile(string(path))
				return string(b), err
			})
		text := pipeline.Output[string](load, "output")
		pipeline.Add(p, pipeline.Spec[trainParams]{Name: "train", Version: "1", Params: prm, Inputs: pipeline.Inputs{"text": text}},
			func(ctx context.Context, sc *pipeline.StepContext, prm trainParams) (float64, error) {
				if prm.Fail {
					return 0, errors.New("out of memory\nstack...")
				}
				s, err := pipeline.Get(ctx, sc, text)
				return float64(len(s)) * prm.LR, err
			})
		return p
	}
	var results []*pipeline.Result
	for _, prm := range []trainParams{{LR: 0.01}, {LR: 0.02}, {LR: 0.02, Fail: true}} {
		res, err := build(prm).Run(ctx, pipeline.Options{Store: c})
		if err != nil && !prm.Fail {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	return results[0], results[1], results[2]
}

func TestPipelineCommands(t *testing.T) {
	dir := t.TempDir()
	first, second, failed := runDemoPipeline(t, dir)
	t.Setenv("MLFLOW_TRACKING_URI", "")

	stdout, _, err := execute(t, "pipeline", "list", "--tracking-uri", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "RUN ID") ||
		!strings.HasPrefix(lines[1], failed.RunID) || !strings.HasPrefix(lines[3], first.RunID) ||
		!strings.Contains(lines[1], "FAILED") || !strings.Contains(lines[2], "1 executed, 1 cached") {
		t.Errorf("pipeline list:\n%s", stdout)
	}

	stdout, _, err = execute(t, "pipeline", "show", second.RunID, "--tracking-uri", "sqlite:///"+filepath.Join(dir, "mlruns.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Pipeline demo, run " + second.RunID,
		": FINISHED\n",
		"1 executed, 1 cached",
		"[1] load: cached from " + first.Step("load").RunID + ", ",
		"step run " + second.Step("load").RunID,
		"[2] train: executed, ",
		"after    load",
		"params   fail = false",
		"lr0 = 0.02",
		"inputs   text    " + pipelineHash(second.Step("train").Inputs["text"].Hash) + "  <- load.output (step run " + second.Step("load").RunID + ")",
		"json, 4 bytes\n", // 0.18
		"json, 11 bytes -> train.text\n",
		"at mlflow-artifacts:/",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("pipeline show lacks %q:\n%s", want, stdout)
		}
	}

	// A prefix names the run; the failed run shows the first line of the
	// error and the failed step.
	stdout, _, err = execute(t, "pipeline", "show", failed.RunID[:10], "--tracking-uri", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{": FAILED\n", "[2] train: failed, ", "error    out of memory\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("pipeline show of the failed run lacks %q:\n%s", want, stdout)
		}
	}

	t.Setenv("MLFLOW_TRACKING_URI", dir)
	stdout, _, err = execute(t, "pipeline", "show", first.RunID, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rec pipeline.RunRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if rec.Run.RunID != first.RunID || len(rec.Steps) != 2 || rec.Steps[1].Inputs[0].Hash != first.Step("load").Outputs["output"].Hash {
		t.Errorf("pipeline show --json: %+v", rec)
	}
	stdout, _, err = execute(t, "pipeline", "list", "--json", "--max", "1")
	var list []pipeline.RunSummary
	if err != nil || json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 1 || list[0].RunID != failed.RunID {
		t.Errorf("pipeline list --json --max 1: %v\n%s", err, stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pipeline", "show", "0123456789abcdef", "--tracking-uri", dir}, `no pipeline run with an id starting "0123456789abcdef"`},
		{[]string{"pipeline", "show", "not-an-id!", "--tracking-uri", dir}, `no run "not-an-id!"`},
		{[]string{"pipeline", "show", first.Step("load").RunID, "--tracking-uri", dir}, "is step load of pipeline run " + first.RunID},
		{[]string{"pipeline", "show", "--tracking-uri", dir}, "accepts 1 arg(s), received 0"},
		{[]string{"pipeline", "list", "--tracking-uri", filepath.Join(dir, "nowhere")}, "no tracking store at " + filepath.Join(dir, "nowhere", "mlruns.db")},
		{[]string{"pipeline", "list", "--tracking-uri", "sqlite:///" + filepath.Join(dir, "none.db")}, "no tracking store at"},
		{[]string{"pipeline", "list", "--tracking-uri", "ftp://x"}, "unsupported scheme"},
		{[]string{"pipeline", "list", "--tracking-uri", dir, "--max", "0"}, `invalid argument "0" for "--max" flag`},
		{[]string{"pipeline", "list", "--tracking-uri", dir, "--pipeline", "a'b"}, `invalid pipeline name "a'b"`},
	} {
		_, _, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !os.IsNotExist(err) {
		t.Errorf("listing a missing store created it")
	}
}
