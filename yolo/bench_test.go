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

// BenchmarkTrainStep times a training step's network passes, forward in
// training mode and backward from given head gradients (no loss, no
// optimizer), for yolov8n with one class at batch 16: the part of an
// epoch that the numeric core decides.
func BenchmarkTrainStep(b *testing.B) {
	for _, threads := range []int{1, 2} {
		e := nn.NewEngine(threads)
		m, err := New(e, Config{"n", 1}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		for _, sz := range []int{320, 416} {
			b.Run(fmt.Sprintf("threads=%d/imgsz=%d/batch=16", threads, sz), func(b *testing.B) {
				x := tensor.New(16, 3, sz, sz)
				for i := range x.Data {
					x.Data[i] = float32(i%255) / 255
				}
				var dys [3]*tensor.Tensor
				for i, y := range m.Forward(x) {
					dys[i] = tensor.New(y.Shape...)
					for j := range dys[i].Data {
						dys[i].Data[j] = float32(j%7-3) * 1e-3
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					m.Forward(x)
					m.Backward(dys)
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
			})
		}
		e.Close()
	}
}
