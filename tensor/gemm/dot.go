package gemm

// The dot-product path serves C = alpha*A*B^T + C when A and B are both
// stored with K contiguous and K is long: the weight gradient of a
// convolution, dW = dY x col^T, summed over thousands of output pixels.
// Packing would transpose one of the two large operands element by element
// (each packed value then feeds only M=16..64 multiply-adds), whereas dot
// kernels read both straight from memory, 16 lanes at a time, and reduce
// horizontally once per tile.

// dotKernels[i-1][j-1] computes an i x j tile, for 1 <= i, j <= dotTile.
type dotKernels [dotTile][dotTile]func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)

const (
	dotTile = 4
	// dotMinK is the K from which dot kernels beat packing (measured with
	// BenchmarkSgemmBackward: at K=400 dot 220 GFLOPS vs packed 120-165,
	// at K=100 dot 110-120 vs packed 155); below it the horizontal
	// reductions and the re-reading of rows cost more.
	dotMinK = 256
	// dotKC is the slice of K processed per sweep over the tiles, so that
	// the rows of A in use stay in L1 while B streams from L2.
	dotKC = 1024
)

func (g *Gemm) dotSgemm() {
	cl := &g.call
	mt := (cl.m + dotTile - 1) / dotTile
	nt := (cl.n + dotTile - 1) / dotTile
	workers := g.pool.Workers()
	cl.split, cl.units = splitN, nt
	if balance(mt, workers) > balance(nt, workers) {
		cl.split, cl.units = splitM, mt
	}
	if workers == 1 || 2*cl.m*cl.n*cl.k < 1<<17 {
		g.dotPart(0, 0, cl.units)
	} else {
		g.pool.For(cl.units, 1, g.dotRun)
	}
	g.call = call{}
}

// dotPart computes the tiles [lo, hi) of the split dimension.
func (g *Gemm) dotPart(_, lo, hi int) {
	cl := &g.call
	i0, i1, j0, j1 := 0, cl.m, lo*dotTile, min(hi*dotTile, cl.n)
	if cl.split == splitM {
		i0, i1, j0, j1 = lo*dotTile, min(hi*dotTile, cl.m), 0, cl.n
	}
	scale(cl.c, cl.ldc, i0, i1, j0, j1, cl.beta)
	for p := 0; p < cl.k; p += dotKC {
		kc := min(dotKC, cl.k-p)
		for i := i0; i < i1; i += dotTile {
			mi := min(dotTile, i1-i)
			a := &cl.a[i*cl.lda+p]
			for j := j0; j < j1; j += dotTile {
				nj := min(dotTile, j1-j)
				g.k.dot[mi-1][nj-1](kc, a, cl.lda, &cl.b[j*cl.ldb+p], cl.ldb, &cl.c[i*cl.ldc+j], cl.ldc, cl.alpha)
			}
		}
	}
}
