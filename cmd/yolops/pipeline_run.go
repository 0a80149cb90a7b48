package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/workflow"
)

// pointDefaults are `pipeline run`'s: one of the user's grid points.
var pointDefaults = map[string]string{
	"model": "yolov8n.pt", "epochs": "3", "imgsz": "416", "lr0": "0.01", "seed": "42",
}

func newPipelineRunCmd(trackingURI *string) *cobra.Command {
	var w workflowFlags
	cmd := &cobra.Command{
		Use:   "run [--imgsz 416] [--lr0 0.01] [--seed 42] [--epochs 3] [flags]",
		Short: "Run the YOLO person pipeline once: data_loader -> trainer -> evaluator -> register",
		Long: `Run the YOLO person pipeline for one set of training arguments:

  data_loader  person-only COCO128 (or --source data.yaml, --classes),
               versioned by its DVC md5 (tag yolops.dataset_version)
  trainer      yolops train, in a run named after its settings
               (yolov8n_e3_sz416_lr0.01_s42) with every argument as a
               param, each epoch's metrics and the run folder as artifacts
  evaluator    validation of the best weights
  register     the weights as a version of the registered model (stage
               None)

Steps whose name, code version, parameters and input contents match an
earlier finished step run are not run again: the same command twice
trains once. 'yolops grid' runs many of these and promotes the best;
'yolops pipeline show' shows a run's steps and lineage.`,
		Example: `  yolops pipeline run --imgsz 416 --lr0 0.01 --seed 42 --epochs 3
  yolops pipeline run --model yolov8n.yaml --epochs 1 --imgsz 64 --tracking-uri http://localhost:5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := w.grid(cmd.Flags(), pointDefaults)
			if err != nil {
				return err
			}
			if len(g.Axes) > 0 {
				var swept []string
				for _, ax := range g.Axes {
					swept = append(swept, ax.Key+"="+strings.Join(ax.Values, ","))
				}
				return fmt.Errorf("pipeline run trains one set of arguments, and %s gives several: use yolops grid to sweep", strings.Join(swept, " "))
			}
			points, err := g.Points()
			if err != nil {
				return err
			}
			w.trackingURI = *trackingURI
			c, err := w.open(cmd, cmd.Root().Version)
			if err != nil {
				return err
			}
			defer c.Close()
			res, runErr := workflow.Run(cmd.Context(), points, pointNames(g, points), w.opt)
			if res == nil {
				return runErr
			}
			out := cmd.OutOrStdout()
			for _, p := range res.Points {
				if p.Status != workflow.Trained && p.Status != workflow.Cached {
					continue
				}
				fmt.Fprintf(out, "pipeline run %s in experiment %s: %s\n", p.PipelineRunID, res.Experiment, p.Status)
				fmt.Fprintf(out, "training run %s (%s): mAP50 %.4f, mAP50-95 %.4f, precision %.4f, recall %.4f\n",
					p.Training.RunName, p.Training.RunID, p.Eval.MAP50, p.Eval.MAP5095, p.Eval.Precision, p.Eval.Recall)
				fmt.Fprintf(out, "registered %s version %s from %s\n", p.Registered.Model, p.Registered.Version, p.Registered.Source)
			}
			return runErr
		},
	}
	w.bind(cmd.Flags(), pointDefaults, false) // --tracking-uri is the parent's
	return cmd
}
