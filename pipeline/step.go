package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
)

// outputsDir is the folder of a step run's artifacts that holds its
// outputs; a step may store other artifacts beside it.
const outputsDir = "outputs"

// runStep runs one step (or reuses a cached run of it) and records the
// outcome in e.results.
func (e *execution) runStep(ctx context.Context, n *node) {
	r := &e.results[n.index]
	start := time.Now()
	e.printf("step %s: started", n.name)
	err := e.step(ctx, n, r)
	r.Duration = time.Since(start)
	switch {
	case err == nil:
		r.Err = nil
	case ctx.Err() != nil:
		r.Status, r.Err = StepKilled, err
	default:
		r.Status, r.Err = StepFailed, err
	}
	if err != nil {
		if rerr := e.recordFailure(ctx, n, r, err); rerr != nil {
			r.Err = errors.Join(r.Err, rerr)
		}
	}
	e.outMu.Lock()
	e.done++
	progress := fmt.Sprintf("[%d/%d]", e.done, len(e.p.nodes))
	e.outMu.Unlock()
	d := roundDuration(r.Duration)
	switch r.Status {
	case StepExecuted:
		e.printf("%s step %s: executed in %s (run %s)", progress, n.name, d, r.RunID)
	case StepCached:
		e.printf("%s step %s: cached from run %s, %s (run %s)", progress, n.name, r.CachedFrom, d, r.RunID)
	default:
		e.printf("%s step %s: %s after %s: %v", progress, n.name, r.Status, d, r.Err)
	}
}

// recordFailure marks the step run failed or killed, with the error, even
// when ctx is cancelled. A step that failed before it had a run (a source
// it could not read) gets one, so that the pipeline run shows what went
// wrong.
func (e *execution) recordFailure(ctx context.Context, n *node, r *StepResult, stepErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if r.RunID == "" {
		run, err := e.opt.Store.CreateRun(ctx, tracking.CreateRun{
			ExperimentID: e.expID, RunName: n.name, UserID: e.opt.UserID, Tags: e.stepTags(n),
		})
		if err != nil {
			return fmt.Errorf("record the failure of step %s: %w", n.name, err)
		}
		r.RunID = run.Info.RunID
	}
	status := tracking.RunFailed
	if r.Status == StepKilled {
		status = tracking.RunKilled
	}
	err := errors.Join(
		e.opt.Store.SetTag(ctx, r.RunID, tracking.Tag{Key: TagError, Value: truncate(stepErr.Error(), tracking.MaxTagValueLength)}),
		updateRun(ctx, e.opt.Store, r.RunID, status))
	if err != nil {
		return fmt.Errorf("record the failure of step run %s: %w", r.RunID, err)
	}
	return nil
}

