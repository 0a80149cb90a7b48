// Package gemm multiplies float32 matrices: C = alpha*op(A)*op(B) + beta*C,
// row-major, the BLAS sgemm contract.
//
// It is written here rather than taken from a library because training
// YOLOv8 on a CPU spends most of its time in this one routine: gonum's
// pure-Go Sgemm reaches about a tenth of what the machine can do, and cgo
// BLAS would tie the build to a C toolchain. The design is the
// GotoBLAS/BLIS one: op(B) is packed into panels NR columns wide and op(A)
// into panels MR rows high (transposition and alpha are handled while
// packing), and an assembly micro-kernel keeps an MR x NR tile of C in
// vector registers. Kernels for AVX-512 and AVX2+FMA are chosen at run time
// from the CPU's features; a pure-Go kernel serves other machines and the
// purego build tag.
//
// Work is split across the workers of a parallel.Pool along N (or along M
// when N is short), each worker packing into its own buffers, so a call
// allocates nothing once the buffers have grown to the problem's size.
package gemm

import (
	"fmt"

	"github.com/yolops/yolops/parallel"
)

// Kernel is an MR x NR micro-kernel: fn adds A*B to the MR x NR tile at c,
// where A is kc packed columns of MR values and B is kc rows of NR values,
// ldb apart.
type Kernel struct {
	Name   string
	MR, NR int
	// Block sizes: MC rows of A (a multiple of MR) and KC columns stay in
	// L2 cache; NC columns of B (a multiple of NR) stay in L3.
	MC, KC, NC int
	fn         func(kc int, a, b *float32, ldb int, c *float32, ldc int)
	// set is fn storing A*B into C instead of adding it.
	set func(kc int, a, b *float32, ldb int, c *float32, ldc int)
	// idx and idxSet, where present, are fn and set reading row p of B
	// at byte offset offs[p] from b (see SgemmIndexed).
	idx, idxSet func(kc int, a, b *float32, offs *int, c *float32, ldc int)
	// edges are kernels for a smaller tile of the same packed panels, for
	// the last panels of M and N when they are partly filled; the
	// smallest that covers a tile serves it.
	edges []edge
	// dot, where present, serves C += alpha*A*B^T with A and B both
	// contiguous along K (see dot.go).
	dot *dotKernels
}

type edge struct {
	rows, cols  int
	fn, set     func(kc int, a, b *float32, ldb int, c *float32, ldc int)
	idx, idxSet func(kc int, a, b *float32, offs *int, c *float32, ldc int)
}

// Indexed reports whether the kernel reads B's rows at arbitrary offsets
// in place, which makes SgemmIndexed as fast as SgemmPacked; without, it
// gathers them into packed panels first.
func (k Kernel) Indexed() bool { return k.idx != nil }

// main returns the full MR x NR kernel as an edge.
func (k *Kernel) main() edge {
	return edge{rows: k.MR, cols: k.NR, fn: k.fn, set: k.set, idx: k.idx, idxSet: k.idxSet}
}

// pick returns the smallest kernel of k that covers an mm x nn tile.
func (k *Kernel) pick(mm, nn int) edge {
	best := k.main()
	for _, e := range k.edges {
		if e.rows >= mm && e.cols >= nn && e.rows*e.cols < best.rows*best.cols {
			best = e
		}
	}
	return best
}

// Gemm holds a kernel, a worker pool and per-worker packing buffers.
// A Gemm is not safe for concurrent use; give each goroutine its own.
type Gemm struct {
	k    Kernel
	pool *parallel.Pool
	bufs []buffers
	call call
	// boffs holds SgemmIndexed's row offsets in bytes.
	boffs []int
	run   parallel.Func // g.part, bound once so that For allocates nothing
	// dotRun is g.dotPart, likewise.
	dotRun parallel.Func
}

type buffers struct {
	a, b []float32
	tile []float32
	c    []float32 // a worker's partial C when K is split
}

// call holds the arguments of the Sgemm in progress, read by the workers.
type call struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	pa             *PackedA // op(A) packed ahead, or nil
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	split          int // splitM, splitN or splitK
	units          int // tiles of M or N, or KC blocks of K
	// directB makes the kernels read op(B)'s whole panels where they lie
	// instead of packing them, when B is not transposed (its panels' rows
	// are contiguous). Packing pays for itself by giving every MR-row
	// panel of A one contiguous copy of B, but the kernels' loads of 32
	// floats from each of KC rows run as fast from a strided panel that
	// the first panel of A brought into L1; measured on YOLOv8n's
	// convolutions, skipping the copy saves about a tenth of inference.
	directB bool
	// offs, for SgemmIndexed, holds where each row of op(B) starts in b
	// (elements), and boffs the same in bytes for the kernels.
	offs, boffs []int
}

