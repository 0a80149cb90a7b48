//go:build unix

package dataset

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used. On
// a machine shared with other work, CPU time per image is steadier than
// images per second.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoaderCOCO128 measures how many images per second the loader
// decodes and augments into 16-image batches at 416 with Ultralytics'
// default training augmentation (mosaic, random perspective, HSV, flip),
// on COCO128. "cold" starts every epoch with a new loader, so each image
// is decoded (and resized) once per epoch plus the mosaic partners not
// in the cache; "warm" keeps one loader, whose mosaic buffer (128
// images: all of COCO128) holds every decoded image after the first
// epoch, as Ultralytics' does, leaving the augmentation itself. Each
// benchmark iteration is one batch. Besides images/s it reports the CPU
// time spent per image (cpu-ms/image), which other processes on the
// machine affect less.
//
//	go test -run XXX -bench LoaderCOCO128 -benchtime 40x ./dataset
func BenchmarkLoaderCOCO128(b *testing.B) {
	items := coco128(b)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, warm := range []bool{false, true} {
			name := fmt.Sprintf("workers=%d/cold", workers)
			if warm {
				name = fmt.Sprintf("workers=%d/warm", workers)
			}
			b.Run(name, func(b *testing.B) {
				opts := TrainOptions(416, 16)
				opts.Workers = workers
				newLoader := func() *Loader {
					l, err := NewLoader(items, opts)
					if err != nil {
						b.Fatal(err)
					}
					return l
				}
				l := newLoader()
				if warm { // fill the cache before timing
					for _, err := range l.Epoch(context.Background(), 0) {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				images := 0
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime(b)
				for epoch := 1; images < 16*b.N; epoch++ {
					if !warm {
						l = newLoader()
					}
					for batch, err := range l.Epoch(context.Background(), epoch) {
						if err != nil {
							b.Fatal(err)
						}
						images += batch.N
						if images >= 16*b.N {
							break
						}
					}
				}
				b.ReportMetric(float64(images)/time.Since(start).Seconds(), "images/s")
				b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(images), "cpu-ms/image")
			})
		}
	}
}
