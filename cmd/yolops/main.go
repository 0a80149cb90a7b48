// Command yolops versions detection data, fine-tunes and evaluates YOLOv8
// detectors in pure Go, tracks the runs (an MLflow-compatible store and
// server with a web UI), runs them as cached pipelines and promotes the
// best; run `yolops --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/yolops/yolops/train"
)

// version is set at link time by release builds:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/yolops
//
// It is never written at run time.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(train.GCPercent)
	}
	// Cobra has already printed the error and, for a usage error, the usage.
	if err := newRootCmd(resolveVersion(version)).ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
