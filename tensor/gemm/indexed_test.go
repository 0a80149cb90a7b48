package gemm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/parallel"
)

// TestSgemmIndexed: with rows of B at arbitrary (overlapping) offsets,
// SgemmIndexed gives exactly what SgemmPacked gives on those rows copied
// out into a matrix, for every kernel (in place or gathered), every edge
// of M and N, several K blocks, beta 0 and 1, one or two workers.
func TestSgemmIndexed(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {12, 32, 9}, {16, 100, 27}, {13, 33, 300}, {64, 420, 576}, {80, 64, 600}, {5, 31, 7},
	}
	for _, kern := range Kernels() {
		for _, workers := range []int{1, 2} {
			pool := parallel.New(workers)
			g := NewWithKernel(pool, kern)
			for _, s := range shapes {
				for _, beta := range []float32{0, 1} {
					name := fmt.Sprintf("%s/w%d/%dx%dx%d/beta%v", kern.Name, workers, s.m, s.n, s.k, beta)
					src := randSlice(r, s.k+s.n+64)
					offs := make([]int, s.k)
					bm := make([]float32, s.k*s.n) // the rows copied out
					for p := range offs {
						offs[p] = r.IntN(len(src) - s.n + 1)
						copy(bm[p*s.n:], src[offs[p]:offs[p]+s.n])
					}
					a := randSlice(r, s.m*s.k)
					var pa PackedA
					g.PackA(&pa, false, s.m, s.k, 1, a, s.k)
					c0 := randSlice(r, s.m*s.n)
					want, got := slices.Clone(c0), slices.Clone(c0)
					g.SgemmPacked(&pa, false, s.n, bm, s.n, beta, want, s.n)
					g.SgemmIndexed(&pa, s.n, src, offs, beta, got, s.n)
					if !slices.Equal(got, want) {
						t.Errorf("%s: SgemmIndexed differs from SgemmPacked on the gathered rows", name)
					}
				}
			}
			pool.Close()
		}
	}
}

func TestSgemmIndexedPanics(t *testing.T) {
	g := New(nil)
	var pa PackedA
	g.PackA(&pa, false, 2, 3, 1, make([]float32, 6), 3)
	for _, tc := range []struct {
		name string
		b    []float32
		offs []int
		want string
	}{
		{"too few offsets", make([]float32, 10), []int{0, 1}, "2 row offsets for k=3"},
		{"row past the end", make([]float32, 10), []int{0, 1, 7}, "row 2 of B at offset 7"},
		{"negative offset", make([]float32, 10), []int{0, -1, 2}, "row 1 of B at offset -1"},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.want) {
					t.Errorf("%s: panic %q, want it to mention %q", tc.name, msg, tc.want)
				}
			}()
			g.SgemmIndexed(&pa, 4, tc.b, tc.offs, 0, make([]float32, 8), 4)
		}()
	}
}
