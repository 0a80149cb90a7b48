package storetest

import (
	"sort"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
)

func testDefaultExperiment(t *testing.T, s tracking.Store) {
	c := ctx(t)
	e, err := s.GetExperiment(c, tracking.DefaultExperimentID)
	must(t, err)
	if e.Name != tracking.DefaultExperimentName || e.LifecycleStage != tracking.Active {
		t.Errorf("experiment 0 = %+v, want the active experiment %q", e, tracking.DefaultExperimentName)
	}
	if !strings.HasSuffix(e.ArtifactLocation, "/0") && !strings.HasSuffix(e.ArtifactLocation, ":0") {
		t.Errorf("default artifact location %q does not end in the experiment id", e.ArtifactLocation)
	}
	if e, err := s.GetExperiment(c, ""); err != nil || e.ExperimentID != tracking.DefaultExperimentID {
		t.Errorf(`GetExperiment("") = %+v, %v; want the default experiment, as MLflow`, e, err)
	}
	byName, err := s.GetExperimentByName(c, tracking.DefaultExperimentName)
	must(t, err)
	if byName.ExperimentID != tracking.DefaultExperimentID {
		t.Errorf("experiment %q has id %s, want 0", tracking.DefaultExperimentName, byName.ExperimentID)
	}
	// A run created without an experiment goes to the default one.
	r, err := s.CreateRun(c, tracking.CreateRun{})
	must(t, err)
	if r.Info.ExperimentID != tracking.DefaultExperimentID {
		t.Errorf("run created without an experiment is in %s, want 0", r.Info.ExperimentID)
	}
}

func testCreateExperiment(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id, err := s.CreateExperiment(c, "yolo-person", "", []tracking.Tag{{Key: "team", Value: "cv"}, {Key: "team", Value: "vision"}})
	must(t, err)
	if id == tracking.DefaultExperimentID || id == "" {
		t.Fatalf("new experiment got id %q", id)
	}
	e, err := s.GetExperiment(c, id)
	must(t, err)
	if e.Name != "yolo-person" || e.LifecycleStage != tracking.Active || e.CreationTime == 0 || e.LastUpdateTime == 0 {
		t.Errorf("created experiment = %+v", e)
	}
	if !strings.HasSuffix(e.ArtifactLocation, "/"+id) {
		t.Errorf("artifact location %q, want <root>/%s", e.ArtifactLocation, id)
	}
	if got := tagMap(e.Tags); len(got) != 1 || got["team"] != "vision" {
		t.Errorf("tags = %v, want team=vision (the last value of a repeated key)", e.Tags)
	}

	id2, err := s.CreateExperiment(c, "explicit", "s3://bucket/exp", nil)
	must(t, err)
	e2, err := s.GetExperiment(c, id2)
	must(t, err)
	if e2.ArtifactLocation != "s3://bucket/exp" {
		t.Errorf("artifact location %q, want the one given", e2.ArtifactLocation)
	}
	if id2 == id {
		t.Errorf("two experiments share id %s", id)
	}

	_, err = s.CreateExperiment(c, "yolo-person", "", nil)
	wantCode(t, err, tracking.ResourceAlreadyExists, "duplicate experiment name")

	bad := []struct {
		name, loc string
		tags      []tracking.Tag
	}{
		{"", "", nil},
		{strings.Repeat("x", tracking.MaxExperimentNameLength+1), "", nil},
		{"runs-loc", "runs:/abc/model", nil},
		{"bad-tag", "", []tracking.Tag{{Key: "a/../b", Value: "x"}}},
		{"long-tag", "", []tracking.Tag{{Key: "k", Value: strings.Repeat("v", tracking.MaxExperimentTagValueLen+1)}}},
	}
	for _, b := range bad {
		_, err := s.CreateExperiment(c, b.name, b.loc, b.tags)
		wantCode(t, err, tracking.InvalidParameterValue, "CreateExperiment("+b.name[:min(len(b.name), 20)]+")")
	}

	for _, missing := range []string{"987654", "abc", "-1"} {
		_, err := s.GetExperiment(c, missing)
		wantCode(t, err, tracking.ResourceDoesNotExist, "GetExperiment("+missing+")")
	}
	_, err = s.GetExperimentByName(c, "no such experiment")
	wantCode(t, err, tracking.ResourceDoesNotExist, "GetExperimentByName of a missing name")
}