// step does the work of runStep; on error r.RunID is set if a step run was
// created.
func (e *execution) step(ctx context.Context, n *node, r *StepResult) error {
	params, err := n.params()
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	mlParams, err := flattenParams(params)
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	r.Inputs = map[string]ArtifactRef{}
	keyInputs := make([]cacheInput, 0, len(n.inputs))
	for _, in := range n.inputs {
		ar, err := e.resolveInput(ctx, in.ref)
		if err != nil {
			return fmt.Errorf("input %s: %w", in.name, err)
		}
		r.Inputs[in.name] = ar
		keyInputs = append(keyInputs, cacheInput{in.name, ar.Hash})
	}
	var srcHash string
	if n.sourceHash {
		if srcHash = sourceHash(os.ReadFile, n.srcFile); srcHash == "" {
			e.printf("step %s: cannot read its source %q; only its Version is in the cache key", n.name, n.srcFile)
		}
	}
	r.CacheKey = cacheKey(n, params, srcHash, keyInputs)

	tags := append(e.stepTags(n), tracking.Tag{Key: TagCacheKey, Value: r.CacheKey})
	if n.sourceHash {
		v := srcHash
		if v == "" {
			v = "unavailable"
		}
		tags = append(tags, tracking.Tag{Key: TagSourceHash, Value: v})
	}
	for _, in := range n.inputs {
		tags = append(tags, tracking.Tag{Key: TagInputPrefix + in.name, Value: mustJSON(r.Inputs[in.name])})
	}

	if !e.opt.NoCache && !n.noCache {
		from, outs, err := e.lookup(ctx, n, r.CacheKey)
		if err != nil {
			return fmt.Errorf("cache lookup: %w", err)
		}
		if outs != nil {
			tags = append(tags,
				tracking.Tag{Key: TagCached, Value: "true"},
				tracking.Tag{Key: TagCachedFrom, Value: from})
			for _, o := range n.outputs {
				tags = append(tags, tracking.Tag{Key: TagOutputPrefix + o.name, Value: mustJSON(outs[o.name])})
			}
			if _, err := e.createStepRun(ctx, n, r, mlParams, tags); err != nil {
				return err
			}
			r.CachedFrom, r.Outputs = from, outs
			if err := updateRun(ctx, e.opt.Store, r.RunID, tracking.RunFinished); err != nil {
				return err
			}
			r.Status = StepCached
			return nil
		}
	}

	tags = append(tags, tracking.Tag{Key: TagCached, Value: "false"})
	info, err := e.createStepRun(ctx, n, r, mlParams, tags)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(e.opt.WorkDir, "yolops-step-"+n.name+"-")
	if err != nil {
		return fmt.Errorf("scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)
	sc := &StepContext{
		e: e, n: n, run: *info, inputs: r.Inputs,
		dir: filepath.Join(dir, "work"), inDir: filepath.Join(dir, "inputs"),
		loaded: map[string]reflect.Value{},
	}
	if err := os.Mkdir(sc.dir, 0o777); err != nil {
		return fmt.Errorf("scratch directory: %w", err)
	}
	value, err := call(ctx, n, sc)
	if err != nil {
		return err
	}
	outs, err := e.storeOutputs(ctx, n, info.ArtifactURI, value)
	if err != nil {
		return fmt.Errorf("store outputs: %w", err)
	}
	var otags []tracking.Tag
	for _, o := range n.outputs {
		otags = append(otags, tracking.Tag{Key: TagOutputPrefix + o.name, Value: mustJSON(outs[o.name])})
	}
	if err := logBatch(ctx, e.opt.Store, r.RunID, nil, otags); err != nil {
		return err
	}
	r.Outputs = outs
	if err := updateRun(ctx, e.opt.Store, r.RunID, tracking.RunFinished); err != nil {
		return err
	}
	r.Status = StepExecuted
	return nil
}

// stepTags are the tags of every step run.
func (e *execution) stepTags(n *node) []tracking.Tag {
	return []tracking.Tag{
		{Key: tracking.TagParentRunID, Value: e.runID},
		{Key: TagPipelineRun, Value: e.runID},
		{Key: TagStep, Value: n.name},
		{Key: TagStepVersion, Value: n.version},
	}
}

// call runs the step's function, turning a panic into an error so that the
// runs are still marked failed.
func call(ctx context.Context, n *node, sc *StepContext) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return n.call(ctx, sc)
}

func (e *execution) createStepRun(ctx context.Context, n *node, r *StepResult, params []tracking.Param, tags []tracking.Tag) (*tracking.RunInfo, error) {
	run, err := e.opt.Store.CreateRun(ctx, tracking.CreateRun{
		ExperimentID: e.expID, RunName: n.name, UserID: e.opt.UserID, Tags: tags,
	})
	if err != nil {
		return nil, fmt.Errorf("create the step run: %w", err)
	}
	r.RunID = run.Info.RunID
	return &run.Info, logBatch(ctx, e.opt.Store, r.RunID, params, nil)
}

// logBatch logs params and tags in batches within MLflow's limits.
func logBatch(ctx context.Context, s tracking.TrackingStore, runID string, params []tracking.Param, tags []tracking.Tag) error {
	const max = tracking.MaxParamsTagsPerBatch
	for len(params) > 0 || len(tags) > 0 {
		p, t := params[:min(len(params), max)], tags[:min(len(tags), max)]
		params, tags = params[len(p):], tags[len(t):]
		if err := s.LogBatch(ctx, runID, nil, p, t); err != nil {
			return fmt.Errorf("log to step run %s: %w", runID, err)
		}
	}
	return nil
}

// resolveInput returns what an input refers to now, with its content hash.
func (e *execution) resolveInput(ctx context.Context, r *ref) (ArtifactRef, error) {
	if r.node != nil {
		up := &e.results[r.node.index]
		a, ok := up.Outputs[r.output]
		if !ok {
			return ArtifactRef{}, fmt.Errorf("step %s has no stored output %s", r.node.name, r.output)
		}
		return ArtifactRef{Step: r.node.name, RunID: up.RunID, Output: r.output, Kind: a.Kind, Hash: a.Hash}, nil
	}
	ar := ArtifactRef{Source: r.path, Kind: r.kind, Hash: r.hash}
	if ar.Hash != "" {
		if _, err := os.Stat(r.path); err != nil {
			return ArtifactRef{}, err
		}
		return ar, nil
	}
	var err error
	if r.kind == KindDir {
		ar.Hash, err = HashDir(ctx, r.path)
	} else {
		ar.Hash, err = HashFile(ctx, r.path)
	}
	return ar, err
}

// lookup returns the outputs of the newest finished step run with the
// cache key whose outputs are all still stored, and the run that produced
// them; nil outputs when there is none.
func (e *execution) lookup(ctx context.Context, n *node, key string) (string, map[string]Artifact, error) {
	runs, _, err := e.opt.Store.SearchRuns(ctx, tracking.SearchRuns{
		ExperimentIDs: []string{e.expID},
		Filter:        fmt.Sprintf("tags.`%s` = '%s' and attributes.status = 'FINISHED'", TagCacheKey, key),
		OrderBy:       []string{"attributes.start_time DESC"},
		MaxResults:    20,
	})
	if err != nil {
		return "", nil, err
	}
	for _, run := range runs {
		tags := tagMap(run.Data.Tags)
		outs, err := e.cachedOutputs(ctx, n, tags)
		if err != nil {
			e.printf("step %s: cannot reuse run %s: %v", n.name, run.Info.RunID, err)
			continue
		}
		from := tags[TagCachedFrom]
		if from == "" {
			from = run.Info.RunID
		}
		return from, outs, nil
	}
	return "", nil, nil
}

// cachedOutputs reads a cache candidate's outputs from its tags and checks
// that they are still in the artifact store.
func (e *execution) cachedOutputs(ctx context.Context, n *node, tags map[string]string) (map[string]Artifact, error) {
	outs := map[string]Artifact{}
	for _, o := range n.outputs {
		v, ok := tags[TagOutputPrefix+o.name]
		if !ok {
			return nil, fmt.Errorf("no record of output %s", o.name)
		}
		a, err := ParseArtifact(v)
		if err != nil {
			return nil, err
		}
		if a.Kind != o.kind {
			return nil, fmt.Errorf("output %s is a %s, not a %s", o.name, a.Kind, o.kind)
		}
		root, key, err := splitArtifactURI(a, o.name)
		if err != nil {
			return nil, err
		}
		s, err := e.stores.get(ctx, root)
		if err != nil {
			return nil, err
		}
		if a.Kind == KindDir {
			if a.Hash == emptyDirHash {
				continue
			}
			list, err := s.List(ctx, key, true)
			if err == nil && len(list) == 0 {
				err = fmt.Errorf("%s is empty or gone", a.URI)
			}
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", o.name, err)
			}
		} else if _, err := s.Stat(ctx, key); err != nil {
			return nil, fmt.Errorf("output %s: %w", o.name, err)
		}
		outs[o.name] = a
	}
	return outs, nil
}

