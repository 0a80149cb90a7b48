package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/datastore"
	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/train"
)

// PipelineName names the pipeline; its runs carry it in yolops.pipeline.
const PipelineName = "yolo-person"

// The steps, in order.
const (
	StepDataLoader = "data_loader"
	StepTrainer    = "trainer"
	StepEvaluator  = "evaluator"
	StepRegister   = "register"
)

// Step code versions: bump one when its step's code changes what it
// produces. The trainer's and evaluator's also carry the yolops version
// (Options.CodeVersion), whose train package they run.
const (
	dataLoaderVersion = "1"
	trainerVersion    = "1"
	evaluatorVersion  = "1"
	registerVersion   = "1"
)

// Run tags the workflow sets on a training run, beside those promote
// reads (yolops.dataset_version, yolops.dataset.*).
const (
	TagDatasetVersion = "yolops.dataset_version"          // the DVC md5 of the prepared dataset
	TagTrainImages    = "yolops.dataset.train_images"     // images in its train split
	TagValImages      = "yolops.dataset.val_images"       // images in its val split
	TagTrainEqualsVal = "yolops.dataset.train_equals_val" // "true" when val is the train images
	TagDatasetName    = "yolops.dataset"                  // its name: coco128-person
)

// DataParams are the data_loader step's parameters; its inputs are the
// source's content.
type DataParams struct {
	Source         string   `json:"source"` // coco128, or data_yaml
	Classes        []string `json:"classes"`
	KeepBackground bool     `json:"keep_background"`
}

// DatasetInfo describes a prepared dataset. It holds no path and no
// run id, so that the same data gives the same value (and cache keys).
type DatasetInfo struct {
	Name           string   `json:"name"`    // coco128-person
	Version        string   `json:"version"` // DVC 3's md5 of the directory (<md5>.dir)
	Names          []string `json:"names"`
	TrainImages    int      `json:"train_images"`
	ValImages      int      `json:"val_images"`
	TrainBoxes     int      `json:"train_boxes"`
	TrainEqualsVal bool     `json:"train_equals_val"`
}

// Prepared is the data_loader step's output.
type Prepared struct {
	Dataset pipeline.Dir `pipeline:"dataset"`
	Info    DatasetInfo  `pipeline:"info"`
}

// TrainSummary is what the trainer step reports about its training.
type TrainSummary struct {
	RunID   string             `json:"run_id"` // the tracking run with the params, metrics and artifacts
	RunName string             `json:"run_name"`
	Dir     string             `json:"dir"`     // the local run folder
	Weights string             `json:"weights"` // the weights' artifact path in the run
	Epochs  int                `json:"epochs"`
	Seconds float64            `json:"seconds"` // wall time of the training
	Metrics map[string]float64 `json:"metrics"` // the final validation of best, by Ultralytics' keys
}

// TrainOutput is the trainer step's output.
type TrainOutput struct {
	Weights pipeline.File `pipeline:"weights"`
	Summary TrainSummary  `pipeline:"summary"`
}

// EvalParams are the evaluator step's parameters.
type EvalParams struct {
	ImgSz  int     `json:"imgsz"`
	Batch  int     `json:"batch"`
	Conf   float64 `json:"conf"`
	IoU    float64 `json:"iou"`
	MaxDet int     `json:"max_det"`
	Split  string  `json:"split"`
	Plots  bool    `json:"plots"`
}

// Evaluation is the evaluator step's output: the validation of the
// trained weights.
type Evaluation struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	MAP50     float64 `json:"map50"`
	MAP5095   float64 `json:"map50_95"`
	Fitness   float64 `json:"fitness"`
	Images    int     `json:"images"`
	Instances int     `json:"instances"`
}

// Evaluated is the evaluator step's output.
type Evaluated struct {
	Evaluation Evaluation `pipeline:"evaluation"`
}

// RegisterParams are the register step's parameters.
type RegisterParams struct {
	Model string `json:"model"`
}

// Registered is the register step's output: the model version.
type Registered struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Source  string `json:"source"`
}

// RegisterOutput is the register step's output.
type RegisterOutput struct {
	Registered Registered `pipeline:"model_version"`
}

