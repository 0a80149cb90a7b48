package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/train"
	"github.com/yolops/yolops/workflow"
)

// trainUsage describes the training flags; each is an Ultralytics
// argument of the same name with "-" for "_".
var trainUsage = map[string]string{
	"model":                "weights to fine-tune (.pt, .safetensors, .onnx, or a published name such as yolov8n.pt), or an architecture to train from scratch (yolov8n.yaml)",
	"data":                 "data YAML (train, val and names)",
	"epochs":               "epochs to train",
	"patience":             "stop after this many epochs without improvement (0: never)",
	"batch":                "images per batch",
	"imgsz":                "training and validation size in pixels, a multiple of 32",
	"save":                 "save a checkpoint every epoch (the last epoch's always is)",
	"save-period":          "also keep weights/epochN.safetensors every N epochs (< 1: never)",
	"cache":                "keep the resized images in memory",
	"device":               "device (cpu, the only one)",
	"workers":              "image loading goroutines (0: one per CPU)",
	"project":              "parent folder of the run (default runs/detect)",
	"name":                 "run folder name (default train, then train2, ...)",
	"exist-ok":             "reuse project/name if it exists",
	"pretrained":           "recorded only: weights given with --model are always loaded",
	"optimizer":            "auto, SGD, Adam or AdamW (auto: AdamW with a learning rate fit to the class count, SGD for long trainings)",
	"verbose":              "print the per-class table after training",
	"seed":                 "seed of initialisation, batch order and augmentation",
	"deterministic":        "recorded only: a training is always reproducible for a given --threads",
	"single-cls":           "not supported (prepare a one-class dataset instead)",
	"rect":                 "rectangular training batches (no mosaic, fixed order)",
	"cos-lr":               "cosine learning-rate decay instead of linear",
	"close-mosaic":         "turn mosaic off for the last N epochs",
	"resume":               "continue the training of this last.safetensors (other flags but --imgsz, --batch, --workers and --threads are taken from it)",
	"amp":                  "recorded only: training on the CPU is float32",
	"fraction":             "fraction of the training images to use",
	"freeze":               "freeze the first N layers",
	"multi-scale":          "not supported",
	"val":                  "validate every epoch (else only the last)",
	"split":                "split to validate on: val, test or train",
	"conf":                 "validation confidence threshold (default 0.001)",
	"iou":                  "validation NMS IoU threshold",
	"max-det":              "detections kept per image in validation",
	"plots":                "write plots and batch images",
	"lr0":                  "initial learning rate (ignored by --optimizer auto)",
	"lrf":                  "final learning rate as a fraction of lr0",
	"momentum":             "SGD momentum, Adam beta1 (ignored by --optimizer auto)",
	"weight-decay":         "weight decay at the nominal batch size",
	"warmup-epochs":        "warmup epochs (at least 100 iterations)",
	"warmup-momentum":      "momentum at the start of warmup",
	"warmup-bias-lr":       "bias learning rate at the start of warmup",
	"box":                  "box loss gain",
	"cls":                  "classification loss gain",
	"dfl":                  "distribution focal loss gain",
	"nbs":                  "nominal batch size: gradients accumulate to it",
	"hsv-h":                "hue augmentation (fraction)",
	"hsv-s":                "saturation augmentation (fraction)",
	"hsv-v":                "value augmentation (fraction)",
	"degrees":              "rotation augmentation (+/- degrees)",
	"translate":            "translation augmentation (+/- fraction)",
	"scale":                "scale augmentation (+/- gain)",
	"shear":                "shear augmentation (+/- degrees)",
	"perspective":          "perspective augmentation (+/- fraction, 0 to 0.001)",
	"flipud":               "probability of flipping top to bottom",
	"fliplr":               "probability of flipping left to right",
	"mosaic":               "probability of a 4-image mosaic",
	"mixup":                "probability of mixup",
	"copy-paste":           "probability of copy-paste (needs segments: no effect on boxes)",
	"threads":              "compute threads (0: one per CPU)",
	"fixed-order":          "visit the training images in file order, not shuffled (parity tests)",
	"init-head-from-class": "start a 1-class head from this class of the pretrained model (a name such as person, or an index)",
	"bn-recal":             "before each validation, re-estimate the EMA model's BatchNorm statistics on up to N unaugmented training batches (0: off, as Ultralytics; see docs/overfit.md)",
}

