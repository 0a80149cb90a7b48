package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
)

// StepContext is what a running step's function can use besides its
// parameters: its inputs (Get, Input), a scratch directory, and its step
// run, to which it may log metrics and artifacts of its own.
type StepContext struct {
	e      *execution
	n      *node
	run    tracking.RunInfo
	inputs map[string]ArtifactRef
	dir    string
	inDir  string

	mu     sync.Mutex
	loaded map[string]reflect.Value // by input name
}

// StepName returns the step's name.
func (sc *StepContext) StepName() string { return sc.n.name }

// RunID returns the id of the step's run in the tracking store.
func (sc *StepContext) RunID() string { return sc.run.RunID }

// PipelineRunID returns the id of the pipeline run.
func (sc *StepContext) PipelineRunID() string { return sc.e.runID }

// Tracking returns the tracking store, to log metrics to RunID.
func (sc *StepContext) Tracking() tracking.TrackingStore { return sc.e.opt.Store }

// Artifacts returns the artifact store of the step run. Keys under
// outputs/ are where the pipeline stores the step's outputs: use others.
func (sc *StepContext) Artifacts(ctx context.Context) (artifacts.Store, error) {
	return sc.e.stores.get(ctx, sc.run.ArtifactURI)
}

// Dir returns a scratch directory for the step, removed once its outputs
// are stored: a File or Dir output may be written there.
func (sc *StepContext) Dir() string { return sc.dir }

// Printf writes a line to the pipeline's progress output, if any.
func (sc *StepContext) Printf(format string, args ...any) {
	sc.e.printf("step "+sc.n.name+": "+format, args...)
}

// Get returns the value of an input the step declared. A JSON output is
// decoded, a File or Dir output is copied into the step's work area (its
// content checked against its recorded hash) and its path returned, and a
// source's own path is returned.
func Get[T any](ctx context.Context, sc *StepContext, r Ref[T]) (T, error) {
	var zero T
	for _, in := range sc.n.inputs {
		if r.r != nil && sameRef(in.ref, r.r) {
			v, err := sc.load(ctx, in)
			if err != nil {
				return zero, err
			}
			return v.Interface().(T), nil
		}
	}
	return zero, fmt.Errorf("step %s reads %s, which is not among its Inputs (what it reads must be, to count in its cache key)", sc.n.name, r)
}

// Input returns the value of the input the step declared as name, which
// must be of type T; see Get.
func Input[T any](ctx context.Context, sc *StepContext, name string) (T, error) {
	var zero T
	for _, in := range sc.n.inputs {
		if in.name == name {
			if want := reflect.TypeFor[T](); in.ref.typ != want {
				return zero, fmt.Errorf("step %s: input %s is a %v, not a %v", sc.n.name, name, in.ref.typ, want)
			}
			v, err := sc.load(ctx, in)
			if err != nil {
				return zero, err
			}
			return v.Interface().(T), nil
		}
	}
	return zero, fmt.Errorf("step %s has no input %q", sc.n.name, name)
}

// sameRef reports whether a and b refer to the same output or source.
func sameRef(a, b *ref) bool {
	if a.node != nil || b.node != nil {
		return a.node == b.node && a.output == b.output
	}
	return a.path == b.path && a.kind == b.kind
}

func (sc *StepContext) load(ctx context.Context, in input) (reflect.Value, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if v, ok := sc.loaded[in.name]; ok {
		return v, nil
	}
	var v reflect.Value
	if in.ref.node == nil {
		v = reflect.New(in.ref.typ).Elem()
		v.SetString(in.ref.path)
	} else {
		a := sc.e.results[in.ref.node.index].Outputs[in.ref.output]
		var err error
		v, err = loadArtifact(ctx, sc.e.stores, a, in.ref.output, in.ref.typ, filepath.Join(sc.inDir, in.name))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("step %s: input %s (%s): %w", sc.n.name, in.name, Ref[any]{in.ref}, err)
		}
	}
	sc.loaded[in.name] = v
	return v, nil
}

