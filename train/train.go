package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/metrics"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/plots"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// Options are how a training runs, beside its arguments.
type Options struct {
	// Log receives the progress bars and summaries (nil: discarded).
	Log io.Writer
	// Observer is told the run's parameters, metrics and files (nil:
	// nobody).
	Observer Observer
	// Cache fetches a published checkpoint named by Args.Model that is
	// not on disk (nil: no download).
	Cache *assets.Cache
	// Version is the yolops version recorded in checkpoints.
	Version string
}

// Result is what a training produced.
type Result struct {
	// Dir is the run folder; Best and Last its checkpoints.
	Dir, Best, Last string
	// Epochs is the number of epochs trained in all, resumed ones
	// included (fewer than Args.Epochs after an early stop).
	Epochs int
	// BestFitness is the best validation fitness, 0.1 mAP50 + 0.9
	// mAP50-95.
	BestFitness float64
	// Metrics are the final validation's of best, by Ultralytics' keys
	// (metrics/precision(B) ...).
	Metrics map[string]float64
}

// seedStream separates the model initialisation's random numbers from
// the loader's, which are drawn from the same seed.
const seedStream = 0x696e6974 // "init"

// maxGradNorm is the gradient clipping norm of Ultralytics'
// optimizer_step.
const maxGradNorm = 10.0

// GCPercent is the GOGC the commands that train set unless $GOGC is
// given: training keeps gigabytes of layer buffers alive for the whole
// run, and at Go's default of 100 as much garbage again (decoded images,
// batches) piles up in fresh pages before a collection. At 25 the peak
// resident memory of a yolov8n run at batch 16 falls by a fifth, and the
// page faults it cost go with it (bench/train).
const GCPercent = 25

// valCacheBudget bounds the memory validation's decoded images may keep
// between epochs (see dataset.LoaderOptions.CacheBudget): 128 MiB holds
// about 470 images at 320 and 110 at 640.
const valCacheBudget = 128 << 20

// resumable lists the arguments that may differ from the checkpoint's
// when resuming: Ultralytics lets imgsz, batch and device change; the
// others here change how, not what, is computed (model and resume name
// the checkpoint itself).
var resumable = []string{"imgsz", "batch", "device", "workers", "threads", "model", "resume"}

// ResumeArgs returns the arguments that continue the training whose
// checkpoint is path: the checkpoint's own, with model and resume set to
// path, as Ultralytics' check_resume does. Of these, imgsz, batch,
// workers and threads may be changed before calling Run.
func ResumeArgs(path string) (Args, error) {
	ck, err := yolo.ReadCheckpoint(path)
	if err != nil {
		return Args{}, err
	}
	a, err := argsFromJSON(ck.Meta.Args)
	if err != nil {
		return Args{}, fmt.Errorf("train: %s: %w", path, err)
	}
	if ck.Finalized() {
		return Args{}, fmt.Errorf("train: %s: training to %d epochs is finished, nothing to resume; start a new training with --model %s",
			path, a.Epochs, path)
	}
	a.Model, a.Resume = path, path
	return a, nil
}

// trainer holds one training's state.
type trainer struct {
	args  Args
	opts  Options
	log   io.Writer
	obs   Observer
	names []string
	nc    int

	e                *nn.Engine
	model, evalModel *yolo.Model
	evalState        []*tensor.Tensor
	ema              *nn.EMA
	loss, valLoss    *yolo.Loss
	params           []*nn.Param // the trained (not frozen) parameters
	opt              nn.Optimizer
	optName          string
	initialLR        float64
	sched            schedule
	accumulate       int
	lastOptStep      int

	trainLoader, valLoader *dataset.Loader
	recalLoader            *dataset.Loader // unaugmented training images for bn_recal (nil: off)
	nb                     int

	dir, wdir, last, best string
	start                 int // first epoch of this run
	epoch                 int // the current epoch
	bestFitness           *float64
	fitness               *float64
	metrics               map[string]float64
	stopper               stopper
	plotIdx               []int
}

// stopper is Ultralytics' EarlyStopping: stop after patience epochs
// without a fitness at least as good as the best.
type stopper struct {
	bestFitness  float64
	bestEpoch    int
	patience     int // 0: never
	possibleStop bool
}

