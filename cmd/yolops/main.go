// Command yolops fine-tunes YOLOv8 person detectors in pure Go and will
// track, version and serve them. Today it reports on the machine and
// benchmarks the numeric core; run `yolops --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
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
	// Cobra has already printed the error and, for a usage error, the usage.
	if err := newRootCmd(resolveVersion(version)).ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