// Fetch returns an output of a step of a finished pipeline run, as Get
// would to a step reading it; File and Dir outputs are copied into dir
// (a Dir's files into dir itself), which JSON outputs do not need.
func Fetch[T any](ctx context.Context, res *Result, r Ref[T], dir string) (T, error) {
	var zero T
	if r.r == nil || r.r.node == nil {
		return zero, fmt.Errorf("fetch %s: not a step's output", r)
	}
	i := r.r.node.index
	if i >= len(res.nodes) || res.nodes[i] != r.r.node {
		return zero, fmt.Errorf("fetch %s: not an output of this result's pipeline", r)
	}
	a, ok := res.Steps[i].Outputs[r.r.output]
	if !ok {
		return zero, fmt.Errorf("fetch %s: step %s %s", r, res.Steps[i].Name, res.Steps[i].Status)
	}
	if dir == "" && a.Kind != KindJSON {
		return zero, fmt.Errorf("fetch %s: no directory to copy the %s into", r, a.Kind)
	}
	v, err := loadArtifact(ctx, res.stores, a, r.r.output, r.r.typ, dir)
	if err != nil {
		return zero, fmt.Errorf("fetch %s: %w", r, err)
	}
	return v.Interface().(T), nil
}

// loadArtifact reads a stored output into a value of type typ, checking
// its content against its hash; a file or directory goes into dest.
func loadArtifact(ctx context.Context, stores *storeCache, a Artifact, name string, typ reflect.Type, dest string) (reflect.Value, error) {
	root, key, err := splitArtifactURI(a, name)
	if err != nil {
		return reflect.Value{}, err
	}
	s, err := stores.get(ctx, root)
	if err != nil {
		return reflect.Value{}, err
	}
	v := reflect.New(typ).Elem()
	switch a.Kind {
	case KindJSON:
		rc, _, err := s.Get(ctx, key)
		if err != nil {
			return reflect.Value{}, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return reflect.Value{}, fmt.Errorf("read %s: %w", a.URI, err)
		}
		if h := hashBytes(b); h != a.Hash {
			return reflect.Value{}, fmt.Errorf("%s has changed since it was stored: hash %s, recorded %s", a.URI, h, a.Hash)
		}
		if err := json.Unmarshal(b, v.Addr().Interface()); err != nil {
			return reflect.Value{}, fmt.Errorf("decode %s as %v: %w", a.URI, typ, err)
		}
	case KindFile:
		path := filepath.Join(dest, key[strings.LastIndexByte(key, '/')+1:])
		h, err := getHashed(ctx, s, key, path)
		if err != nil {
			return reflect.Value{}, err
		}
		if h != a.Hash {
			return reflect.Value{}, fmt.Errorf("%s has changed since it was stored: hash %s, recorded %s", a.URI, h, a.Hash)
		}
		v.SetString(path)
	case KindDir:
		list, err := s.List(ctx, key, true)
		if err != nil {
			return reflect.Value{}, err
		}
		files := make([]dirFile, 0, len(list))
		for _, o := range list {
			rel := strings.TrimPrefix(o.Key, key+"/")
			f := dirFile{rel: rel, abs: filepath.Join(dest, filepath.FromSlash(rel))}
			if f.hash, err = getHashed(ctx, s, o.Key, f.abs); err != nil {
				return reflect.Value{}, err
			}
			files = append(files, f)
		}
		if err := os.MkdirAll(dest, 0o777); err != nil {
			return reflect.Value{}, err
		}
		if h := manifestHash(files); h != a.Hash {
			return reflect.Value{}, fmt.Errorf("%s has changed since it was stored: hash %s, recorded %s", a.URI, h, a.Hash)
		}
		v.SetString(dest)
	default:
		return reflect.Value{}, fmt.Errorf("unknown kind %q", a.Kind)
	}
	return v, nil
}

// getHashed copies the object at key to the file path, returning the hash
// of what it wrote.
func getHashed(ctx context.Context, s artifacts.Store, key, path string) (string, error) {
	rc, info, err := s.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != info.Size {
		err = errors.New("got " + strconv.FormatInt(n, 10) + " bytes, the store said " + strconv.FormatInt(info.Size, 10))
	}
	if err != nil {
		return "", fmt.Errorf("copy %s to %s: %w", key, path, err)
	}
	return hashOf(h), nil
}
