package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/promote"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/train"
	"github.com/yolops/yolops/workflow"
)

// sharedCOCO128 is where this project's checkouts keep a copy of COCO128,
// relative to the repository root; the workflow reads it when the
// dataset cache lacks COCO128 and no --from is given, instead of
// downloading it.
var sharedCOCO128 = filepath.Join("..", "shared", "data", "coco128")

// workflowFlags are the flags `grid` and `pipeline run` share.
type workflowFlags struct {
	trackingURI string
	opt         workflow.Options
	config      string
	sets        []string
	// The swept arguments, as typed (comma-separated lists).
	imgsz, lr0, seed, epochs, model, batch string
}

// bind registers the flags; defaults are the swept arguments' values
// when their flags are not given (shown in the help). list says whether
// the flags take comma-separated lists.
func (w *workflowFlags) bind(f *pflag.FlagSet, defaults map[string]string, list bool) {
	many := func(what string) string {
		if list {
			return what + " (comma-separated to sweep)"
		}
		return what
	}
	f.StringVar(&w.opt.Experiment, "experiment", workflow.DefaultExperiment, "experiment the runs go to (the cache is searched in it)")
	f.StringVar(&w.opt.ModelName, "model-name", "", "registered model the trained weights are added to (default: the experiment's name)")
	f.StringVar(&w.model, "model", defaults["model"], many("weights to fine-tune (yolov8n.pt: COCO-pretrained, from the cache) or an architecture to train from scratch (yolov8n.yaml)"))
	f.StringVar(&w.imgsz, "imgsz", defaults["imgsz"], many("training and validation size, a multiple of 32"))
	f.StringVar(&w.lr0, "lr0", defaults["lr0"], many("initial learning rate (ignored by optimizer=auto, as in Ultralytics; still logged)"))
	f.StringVar(&w.seed, "seed", defaults["seed"], many("seed"))
	f.StringVar(&w.epochs, "epochs", defaults["epochs"], many("epochs"))
	f.StringVar(&w.batch, "batch", "16", many("images per batch"))
	f.StringArrayVar(&w.sets, "set", nil, many("any other training argument, key=value (Ultralytics' names; repeatable)"))
	f.StringVar(&w.opt.Data.Source, "source", "coco128", "coco128, or the path of an Ultralytics data YAML")
	f.StringVar(&w.opt.Data.From, "from", "", "a local copy of the extracted COCO128 (default: the dataset cache, else "+sharedCOCO128+", else a download)")
	f.StringVar(&w.opt.Data.CacheDir, "data-cache", "", "where downloaded datasets are kept (default $YOLOPS_CACHE/datasets)")
	f.StringSliceVar(&w.opt.Data.Classes, "classes", []string{"person"}, "classes to keep, renumbered in this order")
	f.StringVar(&w.opt.Dir, "dir", "runs", "local folder for the prepared datasets (datasets/) and run folders (detect/)")
	f.Var(checkedInt{&w.opt.Threads, func(n int) error {
		if n < 0 || n > 256 {
			return errors.New("out of range: want 0 (one per CPU) to 256")
		}
		return nil
	}}, "threads", "compute threads in all (0: one per CPU), shared by the trainings running at once")
	f.BoolVar(&w.opt.NoCache, "no-cache", false, "run every step, even those an earlier run already did")
}