// point is one training of a grid and its pipeline's handles.
type point struct {
	index int
	name  string
	args  train.Args // effective: as logged
	// started is called when the trainer step starts running (not when
	// it is cached), after the data is ready.
	started func()

	p       *pipeline.Pipeline
	info    pipeline.Ref[DatasetInfo]
	summary pipeline.Ref[TrainSummary]
	eval    pipeline.Ref[Evaluation]
	reg     pipeline.Ref[Registered]
}

// build makes the pipeline of one point:
// data_loader -> trainer -> evaluator -> register.
func (r *runner) build(pt *point) {
	p := pipeline.New(PipelineName)
	pt.p = p

	dataInputs := pipeline.Inputs{"source": r.data.root}
	if r.data.kind == sourceYAML {
		dataInputs["data_yaml"] = r.data.yaml
	}
	load := pipeline.Add(p, pipeline.Spec[DataParams]{
		Name: StepDataLoader, Version: dataLoaderVersion, Inputs: dataInputs,
		Params: DataParams{Source: r.data.kind, Classes: r.opt.Data.Classes, KeepBackground: r.opt.Data.KeepBackground},
	}, r.loadData)
	ds := pipeline.Output[pipeline.Dir](load, "dataset")
	pt.info = pipeline.Output[DatasetInfo](load, "info")

	trainInputs := pipeline.Inputs{"dataset": ds, "info": pt.info}
	if m := r.models[pt.args.Model]; !m.scratch {
		trainInputs["pretrained"] = m.ref
	}
	trainer := pipeline.Add(p, pipeline.Spec[map[string]string]{
		Name: StepTrainer, Version: trainerVersion + "+" + r.opt.CodeVersion,
		Params: trainParams(pt.args), Inputs: trainInputs,
	}, func(ctx context.Context, sc *pipeline.StepContext, _ map[string]string) (TrainOutput, error) {
		return r.train(ctx, sc, pt, ds, pt.info)
	})
	best := pipeline.Output[pipeline.File](trainer, "weights")
	pt.summary = pipeline.Output[TrainSummary](trainer, "summary")

	a := pt.args
	eval := pipeline.Add(p, pipeline.Spec[EvalParams]{
		Name: StepEvaluator, Version: evaluatorVersion + "+" + r.opt.CodeVersion,
		// Batches twice the training's, as the trainer's validator: rect
		// batches letterbox by the batch's shapes, so this reproduces the
		// final validation the training run logged (and promote ranks).
		Params: EvalParams{ImgSz: a.ImgSz, Batch: 2 * a.Batch, Conf: a.ValConf(), IoU: a.IoU, MaxDet: a.MaxDet, Split: a.Split, Plots: a.Plots},
		Inputs: pipeline.Inputs{"weights": best, "dataset": ds},
	}, func(ctx context.Context, sc *pipeline.StepContext, prm EvalParams) (Evaluated, error) {
		ev, err := r.evaluate(ctx, sc, prm, best, ds)
		return Evaluated{ev}, err
	})
	pt.eval = pipeline.Output[Evaluation](eval, "evaluation")

	reg := pipeline.Add(p, pipeline.Spec[RegisterParams]{
		Name: StepRegister, Version: registerVersion, Params: RegisterParams{Model: r.opt.ModelName},
		Inputs: pipeline.Inputs{"summary": pt.summary, "evaluation": pt.eval, "info": pt.info},
	}, func(ctx context.Context, sc *pipeline.StepContext, prm RegisterParams) (RegisterOutput, error) {
		v, err := r.register(ctx, sc, prm, pt)
		return RegisterOutput{v}, err
	})
	pt.reg = pipeline.Output[Registered](reg, "model_version")
}

