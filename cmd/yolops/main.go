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
)

// gcPercent replaces Go's default GOGC of 100 unless $GOGC is set.
// Training keeps gigabytes of layer buffers alive for the whole run, and
// at 100 as much garbage again (decoded images, batches) piles up in
// fresh pages before a collection: at 25 the peak resident memory of a
// yolov8n run at batch 16 falls by a fifth and the page faults it cost
// go with it (bench/train).
const gcPercent = 25

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
		debug.SetGCPercent(gcPercent)
	}
	// Cobra has already printed the error and, for a usage error, the usage.
	if err := newRootCmd(resolveVersion(version)).ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
