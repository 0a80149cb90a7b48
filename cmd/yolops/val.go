package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/train"
)

func newValCmd() *cobra.Command {
	a := train.DefaultValArgs()
	conf, iou := float32(a.Conf), float32(a.IoU)
	cmd := &cobra.Command{
		Use:   "val --weights W --data YAML",
		Short: "Measure a detector's precision, recall and mAP on a dataset",
		Long: `Validate a YOLOv8 detection model on a split of a dataset as Ultralytics'
val does: batches letterboxed to the smallest rectangle of a multiple of 32
(half a stride of padding), non-maximum suppression at --conf 0.001 and
--iou 0.7, true positives at IoU 0.50 to 0.95, AP by 101-point
interpolation. Prints precision, recall, mAP50 and mAP50-95 (per class
for models of several classes) and the time per image spent in each
stage, and writes into a new run folder (runs/detect/val, val2, ...) the
PR, F1, P and R curves, the confusion matrices (at conf 0.25, IoU 0.45)
and val_batch{0,1,2}_labels.jpg / _pred.jpg.

--weights is a .safetensors checkpoint of yolops train (its EMA weights,
as best and last hold them), an Ultralytics .pt, an ONNX export, or a
published name (yolov8n.pt) fetched into the cache.`,
		Example: `  yolops val --weights runs/detect/train/weights/best.safetensors --data person/data.yaml --imgsz 416
  yolops val --weights yolov8n.pt --data coco128.yaml --batch 32`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.Weights == "" || a.Data == "" {
				return errors.New("val needs --weights and --data")
			}
			a.Conf, a.IoU = float64(conf), float64(iou)
			_, err := train.RunVal(cmd.Context(), a, train.Options{
				Log:   cmd.ErrOrStderr(),
				Cache: &assets.Cache{Progress: cmd.ErrOrStderr()},
			})
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Weights, "weights", "", "model: .safetensors, .pt or .onnx file, or a published name such as yolov8n.pt")
	f.StringVar(&a.Data, "data", "", "data YAML")
	f.StringVar(&a.Split, "split", a.Split, "split to validate: val, test or train")
	f.Var(checkedInt{&a.ImgSz, checkImgsz}, "imgsz", "validation size in pixels, a multiple of 32")
	f.Var(checkedInt{&a.Batch, func(n int) error {
		if n < 1 {
			return fmt.Errorf("batch %d must be at least 1", n)
		}
		return nil
	}}, "batch", "images per batch")
	f.Var(checkedFloat{&conf, 0, 1}, "conf", "confidence threshold of non-maximum suppression")
	f.Var(checkedFloat{&iou, 0, 1}, "iou", "IoU threshold of non-maximum suppression")
	f.Var(checkedInt{&a.MaxDet, func(n int) error {
		if n < 1 {
			return fmt.Errorf("max-det %d must be at least 1", n)
		}
		return nil
	}}, "max-det", "most detections per image")
	f.Var(checkedInt{&a.Workers, func(n int) error {
		if n < 0 {
			return fmt.Errorf("workers %d must not be negative", n)
		}
		return nil
	}}, "workers", "image loading goroutines (0: one per CPU)")
	f.Var(checkedInt{&a.Threads, func(n int) error {
		if n < 0 || n > 256 {
			return fmt.Errorf("thread count %d is out of range: 0 (one per CPU) to 256", n)
		}
		return nil
	}}, "threads", "compute threads, 0 for one per CPU")
	f.StringVar(&a.Project, "project", "", "parent folder of the run (default runs/detect)")
	f.StringVar(&a.Name, "name", "", "run folder name (default val, then val2, ...)")
	f.BoolVar(&a.ExistOK, "exist-ok", false, "reuse project/name if it exists")
	f.BoolVar(&a.Plots, "plots", a.Plots, "write the curves, confusion matrices and batch images")
	f.BoolVar(&a.Verbose, "verbose", a.Verbose, "print a row per class")
	return cmd
}
