package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Commands are built afresh for every
// run rather than kept in package variables, so tests can run many
// independent trees.
func newRootCmd(version string) *cobra.Command {
	root := &cobra.Command{
		Use:   "yolops",
		Short: "Fine-tune, track and ship YOLOv8 person detectors in pure Go",
		Long: `yolops is one Go binary for the whole life of a YOLOv8 person detector:
versioned data, fine-tuning on the CPU in pure Go, MLflow-compatible run
tracking, cached pipelines, a model registry and serving.

Today the numeric core and the YOLOv8 model are in place: predict runs a
detector (an Ultralytics .pt checkpoint, read without Python) on images;
version, sysinfo (what the GEMM will run on) and bench gemm (how fast it is
on YOLOv8n's shapes) report on the machine.`,
		Version: version,
		// A page of usage after every error buries the error itself; a
		// flag error gets a pointer to the help instead (below).
		SilenceUsage: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())
	})
	root.SetVersionTemplate("yolops {{.Version}}\n")
	root.AddCommand(
		newVersionCmd(version),
		newSysinfoCmd(),
		newBenchCmd(),
		newPredictCmd(),
		newDataCmd(),
		newTrainCmd(version), newValCmd(),
		newServerCmd(),
		newPipelineCmd(),
		newPromoteCmd(),
		newGridCmd(),
	)
	return root
}
