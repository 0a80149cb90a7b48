package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
)

// seedPromoteStore makes a tracking folder with a 2x2 grid (imgsz x seed)
// in experiment "grid" and returns the folder.
func seedPromoteStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tracking")
	c, err := client.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, err := c.GetOrCreateExperiment(ctx, "grid")
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(t.TempDir(), "best.safetensors")
	if err := os.WriteFile(weights, []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		imgsz, seed     string
		mAP50, prec     float64
		name            string
		finished, wghts bool
	}{
		{"320", "1", 0.20, 0.40, "sz320_s1", true, true},
		{"320", "42", 0.22, 0.42, "sz320_s42", true, true},
		{"416", "1", 0.26, 0.35, "sz416_s1", true, true},
		{"416", "42", 0.30, 0.38, "sz416_s42", true, true},
	} {
		run, err := c.StartRun(ctx, exp, r.name, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		if err := c.LogBatch(ctx, id,
			[]tracking.Metric{{Key: "metrics/mAP50B", Value: r.mAP50, Timestamp: 1, Step: 2}, {Key: "metrics/precisionB", Value: r.prec, Timestamp: 1, Step: 2}},
			[]tracking.Param{{Key: "imgsz", Value: r.imgsz}, {Key: "seed", Value: r.seed}, {Key: "epochs", Value: "3"}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.LogArtifact(ctx, id, weights, "weights"); err != nil {
			t.Fatal(err)
		}
		if err := c.SetTerminated(ctx, id, tracking.RunFinished); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPromoteCommand(t *testing.T) {
	dir := seedPromoteStore(t)
	out := filepath.Join(t.TempDir(), "report")
	stdout, _, err := execute(t, "promote", "--tracking-uri", dir, "--experiment", "grid", "--stage", "Production",
		"--user", "alice", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"experiment grid: 4 runs ranked in 2 configurations, 0 left out",
		"* #1 imgsz=416", "mAP50 mean 0.2800 over 2 run(s)",
		"candidate: run sz416_s42",
		"registered grid version 1, stage Production, alias champion",
		"report: " + filepath.Join(out, "decision.html"),
		"stored with the run: runs:/",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "decision.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "yolops promote --experiment grid --out "+out+" --stage Production --tracking-uri "+dir+" --user alice") {
		t.Errorf("the report does not record the command line")
	}

	// Again: the same version, nothing moved.
	stdout, _, err = execute(t, "promote", "--tracking-uri", dir, "--experiment", "grid", "--stage", "Production", "--out", out+"2")
	if err != nil || !strings.Contains(stdout, "already registered grid version 1, stage Production") {
		t.Errorf("second promotion: %v\n%s", err, stdout)
	}
}

func TestPromoteCommandErrors(t *testing.T) {
	dir := seedPromoteStore(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no experiment", []string{"promote", "--tracking-uri", dir}, []string{"--experiment is required"}},
		{"bad --min", []string{"promote", "--tracking-uri", dir, "--experiment", "grid", "--min", "precision"},
			[]string{`invalid argument "precision" for "--min" flag`, "want metric=value"}},
		{"bad --min value", []string{"promote", "--tracking-uri", dir, "--experiment", "grid", "--min", "precision=high"},
			[]string{`"--min" flag`, `value "high" is not a finite number`}},
		{"refusal", []string{"promote", "--tracking-uri", dir, "--experiment", "grid", "--min", "precision=0.5", "--out", t.TempDir()},
			[]string{"no run qualifies for promotion", "precision >= 0.5000", "imgsz=416", "precision 0.3650 < 0.5000"}},
		{"bad stage", []string{"promote", "--tracking-uri", dir, "--experiment", "grid", "--stage", "None"},
			[]string{`stage "None": want Staging or Production`}},
		{"no store", []string{"promote", "--tracking-uri", t.TempDir(), "--experiment", "grid"}, []string{"no tracking store at"}},
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