func tagMap(tags []tracking.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// artifactKey is where output name of the given kind is stored in its step
// run's artifact store; base is a file output's file name.
func artifactKey(kind Kind, name, base string) string {
	switch kind {
	case KindJSON:
		return outputsDir + "/" + name + ".json"
	case KindFile:
		return outputsDir + "/" + name + "/" + base
	}
	return outputsDir + "/" + name
}

// splitArtifactURI splits an output's URI into the URI of its step run's
// artifact store and its key there.
func splitArtifactURI(a Artifact, name string) (root, key string, err error) {
	base := a.URI[strings.LastIndexByte(a.URI, '/')+1:]
	key = artifactKey(a.Kind, name, base)
	root, ok := strings.CutSuffix(a.URI, "/"+key)
	if !ok || root == "" {
		return "", "", fmt.Errorf("output %s: URI %q does not end in /%s", name, a.URI, key)
	}
	return root, key, nil
}

func joinURI(root, key string) string { return strings.TrimRight(root, "/") + "/" + key }

// storeOutputs stores a step's outputs in its run's artifact store.
func (e *execution) storeOutputs(ctx context.Context, n *node, root string, value any) (map[string]Artifact, error) {
	s, err := e.stores.get(ctx, root)
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(&value).Elem().Elem() // value's dynamic value, valid even for a nil interface
	outs := map[string]Artifact{}
	for _, o := range n.outputs {
		fv := v
		if o.index != nil {
			fv = v.FieldByIndex(o.index)
		}
		var a Artifact
		var err error
		switch o.kind {
		case KindJSON:
			a, err = putJSON(ctx, s, o.name, fv)
		case KindFile:
			a, err = putFile(ctx, s, o.name, fv.String())
		case KindDir:
			a, err = putDir(ctx, s, o.name, fv.String())
		}
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.name, err)
		}
		a.URI = joinURI(root, a.URI)
		outs[o.name] = a
	}
	return outs, nil
}

