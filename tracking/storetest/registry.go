package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
)

func newVersion(t *testing.T, s tracking.Store, name, runID string) *tracking.ModelVersion {
	t.Helper()
	mv, err := s.CreateModelVersion(ctx(t), tracking.CreateModelVersion{Name: name, Source: "runs:/" + runID + "/weights/best.pt", RunID: runID, UserID: "trainer"})
	must(t, err)
	return mv
}

func testRegisteredModels(t *testing.T, s tracking.Store) {
	c := ctx(t)
	rm, err := s.CreateRegisteredModel(c, "person-detector", []tracking.Tag{{Key: "task", Value: "detect"}}, "YOLOv8n, person only")
	must(t, err)
	if rm.Name != "person-detector" || rm.Description != "YOLOv8n, person only" || rm.CreationTimestamp == 0 ||
		rm.LastUpdatedTimestamp != rm.CreationTimestamp || tagMap(rm.Tags)["task"] != "detect" || len(rm.LatestVersions) != 0 {
		t.Errorf("created model = %+v", rm)
	}
	_, err = s.CreateRegisteredModel(c, "person-detector", nil, "")
	wantCode(t, err, tracking.ResourceAlreadyExists, "duplicate model")
	_, err = s.CreateRegisteredModel(c, "", nil, "")
	wantCode(t, err, tracking.InvalidParameterValue, "empty model name")
	_, err = s.CreateRegisteredModel(c, "bad-tag", []tracking.Tag{{Key: "", Value: "x"}}, "")
	wantCode(t, err, tracking.InvalidParameterValue, "model with an empty tag key")

	tick()
	rm, err = s.UpdateRegisteredModel(c, "person-detector", "new description")
	must(t, err)
	if rm.Description != "new description" || rm.LastUpdatedTimestamp <= rm.CreationTimestamp {
		t.Errorf("updated model = %+v", rm)
	}
	must(t, s.SetRegisteredModelTag(c, "person-detector", tracking.Tag{Key: "task", Value: "detection"}))
	must(t, s.SetRegisteredModelTag(c, "person-detector", tracking.Tag{Key: "owner", Value: "cv"}))
	must(t, s.DeleteRegisteredModelTag(c, "person-detector", "owner"))
	must(t, s.DeleteRegisteredModelTag(c, "person-detector", "never-set"))
	got, err := s.GetRegisteredModel(c, "person-detector")
	must(t, err)
	if tags := tagMap(got.Tags); len(tags) != 1 || tags["task"] != "detection" {
		t.Errorf("model tags = %v", got.Tags)
	}

	// A rename carries versions, tags and aliases along.
	run := newRun(t, s, tracking.DefaultExperimentID, "train")
	newVersion(t, s, "person-detector", run.Info.RunID)
	must(t, s.SetModelVersionTag(c, "person-detector", "1", tracking.Tag{Key: "val", Value: "ok"}))
	must(t, s.SetRegisteredModelAlias(c, "person-detector", "champion", "1"))
	_, err = s.CreateRegisteredModel(c, "taken", nil, "")
	must(t, err)
	_, err = s.RenameRegisteredModel(c, "person-detector", "taken")
	wantCode(t, err, tracking.ResourceAlreadyExists, "renaming onto a taken name")
	rm, err = s.RenameRegisteredModel(c, "person-detector", "people")
	must(t, err)
	if rm.Name != "people" || len(rm.Aliases) != 1 || len(rm.LatestVersions) != 1 || rm.LatestVersions[0].Name != "people" {
		t.Errorf("renamed model = %+v", rm)
	}
	mv, err := s.GetModelVersion(c, "people", "1")
	must(t, err)
	if tagMap(mv.Tags)["val"] != "ok" || len(mv.Aliases) != 1 || mv.Aliases[0] != "champion" {
		t.Errorf("version of the renamed model = %+v", mv)
	}
	_, err = s.GetRegisteredModel(c, "person-detector")
	wantCode(t, err, tracking.ResourceDoesNotExist, "old name after rename")

	must(t, s.DeleteRegisteredModel(c, "people"))
	_, err = s.GetRegisteredModel(c, "people")
	wantCode(t, err, tracking.ResourceDoesNotExist, "deleted model")
	_, err = s.GetModelVersion(c, "people", "1")
	wantCode(t, err, tracking.ResourceDoesNotExist, "version of a deleted model")
	wantCode(t, s.DeleteRegisteredModel(c, "people"), tracking.ResourceDoesNotExist, "deleting a missing model")
	// The name is free again.
	_, err = s.CreateRegisteredModel(c, "people", nil, "")
	must(t, err)
	mv, err = s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "people", Source: "s3://b/m"})
	must(t, err)
	if mv.Version != "1" {
		t.Errorf("first version of a re-created model is %s", mv.Version)
	}
}

