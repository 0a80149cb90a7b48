package promote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/tracking/server/servertest"
)

// gridRun is one run of the synthetic grid: the user's sweep, imgsz x lr0
// x seed, 3 epochs, with final metrics chosen by hand.
type gridRun struct {
	imgsz, lr0, seed                  string
	mAP50, mAP5095, precision, recall float64
}

// grid: the means over seeds are 0.19, 0.215, 0.26 and 0.28, so
// imgsz=416 lr0=0.01 wins unconstrained; its mean precision (0.45) is
// below 0.5, where imgsz=416 lr0=0.005 (0.55) takes over.
var grid = []gridRun{
	{"320", "0.005", "42", 0.20, 0.080, 0.40, 0.30},
	{"320", "0.005", "1", 0.18, 0.070, 0.38, 0.28},
	{"320", "0.01", "42", 0.22, 0.090, 0.42, 0.31},
	{"320", "0.01", "1", 0.21, 0.085, 0.41, 0.30},
	{"416", "0.005", "42", 0.27, 0.110, 0.56, 0.35},
	{"416", "0.005", "1", 0.25, 0.100, 0.54, 0.34},
	{"416", "0.01", "42", 0.30, 0.120, 0.46, 0.37},
	{"416", "0.01", "1", 0.26, 0.105, 0.44, 0.36},
}

func runName(g gridRun) string {
	return fmt.Sprintf("yolov8n_e3_sz%s_lr%s_s%s", g.imgsz, g.lr0, g.seed)
}

