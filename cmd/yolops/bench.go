package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/internal/gemmbench"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the speed of yolops' numeric core",
		Long: `Measure the speed of yolops' numeric core on this machine.

The benchmarks use the shapes of the real workload, so their numbers say
how fast training and inference can be here.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown benchmark %q for %q; run %q to list them",
					args[0], cmd.CommandPath(), cmd.CommandPath()+" --help")
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newBenchGemmCmd())
	return cmd
}

func newBenchGemmCmd() *cobra.Command {
	cfg := gemmbench.DefaultConfig()
	var asJSON, quiet bool
	cmd := &cobra.Command{
		Use:   "gemm",
		Short: "Compare yolops' SGEMM with gonum on YOLOv8n's convolution shapes",
		Long: fmt.Sprintf(`Time float32 matrix products (SGEMM) on the shapes of YOLOv8n's
convolutions after im2col: M = output channels, N = output pixels of one
image, K = input channels x kernel area, for every convolution of the
single-class (person) model at the given image size.

Each implementation runs every shape at each thread count: warm-up, then
the fastest of several timed loops. The table gives GFLOPS per shape, the
ratios of yolops to the others, and a FLOP-weighted total over a whole
forward pass (total FLOPs over total time), the number yolops' speed
targets are judged on: at %d threads, at least %.0f%% of OpenBLAS and %.0fx gonum.

Implementations: yolops (tensor/gemm with the best kernel for this CPU)
and gonum (pure Go; its thread count is set through GOMAXPROCS). OpenBLAS
needs cgo and is included only in a binary built with -tags openblas; from
a source checkout, run "go run -tags openblas ./bench" to compare with it.

The table goes to stdout, one progress line per shape to stderr. A default
run takes about half a minute on 2 cores.`,
			gemmbench.TargetThreads, 100*gemmbench.TargetOpenBLASRate, gemmbench.TargetGonumRate),
		Example: `  yolops bench gemm
  yolops bench gemm --threads 2 --imgsz 640 --duration 500ms
  yolops bench gemm --json --quiet > gemm.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			if !quiet {
				errw := cmd.ErrOrStderr()
				cfg.Progress = func(p gemmbench.Progress) { fmt.Fprintln(errw, p) }
			}
			rep, err := gemmbench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			return rep.WriteTable(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.VarP(threadsValue{&cfg.Threads}, "threads", "t",
		fmt.Sprintf("thread counts to measure, comma-separated, each 1 to %d", gemmbench.MaxThreads))
	f.Var(checkedInt{&cfg.Imgsz, gemmbench.CheckImgsz}, "imgsz",
		fmt.Sprintf("image side in pixels: a multiple of 32 from %d to %d", gemmbench.MinImgsz, gemmbench.MaxImgsz))
	f.VarP(checkedDuration{&cfg.Duration, gemmbench.CheckDuration}, "duration", "d",
		"time per shape, implementation and thread count (warm-up included)")
	f.Var(checkedInt{&cfg.Repeats, checkRepeats}, "repeats",
		"timed loops per shape; the fastest counts")
	f.BoolVar(&asJSON, "json", false, "write the report as JSON instead of a table")
	f.BoolVarP(&quiet, "quiet", "q", false, "print no progress lines")
	return cmd
}

func checkRepeats(n int) error {
	if n < 1 || n > 100 {
		return fmt.Errorf("repeat count %d is out of range: it must be between 1 and 100", n)
	}
	return nil
}