// loadData is the data_loader step: it builds the dataset of the chosen
// classes from the source and versions it (DVC 3's directory md5).
func (r *runner) loadData(ctx context.Context, sc *pipeline.StepContext, prm DataParams) (Prepared, error) {
	opts := dataset.PrepareOptions{Classes: prm.Classes, KeepBackground: prm.KeepBackground,
		Progress: lineWriter(sc.Printf)}
	switch prm.Source {
	case sourceCOCO128:
		root, err := pipeline.Get(ctx, sc, r.data.root)
		if err != nil {
			return Prepared{}, err
		}
		opts.Source, opts.From = sourceCOCO128, string(root)
	case sourceYAML:
		y, err := pipeline.Get(ctx, sc, r.data.yaml)
		if err != nil {
			return Prepared{}, err
		}
		opts.Source = string(y)
	default:
		return Prepared{}, fmt.Errorf("unknown source kind %q", prm.Source)
	}
	opts.Out = filepath.Join(sc.Dir(), r.data.name)
	res, err := dataset.Prepare(ctx, opts)
	if err != nil {
		return Prepared{}, err
	}
	version, err := datastore.Hash(ctx, opts.Out)
	if err != nil {
		return Prepared{}, fmt.Errorf("version the dataset: %w", err)
	}
	info := DatasetInfo{Name: r.data.name, Version: version, Names: res.Names}
	for _, s := range res.Splits {
		switch s.Name {
		case "train":
			info.TrainImages, info.TrainBoxes = s.Stats.Images, s.Stats.Boxes
		case "val":
			info.ValImages = s.Stats.Images
			info.TrainEqualsVal = s.SameAs == "train"
		}
	}
	sc.Printf("dataset %s version %s: %d train images (%d boxes), %d val images", info.Name, version, info.TrainImages, info.TrainBoxes, info.ValImages)
	c := r.opt.Client
	err = errors.Join(
		c.SetTags(ctx, sc.RunID(), datasetTags(info)),
		c.LogInputs(ctx, sc.RunID(), []tracking.DatasetInput{datasetInput(info, "", "prepared")}))
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{Dataset: pipeline.Dir(opts.Out), Info: info}, nil
}

func datasetTags(info DatasetInfo) []tracking.Tag {
	return []tracking.Tag{
		{Key: TagDatasetName, Value: info.Name},
		{Key: TagDatasetVersion, Value: info.Version},
		{Key: TagTrainImages, Value: fmt.Sprint(info.TrainImages)},
		{Key: TagValImages, Value: fmt.Sprint(info.ValImages)},
		{Key: TagTrainEqualsVal, Value: fmt.Sprint(info.TrainEqualsVal)},
	}
}

// datasetInput is the dataset as an MLflow dataset input: its digest is
// the version.
func datasetInput(info DatasetInfo, path, context string) tracking.DatasetInput {
	src := `{"dataset": "` + info.Name + `"}`
	if path != "" {
		src = fmt.Sprintf(`{"uri": %q}`, path)
	}
	return tracking.DatasetInput{
		Tags: []tracking.Tag{{Key: "mlflow.data.context", Value: context}},
		Dataset: tracking.Dataset{
			Name: info.Name, Digest: info.Version, SourceType: "local", Source: src,
			Profile: fmt.Sprintf(`{"train_images": %d, "val_images": %d, "train_boxes": %d}`, info.TrainImages, info.ValImages, info.TrainBoxes),
		},
	}
}