func testExperimentLifecycle(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newExperiment(t, s, "lifecycle")
	r1 := newRun(t, s, id, "r1")
	r2 := newRun(t, s, id, "r2")
	must(t, s.DeleteRun(c, r2.Info.RunID))

	must(t, s.DeleteExperiment(c, id))
	e, err := s.GetExperiment(c, id)
	must(t, err)
	if e.LifecycleStage != tracking.Deleted {
		t.Errorf("deleted experiment is %s", e.LifecycleStage)
	}
	for _, r := range []*tracking.Run{r1, r2} {
		got, err := s.GetRun(c, r.Info.RunID)
		must(t, err)
		if got.Info.LifecycleStage != tracking.Deleted {
			t.Errorf("run %s of a deleted experiment is %s", r.Info.RunName, got.Info.LifecycleStage)
		}
	}
	wantCode(t, s.DeleteExperiment(c, id), tracking.ResourceDoesNotExist, "deleting a deleted experiment")
	_, err = s.CreateRun(c, tracking.CreateRun{ExperimentID: id})
	wantCode(t, err, tracking.InvalidParameterValue, "creating a run in a deleted experiment")
	wantCode(t, s.SetExperimentTag(c, id, tracking.Tag{Key: "k", Value: "v"}), tracking.InvalidParameterValue, "tagging a deleted experiment")
	wantCode(t, s.RenameExperiment(c, id, "other"), tracking.InvalidState, "renaming a deleted experiment")
	_, err = s.CreateExperiment(c, "lifecycle", "", nil)
	wantCode(t, err, tracking.ResourceAlreadyExists, "reusing the name of a deleted experiment")

	// Restoring brings back every run, as MLflow does.
	must(t, s.RestoreExperiment(c, id))
	wantCode(t, s.RestoreExperiment(c, id), tracking.ResourceDoesNotExist, "restoring an active experiment")
	for _, r := range []*tracking.Run{r1, r2} {
		got, err := s.GetRun(c, r.Info.RunID)
		must(t, err)
		if got.Info.LifecycleStage != tracking.Active {
			t.Errorf("run %s of a restored experiment is %s", r.Info.RunName, got.Info.LifecycleStage)
		}
	}
	wantCode(t, s.DeleteExperiment(c, "424242"), tracking.ResourceDoesNotExist, "deleting a missing experiment")
}

func testRenameExperiment(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newExperiment(t, s, "before")
	newExperiment(t, s, "taken")
	must(t, s.RenameExperiment(c, id, "after"))
	e, err := s.GetExperimentByName(c, "after")
	must(t, err)
	if e.ExperimentID != id {
		t.Errorf("renamed experiment has id %s, want %s", e.ExperimentID, id)
	}
	_, err = s.GetExperimentByName(c, "before")
	wantCode(t, err, tracking.ResourceDoesNotExist, "the old name after a rename")
	wantCode(t, s.RenameExperiment(c, id, "taken"), tracking.ResourceAlreadyExists, "renaming to a taken name")
	wantCode(t, s.RenameExperiment(c, id, ""), tracking.InvalidParameterValue, "renaming to an empty name")
	wantCode(t, s.RenameExperiment(c, "31337", "x"), tracking.ResourceDoesNotExist, "renaming a missing experiment")
}

func testExperimentTags(t *testing.T, s tracking.Store) {
	c := ctx(t)
	id := newExperiment(t, s, "tags")
	must(t, s.SetExperimentTag(c, id, tracking.Tag{Key: "a", Value: "1"}))
	must(t, s.SetExperimentTag(c, id, tracking.Tag{Key: "b", Value: "2"}))
	must(t, s.SetExperimentTag(c, id, tracking.Tag{Key: "a", Value: "3"}))
	e, err := s.GetExperiment(c, id)
	must(t, err)
	if got := tagMap(e.Tags); len(got) != 2 || got["a"] != "3" || got["b"] != "2" {
		t.Errorf("tags = %v, want a=3 b=2", e.Tags)
	}
	must(t, s.DeleteExperimentTag(c, id, "a"))
	wantCode(t, s.DeleteExperimentTag(c, id, "a"), tracking.ResourceDoesNotExist, "deleting a missing experiment tag")
	e, err = s.GetExperiment(c, id)
	must(t, err)
	if got := tagMap(e.Tags); len(got) != 1 || got["b"] != "2" {
		t.Errorf("tags after delete = %v, want b=2", e.Tags)
	}
	wantCode(t, s.SetExperimentTag(c, id, tracking.Tag{Key: "", Value: "x"}), tracking.InvalidParameterValue, "empty tag key")
	wantCode(t, s.SetExperimentTag(c, "777777", tracking.Tag{Key: "k", Value: "x"}), tracking.ResourceDoesNotExist, "tag on a missing experiment")
}

