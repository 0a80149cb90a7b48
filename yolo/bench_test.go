package yolo

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// BenchmarkInference times the network in evaluation mode (forward pass,
// decode and NMS) for yolov8n with 80 classes, as the inference latency
// to compare with PyTorch on the same machine (see README, Measured).
func BenchmarkInference(b *testing.B) {
	for _, threads := range []int{1, 2} {
		e := nn.NewEngine(threads)
		m, err := New(e, Config{"n", 80}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		m.SetTrain(false)
		for _, sz := range []int{320, 640} {
			for _, batch := range []int{1, 16} {
				b.Run(fmt.Sprintf("threads=%d/imgsz=%d/batch=%d", threads, sz, batch), func(b *testing.B) {
					x := tensor.New(batch, 3, sz, sz)
					for i := range x.Data {
						x.Data[i] = float32(i%255) / 255
					}
					dec := tensor.New(0)
					b.ReportAllocs()
					for b.Loop() {
						Decode(dec, m.Forward(x), 80)
						for i := range batch {
							NMS(dec, i, DefaultNMS())
						}
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(batch), "ms/image")
				})
			}
		}
		e.Close()
	}
}
