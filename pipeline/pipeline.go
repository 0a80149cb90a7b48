package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// File is the path of a file. As a field of a step's outputs it is stored
// as a file artifact; an input of type File is a local copy of one.
type File string

// Dir is the path of a directory. As a field of a step's outputs it is
// stored, with every file below it, as a directory artifact; an input of
// type Dir is a local copy of one.
type Dir string

// Kind says how an output is stored.
type Kind string

// The kinds of outputs.
const (
	KindJSON Kind = "json" // a value, encoded as JSON
	KindFile Kind = "file" // a File
	KindDir  Kind = "dir"  // a Dir
)

var (
	fileType = reflect.TypeFor[File]()
	dirType  = reflect.TypeFor[Dir]()
)

func kindOf(t reflect.Type) Kind {
	switch t {
	case fileType:
		return KindFile
	case dirType:
		return KindDir
	}
	return KindJSON
}

// validName is what step, input, output and pipeline names may be: they
// become parts of tag keys and artifact paths, and appear in filters.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

func checkName(what, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid %s name %q: want 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit", what, name)
	}
	return nil
}

// Pipeline is a DAG of steps. Build it with Add and Output, then Run it;
// building records its mistakes and Run (or Err) reports them all. A
// Pipeline may be run many times, but not changed while it runs.
type Pipeline struct {
	name  string
	nodes []*node
	names map[string]*node
	errs  []error
}

// New returns an empty pipeline. Its name tags its runs and is the default
// experiment they are recorded in.
func New(name string) *Pipeline {
	p := &Pipeline{name: name, names: map[string]*node{}}
	if err := checkName("pipeline", name); err != nil {
		p.errs = append(p.errs, err)
	}
	return p
}

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// Err returns the mistakes made building the pipeline, or nil.
func (p *Pipeline) Err() error { return errors.Join(p.errs...) }

func (p *Pipeline) errorf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("pipeline %s: "+format, append([]any{p.name}, args...)...))
}

// AnyRef is a Ref of any type: an output of another step (returned by
// Output) or data from outside the pipeline (SourceFile, SourceDir,
// VersionedDir).
type AnyRef interface {
	inputRef() *ref
}

// Inputs names a step's inputs. The names are the step's own (they key its
// lineage tags), not those of the outputs they refer to.
type Inputs map[string]AnyRef

// ref is what a Ref points at.
type ref struct {
	node   *node  // the producing step; nil for a source
	output string // the output's name in node
	typ    reflect.Type
	kind   Kind
	path   string // a source's absolute path
	hash   string // a source's known content hash (VersionedDir)
	err    error
}

// Ref is a typed handle on an input: an output of type T of some step, or
// a source. Get reads it inside a step that declared it among its Inputs.
type Ref[T any] struct{ r *ref }

func (r Ref[T]) inputRef() *ref { return r.r }

// String names what r refers to: "step.output" or the source's path.
func (r Ref[T]) String() string {
	switch {
	case r.r == nil:
		return "<nil ref>"
	case r.r.node != nil:
		return r.r.node.name + "." + r.r.output
	default:
		return r.r.path
	}
}

func source[T any](kind Kind, path, hash string) Ref[T] {
	r := &ref{typ: reflect.TypeFor[T](), kind: kind, hash: hash}
	abs, err := filepath.Abs(path)
	switch {
	case path == "":
		r.err = fmt.Errorf("source %s: empty path", kind)
	case err != nil:
		r.err = fmt.Errorf("source %s %q: %w", kind, path, err)
	}
	r.path = abs
	return Ref[T]{r}
}

// SourceFile declares a file from outside the pipeline as an input. Its
// content hash is computed each time a step that reads it is about to run,
// so that editing the file invalidates the cache. Get returns its absolute
// path: the step reads it in place.
func SourceFile(path string) Ref[File] { return source[File](KindFile, path, "") }

// SourceDir is SourceFile for a directory (see HashDir).
func SourceDir(path string) Ref[Dir] { return source[Dir](KindDir, path, "") }

