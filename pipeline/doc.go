// Package pipeline runs steps in a DAG with ZenML-style caching, and keeps
// their metadata and lineage in a tracking store, so that an MLflow client
// or the web UI sees pipelines as ordinary runs.
//
// A pipeline is built by adding steps. A step is a Go function with typed
// parameters P and typed outputs O (a struct whose exported fields are the
// named outputs; File and Dir fields are stored as files and directories,
// every other field as JSON):
//
//	p := pipeline.New("demo")
//	data := pipeline.SourceFile("data.txt")
//	load := pipeline.Add(p, pipeline.Spec[struct{}]{
//		Name: "load", Version: "1",
//		Inputs: pipeline.Inputs{"data": data},
//	}, func(ctx context.Context, sc *pipeline.StepContext, _ struct{}) (Loaded, error) {
//		path, err := pipeline.Get(ctx, sc, data) // a pipeline.File
//		...
//	})
//	text := pipeline.Output[string](load, "text") // Loaded's field tagged `pipeline:"text"`
//	pipeline.Add(p, pipeline.Spec[TrainParams]{
//		Name: "train", Version: "3", Params: TrainParams{LR: 0.01},
//		Inputs: pipeline.Inputs{"text": text},
//	}, train) // func(ctx, sc, TrainParams) (Trained, error), reading pipeline.Get(ctx, sc, text)
//	res, err := p.Run(ctx, pipeline.Options{Store: store, Workers: 2})
//
// A step may only read (Get, Input) what its Spec declares in Inputs, so
// that everything it reads is in its cache key; its parameters reach it
// as the typed params argument. Fetch reads an output of a finished run.
//
// # Cache
//
// Before a step runs, its cache key is computed, as ZenML's
// generate_cache_key does, over the step's name, its Version (and, with
// Spec.SourceHash, the hash of the source file that defines its function),
// its parameters in canonical JSON, the content hash of each input (an
// upstream output's, or a source file's or directory's) and the names and
// types of its outputs. If a FINISHED step run in the same experiment has
// that key and its outputs are still in the artifact store, the step is
// not run: its new step run records yolops.cached=true and the run it
// reuses, and its outputs are the stored ones. Changing a parameter, the
// data or the code version therefore re-runs the step, and, through the
// content hashes of its outputs, the steps that depend on it when its
// outputs change; nothing else.
//
// # What the tracking store holds
//
// A pipeline run is an MLflow run tagged yolops.pipeline=<name>, with a tag
// yolops.dag.<step> per step listing its upstream steps. Each step run is a
// nested run (mlflow.parentRunId) in the same experiment, with tags
// yolops.step, yolops.step_version, yolops.cache_key, yolops.cached,
// yolops.cached_from, yolops.input.<name> (the producing step run, output
// and content hash, as JSON) and yolops.output.<name> (kind, content hash
// and artifact URI, as JSON), and the step's parameters as params. Outputs
// are stored under outputs/ in the artifact location of the step run that
// produced them. Inspect reads all of this back.
package pipeline