func testSearchExperiments(t *testing.T, s tracking.Store) {
	c := ctx(t)
	ids := map[string]string{"Default": tracking.DefaultExperimentID}
	for _, e := range []struct {
		name string
		tags []tracking.Tag
	}{
		{"yolo-n", []tracking.Tag{{Key: "team", Value: "cv"}}},
		{"yolo-s", []tracking.Tag{{Key: "team", Value: "CV-infra"}}},
		{"Yolo-x", nil},
		{"detr", []tracking.Tag{{Key: "team", Value: "research"}}},
	} {
		tick()
		ids[e.name] = newExperiment(t, s, e.name, e.tags...)
	}
	must(t, s.DeleteExperiment(c, ids["detr"]))

	names := func(exps []tracking.Experiment) []string {
		var out []string
		for _, e := range exps {
			out = append(out, e.Name)
		}
		return out
	}
	tests := []struct {
		req  tracking.SearchExperiments
		want []string // in order
	}{
		// Default order: newest first.
		{tracking.SearchExperiments{}, []string{"Yolo-x", "yolo-s", "yolo-n", "Default"}},
		{tracking.SearchExperiments{ViewType: tracking.AllStages}, []string{"detr", "Yolo-x", "yolo-s", "yolo-n", "Default"}},
		{tracking.SearchExperiments{ViewType: tracking.DeletedOnly}, []string{"detr"}},
		{tracking.SearchExperiments{Filter: "name LIKE 'yolo%'", OrderBy: []string{"name ASC"}}, []string{"yolo-n", "yolo-s"}},
		{tracking.SearchExperiments{Filter: "name ILIKE 'yolo%'", OrderBy: []string{"name DESC"}}, []string{"yolo-s", "yolo-n", "Yolo-x"}},
		{tracking.SearchExperiments{Filter: "attribute.name = 'Yolo-x'"}, []string{"Yolo-x"}},
		{tracking.SearchExperiments{Filter: "name != 'Default'", OrderBy: []string{"creation_time ASC"}}, []string{"yolo-n", "yolo-s", "Yolo-x"}},
		{tracking.SearchExperiments{Filter: "tags.team = 'cv'"}, []string{"yolo-n"}},
		{tracking.SearchExperiments{Filter: "tags.team ILIKE 'cv%'", OrderBy: []string{"name"}}, []string{"yolo-n", "yolo-s"}},
		{tracking.SearchExperiments{Filter: "tags.team LIKE 'cv%'"}, []string{"yolo-n"}},
		{tracking.SearchExperiments{Filter: "tags.team != 'cv'", ViewType: tracking.AllStages, OrderBy: []string{"name"}}, []string{"detr", "yolo-s"}},
		{tracking.SearchExperiments{Filter: "creation_time > 0 and name LIKE '%-x'"}, []string{"Yolo-x"}},
		{tracking.SearchExperiments{OrderBy: []string{"experiment_id ASC"}}, []string{"Default", "yolo-n", "yolo-s", "Yolo-x"}},
	}
	for _, tt := range tests {
		got, next, err := s.SearchExperiments(c, tt.req)
		if err != nil {
			t.Errorf("SearchExperiments(%+v): %v", tt.req, err)
			continue
		}
		if strings.Join(names(got), ",") != strings.Join(tt.want, ",") || next != "" {
			t.Errorf("SearchExperiments(%+v) = %v (next %q), want %v", tt.req, names(got), next, tt.want)
		}
	}

	// Pages of 2 return every experiment once.
	var all []string
	req := tracking.SearchExperiments{MaxResults: 2, ViewType: tracking.AllStages}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		got, next, err := s.SearchExperiments(c, req)
		must(t, err)
		if len(got) > 2 {
			t.Fatalf("page of %d experiments, asked for 2", len(got))
		}
		all = append(all, names(got)...)
		if next == "" {
			break
		}
		req.PageToken = next
	}
	sort.Strings(all)
	if strings.Join(all, ",") != "Default,Yolo-x,detr,yolo-n,yolo-s" {
		t.Errorf("pages held %v", all)
	}

	for _, bad := range []tracking.SearchExperiments{
		{Filter: "metrics.x > 1"},
		{Filter: "name = 'a' OR name = 'b'"},
		{OrderBy: []string{"tags.team"}},
		{OrderBy: []string{"name", "name DESC"}},
		{MaxResults: 50001},
		{MaxResults: -1},
		{PageToken: "not a token"},
	} {
		_, _, err := s.SearchExperiments(c, bad)
		wantCode(t, err, tracking.InvalidParameterValue, "SearchExperiments bad request")
	}
}
