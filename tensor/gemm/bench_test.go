package gemm

import (
	"fmt"
	"testing"

	"github.com/yolops/yolops/parallel"
)

// Shapes (M = output channels, N = output pixels, K = input channels x
// kernel area) of YOLOv8n convolutions on a 320x320 image.
var benchShapes = []struct{ m, n, k int }{
	{32, 6400, 144},  // layer 1, 3x3 s2
	{16, 6400, 144},  // C2f bottleneck at P2
	{32, 1600, 288},  // C2f bottleneck at P3
	{64, 1600, 64},   // 1x1
	{64, 400, 576},   // C2f bottleneck at P4
	{128, 400, 576},  // layer 5
	{128, 100, 1152}, // C2f bottleneck at P5
	{256, 100, 384},  // 1x1 at P5
}

func BenchmarkSgemm(b *testing.B) {
	for _, workers := range []int{1, 2} {
		pool := parallel.New(workers)
		defer pool.Close()
		for _, kern := range Kernels() {
			g := NewWithKernel(pool, kern)
			for _, s := range benchShapes {
				b.Run(fmt.Sprintf("%s/threads=%d/%dx%dx%d", kern.Name, workers, s.m, s.n, s.k), func(b *testing.B) {
					x, y, z := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
					b.ReportAllocs()
					for b.Loop() {
						g.Sgemm(false, false, s.m, s.n, s.k, 1, x, s.k, y, s.n, 0, z, s.n)
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
				})
			}
		}
	}
}

// BenchmarkSgemmBackward times the two products of a convolution's backward
// pass, whose operands are transposed: dW = dY x col^T and dcol = W^T x dY.
func BenchmarkSgemmBackward(b *testing.B) {
	pool := parallel.New(2)
	defer pool.Close()
	g := New(pool)
	for _, s := range benchShapes {
		// s.m = out channels, s.n = pixels, s.k = in channels x kernel area.
		b.Run(fmt.Sprintf("dW/%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			dy, col, dw := make([]float32, s.m*s.n), make([]float32, s.k*s.n), make([]float32, s.m*s.k)
			for b.Loop() {
				g.Sgemm(false, true, s.m, s.k, s.n, 1, dy, s.n, col, s.n, 1, dw, s.k)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(fmt.Sprintf("dcol/%dx%dx%d", s.k, s.n, s.m), func(b *testing.B) {
			w, dy, dcol := make([]float32, s.m*s.k), make([]float32, s.m*s.n), make([]float32, s.k*s.n)
			for b.Loop() {
				g.Sgemm(true, false, s.k, s.n, s.m, 1, w, s.k, dy, s.n, 0, dcol, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