const (
	splitM = iota
	splitN
	splitK
)

// New returns a Gemm that uses the best kernel for this CPU and the
// workers of pool (nil means a single thread).
func New(pool *parallel.Pool) *Gemm { return NewWithKernel(pool, Kernels()[0]) }

// NewWithKernel is New with a chosen kernel, one of Kernels().
func NewWithKernel(pool *parallel.Pool, k Kernel) *Gemm {
	if pool == nil {
		pool = parallel.New(1)
	}
	g := &Gemm{k: k, pool: pool, bufs: make([]buffers, pool.Workers())}
	for i := range g.bufs {
		g.bufs[i].tile = make([]float32, k.MR*k.NR)
	}
	g.run = g.part
	g.dotRun = g.dotPart
	return g
}

// Kernel reports the micro-kernel in use.
func (g *Gemm) Kernel() Kernel { return g.k }

// Kernels lists the kernels this CPU can run, fastest first. The last is
// always the pure-Go kernel.
func Kernels() []Kernel {
	ks := append([]Kernel(nil), simdKernels()...)
	return append(ks, goKernel)
}

func checkMatrix(name string, trans bool, rows, cols int, s []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("gemm: %s is %dx%d in memory but its leading dimension is %d", name, rows, cols, ld))
	}
	if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s is %dx%d with leading dimension %d, needs %d elements, has %d",
			name, rows, cols, ld, (rows-1)*ld+cols, len(s)))
	}
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C where op(A) is m x k,
// op(B) is k x n and C is m x n, all row-major with leading dimensions
// lda, ldb, ldc; op(X) is X transposed when transX is set. Like BLAS, it
// panics when the sizes do not fit the slices, naming both; beta == 0
// overwrites C without reading it.
func (g *Gemm) Sgemm(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("A", transA, m, k, a, lda)
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(c, ldc, 0, m, 0, n, beta)
		return
	}
	// Each worker scales its own part of C by beta: clearing a 7 MB
	// column-gradient matrix is worth both cores too.
	g.call = call{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
		a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	if g.k.dot != nil && !transA && transB && k >= dotMinK {
		g.dotSgemm()
		return
	}
	g.packed()
}

// PackedA is op(A) packed once for several products that share it, as a
// convolution's weights are shared by every image of a batch. Gemm.PackA
// fills it; it serves only Gemms with the same kernel.
type PackedA struct {
	kernel string
	m, k   int
	data   []float32 // KC-column blocks of MR-row panels
}

// PackA packs alpha*op(A), m x k, into dst for SgemmPacked, reusing dst's
// memory. It panics, like Sgemm, when the sizes do not fit a.
func (g *Gemm) PackA(dst *PackedA, transA bool, m, k int, alpha float32, a []float32, lda int) {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d k=%d", m, k))
	}
	checkMatrix("A", transA, m, k, a, lda)
	mr, kcMax := g.k.MR, g.k.KC
	mpad := roundUp(m, mr)
	dst.kernel, dst.m, dst.k = g.k.Name, m, k
	dst.data = grow(dst.data, mpad*k)
	for pc := 0; pc < k; pc += kcMax {
		packA(dst.data[pc*mpad:], transA, a, lda, 0, pc, m, min(kcMax, k-pc), mr, alpha)
	}
}