// argFlag binds one field of train.Args to a flag.
type argFlag struct {
	key  string // the Ultralytics name
	flag string
	idx  int // the field's index in train.Args
}

// argFlags lists the flags of train.Args, named after its yaml keys.
func argFlags() []argFlag {
	t := reflect.TypeFor[train.Args]()
	var out []argFlag
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if key == "" || key == "task" || key == "mode" || key == "save_dir" {
			continue // fixed, or set by the run
		}
		out = append(out, argFlag{key, strings.ReplaceAll(key, "_", "-"), i})
	}
	return out
}

// bindArgs registers a flag for every argument, pointing into a.
func bindArgs(fs *pflag.FlagSet, a *train.Args) {
	v := reflect.ValueOf(a).Elem()
	for _, f := range argFlags() {
		usage := trainUsage[f.flag]
		if usage == "" {
			usage = "Ultralytics' " + f.key
		}
		switch p := v.Field(f.idx).Addr().Interface().(type) {
		case *int:
			fs.IntVar(p, f.flag, *p, usage)
		case *float64:
			fs.Float64Var(p, f.flag, *p, usage)
		case *bool:
			fs.BoolVar(p, f.flag, *p, usage)
		case *string:
			fs.StringVar(p, f.flag, *p, usage)
		case **float64:
			fs.Var(optFloat{p}, f.flag, usage)
		default:
			panic(fmt.Sprintf("train flag %s: unhandled type %T", f.flag, p))
		}
	}
}

// optFloat is a float flag that is unset (nil) by default.
type optFloat struct{ p **float64 }

func (o optFloat) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return strconv.FormatFloat(**o.p, 'g', -1, 64)
}

func (o optFloat) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*o.p = &x
	return nil
}

func (optFloat) Type() string { return "float" }

// applyChanged copies into dst the arguments whose flags were given.
func applyChanged(dst, src *train.Args, fs *pflag.FlagSet) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for _, f := range argFlags() {
		if fs.Changed(f.flag) {
			d.Field(f.idx).Set(s.Field(f.idx))
		}
	}
}

