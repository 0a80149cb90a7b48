//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -o kernel_amd64.s

func kernAVX512_12x32(kc int, a, b *float32, ldb int, c *float32, ldc int)
func kernAVX2_6x16(kc int, a, b *float32, ldb int, c *float32, ldc int)

var (
	avx512Kernel = Kernel{Name: "avx512_12x32", MR: 12, NR: 32, MC: 144, KC: 256, NC: 4096, fn: kernAVX512_12x32}
	avx2Kernel   = Kernel{Name: "avx2_6x16", MR: 6, NR: 16, MC: 120, KC: 256, NC: 2048, fn: kernAVX2_6x16}
)

func simdKernels() []Kernel {
	var ks []Kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}
