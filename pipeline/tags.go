package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Tags yolops sets on pipeline runs and step runs.
const (
	// On a pipeline run.
	TagPipeline  = "yolops.pipeline" // the pipeline's name
	TagDAGPrefix = "yolops.dag."     // + step name: the JSON list of the step's upstream steps
	TagSummary   = "yolops.summary"  // "2 executed, 1 cached, ..." once the run ends

	// On a step run (also tagged mlflow.parentRunId).
	TagPipelineRun  = "yolops.pipeline_run" // the pipeline run's id
	TagStep         = "yolops.step"         // the step's name
	TagStepVersion  = "yolops.step_version" // Spec.Version
	TagSourceHash   = "yolops.source_hash"  // with Spec.SourceHash: the source file's hash, or "unavailable"
	TagCacheKey     = "yolops.cache_key"    // hex SHA-256, see doc.go
	TagCached       = "yolops.cached"       // "true" or "false"
	TagCachedFrom   = "yolops.cached_from"  // the step run that produced the reused outputs
	TagError        = "yolops.error"        // why the step failed
	TagInputPrefix  = "yolops.input."       // + input name: an ArtifactRef as JSON
	TagOutputPrefix = "yolops.output."      // + output name: an Artifact as JSON
)

// Artifact is a stored output: the value of a step run's
// yolops.output.<name> tag.
type Artifact struct {
	Kind Kind   `json:"kind"`
	Hash string `json:"hash"` // content hash, see HashFile and HashDir
	URI  string `json:"uri"`  // where it is: a .json object, a file or a directory
	Size int64  `json:"size"` // bytes, all files of a directory together
}

// ArtifactRef is what a step read for one input: the value of a step run's
// yolops.input.<name> tag. It names either the step run (in the same
// pipeline run) whose output it was, or a source outside the pipeline.
type ArtifactRef struct {
	Step   string `json:"step,omitempty"`   // the producing step
	RunID  string `json:"run_id,omitempty"` // its step run in this pipeline run
	Output string `json:"output,omitempty"` // the output's name in that step
	Source string `json:"source,omitempty"` // or a source's absolute path
	Kind   Kind   `json:"kind"`
	Hash   string `json:"hash"`
}

// String is "step.output" or the source's path, with the hash.
func (r ArtifactRef) String() string {
	if r.Source != "" {
		return r.Source + " " + r.Hash
	}
	return r.Step + "." + r.Output + " " + r.Hash
}

func (k Kind) valid() bool { return k == KindJSON || k == KindFile || k == KindDir }

// ParseArtifact parses the value of a yolops.output.<name> tag.
func ParseArtifact(s string) (Artifact, error) {
	var a Artifact
	if err := strictUnmarshal(s, &a); err != nil {
		return Artifact{}, fmt.Errorf("output record %.80q: %w", s, err)
	}
	switch {
	case !a.Kind.valid():
		return Artifact{}, fmt.Errorf("output record %.80q: unknown kind %q", s, a.Kind)
	case !strings.HasPrefix(a.Hash, hashPrefix):
		return Artifact{}, fmt.Errorf("output record %.80q: hash %q is not sha256:...", s, a.Hash)
	case a.URI == "":
		return Artifact{}, fmt.Errorf("output record %.80q: no uri", s)
	case a.Size < 0:
		return Artifact{}, fmt.Errorf("output record %.80q: negative size", s)
	}
	return a, nil
}

// ParseArtifactRef parses the value of a yolops.input.<name> tag.
func ParseArtifactRef(s string) (ArtifactRef, error) {
	var r ArtifactRef
	if err := strictUnmarshal(s, &r); err != nil {
		return ArtifactRef{}, fmt.Errorf("input record %.80q: %w", s, err)
	}
	switch {
	case !r.Kind.valid():
		return ArtifactRef{}, fmt.Errorf("input record %.80q: unknown kind %q", s, r.Kind)
	case r.Hash == "":
		return ArtifactRef{}, fmt.Errorf("input record %.80q: no hash", s)
	case (r.Source == "") == (r.Step == ""):
		return ArtifactRef{}, fmt.Errorf("input record %.80q: want either a source or a step", s)
	case r.Step != "" && (r.Output == "" || r.RunID == ""):
		return ArtifactRef{}, fmt.Errorf("input record %.80q: a step input needs its run_id and output", s)
	}
	return r, nil
}

func strictUnmarshal(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on the record types above, which always encode
	}
	return string(b)
}