// VersionedDir declares a directory whose content hash the caller already
// knows, such as the md5 `yolops data add` wrote for it in its .dvc file;
// it is trusted, and the directory is not read to compute it.
func VersionedDir(path, version string) Ref[Dir] {
	r := source[Dir](KindDir, path, version)
	if version == "" && r.r.err == nil {
		r.r.err = fmt.Errorf("versioned dir %s: empty version", path)
	}
	return r
}

// Spec describes a step.
type Spec[P any] struct {
	// Name identifies the step in the pipeline and in the cache.
	Name string
	// Version is the step's code version: bump it when the step's code
	// changes in a way that changes its outputs.
	Version string
	// Params are the step's parameters, passed to its function. They are
	// encoded as JSON (a struct or a map) for the cache key and logged as
	// the step run's params, one per top-level key: a field the JSON
	// encoding leaves out (json:"-") is not part of the cache key.
	Params P
	// Inputs are the outputs of other steps and the sources the step
	// reads; each is part of the cache key by its content hash. A step
	// may only Get what it declares here.
	Inputs Inputs
	// SourceHash adds the hash of the Go source file that defines the
	// step's function to the cache key, so that editing that file re-runs
	// the step. Edits to helpers in other files are not seen (bump
	// Version for those). When the file cannot be read (a binary run away
	// from its source), only Version counts.
	SourceHash bool
	// NoCache runs the step every time (a step with side effects).
	NoCache bool
}

// Step is a step added to a pipeline; O is the type of its outputs.
type Step[O any] struct{ n *node }

// Name returns the step's name.
func (s *Step[O]) Name() string { return s.n.name }

// output is one named output of a step.
type output struct {
	name  string
	index []int // the field of O; nil when O itself is the only output
	typ   reflect.Type
	kind  Kind
}

// input is one declared input of a step.
type input struct {
	name string
	ref  *ref
}

// node is a step, its type parameters erased.
type node struct {
	p          *Pipeline
	index      int
	name       string
	version    string
	inputs     []input // sorted by name
	upstream   []*node // distinct producers of the inputs, in index order
	outputs    []output
	params     func() ([]byte, error) // canonical JSON of the params
	srcFile    string                 // the file defining the function, for SourceHash
	sourceHash bool
	noCache    bool
	call       func(ctx context.Context, sc *StepContext) (any, error)
}

// Add adds a step running fn to p and returns it; its outputs are then
// available to later steps through Output. Mistakes (a bad name, an input
// from another pipeline, params that do not encode as a JSON object) are
// reported by p.Run and p.Err.
func Add[P, O any](p *Pipeline, spec Spec[P], fn func(ctx context.Context, sc *StepContext, params P) (O, error)) *Step[O] {
	n := &node{p: p, index: len(p.nodes), name: spec.Name, version: spec.Version,
		sourceHash: spec.SourceHash, noCache: spec.NoCache}
	s := &Step[O]{n}
	if err := checkName("step", spec.Name); err != nil {
		p.errorf("%w", err)
		return s
	}
	if _, dup := p.names[spec.Name]; dup {
		p.errorf("two steps named %q", spec.Name)
		return s
	}
	if spec.Version == "" {
		p.errorf("step %s: empty Version (set it, and bump it when the step's code changes)", spec.Name)
	}
	if fn == nil {
		p.errorf("step %s: nil function", spec.Name)
		return s
	}
	outs, err := outputsOf(reflect.TypeFor[O]())
	if err != nil {
		p.errorf("step %s: outputs: %w", spec.Name, err)
	}
	n.outputs = outs
	params := spec.Params
	n.params = func() ([]byte, error) { return canonicalParams(params) }
	if _, err := n.params(); err != nil {
		p.errorf("step %s: params: %w", spec.Name, err)
	}
	for name, in := range spec.Inputs {
		if err := checkName("input", name); err != nil {
			p.errorf("step %s: %w", spec.Name, err)
			continue
		}
		var r *ref
		if in != nil {
			r = in.inputRef()
		}
		switch {
		case r == nil:
			p.errorf("step %s: input %s: nil", spec.Name, name)
			continue
		case r.err != nil:
			if r.node == nil { // Output has reported its own mistakes
				p.errorf("step %s: input %s: %w", spec.Name, name, r.err)
			}
			continue
		case r.node != nil && r.node.p != p:
			p.errorf("step %s: input %s: %s belongs to pipeline %s", spec.Name, name, Ref[any]{r}, r.node.p.name)
			continue
		}
		n.inputs = append(n.inputs, input{name, r})
		if r.node != nil && !slices.Contains(n.upstream, r.node) {
			n.upstream = append(n.upstream, r.node)
		}
	}
	sort.Slice(n.inputs, func(i, j int) bool { return n.inputs[i].name < n.inputs[j].name })
	sort.Slice(n.upstream, func(i, j int) bool { return n.upstream[i].index < n.upstream[j].index })
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		n.srcFile, _ = f.FileLine(f.Entry())
	}
	n.call = func(ctx context.Context, sc *StepContext) (any, error) {
		return fn(ctx, sc, params)
	}
	p.nodes = append(p.nodes, n)
	p.names[n.name] = n
	return s
}