// fixture is a tracking folder holding the grid's experiment.
type fixture struct {
	c      *client.Client
	dir    string
	expID  string
	runIDs map[string]string // run name -> id
	data   string            // the data YAML the runs name
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	c, err := client.Open(ctx, filepath.Join(dir, "tracking"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := &fixture{c: c, dir: dir, runIDs: map[string]string{}}
	// A data YAML on this machine whose val split is its train split, as
	// coco128's; no train_equals_val tag, so promote must read it.
	f.data = filepath.Join(dir, "data", "person.yaml")
	if err := os.MkdirAll(filepath.Join(dir, "data", "images", "train2017"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.data, []byte("train: images/train2017\nval: images/train2017\nnames:\n  0: person\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "best.safetensors")
	if err := os.WriteFile(weights, []byte("not really weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f.expID, err = c.GetOrCreateExperiment(ctx, "person-grid"); err != nil {
		t.Fatal(err)
	}
	ts := int64(1_700_000_000_000)
	for _, g := range grid {
		name := runName(g)
		run, err := c.StartRun(ctx, f.expID, name, []tracking.Tag{
			{Key: TagDatasetVersion, Value: "md5:3f2a9c1d.dir"},
			{Key: TagTrainImages, Value: "61"},
			{Key: TagValImages, Value: "61"},
		})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		f.runIDs[name] = id
		params := []tracking.Param{
			{Key: "imgsz", Value: g.imgsz}, {Key: "lr0", Value: g.lr0}, {Key: "seed", Value: g.seed},
			{Key: "epochs", Value: "3"}, {Key: "batch", Value: "16"}, {Key: "model", Value: "yolov8n.pt"},
			{Key: "data", Value: f.data}, {Key: "optimizer", Value: "auto"}, {Key: "warmup_epochs", Value: "3.0"},
			{Key: "name", Value: name}, {Key: "save_dir", Value: "runs/detect/" + name},
		}
		// Three epochs, each validated, then the best weights validated
		// again under the last step, as Ultralytics' final_eval logs.
		var ms []tracking.Metric
		final := map[string]float64{keyMAP50: g.mAP50, keyMAP5095: g.mAP5095, keyPrecision: g.precision, keyRecall: g.recall}
		for epoch := range 3 {
			frac := []float64{0.4, 0.7, 0.97}[epoch]
			for k, v := range final {
				ts++
				ms = append(ms, tracking.Metric{Key: k, Value: v * frac, Timestamp: ts, Step: int64(epoch)})
			}
			ts++
			ms = append(ms, tracking.Metric{Key: "val/box_loss", Value: 2 - 0.1*float64(epoch), Timestamp: ts, Step: int64(epoch)})
		}
		for k, v := range final {
			ts++
			ms = append(ms, tracking.Metric{Key: k, Value: v, Timestamp: ts, Step: 2})
		}
		if err := c.LogBatch(ctx, id, ms, params, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.LogArtifact(ctx, id, weights, "weights"); err != nil {
			t.Fatal(err)
		}
		if err := c.SetTerminated(ctx, id, tracking.RunFinished); err != nil {
			t.Fatal(err)
		}
	}
	// A run that failed, and the pipeline's parent run with no metrics:
	// neither is ranked.
	failed, err := c.StartRun(ctx, f.expID, "yolov8n_e3_sz512_lr0.01_s42", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LogBatch(ctx, failed.Info.RunID, []tracking.Metric{{Key: keyMAP50, Value: 0.9, Timestamp: ts, Step: 0}},
		[]tracking.Param{{Key: "imgsz", Value: "512"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTerminated(ctx, failed.Info.RunID, tracking.RunFailed); err != nil {
		t.Fatal(err)
	}
	parent, err := c.StartRun(ctx, f.expID, "grid-pipeline", []tracking.Tag{{Key: "yolops.pipeline", Value: "grid"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTerminated(ctx, parent.Info.RunID, tracking.RunFinished); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) options(t *testing.T) Options {
	return Options{
		Experiment: "person-grid", Metric: "mAP50", User: "ci",
		OutDir:  filepath.Join(t.TempDir(), "report"),
		Version: "test", Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	}
}

// handStats returns the mean and sample std of xs, written out.
func handStats(xs ...float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)-1))
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPromoteProduction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o := f.options(t)
	o.Stage = "production"
	res, err := Promote(ctx, f.c, o)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Analysis

	// The candidate: the best mean (416, 0.01), its best seed (42).
	if a.Objective != "metrics/mAP50B" {
		t.Errorf("objective %q, want metrics/mAP50B", a.Objective)
	}
	if !slices.Equal(a.Swept, []string{"imgsz", "lr0"}) {
		t.Errorf("swept %v, want [imgsz lr0] (name and save_dir differ per run but name runs)", a.Swept)
	}
	if a.Chosen == nil || a.Chosen.Key != "imgsz=416 lr0=0.01" {
		t.Fatalf("chosen %+v, want imgsz=416 lr0=0.01", a.Chosen)
	}
	if a.Candidate.Name != "yolov8n_e3_sz416_lr0.01_s42" || a.Candidate.ID != f.runIDs[a.Candidate.Name] {
		t.Errorf("candidate %s (%s), want the seed-42 run", a.Candidate.Name, a.Candidate.ID)
	}
	// The run's value is the final validation (logged last at step 2),
	// not the epoch's own 0.97 x value.
	if !near(a.Candidate.Value, 0.30) || !near(a.Candidate.Final, 0.30) {
		t.Errorf("candidate value %v, final %v, want 0.30", a.Candidate.Value, a.Candidate.Final)
	}
	if len(a.Candidate.History) != 3 || !near(a.Candidate.History[2].Value, 0.30*0.97) {
		t.Errorf("history %+v, want 3 epochs ending at %v", a.Candidate.History, 0.30*0.97)
	}
	wantOrder := []string{"imgsz=416 lr0=0.01", "imgsz=416 lr0=0.005", "imgsz=320 lr0=0.01", "imgsz=320 lr0=0.005"}
	for i, c := range a.Configs {
		if c.Key != wantOrder[i] || c.Rank != i+1 {
			t.Errorf("rank %d: %s (rank %d), want %s", i+1, c.Key, c.Rank, wantOrder[i])
		}
	}
	m, s := handStats(0.30, 0.26)
	if !near(a.Chosen.Mean, m) || !near(a.Chosen.Std, s) {
		t.Errorf("chosen mean %v std %v, want %v %v", a.Chosen.Mean, a.Chosen.Std, m, s)
	}
	// The pipeline's own run is not a candidate and not counted as left out.
	if len(a.Skipped) != 1 || a.Skipped[0].Reason != "status FAILED" {
		t.Errorf("skipped %+v, want the failed run alone", a.Skipped)
	}

	// Effects on matched pairs (lr0, seed), computed by hand.
	wantEffects := map[string][]float64{
		"imgsz 416 vs 320":  {0.25 - 0.18, 0.27 - 0.20, 0.26 - 0.21, 0.30 - 0.22}, // lr0=0.005 s1, s42; lr0=0.01 s1, s42
		"lr0 0.01 vs 0.005": {0.21 - 0.18, 0.22 - 0.20, 0.26 - 0.25, 0.30 - 0.27},
	}
	if len(a.Effects) != 2 {
		t.Fatalf("%d effects, want 2", len(a.Effects))
	}
	for _, e := range a.Effects {
		name := e.Param + " " + e.Value + " vs " + e.Baseline
		want, ok := wantEffects[name]
		if !ok {
			t.Errorf("unexpected effect %s", name)
			continue
		}
		var got []float64
		for _, d := range e.Deltas {
			got = append(got, d.Delta)
		}
		if len(got) != 4 {
			t.Fatalf("%s: %d pairs, want 4", name, len(got))
		}
		for i := range want {
			if !near(got[i], want[i]) {
				t.Errorf("%s: pair %d (%s) delta %v, want %v", name, i, e.Deltas[i].Fixed, got[i], want[i])
			}
		}
		m, s := handStats(want...)
		if !near(e.Mean, m) || !near(e.Std, s) {
			t.Errorf("%s: mean %v std %v, want %v %v", name, e.Mean, e.Std, m, s)
		}
	}
	if d := a.Effects[0].Deltas[0].Fixed; d != "lr0=0.005 seed=1" {
		t.Errorf("first imgsz pair holds %q fixed, want lr0=0.005 seed=1", d)
	}

	// Seed variance: pooled over the four configurations, 1 df each.
	var ss float64
	for _, pair := range [][2]float64{{0.20, 0.18}, {0.22, 0.21}, {0.27, 0.25}, {0.30, 0.26}} {
		_, s := handStats(pair[0], pair[1])
		ss += s * s
	}
	if want := math.Sqrt(ss / 4); !near(a.PooledSeedStd, want) || a.PooledDF != 4 {
		t.Errorf("pooled seed std %v (df %d), want %v (df 4)", a.PooledSeedStd, a.PooledDF, want)
	}

	// The registry: version 1, through Staging to Production, alias
	// champion, the reason recorded with the user.
	reg := res.Registration
	if reg == nil || !reg.Created || reg.Version.Version != "1" || reg.Version.CurrentStage != tracking.StageProduction {
		t.Fatalf("registration %+v, want a new version 1 in Production", reg)
	}
	mv, err := f.c.GetModelVersionByAlias(ctx, "person-grid", "champion")
	if err != nil || mv.Version != "1" || mv.RunID != a.Candidate.ID {
		t.Fatalf("champion: %+v, %v; want version 1 of run %s", mv, err, a.Candidate.ID)
	}
	if !strings.HasSuffix(mv.Source, "/"+a.Candidate.ID+"/artifacts/weights/best.safetensors") {
		t.Errorf("source %q, want the run's weights/best.safetensors", mv.Source)
	}
	ts, err := f.c.GetStageTransitions(ctx, "person-grid", "1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].FromStage != "None" || ts[0].ToStage != "Staging" || ts[1].FromStage != "Staging" || ts[1].ToStage != "Production" {
		t.Fatalf("transitions %+v, want None->Staging->Production", ts)
	}
	for _, tr := range ts {
		if tr.UserID != "ci" || !strings.Contains(tr.Comment, "best mean mAP50 0.2800 over 2 run(s)") || !strings.Contains(tr.Comment, res.ReportURI) {
			t.Errorf("transition %+v: want user ci and a reason naming the mean and the report", tr)
		}
	}
	tags := map[string]string{}
	for _, tg := range mv.Tags {
		tags[tg.Key] = tg.Value
	}
	wantURI := "runs:/" + a.Candidate.ID + "/promotion/20260301T120000Z/decision.md"
	if res.ReportURI != wantURI || tags[TagReportURI] != wantURI {
		t.Errorf("report URI %q, tag %q, want %q", res.ReportURI, tags[TagReportURI], wantURI)
	}
	if tags[TagConfig] != "imgsz=416 lr0=0.01" || tags[TagObjective] != "metrics/mAP50B" || tags[TagObjectiveValue] != "0.3" || !strings.Contains(tags[TagDecision], "Production") {
		t.Errorf("version tags %v", tags)
	}

	// The report: local and uploaded to the run.
	arts, err := f.c.ListArtifacts(ctx, a.Candidate.ID, "promotion/20260301T120000Z")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range arts {
		names = append(names, filepath.Base(in.Key))
	}
	for _, want := range []string{ReportMarkdown, ReportHTML, figConfigs, figCurves, figEffects} {
		if !slices.Contains(names, want) {
			t.Errorf("uploaded report lacks %s (has %v)", want, names)
		}
		if _, err := os.Stat(filepath.Join(o.OutDir, want)); err != nil {
			t.Errorf("local report: %v", err)
		}
	}
	md, err := os.ReadFile(filepath.Join(o.OutDir, ReportMarkdown))
	if err != nil {
		t.Fatal(err)
	}
	checkReportNumbers(t, string(md), a)
	for _, want := range []string{
		"# Promotion decision: person-grid v1 → Production",
		"Validation on the training images", "Tiny dataset", "61 training images",
		"lr0 had no effect", "Few epochs", "all within Ultralytics' warmup of 100",
		"| imgsz | 416 vs 320 | 4 | +0.0675 |",
		"Runs not ranked", "status FAILED",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("decision.md lacks %q", want)
		}
	}
	page, err := os.ReadFile(filepath.Join(o.OutDir, ReportHTML))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(page, []byte(`src="data:image/png;base64,`)); n != 3 {
		t.Errorf("decision.html embeds %d PNGs, want 3", n)
	}
	if bytes.Contains(page, []byte(`src="`+figConfigs)) {
		t.Error("decision.html refers to a PNG file instead of embedding it")
	}
	if !bytes.Contains(page, []byte("<table>")) {
		t.Error("decision.html has no table: the Markdown tables were not rendered")
	}
}

// checkReportNumbers parses the top-3 table of the Markdown back and
// checks every number in it against the values the grid logged.
func checkReportNumbers(t *testing.T, md string, a *Analysis) {
	t.Helper()
	section := md[strings.Index(md, "## Top 3 configurations"):]
	sc := bufio.NewScanner(strings.NewReader(section))
	var header []string
	rows := 0
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "|") {
			if rows > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows++
		key := strings.TrimSuffix(cells[1], " (promoted)")
		var runs []gridRun
		for _, g := range grid {
			if "imgsz="+g.imgsz+" lr0="+g.lr0 == key {
				runs = append(runs, g)
			}
		}
		if len(runs) != 2 {
			t.Fatalf("top-3 row %d names %q, not a configuration of the grid", rows, cells[1])
		}
		want := map[string]float64{"rank": float64(rows), "runs": 2}
		for _, m := range []struct {
			name string
			get  func(gridRun) float64
		}{
			{"mAP50", func(g gridRun) float64 { return g.mAP50 }},
			{"mAP50-95", func(g gridRun) float64 { return g.mAP5095 }},
			{"precision", func(g gridRun) float64 { return g.precision }},
			{"recall", func(g gridRun) float64 { return g.recall }},
		} {
			mean, std := handStats(m.get(runs[0]), m.get(runs[1]))
			want[m.name+" mean"] = mean
			if m.name == "mAP50" {
				want[m.name+" std"] = std
			}
		}
		for i, h := range header {
			w, ok := want[h]
			if !ok {
				continue
			}
			got, err := strconv.ParseFloat(cells[i], 64)
			if err != nil {
				t.Errorf("row %d column %q: %q is not a number", rows, h, cells[i])
				continue
			}
			if math.Abs(got-w) > 0.00005 {
				t.Errorf("row %d (%s) column %q: %v, the store says %.6f", rows, key, h, got, w)
			}
			delete(want, h)
		}
		if len(want) > 0 {
			t.Errorf("row %d: columns missing from the table: %v", rows, want)
		}
	}
	if rows != 3 {
		t.Errorf("top-3 table has %d rows", rows)
	}
	_ = a
}

func TestPromoteIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o := f.options(t)
	o.Stage = "Production"
	first, err := Promote(ctx, f.c, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Now = func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }
	o.OutDir = filepath.Join(t.TempDir(), "again")
	second, err := Promote(ctx, f.c, o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Registration.Created || second.Registration.Version.Version != first.Registration.Version.Version {
		t.Errorf("second promotion of the same run: created=%v version %s, want version %s reused",
			second.Registration.Created, second.Registration.Version.Version, first.Registration.Version.Version)
	}
	if len(second.Registration.Moved) != 0 {
		t.Errorf("second promotion moved the version again: %v", second.Registration.Moved)
	}
	vs, _, err := f.c.SearchModelVersions(ctx, tracking.SearchModelVersions{Filter: "name = 'person-grid'"})
	if err != nil || len(vs) != 1 {
		t.Errorf("%d versions (%v), want 1", len(vs), err)
	}
	ts, _ := f.c.GetStageTransitions(ctx, "person-grid", "1")
	if len(ts) != 2 {
		t.Errorf("%d transitions after promoting twice, want 2", len(ts))
	}
	// Promoting it "to Staging" now leaves it in Production.
	o.Stage = "Staging"
	third, err := Promote(ctx, f.c, o)
	if err != nil {
		t.Fatal(err)
	}
	if st := third.Registration.Version.CurrentStage; st != tracking.StageProduction {
		t.Errorf("a Production version promoted to Staging is now in %s", st)
	}
	mv, _ := f.c.GetModelVersion(ctx, "person-grid", "1")
	if uri := tagOf(mv.Tags, TagReportURI); !strings.Contains(uri, "20260302T090000Z") {
		t.Errorf("report URI tag %q, want the latest report", uri)
	}
}

func tagOf(tags []tracking.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func TestPromoteConstraintAndArchive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o := f.options(t)
	o.Stage = "Production"
	if _, err := Promote(ctx, f.c, o); err != nil {
		t.Fatal(err)
	}
	// precision >= 0.5: the winner's mean precision is 0.45, so
	// imgsz=416 lr0=0.005 (0.55) is promoted and version 1 archived.
	c, err := ParseConstraint("precision=0.5")
	if err != nil {
		t.Fatal(err)
	}
	o.Constraints = []Constraint{c}
	o.Now = func() time.Time { return time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC) }
	res, err := Promote(ctx, f.c, o)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Analysis
	if a.Chosen.Key != "imgsz=416 lr0=0.005" || a.Candidate.Name != "yolov8n_e3_sz416_lr0.005_s42" {
		t.Fatalf("with precision >= 0.5 chose %s / %s", a.Chosen.Key, a.Candidate.Name)
	}
	if a.Configs[0].Qualifies() || len(a.Configs[0].Failed) != 1 || !near(a.Configs[0].Failed[0].Value, 0.45) {
		t.Errorf("the best configuration's failure: %+v", a.Configs[0].Failed)
	}
	if v := res.Registration.Version; v.Version != "2" || v.CurrentStage != tracking.StageProduction {
		t.Errorf("version %s in %s, want 2 in Production", v.Version, v.CurrentStage)
	}
	if !slices.Equal(res.Registration.Archived, []string{"1"}) {
		t.Errorf("archived %v, want [1]", res.Registration.Archived)
	}
	old, _ := f.c.GetModelVersion(ctx, "person-grid", "1")
	if old.CurrentStage != tracking.StageArchived {
		t.Errorf("version 1 is in %s, want Archived", old.CurrentStage)
	}
	ts, _ := f.c.GetStageTransitions(ctx, "person-grid", "1")
	if last := ts[len(ts)-1]; last.ToStage != tracking.StageArchived || !strings.Contains(last.Comment, "archive_existing_versions") {
		t.Errorf("version 1's last transition %+v, want Production->Archived by archive_existing_versions", last)
	}
	champ, _ := f.c.GetModelVersionByAlias(ctx, "person-grid", "champion")
	if champ.Version != "2" {
		t.Errorf("champion is version %s, want 2", champ.Version)
	}
	md, _ := os.ReadFile(filepath.Join(o.OutDir, ReportMarkdown))
	if !strings.Contains(string(md), "fails: precision 0.4500 < 0.5000") {
		t.Error("decision.md does not say why the best configuration was passed over")
	}
}

func TestPromoteRefuses(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o := f.options(t)
	c, _ := ParseConstraint("precision=0.9")
	o.Constraints = []Constraint{c}
	res, err := Promote(ctx, f.c, o)
	if !errors.Is(err, ErrNoCandidate) {
		t.Fatalf("err %v, want ErrNoCandidate", err)
	}
	for _, want := range []string{"precision >= 0.9000", "imgsz=416 lr0=0.01", "precision 0.4500 < 0.9000"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if _, err := f.c.GetRegisteredModel(ctx, "person-grid"); !tracking.IsNotFound(err) {
		t.Errorf("a refusal registered a model: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(res.ReportDir, ReportMarkdown))
	if err != nil || !strings.Contains(string(md), "# Promotion refused") {
		t.Errorf("no refusal report: %v", err)
	}
}

func TestPromoteDryRunChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o := f.options(t)
	o.DryRun = true
	res, err := Promote(ctx, f.c, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Registration != nil || res.ReportURI != "" {
		t.Errorf("dry run registered %+v / uploaded %q", res.Registration, res.ReportURI)
	}
	if _, err := f.c.GetRegisteredModel(ctx, "person-grid"); !tracking.IsNotFound(err) {
		t.Errorf("dry run created the model: %v", err)
	}
	arts, _ := f.c.ListArtifacts(ctx, res.Analysis.Candidate.ID, "promotion")
	if len(arts) != 0 {
		t.Errorf("dry run uploaded %v", arts)
	}
	if _, err := os.Stat(filepath.Join(o.OutDir, ReportHTML)); err != nil {
		t.Error(err)
	}
}

func TestPromoteErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"unknown experiment", func(o *Options) { o.Experiment = "nope" }, `no experiment named "nope"`},
		{"unknown metric", func(o *Options) { o.Metric = "mAP75" }, `metric "mAP75": no run logged "mAP75"`},
		{"loss", func(o *Options) { o.Metric = "val/box_loss" }, "a loss is not an objective"},
		{"bad stage", func(o *Options) { o.Stage = "Archived" }, `stage "Archived": want Staging or Production`},
		{"constraint on unlogged metric", func(o *Options) { o.Constraints = []Constraint{{Metric: "f1", Min: 0.1}} }, `--min f1=0.1000: metric "f1"`},
		{"missing weights", func(o *Options) { o.Weights = "weights/last.safetensors" }, "has no weights/last.safetensors artifact"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := f.options(t)
			tc.edit(&o)
			_, err := Promote(ctx, f.c, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Through a tracking server: the registry calls, the artifact listing
// and the report upload go over MLflow's REST API and the proxied
// artifact endpoints.
func TestPromoteOverREST(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// The fixture's local tracking folder, served.
	srv := servertest.Start(t, servertest.Options{Dir: filepath.Join(f.dir, "tracking")})
	st, arts := srv.Store, srv.Artifacts
	c, err := client.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := f.options(t)
	o.Stage = "Production"
	res, err := Promote(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Registration.Version
	if v.Version != "1" || v.CurrentStage != tracking.StageProduction || v.RunID != f.runIDs["yolov8n_e3_sz416_lr0.01_s42"] {
		t.Errorf("version %+v", v)
	}
	ts, err := st.GetStageTransitions(ctx, "person-grid", "1")
	if err != nil || len(ts) != 2 || ts[1].UserID != "ci" {
		t.Errorf("transitions over REST: %+v, %v; want 2, by ci", ts, err)
	}
	infos, err := arts.List(ctx, f.runArtifactPrefix(t, v.RunID)+"/promotion/20260301T120000Z", false)
	if err != nil || len(infos) != 5 {
		t.Errorf("report uploaded through the server: %v, %v; want 5 files", infos, err)
	}
	again, err := Promote(ctx, c, o)
	if err != nil || again.Registration.Created {
		t.Errorf("second promotion over REST: created=%v, %v", again != nil && again.Registration.Created, err)
	}
}

// runArtifactPrefix is the key prefix of a run's artifacts in the
// embedded store's artifacts folder: <experiment>/<run>/artifacts.
func (f *fixture) runArtifactPrefix(t *testing.T, runID string) string {
	t.Helper()
	return f.expID + "/" + runID + "/artifacts"
}