// The put functions return the artifact with its key as the URI.

func putJSON(ctx context.Context, s artifacts.Store, name string, v reflect.Value) (Artifact, error) {
	var x any
	if v.IsValid() {
		x = v.Interface()
	}
	b, err := json.Marshal(x)
	if err != nil {
		return Artifact{}, err
	}
	key := artifactKey(KindJSON, name, "")
	if err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		return Artifact{}, err
	}
	return Artifact{Kind: KindJSON, Hash: hashBytes(b), URI: key, Size: int64(len(b))}, nil
}

// putHashed stores the file at path under key, hashing it as it is read.
func putHashed(ctx context.Context, s artifacts.Store, key, path string) (hash string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s: not a regular file", path)
	}
	h := sha256.New()
	if err := s.Put(ctx, key, io.TeeReader(f, h), st.Size()); err != nil {
		return "", 0, err
	}
	return hashOf(h), st.Size(), nil
}

func putFile(ctx context.Context, s artifacts.Store, name, path string) (Artifact, error) {
	if path == "" {
		return Artifact{}, errors.New("empty path")
	}
	key := artifactKey(KindFile, name, filepath.Base(path))
	h, size, err := putHashed(ctx, s, key, path)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Kind: KindFile, Hash: h, URI: key, Size: size}, nil
}

func putDir(ctx context.Context, s artifacts.Store, name, path string) (Artifact, error) {
	if path == "" {
		return Artifact{}, errors.New("empty path")
	}
	files, err := listDir(path)
	if err != nil {
		return Artifact{}, err
	}
	key := artifactKey(KindDir, name, "")
	var size int64
	for i := range files {
		var n int64
		files[i].hash, n, err = putHashed(ctx, s, key+"/"+files[i].rel, files[i].abs)
		if err != nil {
			return Artifact{}, err
		}
		size += n
	}
	return Artifact{Kind: KindDir, Hash: manifestHash(files), URI: key, Size: size}, nil
}
