//go:build !amd64 || purego

package gemm

func simdKernels() []Kernel { return nil }