func testModelVersions(t *testing.T, s tracking.Store) {
	c := ctx(t)
	_, err := s.CreateRegisteredModel(c, "det", nil, "")
	must(t, err)
	run := newRun(t, s, tracking.DefaultExperimentID, "train")
	mv, err := s.CreateModelVersion(c, tracking.CreateModelVersion{
		Name: "det", Source: "runs:/" + run.Info.RunID + "/weights/best.pt", UserID: "alice",
		Description: "first", RunLink: "http://x/run", Tags: []tracking.Tag{{Key: "imgsz", Value: "320"}},
	})
	must(t, err)
	if mv.Version != "1" || mv.CurrentStage != tracking.StageNone || mv.Status != tracking.VersionReady ||
		mv.RunID != run.Info.RunID || mv.Source != run.Info.ArtifactURI+"/weights/best.pt" || mv.UserID != "alice" ||
		mv.Description != "first" || mv.RunLink != "http://x/run" || tagMap(mv.Tags)["imgsz"] != "320" || mv.CreationTimestamp == 0 {
		t.Errorf("version 1 = %+v", mv)
	}
	for want := 2; want <= 3; want++ {
		if mv := newVersion(t, s, "det", run.Info.RunID); mv.Version != fmt.Sprint(want) {
			t.Errorf("version %s, want %d", mv.Version, want)
		}
	}
	// Deleted numbers are not given again.
	must(t, s.DeleteModelVersion(c, "det", "3"))
	_, err = s.GetModelVersion(c, "det", "3")
	wantCode(t, err, tracking.ResourceDoesNotExist, "deleted version")
	wantCode(t, s.DeleteModelVersion(c, "det", "3"), tracking.ResourceDoesNotExist, "deleting a deleted version")
	if mv := newVersion(t, s, "det", run.Info.RunID); mv.Version != "4" {
		t.Errorf("version after deleting 3 of 3 is %s, want 4", mv.Version)
	}
	mv, err = s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det", Source: "s3://bucket/model"})
	must(t, err)
	if mv.Source != "s3://bucket/model" || mv.RunID != "" {
		t.Errorf("version from a plain source = %+v", mv)
	}

	tick()
	mv, err = s.UpdateModelVersion(c, "det", "1", "better")
	must(t, err)
	if mv.Description != "better" || mv.LastUpdatedTimestamp <= mv.CreationTimestamp {
		t.Errorf("updated version = %+v", mv)
	}
	uri, err := s.GetModelVersionDownloadURI(c, "det", "2")
	must(t, err)
	if uri != run.Info.ArtifactURI+"/weights/best.pt" {
		t.Errorf("download URI %q", uri)
	}
	must(t, s.SetModelVersionTag(c, "det", "2", tracking.Tag{Key: "a", Value: "1"}))
	must(t, s.SetModelVersionTag(c, "det", "2", tracking.Tag{Key: "a", Value: "2"}))
	must(t, s.DeleteModelVersionTag(c, "det", "2", "missing"))
	mv, err = s.GetModelVersion(c, "det", "2")
	must(t, err)
	if tags := tagMap(mv.Tags); len(tags) != 1 || tags["a"] != "2" {
		t.Errorf("version tags = %v", mv.Tags)
	}
	must(t, s.DeleteModelVersionTag(c, "det", "2", "a"))

	errs := []struct {
		what string
		err  error
		code tracking.ErrorCode
	}{
		{"version of a missing model", err2(s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "nope", Source: "s3://x"})), tracking.ResourceDoesNotExist},
		{"version of a missing run", err2(s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det", Source: "runs:/" + strings.Repeat("a", 32) + "/m"})), tracking.ResourceDoesNotExist},
		{"version with a missing run_id", err2(s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det", Source: "s3://x", RunID: strings.Repeat("b", 32)})), tracking.ResourceDoesNotExist},
		{"source and run_id disagreeing", err2(s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det", Source: "runs:/" + run.Info.RunID + "/m", RunID: strings.Repeat("b", 32)})), tracking.InvalidParameterValue},
		{"version without a source", err2(s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det"})), tracking.InvalidParameterValue},
		{"non-numeric version", err2(s.GetModelVersion(c, "det", "one")), tracking.InvalidParameterValue},
		{"missing version", err2(s.GetModelVersion(c, "det", "99")), tracking.ResourceDoesNotExist},
		{"tag on a missing version", s.SetModelVersionTag(c, "det", "99", tracking.Tag{Key: "a", Value: "b"}), tracking.ResourceDoesNotExist},
		{"bad version tag", s.SetModelVersionTag(c, "det", "1", tracking.Tag{Key: "a/..", Value: "b"}), tracking.InvalidParameterValue},
	}
	for _, e := range errs {
		wantCode(t, e.err, e.code, e.what)
	}
}

// err2 keeps the error of a two-result call.
func err2[T any](_ T, err error) error { return err }

func testStageTransitions(t *testing.T, s tracking.Store) {
	c := ctx(t)
	_, err := s.CreateRegisteredModel(c, "det", nil, "")
	must(t, err)
	run := newRun(t, s, tracking.DefaultExperimentID, "train")
	for range 4 {
		newVersion(t, s, "det", run.Info.RunID)
	}
	transition := func(version, stage string, archive bool, comment string) *tracking.ModelVersion {
		t.Helper()
		mv, err := s.TransitionModelVersionStage(c, tracking.TransitionStage{Name: "det", Version: version, Stage: stage,
			ArchiveExistingVersions: archive, UserID: "bob", Comment: comment})
		must(t, err)
		return mv
	}
	if mv := transition("1", "staging", false, "smoke test"); mv.CurrentStage != tracking.StageStaging {
		t.Errorf("stage after transition to staging: %q", mv.CurrentStage)
	}
	transition("2", "Production", false, "")
	transition("3", "PRODUCTION", false, "")
	transition("4", "Production", true, "mAP50 0.61 > 0.58")
	stages := map[string]string{}
	for _, v := range []string{"1", "2", "3", "4"} {
		mv, err := s.GetModelVersion(c, "det", v)
		must(t, err)
		stages[v] = mv.CurrentStage
	}
	if fmt.Sprint(stages) != "map[1:Staging 2:Archived 3:Archived 4:Production]" {
		t.Errorf("stages after archiving transition: %v", stages)
	}

	latest, err := s.GetLatestVersions(c, "det", nil)
	must(t, err)
	byStage := map[string]string{}
	for _, v := range latest {
		byStage[v.CurrentStage] = v.Version
	}
	if fmt.Sprint(byStage) != "map[Archived:3 Production:4 Staging:1]" {
		t.Errorf("latest versions = %v", byStage)
	}
	latest, err = s.GetLatestVersions(c, "det", []string{"production", "None"})
	must(t, err)
	if len(latest) != 1 || latest[0].Version != "4" {
		t.Errorf("latest production = %+v", latest)
	}
	rm, err := s.GetRegisteredModel(c, "det")
	must(t, err)
	if len(rm.LatestVersions) != 3 {
		t.Errorf("model's latest versions = %+v", rm.LatestVersions)
	}

	history, err := s.GetStageTransitions(c, "det", "2")
	must(t, err)
	if len(history) != 2 ||
		history[0].FromStage != "None" || history[0].ToStage != "Production" || history[0].UserID != "bob" || history[0].Timestamp == 0 ||
		history[1].FromStage != "Production" || history[1].ToStage != "Archived" || !strings.Contains(history[1].Comment, "4") {
		t.Errorf("history of version 2 = %+v", history)
	}
	history, err = s.GetStageTransitions(c, "det", "4")
	must(t, err)
	if len(history) != 1 || history[0].Comment != "mAP50 0.61 > 0.58" || history[0].ToStage != "Production" {
		t.Errorf("history of version 4 = %+v", history)
	}

	for _, bad := range []tracking.TransitionStage{
		{Name: "det", Version: "1", Stage: "Live"},
		{Name: "det", Version: "1", Stage: "Archived", ArchiveExistingVersions: true},
		{Name: "det", Version: "1", Stage: "None", ArchiveExistingVersions: true},
	} {
		_, err := s.TransitionModelVersionStage(c, bad)
		wantCode(t, err, tracking.InvalidParameterValue, "transition to "+bad.Stage)
	}
	_, err = s.TransitionModelVersionStage(c, tracking.TransitionStage{Name: "det", Version: "9", Stage: "Staging"})
	wantCode(t, err, tracking.ResourceDoesNotExist, "transition of a missing version")
	_, err = s.GetLatestVersions(c, "det", []string{"Live"})
	wantCode(t, err, tracking.InvalidParameterValue, "latest of an unknown stage")
	_, err = s.GetLatestVersions(c, "nope", nil)
	wantCode(t, err, tracking.ResourceDoesNotExist, "latest of a missing model")
}

func testAliases(t *testing.T, s tracking.Store) {
	c := ctx(t)
	_, err := s.CreateRegisteredModel(c, "det", nil, "")
	must(t, err)
	run := newRun(t, s, tracking.DefaultExperimentID, "train")
	for range 3 {
		newVersion(t, s, "det", run.Info.RunID)
	}
	must(t, s.SetRegisteredModelAlias(c, "det", "champion", "1"))
	must(t, s.SetRegisteredModelAlias(c, "det", "challenger", "2"))
	mv, err := s.GetModelVersionByAlias(c, "det", "champion")
	must(t, err)
	if mv.Version != "1" || len(mv.Aliases) != 1 || mv.Aliases[0] != "champion" {
		t.Errorf("champion = %+v", mv)
	}
	// Moving the alias.
	must(t, s.SetRegisteredModelAlias(c, "det", "champion", "3"))
	mv, err = s.GetModelVersionByAlias(c, "det", "champion")
	must(t, err)
	if mv.Version != "3" {
		t.Errorf("champion after the move is version %s", mv.Version)
	}
	v1, err := s.GetModelVersion(c, "det", "1")
	must(t, err)
	if len(v1.Aliases) != 0 {
		t.Errorf("version 1 still has aliases %v", v1.Aliases)
	}
	rm, err := s.GetRegisteredModel(c, "det")
	must(t, err)
	if fmt.Sprint(rm.Aliases) != "[{challenger 2} {champion 3}]" {
		t.Errorf("model aliases = %v", rm.Aliases)
	}

	must(t, s.DeleteRegisteredModelAlias(c, "det", "challenger"))
	must(t, s.DeleteRegisteredModelAlias(c, "det", "challenger")) // absent: no error
	_, err = s.GetModelVersionByAlias(c, "det", "challenger")
	wantCode(t, err, tracking.ResourceDoesNotExist, "deleted alias")
	// Deleting a version deletes its aliases.
	must(t, s.DeleteModelVersion(c, "det", "3"))
	_, err = s.GetModelVersionByAlias(c, "det", "champion")
	wantCode(t, err, tracking.ResourceDoesNotExist, "alias of a deleted version")

	for _, bad := range []string{"", "latest", "LATEST", "v1", "V12", "has space", "dot.ted", strings.Repeat("a", 256)} {
		wantCode(t, s.SetRegisteredModelAlias(c, "det", bad, "1"), tracking.InvalidParameterValue, "alias "+bad)
	}
	for _, ok := range []string{"v1a", "prod-2024_01", "version1"} {
		must(t, s.SetRegisteredModelAlias(c, "det", ok, "1"))
	}
	wantCode(t, s.SetRegisteredModelAlias(c, "det", "x", "3"), tracking.ResourceDoesNotExist, "alias to a deleted version")
	wantCode(t, s.SetRegisteredModelAlias(c, "det", "x", "17"), tracking.ResourceDoesNotExist, "alias to a missing version")
	wantCode(t, s.SetRegisteredModelAlias(c, "nope", "x", "1"), tracking.ResourceDoesNotExist, "alias on a missing model")
	_, err = s.GetModelVersionByAlias(c, "nope", "x")
	wantCode(t, err, tracking.ResourceDoesNotExist, "alias of a missing model")
}

func testSearchRegisteredModels(t *testing.T, s tracking.Store) {
	c := ctx(t)
	for _, m := range []struct {
		name string
		tags []tracking.Tag
	}{
		{"yolo-person", []tracking.Tag{{Key: "task", Value: "detect"}}},
		{"yolo-car", []tracking.Tag{{Key: "task", Value: "detect"}, {Key: "stage", Value: "beta"}}},
		{"Yolo-seg", []tracking.Tag{{Key: "task", Value: "segment"}}},
		{"resnet", nil},
	} {
		tick()
		_, err := s.CreateRegisteredModel(c, m.name, m.tags, "")
		must(t, err)
	}
	names := func(ms []tracking.RegisteredModel) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		req  tracking.SearchRegisteredModels
		want string
	}{
		{tracking.SearchRegisteredModels{}, "Yolo-seg resnet yolo-car yolo-person"},
		{tracking.SearchRegisteredModels{Filter: "name LIKE 'yolo%'"}, "yolo-car yolo-person"},
		{tracking.SearchRegisteredModels{Filter: "name ILIKE 'yolo%'"}, "Yolo-seg yolo-car yolo-person"},
		{tracking.SearchRegisteredModels{Filter: "name = 'resnet'"}, "resnet"},
		{tracking.SearchRegisteredModels{Filter: "name != 'resnet'", OrderBy: []string{"name DESC"}}, "yolo-person yolo-car Yolo-seg"},
		{tracking.SearchRegisteredModels{Filter: "tags.task = 'detect'"}, "yolo-car yolo-person"},
		{tracking.SearchRegisteredModels{Filter: "tags.task = 'detect' and tags.stage = 'beta'"}, "yolo-car"},
		{tracking.SearchRegisteredModels{Filter: "tags.task LIKE 'seg%'"}, "Yolo-seg"},
		{tracking.SearchRegisteredModels{OrderBy: []string{"creation_timestamp DESC"}}, "resnet Yolo-seg yolo-car yolo-person"},
		{tracking.SearchRegisteredModels{OrderBy: []string{"timestamp ASC"}}, "yolo-person yolo-car Yolo-seg resnet"},
	}
	for _, tt := range tests {
		got, next, err := s.SearchRegisteredModels(c, tt.req)
		if err != nil {
			t.Errorf("%+v: %v", tt.req, err)
			continue
		}
		if names(got) != tt.want || next != "" {
			t.Errorf("%+v = %s (next %q), want %s", tt.req, names(got), next, tt.want)
		}
	}
	var all []string
	req := tracking.SearchRegisteredModels{MaxResults: 3}
	for {
		got, next, err := s.SearchRegisteredModels(c, req)
		must(t, err)
		all = append(all, names(got))
		if next == "" {
			break
		}
		req.PageToken = next
	}
	if strings.Join(all, "|") != "Yolo-seg resnet yolo-car|yolo-person" {
		t.Errorf("pages = %q", all)
	}
	for _, bad := range []tracking.SearchRegisteredModels{
		{Filter: "run_id = 'x'"},
		{OrderBy: []string{"timestamp", "last_updated_timestamp"}},
		{MaxResults: 1001},
	} {
		_, _, err := s.SearchRegisteredModels(c, bad)
		wantCode(t, err, tracking.InvalidParameterValue, fmt.Sprintf("search models %+v", bad))
	}
}

func testSearchModelVersions(t *testing.T, s tracking.Store) {
	c := ctx(t)
	r1 := newRun(t, s, tracking.DefaultExperimentID, "a").Info.RunID
	r2 := newRun(t, s, tracking.DefaultExperimentID, "b").Info.RunID
	for _, name := range []string{"det", "seg"} {
		_, err := s.CreateRegisteredModel(c, name, nil, "")
		must(t, err)
	}
	// det 1 (r1), det 2 (r2), seg 1 (r1), det 3 (r2, deleted), det 4 (s3)
	for _, v := range []struct{ name, run string }{{"det", r1}, {"det", r2}, {"seg", r1}, {"det", r2}} {
		tick()
		newVersion(t, s, v.name, v.run)
	}
	tick()
	_, err := s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det", Source: "s3://models/det"})
	must(t, err)
	must(t, s.DeleteModelVersion(c, "det", "3"))
	must(t, s.SetModelVersionTag(c, "det", "2", tracking.Tag{Key: "validated", Value: "yes"}))
	keys := func(vs []tracking.ModelVersion) string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name+"/"+v.Version)
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		req  tracking.SearchModelVersions
		want string
	}{
		// Newest update first; deleting det 3 touched no other version.
		{tracking.SearchModelVersions{}, "det/4 seg/1 det/2 det/1"},
		{tracking.SearchModelVersions{Filter: "name = 'det'", OrderBy: []string{"version_number ASC"}}, "det/1 det/2 det/4"},
		{tracking.SearchModelVersions{Filter: "run_id = '" + r1 + "'", OrderBy: []string{"name"}}, "det/1 seg/1"},
		{tracking.SearchModelVersions{Filter: "run_id IN ('" + r1 + "', '" + r2 + "') and name = 'det'"}, "det/2 det/1"},
		{tracking.SearchModelVersions{Filter: "version_number >= 2"}, "det/4 det/2"},
		{tracking.SearchModelVersions{Filter: "source_path LIKE 's3://%'"}, "det/4"},
		{tracking.SearchModelVersions{Filter: "tags.validated = 'yes'"}, "det/2"},
		{tracking.SearchModelVersions{OrderBy: []string{"creation_timestamp ASC"}}, "det/1 det/2 seg/1 det/4"},
	}
	for _, tt := range tests {
		got, next, err := s.SearchModelVersions(c, tt.req)
		if err != nil {
			t.Errorf("%+v: %v", tt.req, err)
			continue
		}
		if keys(got) != tt.want || next != "" {
			t.Errorf("%+v = %s (next %q), want %s", tt.req, keys(got), next, tt.want)
		}
	}
	var all []string
	req := tracking.SearchModelVersions{MaxResults: 1, OrderBy: []string{"name", "version_number"}}
	for {
		got, next, err := s.SearchModelVersions(c, req)
		must(t, err)
		all = append(all, keys(got))
		if next == "" {
			break
		}
		req.PageToken = next
	}
	if strings.Join(all, " ") != "det/1 det/2 det/4 seg/1" {
		t.Errorf("pages of 1 = %v", all)
	}
	for _, bad := range []tracking.SearchModelVersions{
		{Filter: "current_stage = 'Production'"},
		{Filter: "name IN ('det')"},
		{OrderBy: []string{"run_id"}},
		{MaxResults: 200001},
	} {
		_, _, err := s.SearchModelVersions(c, bad)
		wantCode(t, err, tracking.InvalidParameterValue, fmt.Sprintf("search versions %+v", bad))
	}
}
