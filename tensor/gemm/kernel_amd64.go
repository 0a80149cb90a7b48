//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -o kernel_amd64.s

// The kernels of kernel_amd64.s: kern<ISA>_<rows>x<cols>, which add A*B
// to C, and ..._set, which store it.
func kernAVX512_12x32(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_12x32_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_12x16(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_12x16_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_8x32(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_8x32_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_8x16(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_8x16_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_4x32(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_4x32_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_4x16(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_4x16_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX512_12x32_idx(kc int, a, b *float32, offs *int, c *float32, ldc int)
func kernAVX512_12x32_idx_set(kc int, a, b *float32, offs *int, c *float32, ldc int)
func kernAVX512_8x32_idx(kc int, a, b *float32, offs *int, c *float32, ldc int)
func kernAVX512_8x32_idx_set(kc int, a, b *float32, offs *int, c *float32, ldc int)
func kernAVX512_4x32_idx(kc int, a, b *float32, offs *int, c *float32, ldc int)
func kernAVX512_4x32_idx_set(kc int, a, b *float32, offs *int, c *float32, ldc int)
func kernAVX2_6x16(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX2_6x16_set(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX2_6x8(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX2_6x8_set(kc int, a, b *float32, ldb int, c *float32, ldc int)

func dotAVX512_1x1(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_1x2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_1x3(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_1x4(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_2x1(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_2x2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_2x3(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_2x4(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_3x1(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_3x2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_3x3(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_3x4(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_4x1(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_4x2(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_4x3(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
func dotAVX512_4x4(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)

var avx512Dot = dotKernels{
	{dotAVX512_1x1, dotAVX512_1x2, dotAVX512_1x3, dotAVX512_1x4},
	{dotAVX512_2x1, dotAVX512_2x2, dotAVX512_2x3, dotAVX512_2x4},
	{dotAVX512_3x1, dotAVX512_3x2, dotAVX512_3x3, dotAVX512_3x4},
	{dotAVX512_4x1, dotAVX512_4x2, dotAVX512_4x3, dotAVX512_4x4},
}

var (
	avx512Kernel = Kernel{Name: "avx512_12x32", MR: 12, NR: 32, MC: 144, KC: 256, NC: 4096, fn: kernAVX512_12x32, set: kernAVX512_12x32_set, dot: &avx512Dot,
		idx: kernAVX512_12x32_idx, idxSet: kernAVX512_12x32_idx_set,
		edges: []edge{
			{rows: 12, cols: 16, fn: kernAVX512_12x16, set: kernAVX512_12x16_set},
			{rows: 8, cols: 32, fn: kernAVX512_8x32, set: kernAVX512_8x32_set, idx: kernAVX512_8x32_idx, idxSet: kernAVX512_8x32_idx_set},
			{rows: 8, cols: 16, fn: kernAVX512_8x16, set: kernAVX512_8x16_set},
			{rows: 4, cols: 32, fn: kernAVX512_4x32, set: kernAVX512_4x32_set, idx: kernAVX512_4x32_idx, idxSet: kernAVX512_4x32_idx_set},
			{rows: 4, cols: 16, fn: kernAVX512_4x16, set: kernAVX512_4x16_set},
		}}
	avx2Kernel = Kernel{Name: "avx2_6x16", MR: 6, NR: 16, MC: 120, KC: 256, NC: 2048, fn: kernAVX2_6x16, set: kernAVX2_6x16_set,
		edges: []edge{{rows: 6, cols: 8, fn: kernAVX2_6x8, set: kernAVX2_6x8_set}}}
)

func simdKernels() []Kernel {
	var ks []Kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}