// train is the trainer step: it trains the point's arguments on the
// dataset, in the step run, which it renames after the point and in
// which it records the training as Ultralytics' MLflow callback would.
func (r *runner) train(ctx context.Context, sc *pipeline.StepContext, pt *point, dsRef pipeline.Ref[pipeline.Dir], infoRef pipeline.Ref[DatasetInfo]) (TrainOutput, error) {
	if pt.started != nil {
		pt.started()
	}
	ds, err := pipeline.Get(ctx, sc, dsRef)
	if err != nil {
		return TrainOutput{}, err
	}
	info, err := pipeline.Get(ctx, sc, infoRef)
	if err != nil {
		return TrainOutput{}, err
	}
	// The training reads the dataset from a folder named after its
	// version, which outlives the step, so that the data param of every
	// run of a version is the same (promote compares params) and names
	// files that can be read again.
	data, err := materialise(ctx, string(ds), filepath.Join(r.opt.Dir, "datasets", info.Name+"-"+shortVersion(info.Version)))
	if err != nil {
		return TrainOutput{}, err
	}
	a := pt.args
	a.Data = filepath.Join(data, "data.yaml")
	a.Project, a.Name, a.ExistOK = filepath.Join(r.opt.Dir, "detect"), pt.name, false
	a.Threads = r.threads
	if r.threads > 0 && (a.Workers == 0 || a.Workers > r.threads) {
		a.Workers = r.threads // image loading shares the training's CPUs
	}

	c, runID := r.opt.Client, sc.RunID()
	if _, err := c.UpdateRun(ctx, tracking.UpdateRun{RunID: runID, RunName: pt.name}); err != nil {
		return TrainOutput{}, fmt.Errorf("name the training run: %w", err)
	}
	err = errors.Join(
		c.SetTags(ctx, runID, append(datasetTags(info), tracking.Tag{Key: "mlflow.source.name", Value: "yolops " + PipelineName + " pipeline"})),
		c.LogInputs(ctx, runID, []tracking.DatasetInput{datasetInput(info, data, "training")}))
	if err != nil {
		return TrainOutput{}, err
	}

	log, closeLog := r.trainLog(sc)
	tr := NewTracker(ctx, c, runID)
	start := time.Now()
	res, err := train.Run(ctx, a, train.Options{Log: log, Observer: tr, Cache: r.opt.Weights, Version: r.opt.CodeVersion})
	secs := time.Since(start).Seconds()
	if lerr := closeLog(ctx, runID); err == nil {
		err = lerr
	}
	if err != nil {
		return TrainOutput{}, err
	}
	if err := tr.Err(); err != nil {
		return TrainOutput{}, err
	}
	return TrainOutput{
		Weights: pipeline.File(res.Best),
		Summary: TrainSummary{RunID: runID, RunName: pt.name, Dir: res.Dir, Weights: "weights/" + filepath.Base(res.Best),
			Epochs: res.Epochs, Seconds: secs, Metrics: res.Metrics},
	}, nil
}

// trainLog returns where a training writes its progress: the grid's log
// when trainings run one at a time (progress bars on a terminal), else a
// file uploaded as the run's train.log, so that parallel trainings do not
// interleave their bars.
func (r *runner) trainLog(sc *pipeline.StepContext) (io.Writer, func(ctx context.Context, runID string) error) {
	if r.opt.Parallel <= 1 {
		return r.log, func(context.Context, string) error { return nil }
	}
	path := filepath.Join(sc.Dir(), "train.log")
	f, err := os.Create(path)
	if err != nil {
		sc.Printf("no training log: %v", err)
		return io.Discard, func(context.Context, string) error { return nil }
	}
	return f, func(ctx context.Context, runID string) error {
		if err := f.Close(); err != nil {
			return err
		}
		// Uploaded even when the training failed: that is when it is read.
		return r.opt.Client.LogArtifact(context.WithoutCancel(ctx), runID, path, "")
	}
}

// evaluate is the evaluator step: it validates the trained weights as
// Ultralytics' `yolo val` does, logs the scores as eval/... metrics and
// its plots under val/ in its step run.
func (r *runner) evaluate(ctx context.Context, sc *pipeline.StepContext, prm EvalParams, weightsRef pipeline.Ref[pipeline.File], dsRef pipeline.Ref[pipeline.Dir]) (Evaluation, error) {
	w, err := pipeline.Get(ctx, sc, weightsRef)
	if err != nil {
		return Evaluation{}, err
	}
	ds, err := pipeline.Get(ctx, sc, dsRef)
	if err != nil {
		return Evaluation{}, err
	}
	log := r.log
	if r.opt.Parallel > 1 {
		log = io.Discard
	}
	vr, err := train.RunVal(ctx, train.ValArgs{
		Weights: string(w), Data: filepath.Join(string(ds), "data.yaml"), Split: prm.Split,
		ImgSz: prm.ImgSz, Batch: prm.Batch, Conf: prm.Conf, IoU: prm.IoU, MaxDet: prm.MaxDet,
		Workers: r.threads, Threads: r.threads, Project: sc.Dir(), Name: "val", Plots: prm.Plots,
	}, train.Options{Log: log, Cache: r.opt.Weights, Version: r.opt.CodeVersion})
	if err != nil {
		return Evaluation{}, err
	}
	m := vr.Metrics
	ev := Evaluation{Precision: m.Precision, Recall: m.Recall, MAP50: m.MAP50, MAP5095: m.MAP5095, Fitness: m.Fitness,
		Images: m.Images, Instances: m.Instances}
	results, _ := vr.Results(false)
	metrics := map[string]float64{}
	for k, v := range results {
		// eval/, not metrics/: promote ranks the runs that log metrics/,
		// the training runs; this one scores their weights again.
		metrics["eval/"+strings.TrimPrefix(k, "metrics/")] = v
	}
	c := r.opt.Client
	err = errors.Join(
		c.LogMetrics(ctx, sc.RunID(), client.EpochMetrics(metrics, 0)),
		c.LogArtifacts(ctx, sc.RunID(), vr.Dir, "val"))
	if err != nil {
		return Evaluation{}, err
	}
	return ev, nil
}

