//go:build unix

package dataset

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// BenchmarkLoaderVsTrainStep answers whether the loader can keep training
// fed: the CPU time to decode and augment a 16-image batch at 416 (cold:
// every image decoded; Ultralytics' default augmentation) next to the CPU
// time of one yolov8n training step on that batch (forward and backward,
// one thread), in the same process. The loader runs beside training on
// the same cores, so what it costs is CPU time taken from the step:
// loader/step well below 1 means it never starves it.
//
//	go test -run XXX -bench LoaderVsTrainStep -benchtime 3x ./dataset
func BenchmarkLoaderVsTrainStep(b *testing.B) {
	items := coco128(b)
	e := nn.NewEngine(1)
	defer e.Close()
	m, err := yolo.New(e, yolo.Config{Scale: "n", NC: 80}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	opts := TrainOptions(416, 16)
	opts.Workers = 1
	var loaderCPU, stepCPU time.Duration
	b.ResetTimer()
	for i := range b.N {
		l, err := NewLoader(items, opts)
		if err != nil {
			b.Fatal(err)
		}
		c0 := cpuTime(b)
		var batch *Batch
		for bt, err := range l.Epoch(context.Background(), i) {
			if err != nil {
				b.Fatal(err)
			}
			batch = bt
			break
		}
		c1 := cpuTime(b)
		x, err := tensor.FromData(batch.Images, batch.N, 3, batch.H, batch.W)
		if err != nil {
			b.Fatal(err)
		}
		maps := m.Forward(x)
		var dys [3]*tensor.Tensor
		for k, y := range maps {
			dys[k] = tensor.New(y.Shape...)
		}
		m.Backward(dys)
		loaderCPU += c1 - c0
		stepCPU += cpuTime(b) - c1
	}
	b.ReportMetric(float64(loaderCPU.Milliseconds())/float64(b.N), "loader-cpu-ms/batch")
	b.ReportMetric(float64(stepCPU.Milliseconds())/float64(b.N), "step-cpu-ms/batch")
	b.ReportMetric(float64(loaderCPU)/float64(stepCPU), "loader/step")
}