func newTrainCmd(version string) *cobra.Command {
	var (
		flags       = train.DefaultArgs()
		cfg         string
		trackingURI string
		experiment  string
	)
	cmd := &cobra.Command{
		Use:   "train --data YAML [--model yolov8n.pt] [flags]",
		Short: "Train or fine-tune a YOLOv8 detector as Ultralytics does",
		Long: `Train a YOLOv8 detection model on the CPU with Ultralytics 8.2.82's
defaults and semantics: the task-aligned loss, optimizer=auto (AdamW with
lr round(0.002*5/(4+nc), 6) for short trainings, SGD beyond 10,000
iterations), warmup over max(3 epochs, 100 iterations), linear decay to
lrf, gradients accumulated to a nominal batch of 64, clipping at norm 10,
an EMA of the weights validated every epoch, mosaic closed for the last
10 epochs, early stopping, and the run folder Ultralytics writes:
runs/detect/train (then train2, ...) with args.yaml, results.csv,
results.png, the PR/F1/P/R curves, the confusion matrices, train and
validation batch images, and weights/best.safetensors and
last.safetensors (yolops' checkpoint format; Ultralytics' .pt pickles
are not written).

--model takes weights to fine-tune (the tensors that fit are transferred
and the classification branch starts afresh when the class count
differs, as in Ultralytics) or an architecture such as yolov8n.yaml to
train from scratch. Every flag is the Ultralytics argument of the same
name with '-' for '_'; --cfg reads them from an args.yaml first.

Ctrl-C stops after the current batch; --resume weights/last.safetensors
continues exactly where the last completed epoch left off.`,
		Example: `  yolops train --data person/data.yaml --model yolov8n.pt --epochs 50 --imgsz 416
  yolops train --data person/data.yaml --model yolov8n.yaml --epochs 3 --imgsz 320 --seed 1
  yolops train --data person/data.yaml --model yolov8n.pt --init-head-from-class person
  yolops train --resume runs/detect/train/weights/last.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			var args train.Args
			switch {
			case flags.Resume != "":
				if cfg != "" {
					return errors.New("--resume and --cfg: a resumed training takes its arguments from the checkpoint")
				}
				var changed []string
				fs.Visit(func(f *pflag.Flag) {
					if !slices.Contains([]string{"resume", "imgsz", "batch", "workers", "threads", "device"}, f.Name) {
						changed = append(changed, "--"+f.Name)
					}
				})
				if len(changed) > 0 {
					return fmt.Errorf("--resume continues the checkpoint's training with its arguments; only --imgsz, --batch, --workers and --threads may be given with it, not %s", strings.Join(changed, ", "))
				}
				a, err := train.ResumeArgs(flags.Resume)
				if err != nil {
					return err
				}
				args = a
			case cfg != "":
				a, err := train.ReadArgsYAML(cfg)
				if err != nil {
					return err
				}
				a.Resume, a.SaveDir = "", "" // a new run, in a new folder
				args = a
			default:
				args = train.DefaultArgs()
			}
			applyChanged(&args, &flags, fs)
			if args.Data == "" {
				return errors.New("train needs --data, a data YAML")
			}
			if err := args.Validate(); err != nil {
				return err
			}
			opts := train.Options{
				Log:     cmd.ErrOrStderr(),
				Cache:   &assets.Cache{Progress: cmd.ErrOrStderr()},
				Version: version,
			}
			end, err := trackTraining(cmd, &opts, args, trackingURI, experiment)
			if err != nil {
				return err
			}
			res, err := train.Run(cmd.Context(), args, opts)
			if terr := end(err); err == nil {
				err = terr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", res.Best)
			return nil
		},
	}
	fs := cmd.Flags()
	bindArgs(fs, &flags)
	fs.StringVar(&cfg, "cfg", "", "read the arguments from this args.yaml first (flags given override it)")
	fs.StringVar(&trackingURI, "tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"),
		"log the run (params, metrics per epoch, artifacts) to this tracking store: a folder, sqlite:///file.db, postgresql://... or http(s):// a yolops/MLflow server (default $MLFLOW_TRACKING_URI; empty: no tracking)")
	fs.StringVar(&experiment, "experiment", "", "MLflow experiment of the run (default $MLFLOW_EXPERIMENT_NAME, else --project, else /Shared/Ultralytics, as Ultralytics' callback names it)")
	return cmd
}

// trackTraining opens the tracking store and starts the run that opts'
// observer logs to, as Ultralytics' MLflow callback does: experiment
// $MLFLOW_EXPERIMENT_NAME or the project, run $MLFLOW_RUN or the name.
// The returned function ends the run with the training's outcome. With
// no tracking URI it does nothing.
func trackTraining(cmd *cobra.Command, opts *train.Options, args train.Args, uri, experiment string) (end func(error) error, err error) {
	if uri == "" {
		return func(error) error { return nil }, nil
	}
	ctx := cmd.Context()
	c, err := client.Open(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("--tracking-uri: %w", err)
	}
	if experiment == "" {
		experiment = cmp.Or(os.Getenv("MLFLOW_EXPERIMENT_NAME"), args.Project, "/Shared/Ultralytics")
	}
	expID, err := c.GetOrCreateExperiment(ctx, experiment)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("tracking: experiment %q: %w", experiment, err)
	}
	run, err := c.StartRun(ctx, expID, cmp.Or(os.Getenv("MLFLOW_RUN"), args.Name, "train"), nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("tracking: %w", err)
	}
	tr := workflow.NewTracker(ctx, c, run.Info.RunID)
	opts.Observer = tr
	fmt.Fprintf(cmd.ErrOrStderr(), "tracking: run %s in experiment %q at %s\n", run.Info.RunID, experiment, uri)
	return func(trainErr error) error {
		defer c.Close()
		status := tracking.RunFinished
		switch {
		case errors.Is(trainErr, context.Canceled):
			status = tracking.RunKilled
		case trainErr != nil:
			status = tracking.RunFailed
		}
		// A fresh context: the command's may be cancelled (Ctrl-C), and
		// the run's end must still be recorded.
		if err := c.SetTerminated(context.WithoutCancel(ctx), run.Info.RunID, status); err != nil {
			return fmt.Errorf("tracking: ending run %s: %w", run.Info.RunID, err)
		}
		return tr.Err()
	}, nil
}
