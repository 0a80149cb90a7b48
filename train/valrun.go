package train

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/yolo"
)

// ValArgs are the arguments of a standalone validation (Ultralytics'
// `yolo val`), with its defaults in DefaultValArgs.
type ValArgs struct {
	Weights string // .pt, .safetensors (a checkpoint's EMA), .onnx, or a published name
	Data    string // data YAML
	Split   string // val, test or train
	ImgSz   int
	Batch   int
	Conf    float64 // NMS confidence threshold
	IoU     float64 // NMS IoU threshold
	MaxDet  int
	Workers int
	Threads int
	Project string // parent of the run folder (default runs/detect)
	Name    string // run folder (default val, val2, ...)
	ExistOK bool
	Plots   bool
	Verbose bool // per-class rows when the model has several classes
}

// DefaultValArgs returns Ultralytics' validation defaults: imgsz 640,
// batch 16, conf 0.001, IoU 0.7, 300 detections, plots.
func DefaultValArgs() ValArgs {
	return ValArgs{Split: "val", ImgSz: 640, Batch: 16, Conf: 0.001, IoU: 0.7, MaxDet: 300, Workers: 8, Plots: true, Verbose: true}
}

// ValRun is a finished standalone validation.
type ValRun struct {
	*ValResult
	Dir   string   // the run folder with the plots
	Names []string // the model's class names
}

// RunVal validates a model on a dataset split as Ultralytics' `yolo val`
// does (rect batches, conf 0.001, IoU 0.7 unless told otherwise), prints
// the summary table, per-class rows and the speed to opts.Log, and
// writes the plots into a new run folder (runs/detect/val, val2, ...).
func RunVal(ctx context.Context, a ValArgs, opts Options) (*ValRun, error) {
	switch {
	case a.Weights == "" || a.Data == "":
		return nil, fmt.Errorf("train: validation needs weights and data")
	case a.ImgSz < 32 || a.ImgSz%32 != 0:
		return nil, fmt.Errorf("train: imgsz %d: want a positive multiple of 32, the model's largest stride", a.ImgSz)
	case a.Batch < 1:
		return nil, fmt.Errorf("train: batch %d: want at least 1", a.Batch)
	case !(a.Conf > 0 && a.Conf <= 1):
		return nil, fmt.Errorf("train: conf %v: want a number in (0, 1]", a.Conf)
	case !(a.IoU > 0 && a.IoU <= 1):
		return nil, fmt.Errorf("train: iou %v: want a number in (0, 1]", a.IoU)
	case a.MaxDet < 1:
		return nil, fmt.Errorf("train: max_det %d: want at least 1", a.MaxDet)
	case a.Workers < 0:
		return nil, fmt.Errorf("train: workers %d: must not be negative", a.Workers)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	e := nn.NewEngine(a.Threads)
	defer e.Close()
	w, err := yolo.Open(ctx, e, a.Weights, opts.Cache)
	if err != nil {
		return nil, err
	}
	dc, err := dataset.LoadConfig(a.Data)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(dc.Names, w.Names) {
		fmt.Fprintf(log, "WARNING: %s names %d classes, the model %d; labels are scored against the model's classes %v\n",
			a.Data, dc.NC(), len(w.Names), abbreviate(w.Names))
	}
	t := &trainer{log: log}
	items, err := t.scan(ctx, dc, a.Split)
	if err != nil {
		return nil, err
	}
	vopts := dataset.ValOptions(a.ImgSz, a.Batch)
	vopts.Workers, vopts.NC = a.Workers, len(w.Names)
	loader, err := dataset.NewLoader(items, vopts)
	if err != nil {
		return nil, fmt.Errorf("train: %s images: %w", a.Split, err)
	}
	dir, err := runDir(a.Project, a.Name, "val", a.ExistOK)
	if err != nil {
		return nil, err
	}
	plotDir := ""
	if a.Plots {
		plotDir = dir
	}
	r, err := Validate(ctx, w.Model, loader, ValConfig{Names: w.Names, Conf: float32(a.Conf), IoU: float32(a.IoU),
		MaxDet: a.MaxDet, PlotDir: plotDir, Log: log})
	if err != nil {
		return nil, err
	}
	printResults(log, r, w.Names, a.Verbose && len(w.Names) > 1)
	printSpeed(log, r.Speed)
	fmt.Fprintf(log, "Results saved to %s\n", dir)
	return &ValRun{ValResult: r, Dir: dir, Names: w.Names}, nil
}

// abbreviate shows at most the first five names.
func abbreviate(names []string) []string {
	if len(names) > 5 {
		return append(slices.Clone(names[:5]), "...")
	}
	return names
}