// step records the fitness after epoch (counted from 1) and reports
// whether to stop.
func (s *stopper) step(epoch int, fitness *float64) bool {
	if fitness == nil {
		return false
	}
	if *fitness >= s.bestFitness {
		s.bestEpoch, s.bestFitness = epoch, *fitness
	}
	if s.patience == 0 {
		return false
	}
	delta := epoch - s.bestEpoch
	s.possibleStop = delta >= s.patience-1
	return delta >= s.patience
}

// Run trains as args say and returns where the results are. With
// args.Resume it continues the checkpoint's training (args as ResumeArgs
// returns them) in the checkpoint's run folder, bit for bit as if it had
// not stopped, for the same thread count. When ctx is cancelled Run
// returns its error after the current batch, leaving the last completed
// epoch's checkpoint to resume from.
func Run(ctx context.Context, args Args, opts Options) (res *Result, err error) {
	t := &trainer{args: args, opts: opts, log: opts.Log, obs: opts.Observer}
	if t.log == nil {
		t.log = io.Discard
	}
	started := false
	defer func() {
		if t.e != nil {
			t.e.Close()
		}
		if started && t.obs != nil {
			t.obs.OnTrainEnd(err)
		}
	}()
	if err := t.setup(ctx); err != nil {
		return nil, err
	}
	if t.obs != nil {
		t.obs.OnTrainStart(t.args.Params())
	}
	started = true
	return t.run(ctx)
}

