package promote

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// Registration is what promote did in the model registry.
type Registration struct {
	Model   string
	Version *tracking.ModelVersion
	// Created is false when a version registered earlier from the same
	// run was reused.
	Created bool
	// Moved lists the stages the version was moved to now (none when it
	// was already there).
	Moved []string
	// Aliases are the aliases pointed at the version now.
	Aliases []string
	// Archived lists the other versions this promotion archived.
	Archived []string
	// Transitions is the version's whole stage history, oldest first.
	Transitions []tracking.StageTransition
}

// DefaultModelName derives a registered model name from an experiment's:
// slashes and spaces (Ultralytics' default experiment is /Shared/YOLOv8)
// become dashes.
func DefaultModelName(experiment string) string {
	s := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\t' {
			return '-'
		}
		return r
	}, experiment)
	return strings.Trim(s, "-")
}

// stageRank orders the stages a promotion moves through.
func stageRank(stage string) int {
	switch stage {
	case tracking.StageStaging:
		return 1
	case tracking.StageProduction:
		return 2
	}
	return 0
}

// existingVersion returns the newest live version of model registered
// from runID, or nil.
func existingVersion(ctx context.Context, st tracking.RegistryStore, model, runID string) (*tracking.ModelVersion, error) {
	var found []tracking.ModelVersion
	token := ""
	for {
		vs, next, err := st.SearchModelVersions(ctx, tracking.SearchModelVersions{
			Filter:    fmt.Sprintf("run_id = '%s'", runID), // run ids are [0-9a-f]; the name is matched below
			PageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("promote: search the versions of run %s: %w", runID, err)
		}
		for _, v := range vs {
			if v.Name == model {
				found = append(found, v)
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	if len(found) == 0 {
		return nil, nil
	}
	v := slices.MaxFunc(found, func(x, y tracking.ModelVersion) int {
		nx, _ := tracking.ParseModelVersion(x.Version)
		ny, _ := tracking.ParseModelVersion(y.Version)
		return cmp.Compare(nx, ny)
	})
	return &v, nil
}

// versionsIn returns the live versions of model in stage.
func versionsIn(ctx context.Context, st tracking.RegistryStore, model, stage string) ([]tracking.ModelVersion, error) {
	var out []tracking.ModelVersion
	token := ""
	for {
		vs, next, err := st.SearchModelVersions(ctx, tracking.SearchModelVersions{
			Filter:    "name = '" + strings.ReplaceAll(model, "'", "''") + "'", // a doubled quote stands for one
			PageToken: token,
		})
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if v.CurrentStage == stage {
				out = append(out, v)
			}
		}
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// registration says what to register and how.
type registration struct {
	model, source, stage, alias, user, comment string
	run                                        *RunResult
	tags                                       []tracking.Tag
	description                                string
}

// register registers the run as a version of the model (or reuses the
// version registered from it before), moves it up to the stage through
// Staging, and points the alias at it.
func register(ctx context.Context, st tracking.RegistryStore, r registration) (*Registration, error) {
	out := &Registration{Model: r.model}
	if _, err := st.GetRegisteredModel(ctx, r.model); tracking.IsNotFound(err) {
		_, err = st.CreateRegisteredModel(ctx, r.model, nil, r.description)
		if err != nil && tracking.CodeOf(err) != tracking.ResourceAlreadyExists {
			return nil, fmt.Errorf("promote: create registered model %q: %w", r.model, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("promote: registered model %q: %w", r.model, err)
	}
	v, err := existingVersion(ctx, st, r.model, r.run.ID)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v, err = st.CreateModelVersion(ctx, tracking.CreateModelVersion{
			Name: r.model, Source: r.source, RunID: r.run.ID, Tags: r.tags,
			Description: r.description, UserID: r.user,
		})
		if err != nil {
			return nil, fmt.Errorf("promote: register run %s as a version of %q: %w", r.run.ID, r.model, err)
		}
		out.Created = true
	} else {
		for _, t := range r.tags {
			if err := st.SetModelVersionTag(ctx, r.model, v.Version, t); err != nil {
				return nil, fmt.Errorf("promote: tag %s version %s: %w", r.model, v.Version, err)
			}
		}
	}
	if stageRank(v.CurrentStage) > stageRank(r.stage) {
		// Never demote: promoting a Production version "to Staging"
		// again leaves it where it is.
		r.stage = v.CurrentStage
	}
	var steps []string
	if stageRank(v.CurrentStage) < stageRank(tracking.StageStaging) {
		steps = append(steps, tracking.StageStaging)
	}
	if r.stage == tracking.StageProduction && v.CurrentStage != tracking.StageProduction {
		steps = append(steps, tracking.StageProduction)
	}
	for _, stage := range steps {
		// Only Production archives the versions it displaces: several
		// candidates may be in Staging at once, one model serves.
		archive := stage == tracking.StageProduction
		var displaced []tracking.ModelVersion
		if archive {
			displaced, err = versionsIn(ctx, st, r.model, stage)
			if err != nil {
				return nil, fmt.Errorf("promote: versions of %q in %s: %w", r.model, stage, err)
			}
		}
		v, err = st.TransitionModelVersionStage(ctx, tracking.TransitionStage{
			Name: r.model, Version: v.Version, Stage: stage, ArchiveExistingVersions: archive,
			UserID: r.user, Comment: r.comment,
		})
		if err != nil {
			return nil, fmt.Errorf("promote: move %s version %s to %s: %w", r.model, v.Version, stage, err)
		}
		out.Moved = append(out.Moved, stage)
		for _, d := range displaced {
			if d.Version != v.Version {
				out.Archived = append(out.Archived, d.Version)
			}
		}
	}
	if r.alias != "" {
		if err := st.SetRegisteredModelAlias(ctx, r.model, r.alias, v.Version); err != nil {
			return nil, fmt.Errorf("promote: point alias %q of %q at version %s: %w", r.alias, r.model, v.Version, err)
		}
	}
	if v, err = st.GetModelVersion(ctx, r.model, v.Version); err != nil {
		return nil, fmt.Errorf("promote: read back %s version %s: %w", r.model, v.Version, err)
	}
	out.Version = v
	out.Aliases = v.Aliases
	if out.Transitions, err = st.GetStageTransitions(ctx, r.model, v.Version); err != nil {
		return nil, fmt.Errorf("promote: stage history of %s version %s: %w", r.model, v.Version, err)
	}
	return out, nil
}
