package gemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/parallel"
)

// FuzzSgemm checks random shapes, transpositions and leading dimensions
// against the float64 reference, on every kernel this CPU runs.
func FuzzSgemm(f *testing.F) {
	f.Add(uint16(13), uint16(33), uint16(17), uint8(0), uint8(3), uint64(1))
	f.Add(uint16(5), uint16(3), uint16(1030), uint8(2), uint8(0), uint64(2))
	f.Add(uint16(1), uint16(1), uint16(1), uint8(3), uint8(1), uint64(3))
	pool := parallel.New(2)
	defer pool.Close()
	var gs []*Gemm
	for _, k := range Kernels() {
		gs = append(gs, NewWithKernel(pool, k))
	}
	f.Fuzz(func(t *testing.T, m16, n16, k16 uint16, trans, pad uint8, seed uint64) {
		m, n, k := int(m16%70)+1, int(n16%90)+1, int(k16%1100)+1
		transA, transB := trans&1 != 0, trans&2 != 0
		r := rand.New(rand.NewPCG(seed, 0))
		padA, padB, padC := int(pad%4), int(pad/4%4), int(pad/16%4)
		lda, arows := k+padA, m
		if transA {
			lda, arows = m+padA, k
		}
		ldb, brows := n+padB, k
		if transB {
			ldb, brows = k+padB, n
		}
		ldc := n + padC
		a, b := randSlice(r, arows*lda), randSlice(r, brows*ldb)
		c0 := randSlice(r, m*ldc)
		want := naive(transA, transB, m, n, k, 1.5, a, lda, b, ldb, 0.5, c0, ldc)
		for _, g := range gs {
			c := append([]float32(nil), c0...)
			g.Sgemm(transA, transB, m, n, k, 1.5, a, lda, b, ldb, 0.5, c, ldc)
			for i := range c {
				if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*float64(k)*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s m=%d n=%d k=%d tA=%v tB=%v lds=%d,%d,%d: c[%d]=%v want %v",
						g.Kernel().Name, m, n, k, transA, transB, lda, ldb, ldc, i, c[i], want[i])
				}
			}
		}
	})
}