func (t *trainer) setup(ctx context.Context) error {
	a := &t.args
	var ck *yolo.Checkpoint
	if a.Resume != "" {
		var err error
		if ck, err = yolo.ReadCheckpoint(a.Resume); err != nil {
			return err
		}
		if ck.Finalized() {
			return fmt.Errorf("train: %s: training is finished, nothing to resume", a.Resume)
		}
		ckArgs, err := argsFromJSON(ck.Meta.Args)
		if err != nil {
			return fmt.Errorf("train: %s: %w", a.Resume, err)
		}
		if err := sameArgs(ckArgs, *a); err != nil {
			return fmt.Errorf("train: resuming %s: %w", a.Resume, err)
		}
	}
	if err := a.Validate(); err != nil {
		return err
	}

	// Data.
	dc, err := dataset.LoadConfig(a.Data)
	if err != nil {
		return err
	}
	t.names, t.nc = dc.Names, dc.NC()
	trainItems, err := t.scan(ctx, dc, "train")
	if err != nil {
		return err
	}
	valItems, err := t.scan(ctx, dc, a.Split)
	if err != nil {
		return err
	}
	if a.Fraction < 1 {
		trainItems = trainItems[:max(pyRound(float64(len(trainItems))*a.Fraction), 1)]
	}

	// Run folder.
	if ck != nil {
		if a.SaveDir == "" {
			return fmt.Errorf("train: %s records no run folder (save_dir)", a.Resume)
		}
		if err := os.MkdirAll(a.SaveDir, 0o755); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		t.dir = a.SaveDir
	} else {
		if t.dir, err = runDir(a.Project, a.Name, "train", a.ExistOK); err != nil {
			return err
		}
		a.SaveDir, a.Name = t.dir, filepath.Base(t.dir)
	}
	t.wdir = filepath.Join(t.dir, "weights")
	if err := os.MkdirAll(t.wdir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.last = filepath.Join(t.wdir, "last.safetensors")
	t.best = filepath.Join(t.wdir, "best.safetensors")
	if err := writeArgsYAML(t.dir, *a); err != nil {
		return err
	}
	fmt.Fprintf(t.log, "train: %s\n", argsLine(*a))

	// Model, EMA, losses.
	t.e = nn.NewEngine(a.Threads)
	if err := t.buildModel(ctx, ck); err != nil {
		return err
	}
	state := t.model.State()
	tensors := make([]*tensor.Tensor, len(state))
	for i, n := range state {
		tensors[i] = n.Tensor
	}
	t.ema = nn.NewEMA(tensors)
	if t.evalModel, err = yolo.New(t.e, t.model.Config, nil); err != nil {
		return err
	}
	t.evalModel.SetTrain(false)
	for _, n := range t.evalModel.State() {
		t.evalState = append(t.evalState, n.Tensor)
	}
	hyp := yolo.LossHyp{Box: a.Box, Cls: a.Cls, DFL: a.DFL}
	t.loss, t.valLoss = yolo.NewLoss(t.nc, hyp), yolo.NewLoss(t.nc, hyp)

	// Loaders.
	topts := dataset.TrainOptions(a.ImgSz, a.Batch)
	topts.Hyp, topts.Seed, topts.Workers = a.Hyp(), uint64(a.Seed), a.Workers
	topts.Shuffle, topts.CacheRAM, topts.NC, topts.Rect = !a.FixedOrder, a.Cache, t.nc, a.Rect
	if t.trainLoader, err = dataset.NewLoader(trainItems, topts); err != nil {
		return fmt.Errorf("train: training images: %w", err)
	}
	vopts := dataset.ValOptions(a.ImgSz, a.Batch*2)
	vopts.Workers, vopts.CacheRAM, vopts.NC = a.Workers, a.Cache, t.nc
	// Validation reads the same images every epoch: keep them decoded
	// when they are few (a CPU-side cost Ultralytics pays each epoch).
	vopts.CacheBudget = valCacheBudget
	if t.valLoader, err = dataset.NewLoader(valItems, vopts); err != nil {
		return fmt.Errorf("train: %s images: %w", a.Split, err)
	}
	t.nb = t.trainLoader.Len()
	if a.BNRecal > 0 {
		if t.recalLoader, err = dataset.NewLoader(trainItems, recalLoaderOptions(*a, t.nc)); err != nil {
			return fmt.Errorf("train: bn_recal images: %w", err)
		}
		fmt.Fprintf(t.log, "bn_recal: BatchNorm statistics re-estimated before each validation on %d unaugmented training batches of %d\n",
			min(a.BNRecal, t.recalLoader.Len()), a.Batch)
	}

	// Optimizer and schedule.
	fmt.Fprintf(t.log, "Freezing layer 'model.22.dfl.conv.weight'\n")
	frozen := frozenLayers(a.Freeze)
	groups, counts := paramGroups(t.model, frozen)
	for _, g := range groups {
		t.params = append(t.params, g...)
	}
	t.accumulate = baseAccumulate(a.NBS, a.Batch)
	decay := scaledDecay(a.WeightDecay, a.Batch, a.NBS)
	choice := chooseOptimizer(a.Optimizer, a.LR0, a.Momentum, t.nc, len(trainItems), a.Batch, a.NBS, a.Epochs)
	if choice.Auto {
		fmt.Fprintf(t.log, "optimizer: 'optimizer=auto' found, ignoring 'lr0=%s' and 'momentum=%s' and determining best 'optimizer', 'lr0' and 'momentum' automatically... \n",
			pyFloat(a.LR0), pyFloat(a.Momentum))
		a.WarmupBiasLR = 0 // as Ultralytics: no higher than 0.01 for Adam
	}
	if t.opt, err = newOptimizer(choice, decay, groups); err != nil {
		return err
	}
	t.optName, t.initialLR = choice.Name, choice.LR
	fmt.Fprintf(t.log, "optimizer: %s(lr=%s, momentum=%s) with parameter groups %d weight(decay=0.0), %d weight(decay=%s), %d bias(decay=0.0)\n",
		choice.Name, pyFloat(choice.LR), pyFloat(choice.Momentum), counts[pgNorm], counts[pgWeight], pyFloat(decay), counts[pgBias])
	t.sched = schedule{nw: warmupIters(a.WarmupEpochs, t.nb), nbs: a.NBS, batch: a.Batch,
		warmupBiasLR: a.WarmupBiasLR, warmupMomentum: a.WarmupMomentum, momentum: a.Momentum,
		lf: lrLambda(a.Epochs, a.LRF, a.CosLR)}
	t.stopper = stopper{patience: a.Patience}
	t.lastOptStep = -1
	t.metrics = map[string]float64{}
	for _, k := range append(slices.Clone(metrics.Keys()), lossKeys("val")...) {
		t.metrics[k] = 0
	}
	if ck != nil {
		if err := t.resume(ck); err != nil {
			return fmt.Errorf("train: resuming %s: %w", a.Resume, err)
		}
	}
	t.plotIdx = []int{0, 1, 2}
	if a.CloseMosaic > 0 {
		base := (a.Epochs - a.CloseMosaic) * t.nb
		t.plotIdx = append(t.plotIdx, base, base+1, base+2)
	}
	return nil
}

// sameArgs reports the first argument in which b differs from a, the
// checkpoint's, other than those a resumed training may change.
func sameArgs(a, b Args) error {
	fa, fb := a.fields(), b.fields()
	for i := range fa {
		if slices.Contains(resumable, fa[i].key) || fa[i].key == "warmup_bias_lr" {
			continue // warmup_bias_lr: optimizer=auto zeroes it after args.yaml
		}
		sa, sb := pyStr(fa[i].key, fa[i].val), pyStr(fb[i].key, fb[i].val)
		if sa != sb {
			return fmt.Errorf("%s is %s in the checkpoint and %s here; a resumed training keeps its arguments (only %s may change)",
				fa[i].key, sa, sb, strings.Join(resumable[:5], ", "))
		}
	}
	return nil
}

// argsLine lists the arguments as Ultralytics' print_args does.
func argsLine(a Args) string {
	fs := a.fields()
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.key + "=" + pyStr(f.key, f.val)
	}
	return strings.Join(parts, ", ")
}

