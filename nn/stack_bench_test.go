package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yolops/yolops/tensor"
)

// yolov8nConvs are the convolutions of the YOLOv8n backbone in order, at
// full stage width (channels 16, 32, 64, 128, 256), chained: each stage's
// stride-2 3x3 convolution followed by the 1x1 and 3x3 convolutions of its
// C2f block and, for the last, SPPF's.
var yolov8nConvs = []struct{ in, out, k, s int }{
	{3, 16, 3, 2},
	{16, 32, 3, 2},
	{32, 32, 1, 1}, {32, 32, 3, 1}, {32, 32, 3, 1}, {32, 32, 1, 1},
	{32, 64, 3, 2},
	{64, 64, 1, 1}, {64, 64, 3, 1}, {64, 64, 3, 1}, {64, 64, 1, 1},
	{64, 128, 3, 2},
	{128, 128, 1, 1}, {128, 128, 3, 1}, {128, 128, 3, 1}, {128, 128, 1, 1},
	{128, 256, 3, 2},
	{256, 256, 1, 1}, {256, 256, 3, 1}, {256, 256, 1, 1},
}

// BenchmarkYOLOv8nConvStack times a training step (forward, then backward
// of an all-ones gradient) through the backbone's convolutions at batch 8,
// 320 pixels, and reports which share of it the GEMMs take: everything
// else (im2col, col2im, batch norm, SiLU) is the overhead this package
// controls.
func BenchmarkYOLOv8nConvStack(b *testing.B) {
	const batch, imgsz = 8, 320
	e := NewEngine(0)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	var timer GemmTimer
	blocks := make([]*ConvBNSiLU, len(yolov8nConvs))
	for i, c := range yolov8nConvs {
		blocks[i] = NewConvBNSiLU(e, fmt.Sprintf("model.%d", i), c.in, c.out, c.k, c.s)
		blocks[i].Init(r)
		blocks[i].Conv.GemmTime = &timer
	}
	// The image needs no gradient, as in training.
	blocks[0].Conv.SkipInputGrad = true
	x := randTensor(r, batch, 3, imgsz, imgsz)
	var dy *tensor.Tensor
	step := func() {
		y := x
		for _, blk := range blocks {
			y = blk.Forward(y)
		}
		if dy == nil {
			dy = tensor.New(y.Shape...)
			fillConst(dy.Data, 1)
		}
		g := dy
		for i := len(blocks) - 1; i >= 0; i-- {
			g = blocks[i].Backward(g)
		}
	}
	step() // grow every buffer
	timer.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		step()
	}
	total := time.Since(start)
	b.StopTimer()
	frac := float64(timer.Elapsed) / float64(total)
	b.ReportMetric(frac, "gemm-frac")
	b.ReportMetric(1-frac, "nongemm-frac")
}