// SgemmPacked is Sgemm with op(A) (and alpha) taken from pa: C = A*op(B) +
// beta*C, with A pa's m x k matrix.
func (g *Gemm) SgemmPacked(pa *PackedA, transB bool, n int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if pa.kernel != g.k.Name {
		panic(fmt.Sprintf("gemm: A was packed for kernel %q, this Gemm uses %q", pa.kernel, g.k.Name))
	}
	m, k := pa.m, pa.k
	if n < 0 {
		panic(fmt.Sprintf("gemm: negative size n=%d", n))
	}
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
	if empty(m, n, k, beta, c, ldc) {
		return
	}
	g.call = call{transB: transB, m: m, n: n, k: k, pa: pa, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	g.packed()
}

// SgemmIndexed is SgemmPacked with row p of B (k x n) being the n floats
// at b[offs[p]:], rows that may overlap: an implicit convolution's column
// matrix, whose rows are windows of the padded image, multiplied without
// being written out. C = A*B + beta*C, A pa's m x k matrix. It panics
// when offs does not have k entries or a row falls outside b.
func (g *Gemm) SgemmIndexed(pa *PackedA, n int, b []float32, offs []int, beta float32, c []float32, ldc int) {
	if pa.kernel != g.k.Name {
		panic(fmt.Sprintf("gemm: A was packed for kernel %q, this Gemm uses %q", pa.kernel, g.k.Name))
	}
	m, k := pa.m, pa.k
	if n < 0 || len(offs) != k {
		panic(fmt.Sprintf("gemm: SgemmIndexed with n=%d and %d row offsets for k=%d", n, len(offs), k))
	}
	for p, o := range offs {
		if o < 0 || o+n > len(b) {
			panic(fmt.Sprintf("gemm: row %d of B at offset %d with %d columns is outside the %d elements of b", p, o, n, len(b)))
		}
	}
	checkMatrix("C", false, m, n, c, ldc)
	if empty(m, n, k, beta, c, ldc) {
		return
	}
	if cap(g.boffs) < k {
		g.boffs = make([]int, k)
	}
	g.boffs = g.boffs[:k]
	for p, o := range offs {
		g.boffs[p] = 4 * o
	}
	g.call = call{m: m, n: n, k: k, pa: pa, b: b, beta: beta, c: c, ldc: ldc, offs: offs, boffs: g.boffs}
	g.packed()
}

// packed runs the call in g.call on the packed path.
func (g *Gemm) packed() {
	m, n, k := g.call.m, g.call.n, g.call.k
	c, ldc := g.call.c, g.call.ldc
	mt := (m + g.k.MR - 1) / g.k.MR
	nt := (n + g.k.NR - 1) / g.k.NR
	kt := (k + g.k.KC - 1) / g.k.KC
	workers := g.pool.Workers()
	// Split along N (every worker packs all of A and its share of B) or
	// along M (all of B and its share of A), whichever costs the busiest
	// worker least. K only serves a small C with a long K (the weight
	// gradient of an early convolution: 16x144 summed over 6400 pixels),
	// each worker summing into its own copy of C.
	packsA := g.call.pa == nil
	costN := splitCost(nt, workers, g.k.NR, mt*g.k.MR, k, packsA, true)
	costM := splitCost(mt, workers, g.k.MR, nt*g.k.NR, k, true, packsA)
	g.call.split, g.call.units = splitN, nt
	if costM < costN {
		g.call.split, g.call.units = splitM, mt
	}
	if e := balance(kt, workers); e > max(balance(nt, workers), balance(mt, workers))+0.05 && m*n <= 1<<16 {
		g.call.split, g.call.units = splitK, kt
	}
	// Indexed rows are read in place only by kernels made for it; others
	// get them gathered into packed panels.
	g.call.directB = !g.call.transB && (g.call.offs == nil || g.k.idx != nil)
	if 2*m*n*k < 1<<17 || workers == 1 { // too small to be worth waking a worker
		g.part(0, 0, g.call.units)
	} else {
		g.pool.For(g.call.units, 1, g.run)
	}
	if g.call.split == splitK {
		// Worker 0 summed straight into C; add the other workers' parts.
		for w := 1; w < workers; w++ {
			part := g.bufs[w].c
			if len(part) == 0 {
				continue
			}
			for i := 0; i < m; i++ {
				row := c[i*ldc : i*ldc+n]
				for j, v := range part[i*n : i*n+n] {
					row[j] += v
				}
			}
			g.bufs[w].c = part[:0]
		}
	}
	g.call = call{} // drop references to the caller's slices
}

// balance is the fraction of the workers' time spent working when units
// equal pieces of work are dealt out to them.
func balance(units, workers int) float64 {
	rounds := (units + workers - 1) / workers
	return float64(units) / float64(rounds*workers)
}

// splitCost estimates the busiest worker's time, in units of one packed
// element, when units tiles of width tile are dealt out along one dimension
// and the other, of size other, is packed whole by every worker (if
// packOther; its share, if packShare). A kernel does about 32
// multiply-adds in the time packing copies one element.
func splitCost(units, workers, tile, other, k int, packShare, packOther bool) float64 {
	share := (units + workers - 1) / workers * tile
	cost := float64(share*other*k) / 32
	if packShare {
		cost += float64(share * k)
	}
	if packOther {
		cost += float64(other * k)
	}
	return cost
}

// part computes the units [lo, hi) of the split dimension on worker w.
func (g *Gemm) part(w, lo, hi int) {
	cl := &g.call
	buf := &g.bufs[w]
	switch cl.split {
	case splitN:
		j0, j1 := lo*g.k.NR, min(hi*g.k.NR, cl.n)
		if cl.beta != 0 {
			scale(cl.c, cl.ldc, 0, cl.m, j0, j1, cl.beta)
		}
		g.block(buf, 0, cl.m, j0, j1, 0, cl.k, cl.c, cl.ldc, cl.beta == 0)
	case splitM:
		i0, i1 := lo*g.k.MR, min(hi*g.k.MR, cl.m)
		if cl.beta != 0 {
			scale(cl.c, cl.ldc, i0, i1, 0, cl.n, cl.beta)
		}
		g.block(buf, i0, i1, 0, cl.n, 0, cl.k, cl.c, cl.ldc, cl.beta == 0)
	case splitK:
		k0, k1 := lo*g.k.KC, min(hi*g.k.KC, cl.k)
		if w == 0 {
			// The other workers write private copies until For returns.
			if cl.beta != 0 {
				scale(cl.c, cl.ldc, 0, cl.m, 0, cl.n, cl.beta)
			}
			g.block(buf, 0, cl.m, 0, cl.n, k0, k1, cl.c, cl.ldc, cl.beta == 0)
			return
		}
		buf.c = grow(buf.c, cl.m*cl.n)
		g.block(buf, 0, cl.m, 0, cl.n, k0, k1, buf.c, cl.n, true)
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// block adds the product of rows [i0, i1) of op(A) and columns [j0, j1) of
// op(B), over [k0, k1) of their common dimension, into c (leading
// dimension ldc, indexed like C), serially; with set it stores the
// product instead, ignoring what c held.
func (g *Gemm) block(buf *buffers, i0, i1, j0, j1, k0, k1 int, c []float32, ldc int, set bool) {
	cl := &g.call
	kr := g.k
	mr, nr := kr.MR, kr.NR
	kcMax := min(kr.KC, k1-k0)
	mcMax := min(kr.MC, roundUp(i1-i0, mr))
	ncMax := min(kr.NC, roundUp(j1-j0, nr))
	if cl.pa == nil {
		buf.a = grow(buf.a, mcMax*kcMax)
	}
	buf.b = grow(buf.b, ncMax*kcMax)
	mpad := roundUp(cl.m, mr)
	for jc := j0; jc < j1; jc += kr.NC {
		nc := min(kr.NC, j1-jc)
		for pc := k0; pc < k1; pc += kr.KC {
			kc := min(kr.KC, k1-pc)
			switch {
			case cl.directB:
				// Only a partial last panel is packed: the kernel reads
				// whole panels, and the last one's rows end early.
				if tail := nc / nr * nr; tail < nc {
					if cl.offs != nil {
						packBIndexed(buf.b[tail*kc:], cl.b, cl.offs[pc:pc+kc], jc+tail, nc-tail, nr)
					} else {
						packB(buf.b[tail*kc:], false, cl.b, cl.ldb, pc, jc+tail, kc, nc-tail, nr)
					}
				}
			case cl.offs != nil:
				packBIndexed(buf.b, cl.b, cl.offs[pc:pc+kc], jc, nc, nr)
			default:
				packB(buf.b, cl.transB, cl.b, cl.ldb, pc, jc, kc, nc, nr)
			}
			for ic := i0; ic < i1; ic += kr.MC {
				mc := min(kr.MC, i1-ic)
				a := buf.a
				if cl.pa != nil {
					a = cl.pa.data[pc*mpad+ic*kc:]
				} else {
					packA(a, cl.transA, cl.a, cl.lda, ic, pc, mc, kc, mr, cl.alpha)
				}
				g.macro(a, buf, ic, jc, pc, mc, nc, kc, c, ldc, set && pc == k0)
			}
		}
	}
}

// macro runs the kernel over an mc x nc block of C from packed A (in a)
// and B (in buf).
func (g *Gemm) macro(a []float32, buf *buffers, ic, jc, pc, mc, nc, kc int, c []float32, ldc int, set bool) {
	mr, nr := g.k.MR, g.k.NR
	full := g.k.main()
	for jr := 0; jr < nc; jr += nr {
		bp, ldb := &buf.b[jr*kc], nr
		var offs *int // B's row offsets, read by the idx kernels
		nn := min(nr, nc-jr)
		if g.call.directB && nn == nr {
			if g.call.offs != nil {
				bp, offs = &g.call.b[jc+jr], &g.call.boffs[pc]
			} else {
				bp, ldb = &g.call.b[pc*g.call.ldb+jc+jr], g.call.ldb
			}
		}
		for ir := 0; ir < mc; ir += mr {
			ap := &a[ir*kc]
			mm := min(mr, mc-ir)
			off := (ic+ir)*ldc + jc + jr
			e := &full
			if mm < mr || nn < nr {
				pe := g.k.pick(mm, nn)
				e = &pe
			}
			if mm == e.rows && nn == e.cols {
				switch {
				case offs != nil && set:
					e.idxSet(kc, ap, bp, offs, &c[off], ldc)
				case offs != nil:
					e.idx(kc, ap, bp, offs, &c[off], ldc)
				case set:
					e.set(kc, ap, bp, ldb, &c[off], ldc)
				default:
					e.fn(kc, ap, bp, ldb, &c[off], ldc)
				}
				continue
			}
			// A tile no kernel fits exactly goes through a scratch tile,
			// so that nothing outside C is written.
			t := buf.tile
			if offs != nil {
				e.idxSet(kc, ap, bp, offs, &t[0], nr)
			} else {
				e.set(kc, ap, bp, ldb, &t[0], nr)
			}
			for i := 0; i < mm; i++ {
				row := c[off+i*ldc : off+i*ldc+nn]
				src := t[i*nr : i*nr+nn]
				if set {
					copy(row, src)
					continue
				}
				for j, v := range src {
					row[j] += v
				}
			}
		}
	}
}

// empty handles a product with nothing to multiply (C = beta*C when k
// is 0) and reports whether it was one.
func empty(m, n, k int, beta float32, c []float32, ldc int) bool {
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 {
		scale(c, ldc, 0, m, 0, n, beta)
		return true
	}
	return false
}

// scale multiplies rows [i0, i1) and columns [j0, j1) of c by beta;
// beta == 0 clears them without reading, as BLAS does, so that NaNs in C
// vanish. The packed path needs no clearing (its first K block stores
// rather than adds), so it scales only when beta is neither 0 nor 1.
func scale(c []float32, ldc, i0, i1, j0, j1 int, beta float32) {
	if beta == 1 {
		return
	}
	for i := i0; i < i1; i++ {
		row := c[i*ldc+j0 : i*ldc+j1]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies alpha*op(A)[ic:ic+mc, pc:pc+kc] into panels of mr rows: for
// each panel, kc groups of mr values, zero-padded to a whole panel.
func packA(dst []float32, trans bool, a []float32, lda, ic, pc, mc, kc, mr int, alpha float32) {
	d := 0
	for i0 := 0; i0 < mc; i0 += mr {
		rows := min(mr, mc-i0)
		if trans { // op(A)[i][p] = a[p*lda+i]: each group is contiguous
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+ic+i0:]
				grp := dst[d : d+mr]
				for r := 0; r < rows; r++ {
					grp[r] = alpha * src[r]
				}
				clear(grp[rows:])
				d += mr
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(ic+i0+r)*lda+pc : (ic+i0+r)*lda+pc+kc]
			for p, v := range src {
				dst[d+p*mr+r] = alpha * v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kc; p++ {
				dst[d+p*mr+r] = 0
			}
		}
		d += kc * mr
	}
}

// packBIndexed is packB for SgemmIndexed's B, whose row p (of the kc in
// this block) is b[offs[p]:].
func packBIndexed(dst, b []float32, offs []int, jc, nc, nr int) {
	d := 0
	for j0 := 0; j0 < nc; j0 += nr {
		cols := min(nr, nc-j0)
		for _, o := range offs {
			row := dst[d : d+nr]
			copy(row, b[o+jc+j0:o+jc+j0+cols])
			clear(row[cols:])
			d += nr
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc:jc+nc] into panels of nr columns: for
// each panel, kc rows of nr values, zero-padded to a whole panel.
func packB(dst []float32, trans bool, b []float32, ldb, pc, jc, kc, nc, nr int) {
	d := 0
	for j0 := 0; j0 < nc; j0 += nr {
		cols := min(nr, nc-j0)
		if !trans { // op(B)[p][j] = b[p*ldb+j]: each row is contiguous
			for p := 0; p < kc; p++ {
				src := b[(pc+p)*ldb+jc+j0 : (pc+p)*ldb+jc+j0+cols]
				row := dst[d : d+nr]
				copy(row, src)
				clear(row[cols:])
				d += nr
			}
			continue
		}
		for j := 0; j < cols; j++ {
			src := b[(jc+j0+j)*ldb+pc : (jc+j0+j)*ldb+pc+kc]
			for p, v := range src {
				dst[d+p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				dst[d+p*nr+j] = 0
			}
		}
		d += kc * nr
	}
}