// scan lists a split's usable images, reporting its problems.
func (t *trainer) scan(ctx context.Context, dc *dataset.Config, split string) ([]dataset.Item, error) {
	var bar *progress
	dc.Progress = func(done, total int) {
		if bar == nil {
			bar = newProgress(t.log, total, split+": Scanning "+dc.File)
		}
		bar.update(done, split+": Scanning "+dc.File)
	}
	s, err := dc.Scan(ctx, split)
	if bar != nil {
		bar.close()
	}
	if err != nil {
		return nil, err
	}
	for i, p := range s.Problems {
		if i == 10 {
			fmt.Fprintf(t.log, "%s: ... and %d more problems\n", split, len(s.Problems)-10)
			break
		}
		fmt.Fprintf(t.log, "%s: WARNING %s\n", split, p)
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("train: %s split of %s: no usable images", split, dc.File)
	}
	return s.Items, nil
}

// buildModel makes the model to train: the checkpoint's when resuming;
// else a fresh one of the scale Args.Model names (yolov8n.yaml) or of
// the pretrained weights it names, whose matching tensors are then
// copied in.
func (t *trainer) buildModel(ctx context.Context, ck *yolo.Checkpoint) error {
	a := &t.args
	if ck != nil {
		if ck.Meta.Config.NC != t.nc {
			return fmt.Errorf("train: %s has %d classes, the data %s %d", a.Resume, ck.Meta.Config.NC, a.Data, t.nc)
		}
		m, err := yolo.New(t.e, ck.Meta.Config, nil)
		if err != nil {
			return err
		}
		if err := m.Load(ck.ModelSource()); err != nil {
			return fmt.Errorf("train: %s: %w", a.Resume, err)
		}
		m.SetTrain(true)
		t.model = m
		return nil
	}
	scale, weights, err := modelSpec(a.Model)
	if err != nil {
		return err
	}
	scratch := weights == ""
	var (
		src      []yolo.Named
		srcNames []string
	)
	if !scratch {
		w, err := yolo.Open(ctx, t.e, weights, t.opts.Cache)
		if err != nil {
			return err
		}
		scale, src, srcNames = w.Model.Config.Scale, w.Model.State(), w.Names
	}
	r := rand.New(rand.NewPCG(uint64(a.Seed), seedStream))
	m, err := yolo.New(t.e, yolo.Config{Scale: scale, NC: t.nc}, r)
	if err != nil {
		return err
	}
	if !scratch {
		n := transfer(m, src)
		fmt.Fprintf(t.log, "Transferred %d/%d items from pretrained weights %s\n", n, len(m.State()), a.Model)
	}
	if a.InitHeadFromClass != "" {
		if scratch {
			return fmt.Errorf("train: init_head_from_class %q needs pretrained weights, and model %s is an architecture", a.InitHeadFromClass, a.Model)
		}
		k, err := classIndex(a.InitHeadFromClass, srcNames)
		if err != nil {
			return fmt.Errorf("train: init_head_from_class: %w", err)
		}
		if err := initHeadFromClass(m, src, k); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		fmt.Fprintf(t.log, "Classification head started from pretrained class %d (%s)\n", k, srcNames[k])
	}
	t.model = m
	return nil
}

// modelSpec tells an architecture (yolov8n.yaml: trained from scratch)
// from weights: a file, or a published name, which without an extension
// means its .pt, as Ultralytics' check_model_file_from_stem reads
// "yolov8n". It returns the scale of an architecture, or the weights'
// path.
func modelSpec(model string) (scale, weights string, err error) {
	switch strings.ToLower(filepath.Ext(model)) {
	case ".yaml", ".yml":
		base := filepath.Base(model)
		s, err := yolo.ParseName(strings.TrimSuffix(base, filepath.Ext(base)))
		if err != nil {
			return "", "", fmt.Errorf("train: model %s: %w", model, err)
		}
		return s, "", nil
	case "":
		if _, err := os.Stat(model); errors.Is(err, fs.ErrNotExist) {
			return "", model + ".pt", nil
		}
	}
	return "", model, nil
}