// register is the register step: it registers the trained weights as a
// version of the model (stage None), or finds the version registered
// from the same training run before. Promotion (stages, aliases, the
// report) is `yolops promote`'s.
func (r *runner) register(ctx context.Context, sc *pipeline.StepContext, prm RegisterParams, pt *point) (Registered, error) {
	sum, err := pipeline.Get(ctx, sc, pt.summary)
	if err != nil {
		return Registered{}, err
	}
	ev, err := pipeline.Get(ctx, sc, pt.eval)
	if err != nil {
		return Registered{}, err
	}
	info, err := pipeline.Get(ctx, sc, pt.info)
	if err != nil {
		return Registered{}, err
	}
	c := r.opt.Client
	source := "runs:/" + sum.RunID + "/" + sum.Weights
	out := Registered{Model: prm.Model, Source: source}
	if _, err := c.GetRegisteredModel(ctx, prm.Model); tracking.IsNotFound(err) {
		_, err = c.CreateRegisteredModel(ctx, prm.Model, nil, "Person detectors trained by the yolops "+PipelineName+" pipeline.")
		if err != nil && tracking.CodeOf(err) != tracking.ResourceAlreadyExists {
			return out, fmt.Errorf("create registered model %q: %w", prm.Model, err)
		}
	} else if err != nil {
		return out, fmt.Errorf("registered model %q: %w", prm.Model, err)
	}
	vs, _, err := c.SearchModelVersions(ctx, tracking.SearchModelVersions{Filter: fmt.Sprintf("run_id = '%s'", sum.RunID)})
	if err != nil {
		return out, fmt.Errorf("search the versions of run %s: %w", sum.RunID, err)
	}
	for _, v := range vs {
		// The store resolves a runs:/ source to the run's artifact URI.
		if v.Name == prm.Model && strings.HasSuffix(v.Source, "/"+sum.Weights) {
			sc.Printf("%s version %s was registered from run %s before", prm.Model, v.Version, sum.RunID)
			out.Version = v.Version
			return out, nil
		}
	}
	v, err := c.CreateModelVersion(ctx, tracking.CreateModelVersion{
		Name: prm.Model, Source: source, RunID: sum.RunID,
		Description: fmt.Sprintf("%s: mAP50 %.4g, mAP50-95 %.4g on %s (version %s).", sum.RunName, ev.MAP50, ev.MAP5095, info.Name, info.Version),
		Tags: []tracking.Tag{
			{Key: "yolops.run_name", Value: sum.RunName},
			{Key: TagDatasetVersion, Value: info.Version},
			{Key: "yolops.eval.mAP50", Value: fmt.Sprint(ev.MAP50)},
			{Key: "yolops.eval.mAP50-95", Value: fmt.Sprint(ev.MAP5095)},
		},
	})
	if err != nil {
		return out, fmt.Errorf("register %s as a version of %q: %w", source, prm.Model, err)
	}
	sc.Printf("registered %s as %s version %s (stage %s)", source, prm.Model, v.Version, v.CurrentStage)
	out.Version = v.Version
	return out, nil
}
