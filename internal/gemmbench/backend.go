package gemmbench

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/yolops/yolops/parallel"
	"github.com/yolops/yolops/tensor/gemm"
)

// A Backend is one SGEMM implementation under test.
type Backend interface {
	// Name is a short lower-case key: "yolops", "openblas", "gonum".
	Name() string
	// Detail says which build or kernel it is, for the report's header.
	Detail() string
	// Start readies the backend to run on the given number of threads.
	// The Runner must be closed before another backend starts, since some
	// backends set process-wide state.
	Start(threads int) (Runner, error)
}

// A Runner multiplies on a fixed number of threads.
type Runner interface {
	// Mul sets C = A*B for row-major A (m x k), B (k x n) and C (m x n)
	// stored without padding, as a convolution's forward GEMM does.
	Mul(m, n, k int, a, b, c []float32)
	Close()
}

// Backends returns the implementations built into this binary, yolops
// first (the ratios compare it with the others): yolops, OpenBLAS where
// the openblas build tag is set, and gonum.
func Backends() []Backend {
	bs := []Backend{yolopsBackend{}}
	if b := openBLASBackend(); b != nil {
		bs = append(bs, b)
	}
	return append(bs, gonumBackend{})
}

// yolopsBackend is tensor/gemm with its fastest kernel for this CPU, on a
// parallel.Pool of the requested size.
type yolopsBackend struct{}

func (yolopsBackend) Name() string { return "yolops" }

func (yolopsBackend) Detail() string {
	return "tensor/gemm, kernel " + gemm.Kernels()[0].Name
}

func (yolopsBackend) Start(threads int) (Runner, error) {
	if threads < 1 {
		return nil, fmt.Errorf("yolops gemm: %d threads", threads)
	}
	pool := parallel.New(threads)
	return &yolopsRunner{pool: pool, g: gemm.New(pool)}, nil
}

type yolopsRunner struct {
	pool *parallel.Pool
	g    *gemm.Gemm
}

func (r *yolopsRunner) Mul(m, n, k int, a, b, c []float32) {
	r.g.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
}

func (r *yolopsRunner) Close() { r.pool.Close() }

// gonumBackend is gonum's pure-Go Sgemm. It has no thread setting: a
// large product is cut into blocks that run on up to GOMAXPROCS
// goroutines. Start therefore sets GOMAXPROCS to the thread count and
// Close restores it, which gives gonum the same number of cores as the
// others and affects the whole process meanwhile.
type gonumBackend struct{}

func (gonumBackend) Name() string { return "gonum" }

func (gonumBackend) Detail() string {
	v := "unknown version"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "gonum.org/v1/gonum" {
				v = d.Version
			}
		}
	}
	return "gonum.org/v1/gonum/blas/gonum " + v + ", threads = GOMAXPROCS"
}

func (gonumBackend) Start(threads int) (Runner, error) {
	if threads < 1 {
		return nil, fmt.Errorf("gonum: %d threads", threads)
	}
	return &gonumRunner{prev: runtime.GOMAXPROCS(threads)}, nil
}

type gonumRunner struct{ prev int }

func (*gonumRunner) Mul(m, n, k int, a, b, c []float32) {
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
}

func (r *gonumRunner) Close() { runtime.GOMAXPROCS(r.prev) }