// resume restores the state a checkpoint saved.
func (t *trainer) resume(ck *yolo.Checkpoint) error {
	if err := restoreOptimizer(t.opt, ck); err != nil {
		return err
	}
	if ck.Meta.Optimizer != t.optName {
		return fmt.Errorf("the checkpoint's optimizer is %s, this training's %s", ck.Meta.Optimizer, t.optName)
	}
	if len(ck.Meta.OptimizerGroups) > 0 {
		t.initialLR = ck.Meta.OptimizerGroups[0].InitialLR
		for i, g := range t.opt.Groups() {
			g.WeightDecay = ck.Meta.OptimizerGroups[i].WeightDecay
		}
	}
	if ck.EMA == nil {
		return errors.New("the checkpoint has no EMA")
	}
	ema := map[string]*tensor.Tensor{}
	for _, n := range ck.EMA {
		ema[n.Name] = n.Tensor
	}
	for i, n := range t.model.State() {
		src, ok := ema[n.Name]
		if !ok || !src.SameShape(n.Tensor) {
			return fmt.Errorf("the checkpoint's EMA has no %s %v", n.Name, n.Tensor.Shape)
		}
		copy(t.ema.State()[i].Data, src.Data)
	}
	t.ema.Updates = ck.Meta.EMAUpdates
	byName := map[string]*nn.Param{}
	for _, p := range t.params {
		byName[p.Name] = p
	}
	for _, g := range ck.Grads {
		p := byName[g.Name]
		if p == nil || !p.Grad.SameShape(g.Tensor) {
			return fmt.Errorf("the checkpoint has a gradient for %s, which this training does not optimise", g.Name)
		}
		copy(p.Grad.Data, g.Tensor.Data)
	}
	t.lastOptStep = ck.Meta.LastOptStep
	t.bestFitness, t.fitness = ck.Meta.BestFitness, ck.Meta.Fitness
	t.stopper.bestEpoch, t.stopper.bestFitness = ck.Meta.EarlyStopping.BestEpoch, ck.Meta.EarlyStopping.BestFitness
	for k, v := range ck.Meta.Metrics {
		if k != "fitness" {
			t.metrics[k] = v
		}
	}
	t.start = ck.Meta.Epoch + 1
	fmt.Fprintf(t.log, "Resuming training %s from epoch %d to %d total epochs\n", t.args.Resume, t.start+1, t.args.Epochs)
	// Mosaic is off from epoch epochs-close_mosaic on, as in a training
	// that did not stop. (Ultralytics' resume_training turns it off
	// whenever start > epochs-close_mosaic, also when close_mosaic
	// exceeds the epochs and the uninterrupted training never did.)
	if c := t.args.Epochs - t.args.CloseMosaic; t.args.CloseMosaic > 0 && c >= 0 && t.start > c {
		fmt.Fprintln(t.log, "Closing dataloader mosaic")
		t.trainLoader.CloseMosaic()
	}
	// Rows of epochs after the checkpoint (written before a crash that
	// came before the checkpoint) are dropped.
	csv := filepath.Join(t.dir, "results.csv")
	if r, err := plots.ReadResultsCSV(csv); err == nil {
		keep := r.Rows[:0]
		for _, row := range r.Rows {
			if int(row[0]) <= t.start {
				keep = append(keep, row)
			}
		}
		r.Rows = keep
		if err := plots.WriteResultsCSV(csv, r); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// run is _do_train after set-up: the epochs, then the final validation.
func (t *trainer) run(ctx context.Context) (*Result, error) {
	a := &t.args
	fmt.Fprintf(t.log, "Image sizes %d train, %d val\nUsing %d dataloader workers\nLogging results to %s\nStarting training for %d epochs...\n",
		a.ImgSz, a.ImgSz, t.trainLoader.Options().Workers, t.dir, a.Epochs)
	begin := time.Now()
	epochsDone := t.start
	for epoch := t.start; epoch < a.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, t.interrupted(err)
		}
		t.epoch = epoch
		for _, g := range t.opt.Groups() {
			g.LR = t.initialLR * t.sched.lf(epoch) // the LambdaLR step at the epoch's start
		}
		if epoch == a.Epochs-a.CloseMosaic {
			fmt.Fprintln(t.log, "Closing dataloader mosaic")
			t.trainLoader.CloseMosaic()
		}
		tloss, err := t.trainEpoch(ctx, epoch)
		if err != nil {
			return nil, t.interrupted(err)
		}
		var lr [3]float64
		for i, g := range t.opt.Groups() {
			lr[i] = g.LR
		}
		final := epoch+1 >= a.Epochs
		if a.Val || final || t.stopper.possibleStop {
			m, fitness, err := t.validate(ctx)
			if err != nil {
				return nil, t.interrupted(err)
			}
			t.metrics, t.fitness = m, &fitness
		}
		if err := t.saveMetrics(epoch, tloss, lr); err != nil {
			return nil, err
		}
		stop := t.stopper.step(epoch+1, t.fitness) || final
		if a.Save || final {
			if err := t.saveModel(epoch); err != nil {
				return nil, err
			}
		}
		epochsDone = epoch + 1
		if t.obs != nil {
			em := map[string]float64{}
			for i, k := range lossKeys("train") {
				em[k] = roundTo(float64(tloss[i]), 5)
			}
			for i, v := range lr {
				em[fmt.Sprintf("lr/pg%d", i)] = v
			}
			for k, v := range t.metrics {
				em[k] = v
			}
			t.obs.OnEpochEnd(epoch, sanitize(em))
		}
		if stop {
			if !final {
				fmt.Fprintf(t.log, "EarlyStopping: Training stopped early as no improvement observed in last %d epochs. Best results observed at epoch %d, best model saved as best.safetensors.\n",
					a.Patience, t.stopper.bestEpoch)
			}
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, t.interrupted(err) // keep last resumable: no finalisation
	}
	fmt.Fprintf(t.log, "\n%d epochs completed in %.3f hours.\n", epochsDone-t.start, time.Since(begin).Hours())
	res := &Result{Dir: t.dir, Best: t.best, Last: t.last, Epochs: epochsDone}
	if t.bestFitness != nil {
		res.BestFitness = *t.bestFitness
	}
	if err := t.finalEval(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// interrupted adds to a cancellation where to resume from.
func (t *trainer) interrupted(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if _, serr := os.Stat(t.last); serr == nil {
			fmt.Fprintf(t.log, "\nInterrupted; resume with: yolops train --resume %s\n", t.last)
		}
	}
	return err
}

// trainEpoch runs one epoch's batches and returns the mean of the three
// loss items.
func (t *trainer) trainEpoch(ctx context.Context, epoch int) ([3]float32, error) {
	a := &t.args
	t.model.SetTrain(true)
	fmt.Fprintf(t.log, "\n%11s%11s%11s%11s%11s%11s%11s\n", "Epoch", "GPU_mem", "box_loss", "cls_loss", "dfl_loss", "Instances", "Size")
	bar := newProgress(t.log, t.nb, "")
	defer bar.close()
	_, sgd := t.opt.(*nn.SGD)
	var tloss [3]float32
	i := 0
	for b, err := range t.trainLoader.Epoch(ctx, epoch) {
		if err != nil {
			return tloss, err
		}
		ni := i + t.nb*epoch
		if acc, lrs, mom, ok := t.sched.warmupStep(ni, epoch, t.initialLR); ok {
			t.accumulate = acc
			for j, g := range t.opt.Groups() {
				g.LR = lrs[j]
				if sgd {
					g.Momentum = mom
				}
			}
		}
		x, err := tensor.FromData(b.Images, b.N, 3, b.H, b.W)
		if err != nil {
			return tloss, fmt.Errorf("train: batch %d: %w", b.Index, err)
		}
		maps := t.model.Forward(x)
		_, items, grads, err := t.loss.Compute(maps, batchTargets(b))
		if err != nil {
			return tloss, fmt.Errorf("train: epoch %d batch %d: %w", epoch+1, b.Index, err)
		}
		t.model.Backward(grads)
		for k := range tloss {
			if i == 0 {
				tloss[k] = items[k]
			} else {
				tloss[k] = (float32(tloss[k]*float32(i)) + items[k]) / float32(i+1)
			}
		}
		if ni-t.lastOptStep >= t.accumulate {
			clipGradNorm(t.params, maxGradNorm)
			t.opt.Step()
			t.opt.ZeroGrad()
			t.ema.Update()
			t.lastOptStep = ni
		}
		bar.update(i+1, fmt.Sprintf("%11s%11s%11.4g%11.4g%11.4g%11.4g%11.4g", fmt.Sprintf("%d/%d", epoch+1, a.Epochs), "0G",
			tloss[0], tloss[1], tloss[2], float64(len(b.Cls)), float64(b.W)))
		if a.Plots && slices.Contains(t.plotIdx, ni) {
			if err := dataset.PlotBatchFile(filepath.Join(t.dir, fmt.Sprintf("train_batch%d.jpg", ni)), b, t.names, nil); err != nil {
				return tloss, err
			}
		}
		i++
	}
	return tloss, nil
}

// validate scores the EMA weights on the validation split, as the
// trainer's validate(), and updates the best fitness.
func (t *trainer) validate(ctx context.Context) (map[string]float64, float64, error) {
	if err := t.ema.CopyTo(t.evalState); err != nil {
		return nil, 0, err
	}
	if t.recalLoader != nil {
		// The epoch's own shuffle picks the batches: reproducible, and
		// the same after a resume.
		if _, err := recalibrateBN(ctx, t.evalModel, t.recalLoader.Epoch(ctx, t.epoch), t.args.BNRecal); err != nil {
			return nil, 0, err
		}
		// Kept in the EMA, which is what last and best save: the saved
		// model is the one validated. Only the running statistics differ.
		for i, s := range t.evalState {
			copy(t.ema.State()[i].Data, s.Data)
		}
	}
	r, err := Validate(ctx, t.evalModel, t.valLoader, t.valConfig(t.valLoss, ""))
	if err != nil {
		return nil, 0, err
	}
	printResults(t.log, r, t.names, false)
	m, fitness := r.Results(true)
	if t.bestFitness == nil || *t.bestFitness == 0 || *t.bestFitness < fitness {
		f := fitness
		t.bestFitness = &f
	}
	return m, fitness, nil
}

func (t *trainer) valConfig(loss *yolo.Loss, plotDir string) ValConfig {
	return ValConfig{Names: t.names, Conf: float32(t.args.ValConf()), IoU: float32(t.args.IoU), MaxDet: t.args.MaxDet,
		Loss: loss, PlotDir: plotDir, Log: t.log}
}

// saveMetrics appends the epoch's row to results.csv.
func (t *trainer) saveMetrics(epoch int, tloss [3]float32, lr [3]float64) error {
	row := []float64{float64(epoch + 1)}
	for _, v := range tloss {
		row = append(row, roundTo(float64(v), 5))
	}
	for _, k := range metrics.Keys() {
		row = append(row, t.metrics[k])
	}
	for _, k := range lossKeys("val") {
		row = append(row, t.metrics[k])
	}
	row = append(row, lr[:]...)
	return plots.AppendResultsCSV(filepath.Join(t.dir, "results.csv"), plots.ResultsColumns(), row)
}

// checkpoint gathers the training state after epoch.
func (t *trainer) checkpoint(epoch int) (*yolo.Checkpoint, error) {
	argsJSON, err := t.args.argsJSON()
	if err != nil {
		return nil, err
	}
	state := t.model.State()
	emaState := make([]yolo.Named, len(state))
	for i, n := range state {
		emaState[i] = yolo.Named{Name: n.Name, Tensor: t.ema.State()[i]}
	}
	optState, steps := optimizerState(t.opt)
	var groups []yolo.OptimizerGroup
	for _, g := range t.opt.Groups() {
		groups = append(groups, yolo.OptimizerGroup{LR: g.LR, InitialLR: t.initialLR, Momentum: g.Momentum, WeightDecay: g.WeightDecay})
	}
	var grads []yolo.Named
	if t.lastOptStep != t.nb*(epoch+1)-1 { // gradients accumulated since the last step
		for _, p := range t.params {
			grads = append(grads, yolo.Named{Name: p.Name, Tensor: p.Grad})
		}
	}
	tm := map[string]float64{}
	for k, v := range t.metrics {
		tm[k] = v
	}
	if t.fitness != nil {
		tm["fitness"] = *t.fitness
	}
	return &yolo.Checkpoint{
		Meta: yolo.CheckpointMeta{
			Config: t.model.Config, Task: "detect", Names: t.names, Epoch: epoch,
			BestFitness: t.bestFitness, Fitness: t.fitness, Args: argsJSON,
			Optimizer: t.optName, OptimizerGroups: groups, OptimizerSteps: steps,
			EMAUpdates: t.ema.Updates, LastOptStep: t.lastOptStep, TrainSeed: uint64(t.args.Seed),
			EarlyStopping: yolo.EarlyStopping{BestEpoch: t.stopper.bestEpoch, BestFitness: t.stopper.bestFitness},
			Metrics:       tm, Date: time.Now(), Version: t.opts.Version,
		},
		Model: state, EMA: emaState, Optimizer: optState, Grads: grads,
	}, nil
}

// saveModel writes last, and best when this epoch's fitness is the
// best, and every save_period epochs epoch<N>.
func (t *trainer) saveModel(epoch int) error {
	ck, err := t.checkpoint(epoch)
	if err != nil {
		return err
	}
	if err := yolo.WriteCheckpoint(t.last, ck); err != nil {
		return err
	}
	if t.bestFitness != nil && t.fitness != nil && *t.bestFitness == *t.fitness {
		if err := copyFileAtomic(t.best, t.last); err != nil {
			return err
		}
	}
	if p := t.args.SavePeriod; p > 0 && epoch%p == 0 {
		if err := copyFileAtomic(filepath.Join(t.wdir, fmt.Sprintf("epoch%d.safetensors", epoch)), t.last); err != nil {
			return err
		}
	}
	return nil
}

// copyFileAtomic copies src to dst through a temporary file renamed into
// place.
func copyFileAtomic(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return writeFileAtomic(dst, data)
}

// finalize turns a checkpoint into a finished model, as strip_optimizer:
// the EMA weights become the model's, and the EMA, optimizer and
// gradients are dropped.
func (t *trainer) finalize(path string) error {
	ck, err := yolo.ReadCheckpoint(path)
	if err != nil {
		return err
	}
	if ck.EMA != nil {
		ck.Model = ck.EMA
	}
	ck.EMA, ck.Optimizer, ck.Grads = nil, nil, nil
	m := &ck.Meta
	m.Epoch, m.BestFitness, m.Optimizer, m.OptimizerGroups, m.OptimizerSteps = -1, nil, "", nil, nil
	m.EMAUpdates, m.LastOptStep, m.Date = 0, 0, time.Now()
	if err := yolo.WriteCheckpoint(path, ck); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		fmt.Fprintf(t.log, "Optimizer stripped from %s, %.1fMB\n", path, float64(st.Size())/1e6)
	}
	return nil
}

// finalEval finalises the checkpoints, validates best with plots, draws
// results.png and hands the run's files to the observer.
func (t *trainer) finalEval(ctx context.Context, res *Result) error {
	for _, f := range []string{t.last, t.best} {
		if _, err := os.Stat(f); err != nil {
			continue
		}
		if err := t.finalize(f); err != nil {
			return err
		}
	}
	if _, err := os.Stat(t.best); err == nil {
		fmt.Fprintf(t.log, "\nValidating %s...\n", t.best)
		ck, err := yolo.ReadCheckpoint(t.best)
		if err != nil {
			return err
		}
		if err := t.evalModel.Load(ck.EMASource()); err != nil {
			return fmt.Errorf("train: %s: %w", t.best, err)
		}
		plotDir := ""
		if t.args.Plots {
			plotDir = t.dir
		}
		r, err := Validate(ctx, t.evalModel, t.valLoader, t.valConfig(nil, plotDir))
		if err != nil {
			return t.interrupted(err)
		}
		printResults(t.log, r, t.names, t.args.Verbose && t.nc > 1)
		printSpeed(t.log, r.Speed)
		res.Metrics, _ = r.Results(false)
		if t.obs != nil {
			t.obs.OnEpochEnd(t.epoch, sanitize(res.Metrics))
		}
	}
	if t.args.Plots {
		r, err := plots.ReadResultsCSV(filepath.Join(t.dir, "results.csv"))
		if err != nil {
			return err
		}
		if err := plots.PlotResults(ctx, filepath.Join(t.dir, "results.png"), r); err != nil {
			return err
		}
	}
	fmt.Fprintf(t.log, "Results saved to %s\n", t.dir)
	if t.obs != nil {
		files, err := artifacts(t.dir)
		if err != nil {
			return err
		}
		for _, f := range files {
			t.obs.OnArtifact(f[0], f[1])
		}
	}
	return nil
}
