//go:build openblas && cgo

package gemmbench

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

// Declared here as well as in OpenBLAS's cblas.h so that the file also
// compiles against the reference cblas.h some systems install instead.
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);

// sgemmNN does C = A*B on unpadded row-major matrices; doing the call in
// C keeps the enum and blasint conversions out of Go.
static void sgemmNN(int m, int n, int k, const float *a, const float *b, float *c) {
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}
*/
import "C"

import (
	"fmt"
	"math"
	"strings"
)

// OpenBLASBuilt reports whether this binary was built with the openblas
// tag and so can compare against OpenBLAS.
const OpenBLASBuilt = true

func openBLASBackend() Backend { return openBLAS{} }

// openBLAS is the system's OpenBLAS through cblas_sgemm, the reference the
// project's speed targets are set against.
type openBLAS struct{}

func (openBLAS) Name() string { return "openblas" }

func (openBLAS) Detail() string {
	cfg := strings.TrimSpace(C.GoString(C.openblas_get_config()))
	return fmt.Sprintf("%s, core %s", cfg, C.GoString(C.openblas_get_corename()))
}

func (openBLAS) Start(threads int) (Runner, error) {
	if threads < 1 {
		return nil, fmt.Errorf("openblas: %d threads", threads)
	}
	// OpenBLAS's thread count is a process-wide setting.
	C.openblas_set_num_threads(C.int(threads))
	return openBLASRunner{}, nil
}

type openBLASRunner struct{}

func (openBLASRunner) Mul(m, n, k int, a, b, c []float32) {
	if m > math.MaxInt32 || n > math.MaxInt32 || k > math.MaxInt32 {
		panic(fmt.Sprintf("openblas: %dx%dx%d does not fit 32-bit BLAS sizes", m, n, k))
	}
	// The slices hold no Go pointers, so cgo lets C use them in place.
	C.sgemmNN(C.int(m), C.int(n), C.int(k), ptr(a), ptr(b), ptr(c))
}

func ptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(&s[0])
}

func (openBLASRunner) Close() {}