// grid builds the grid: the defaults given, then --config, then the
// flags given (a flag replaces what the file says of its argument).
func (w *workflowFlags) grid(f *pflag.FlagSet, defaults map[string]string) (*workflow.Grid, error) {
	g := &workflow.Grid{Base: train.DefaultArgs()}
	set := func(key, value, from string) error {
		values, err := workflow.SplitList(value)
		if err == nil {
			err = g.Set(key, values)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
		return nil
	}
	for _, k := range []string{"model", "epochs", "imgsz", "batch", "lr0", "seed"} {
		if v, ok := defaults[k]; ok {
			if err := set(k, v, "default "+k); err != nil {
				return nil, err
			}
		}
	}
	if w.config != "" {
		data, err := os.ReadFile(w.config)
		if err != nil {
			return nil, err
		}
		entries, err := workflow.ParseGrid(data, w.config)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := g.Set(e.Key, e.Values); err != nil {
				return nil, fmt.Errorf("%s: %w", w.config, err)
			}
		}
	}
	for _, fl := range []struct {
		name, key string
		value     *string
	}{{"model", "model", &w.model}, {"epochs", "epochs", &w.epochs}, {"imgsz", "imgsz", &w.imgsz},
		{"batch", "batch", &w.batch}, {"lr0", "lr0", &w.lr0}, {"seed", "seed", &w.seed}} {
		if f.Changed(fl.name) {
			if err := set(fl.key, *fl.value, "--"+fl.name); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range w.sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--set %q: want key=value", s)
		}
		if err := set(strings.TrimSpace(k), v, "--set "+s); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// open opens the tracking store and fills in the options the command
// line does not give directly.
func (w *workflowFlags) open(cmd *cobra.Command, version string) (*client.Client, error) {
	ctx := cmd.Context()
	c, err := client.Open(ctx, w.trackingURI)
	if err != nil {
		return nil, err
	}
	w.opt.Client = c
	w.opt.CodeVersion = version
	w.opt.Log = cmd.ErrOrStderr()
	w.opt.Weights = &assets.Cache{Progress: cmd.ErrOrStderr()}
	if w.opt.ModelName == "" {
		w.opt.ModelName = promote.DefaultModelName(w.opt.Experiment)
	}
	src := w.opt.Data.Source
	if (src == "" || src == "coco128") && w.opt.Data.From == "" {
		cache := w.opt.Data.CacheDir
		if cache == "" {
			cache = dataset.DefaultCacheDir()
		}
		if _, err := os.Stat(filepath.Join(cache, "coco128")); err != nil {
			if st, err := os.Stat(sharedCOCO128); err == nil && st.IsDir() {
				fmt.Fprintf(cmd.ErrOrStderr(), "COCO128 is not in the dataset cache; reading the copy in %s\n", sharedCOCO128)
				w.opt.Data.From = sharedCOCO128
			}
		}
	}
	return c, nil
}

// pointNames names the points of g.
func pointNames(g *workflow.Grid, points []train.Args) []string {
	names := make([]string, len(points))
	for i, p := range points {
		names[i] = workflow.PointName(g, p)
	}
	return names
}

// gridDefaults are the user's grid: fine-tuning COCO-pretrained yolov8n
// for 3 epochs at 320 and 416 pixels, lr0 0.005 and 0.01, seeds 42 and 1.
var gridDefaults = map[string]string{
	"model": "yolov8n.pt", "epochs": "3", "imgsz": "320,416", "lr0": "0.005,0.01", "seed": "42,1",
}

// quickDefaults are --quick's: two one-epoch trainings from scratch at 64
// pixels, which prove the workflow end to end in seconds (and learn
// nothing).
var quickDefaults = map[string]string{
	"model": "yolov8n.yaml", "epochs": "1", "imgsz": "64", "lr0": "0.01", "seed": "42,1",
}

func newGridCmd() *cobra.Command {
	var (
		w        workflowFlags
		quick    bool
		doPromo  bool
		promoOpt promote.Options
	)
	promoOpt.Metric, promoOpt.Stage = "mAP50", "Staging"
	cmd := &cobra.Command{
		Use:   "grid [--imgsz 320,416] [--lr0 0.005,0.01] [--seed 42,1] [--epochs 3] [--parallel N] [--config grid.yaml]",
		Short: "Train every combination of a grid through the cached pipeline, compare, and promote the best",
		Long: `Run the YOLO person pipeline for every combination of the swept training
arguments, compare the results, and promote the best configuration.

Each combination is one pipeline run:

  data_loader  person-only COCO128 (or --source data.yaml, --classes),
               versioned by its DVC md5 (tag yolops.dataset_version)
  trainer      yolops train with Ultralytics' arguments and defaults, in a
               run named yolov8n_e3_sz416_lr0.01_s42 that holds every
               argument as a param, each epoch's metrics
               (metrics/mAP50B, train/box_loss, ...) and the run folder
               (weights/best.safetensors, results.png, results.csv,
               curves, confusion matrices, batch images, args.yaml)
  evaluator    validation of the best weights (yolops val)
  register     the weights as a version of the registered model (stage
               None)

Steps are cached ZenML-style: data_loader on the source's content and the
classes, trainer on the dataset version, every training argument and the
code version, evaluator on the weights' content and validation arguments.
A rerun trains nothing that was trained; an interrupted grid (Ctrl-C)
finishes, when run again, only the points that were missing.

With no sweep flags the grid is the default one: yolov8n.pt fine-tuned 3
epochs at imgsz 320,416, lr0 0.005,0.01 and seeds 42,1 (8 trainings).
--config reads a YAML mapping of training arguments to a value or a list
of values; flags override it. --parallel N trains N points at once, each
with --threads/N threads.

The table of results, best mAP50 first, is printed at the end; then
(unless --promote=false) yolops promote ranks the configurations over
their seeds, moves the best to Staging and writes its report, whose path
is printed last.

yolov8n.pt, the COCO-pretrained weights, is read from the weights cache
($YOLOPS_CACHE/weights) and downloaded there when missing; offline, put
it there, give its path with --model, or train from scratch with
--model yolov8n.yaml. --quick runs two one-epoch trainings from scratch
at 64 pixels: a check that everything works, in seconds.`,
		Example: `  yolops grid
  yolops grid --imgsz 320,416 --lr0 0.005,0.01 --seed 42,1 --epochs 3 --parallel 2
  yolops grid --config grid.yaml --tracking-uri http://localhost:5000
  yolops grid --quick`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defaults := gridDefaults
			if quick {
				defaults = quickDefaults
			}
			g, err := w.grid(cmd.Flags(), defaults)
			if err != nil {
				return err
			}
			points, err := g.Points()
			if err != nil {
				return err
			}
			version := cmd.Root().Version
			c, err := w.open(cmd, version)
			if err != nil {
				return err
			}
			defer c.Close()
			res, runErr := workflow.Run(cmd.Context(), points, pointNames(g, points), w.opt)
			if res == nil {
				return runErr
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nexperiment %s (tracking %s):\n", res.Experiment, c.URI())
			if err := res.WriteTable(out); err != nil {
				return err
			}
			if runErr != nil {
				return runErr
			}
			if !doPromo {
				return nil
			}
			fmt.Fprintln(out)
			promoOpt.Experiment, promoOpt.ModelName = res.Experiment, res.Model
			promoOpt.Version, promoOpt.CommandLine, promoOpt.TrackingURI = version, commandLine(cmd), c.URI()
			if promoOpt.User == "" {
				promoOpt.User = os.Getenv("USER")
			}
			pres, err := promote.Promote(cmd.Context(), c, promoOpt)
			if pres != nil {
				printPromotion(out, pres, promoOpt)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&w.trackingURI, "tracking-uri", "", trackingURIHelp)
	w.bind(f, gridDefaults, true)
	f.StringVar(&w.config, "config", "", "grid YAML: training arguments mapped to a value or a list of values to sweep")
	f.Var(checkedInt{&w.opt.Parallel, func(n int) error {
		if n < 1 || n > 64 {
			return errors.New("out of range: want 1 to 64")
		}
		return nil
	}}, "parallel", "grid points trained at once (default 1)")
	f.BoolVar(&quick, "quick", false, "two one-epoch trainings from scratch at 64 pixels (a smoke test; flags given still apply)")
	f.BoolVar(&doPromo, "promote", true, "promote the best configuration when every point finished")
	f.StringVar(&promoOpt.Metric, "metric", promoOpt.Metric, "promote on this metric: mAP50, mAP50-95, precision or recall")
	f.StringVar(&promoOpt.Stage, "stage", promoOpt.Stage, "promote to Staging or Production")
	f.StringVar(&promoOpt.OutDir, "report", "", "folder for the promotion report (default runs/promote/<experiment>-<time>)")
	return cmd
}
