// Command bench prints how fast yolops multiplies matrices compared with
// gonum and, when built with -tags openblas, OpenBLAS, on the GEMM shapes
// of YOLOv8n's convolutions:
//
//	go run ./bench
//	go run -tags openblas ./bench -threads 2 -duration 300ms
//
// The table goes to stdout (or JSON with -json), progress to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"github.com/yolops/yolops/internal/gemmbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		// The flag package has already printed its errors, with the usage.
		if !errors.As(err, new(usageError)) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
}

// usageError is a bad command line, already reported by the flag package.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := gemmbench.DefaultConfig()
	var asJSON, quiet bool
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run [-tags openblas] ./bench [flags]\n\n"+
			"Measures SGEMM on the GEMM shapes of YOLOv8n's convolutions.\n\n")
		fs.PrintDefaults()
	}
	fs.Func("threads", "`list` of thread counts, comma-separated, each run in turn (default 1,2)", func(s string) error {
		ts, err := gemmbench.ParseThreads(s)
		cfg.Threads = ts
		return err
	})
	fs.Func("imgsz", fmt.Sprintf("image side in `pixels`, a multiple of 32 (default %d)", gemmbench.DefaultImgsz), func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("image size %q is not a whole number", s)
		}
		cfg.Imgsz = n
		return gemmbench.CheckImgsz(n)
	})
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "time per shape, backend and thread count")
	fs.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "timed loops per shape; the fastest counts")
	fs.BoolVar(&asJSON, "json", false, "write the report as JSON instead of a table")
	fs.BoolVar(&quiet, "quiet", false, "print no progress lines")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !gemmbench.OpenBLASBuilt {
		fmt.Fprintln(stderr, "OpenBLAS is not included; to compare with it, install libopenblas-dev and run: go run -tags openblas ./bench")
	}
	if !quiet {
		cfg.Progress = func(p gemmbench.Progress) { fmt.Fprintln(stderr, p) }
	}
	rep, err := gemmbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}
