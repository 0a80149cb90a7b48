package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yolops/yolops/parallel"
)

// naive computes the reference result in float64.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) []float32 {
	out := append([]float32(nil), c...)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			prev := float64(0)
			if beta != 0 {
				prev = float64(beta) * float64(c[i*ldc+j])
			}
			out[i*ldc+j] = float32(float64(alpha)*s + prev)
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func TestSgemmMatchesNaive(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {1, 1, 7}, {2, 3, 4}, {5, 1, 9}, {1, 37, 3},
		{12, 32, 16}, {13, 33, 17}, {11, 31, 300}, {24, 64, 1},
		{7, 100, 513}, {16, 25, 144}, {65, 17, 64}, {150, 70, 600},
		{300, 9, 33}, {3, 4100, 5}, {40, 260, 2304}, {7, 13, 1037}, {5, 3, 2049}, {18, 6, 4111}, {13, 48, 20}, {25, 112, 70}, {16, 64, 40}, {20, 48, 9}, {28, 80, 300},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, workers := range []int{1, 2, 3} {
		pool := parallel.New(workers)
		defer pool.Close()
		for _, kern := range Kernels() {
			g := NewWithKernel(pool, kern)
			for _, s := range shapes {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}} {
						name := fmt.Sprintf("%s/w%d/%dx%dx%d/tA=%v,tB=%v/alpha=%g,beta=%g",
							kern.Name, workers, s.m, s.n, s.k, tr[0], tr[1], ab[0], ab[1])
						lda, ldb, ldc := s.k+3, s.n+1, s.n+5
						if tr[0] {
							lda = s.m + 2
						}
						if tr[1] {
							ldb = s.k + 4
						}
						arows, brows := s.m, s.k
						if tr[0] {
							arows = s.k
						}
						if tr[1] {
							brows = s.n
						}
						a := randSlice(r, arows*lda)
						b := randSlice(r, brows*ldb)
						c := randSlice(r, s.m*ldc)
						if ab[1] == 0 {
							for i := range c {
								c[i] = float32(math.NaN()) // beta=0 must not read C
							}
						}
						want := naive(tr[0], tr[1], s.m, s.n, s.k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
						g.Sgemm(tr[0], tr[1], s.m, s.n, s.k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
						tol := 1e-5 * float64(s.k+1)
						for i := 0; i < s.m; i++ {
							for j := 0; j < ldc; j++ {
								got, exp := c[i*ldc+j], want[i*ldc+j]
								if j >= s.n { // padding beyond n must be untouched
									if math.Float32bits(got) != math.Float32bits(exp) {
										t.Fatalf("%s: C[%d][%d] outside the matrix changed", name, i, j)
									}
									continue
								}
								if math.Abs(float64(got-exp)) > tol*(1+math.Abs(float64(exp))) {
									t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i, j, got, exp)
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestSgemmPanicsNamingShapes(t *testing.T) {
	g := New(nil)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"short A", func() {
			g.Sgemm(false, false, 2, 2, 3, 1, make([]float32, 5), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "A is 2x3"},
		{"short B", func() {
			g.Sgemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 5), 3, 0, make([]float32, 4), 2)
		}, "B is 2x3"},
		{"bad ldc", func() {
			g.Sgemm(false, false, 2, 4, 3, 1, make([]float32, 6), 3, make([]float32, 12), 4, 0, make([]float32, 8), 2)
		}, "C is 2x4 in memory but its leading dimension is 2"},
		{"negative", func() { g.Sgemm(false, false, -1, 2, 3, 1, nil, 3, nil, 2, 0, nil, 2) }, "negative size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic = %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestSgemmAllocatesNothing(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	g := New(pool)
	m, n, k := 64, 1600, 576
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	g.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) // grow buffers
	allocs := testing.AllocsPerRun(10, func() {
		g.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		g.Sgemm(true, true, k, k, m, 1, a, k, a, m, 1, b[:k*k], k)
	})
	if allocs != 0 {
		t.Fatalf("Sgemm allocated %v times per call, want 0", allocs)
	}
}

func TestSgemmPackedMatchesSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pool := parallel.New(2)
	defer pool.Close()
	for _, kern := range Kernels() {
		g := NewWithKernel(pool, kern)
		var pa PackedA // reused across shapes, as a layer reuses it across batches
		for _, s := range []struct{ m, n, k int }{
			{1, 1, 1}, {13, 33, 17}, {16, 6400, 144}, {150, 70, 600}, {256, 100, 1152}, {7, 5, 300},
		} {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				lda, arows := s.k, s.m
				if tr[0] {
					lda, arows = s.m, s.k
				}
				ldb, brows := s.n, s.k
				if tr[1] {
					ldb, brows = s.k, s.n
				}
				a, b := randSlice(r, arows*lda), randSlice(r, brows*ldb)
				c0 := randSlice(r, s.m*s.n)
				for _, beta := range []float32{0, 1} {
					want := naive(tr[0], tr[1], s.m, s.n, s.k, 0.5, a, lda, b, ldb, beta, c0, s.n)
					got := append([]float32(nil), c0...)
					g.PackA(&pa, tr[0], s.m, s.k, 0.5, a, lda)
					g.SgemmPacked(&pa, tr[1], s.n, b, ldb, beta, got, s.n)
					for i := range got {
						if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(s.k+1)*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("%s %dx%dx%d tA=%v tB=%v beta=%v: c[%d] = %v, want %v",
								kern.Name, s.m, s.n, s.k, tr[0], tr[1], beta, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
	// A packed for one kernel must not be used with another.
	ks := Kernels()
	if len(ks) > 1 {
		var pa PackedA
		NewWithKernel(nil, ks[0]).PackA(&pa, false, 2, 2, 1, make([]float32, 4), 2)
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "was packed for kernel") {
				t.Fatalf("panic = %v, want a kernel mismatch", r)
			}
		}()
		NewWithKernel(nil, ks[1]).SgemmPacked(&pa, false, 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
	}
}