// Output returns a handle on the output called name of step s, which must
// have type T. The outputs of a step whose O is a struct are its exported
// fields, named by a `pipeline:"name"` field tag or else by the field's
// name; a step whose O is not a struct has one output, "output".
func Output[T, O any](s *Step[O], name string) Ref[T] {
	r := &ref{node: s.n, output: name, typ: reflect.TypeFor[T](), kind: kindOf(reflect.TypeFor[T]())}
	p := s.n.p
	i := slices.IndexFunc(s.n.outputs, func(o output) bool { return o.name == name })
	switch {
	case p.names[s.n.name] != s.n:
		r.err = fmt.Errorf("output %s of a step that was not added", name)
	case i < 0:
		names := make([]string, len(s.n.outputs))
		for i, o := range s.n.outputs {
			names[i] = o.name
		}
		r.err = fmt.Errorf("step %s has no output %q (its outputs: %s)", s.n.name, name, strings.Join(names, ", "))
	case s.n.outputs[i].typ != r.typ:
		r.err = fmt.Errorf("output %s.%s is a %v, not a %v", s.n.name, name, s.n.outputs[i].typ, r.typ)
	}
	if r.err != nil {
		p.errorf("%w", r.err)
	}
	return Ref[T]{r}
}

// outputsOf lists the outputs of a step returning t.
func outputsOf(t reflect.Type) ([]output, error) {
	if t.Kind() != reflect.Struct {
		return []output{{name: "output", typ: t, kind: kindOf(t)}}, nil
	}
	var outs []output
	seen := map[string]bool{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || len(f.Index) > 1 {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("pipeline"); ok {
			if tag == "-" {
				continue
			}
			name = tag
		}
		if err := checkName("output", name); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("two outputs named %q", name)
		}
		seen[name] = true
		outs = append(outs, output{name: name, index: f.Index, typ: f.Type, kind: kindOf(f.Type)})
	}
	sort.Slice(outs, func(i, j int) bool { return outs[i].name < outs[j].name })
	return outs, nil
}

// canonicalParams encodes params as JSON with every object's keys sorted
// and numbers as written, so that equal parameters (a struct or a map with
// the same keys) give the same bytes. It must be a JSON object (or null,
// read as no parameters).
func canonicalParams(params any) ([]byte, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch v.(type) {
	case nil:
		return []byte("{}"), nil
	case map[string]any:
	default:
		return nil, fmt.Errorf("%T encodes as %.40s, not a JSON object (use a struct or a map)", params, raw)
	}
	// Marshalling a map sorts its keys, at every level.
	return json.Marshal(v)
}

// flattenParams turns canonical params into MLflow params: one per
// top-level key, strings as they are and other values as JSON. Values
// longer than MLflow allows are cut (the cache key uses them whole).
func flattenParams(canonical []byte) ([]tracking.Param, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(canonical, &m); err != nil {
		return nil, err
	}
	params := make([]tracking.Param, 0, len(m))
	for k, raw := range m {
		v := string(raw)
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			v = s
		}
		params = append(params, tracking.Param{Key: k, Value: truncate(v, tracking.MaxParamValueLength)})
	}
	sort.Slice(params, func(i, j int) bool { return params[i].Key < params[j].Key })
	return params, nil
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
