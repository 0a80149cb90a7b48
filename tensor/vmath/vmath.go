// Package vmath holds the element-wise loops of training that are worth
// vector code: the sigmoid and SiLU activations (fused with the affine
// step of batch normalisation) and the per-channel reductions of batch
// normalisation's backward pass.
//
// Go neither vectorises nor unrolls loops, and these loops touch every
// activation of the network several times per step, so on amd64 with
// AVX-512 they run as assembly (exp by range reduction to [-ln2/2, ln2/2],
// a degree-6 polynomial and VSCALEFPS); elsewhere, and with the purego
// build tag, as the portable Go code in generic.go, which computes the same
// functions to within float32 rounding.
//
// Every function takes slices of equal length and panics, naming both
// lengths, when they differ.
package vmath

import "fmt"

func checkLen(op string, n int, others ...int) {
	for _, m := range others {
		if m != n {
			panic(fmt.Sprintf("vmath.%s: slice lengths differ: %d vs %d", op, n, m))
		}
	}
}

// SiLUAffine sets z = x*scale + shift, s = sigmoid(z) and y = z*s: batch
// normalisation's affine step followed by SiLU, with the sigmoid kept for
// the backward pass. scale 1 and shift 0 give a plain SiLU.
func SiLUAffine(y, s, x []float32, scale, shift float32) {
	checkLen("SiLUAffine", len(x), len(y), len(s))
	if len(x) == 0 {
		return
	}
	if hasAVX512 {
		siluAffineAVX512(&y[0], &s[0], &x[0], len(x), scale, shift)
		return
	}
	siluAffineGo(y, s, x, scale, shift)
}

// SiLUAffineInfer is SiLUAffine without the sigmoid, for inference,
// where no backward pass needs it: one output stream instead of two. y
// may be x.
func SiLUAffineInfer(y, x []float32, scale, shift float32) {
	checkLen("SiLUAffineInfer", len(x), len(y))
	if len(x) == 0 {
		return
	}
	if hasAVX512 {
		siluAffineNoSAVX512(&y[0], &x[0], len(x), scale, shift)
		return
	}
	siluAffineInferGo(y, x, scale, shift)
}

// DFL16 sets dst[j] to the expectation of the distribution over 0..15
// that softmax gives the 16 bins src[k*stride+j], k = 0..15: the
// distribution focal loss decoding of a YOLOv8 box side (reg_max 16),
// with the bins of consecutive anchors contiguous, as the head's maps
// hold them. src must hold 15*stride+len(dst) values.
func DFL16(dst, src []float32, stride int) {
	n := len(dst)
	if n == 0 {
		return
	}
	if stride < n || len(src) < 15*stride+n {
		panic(fmt.Sprintf("vmath.DFL16: %d outputs need stride >= %d and %d source values, have stride %d and %d", n, n, 15*stride+n, stride, len(src)))
	}
	if hasAVX512 {
		dfl16AVX512(&dst[0], &src[0], n, stride)
		return
	}
	dfl16Go(dst, src, stride)
}

// Evens sets dst[i] = src[2i]: the gather of a stride-2 convolution's
// im2col. src must hold 2*len(dst)-1 values.
func Evens(dst, src []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	if len(src) < 2*n-1 {
		panic(fmt.Sprintf("vmath.Evens: %d outputs need %d source values, have %d", n, 2*n-1, len(src)))
	}
	i := 0
	if hasAVX512 {
		// Whole blocks of 16 whose 32 source values all exist.
		if blocks := min(n/16, len(src)/32); blocks > 0 {
			evensAVX512(&dst[0], &src[0], blocks)
			i = 16 * blocks
		}
	}
	evensGo(dst[i:], src[2*i:])
}

// Deinterleave splits src into its even and odd elements: even[i] =
// src[2i], odd[i] = src[2i+1], the column phases of a row that a
// stride-2 convolution reads (see nn.Conv2d's implicit path). even must
// have (len(src)+1)/2 elements and odd len(src)/2.
func Deinterleave(even, odd, src []float32) {
	if len(even) != (len(src)+1)/2 || len(odd) != len(src)/2 {
		panic(fmt.Sprintf("vmath.Deinterleave: %d source values split into %d and %d, want %d and %d",
			len(src), len(even), len(odd), (len(src)+1)/2, len(src)/2))
	}
	i := 0
	if hasAVX512 {
		if blocks := len(src) / 32; blocks > 0 {
			deinterleaveAVX512(&even[0], &odd[0], &src[0], blocks)
			i = 16 * blocks
		}
	}
	deinterleaveGo(even[i:], odd[i:], src[2*i:])
}

// MaxInto sets dst[i] = max(dst[i], src[i]), NaN when either is (as
// Go's max; of two zeros either sign may come out): the running maximum
// of a max pooling. src must be as long as dst.
func MaxInto(dst, src []float32) {
	checkLen("MaxInto", len(src), len(dst))
	if len(dst) == 0 {
		return
	}
	if hasAVX512 {
		maxIntoAVX512(&dst[0], &src[0], len(dst))
		return
	}
	maxIntoGo(dst, src)
}

// Sigmoid sets y = 1/(1+exp(-x)).
func Sigmoid(y, x []float32) {
	checkLen("Sigmoid", len(x), len(y))
	if len(x) == 0 {
		return
	}
	if hasAVX512 {
		sigmoidAVX512(&y[0], &x[0], len(x))
		return
	}
	sigmoidGo(y, x)
}

// SiLUGradSums sets dz = dy * dSiLU/dz at z = x*scale + shift and returns
// Σdz and Σdz*(x-mean): the backward pass of SiLUAffineInfer and the two
// sums batch normalisation's backward needs. It recomputes sigmoid(z)
// exactly as SiLUAffineInfer computed it rather than reading it back: a
// training step would otherwise keep one more tensor the size of every
// activation, and the exponential costs less than that memory traffic.
func SiLUGradSums(dz, dy, x []float32, scale, shift, mean float32) (sd, sdx float32) {
	checkLen("SiLUGradSums", len(dy), len(dz), len(x))
	if len(dy) == 0 {
		return 0, 0
	}
	if hasAVX512 {
		return siluGradSumsAVX512(&dz[0], &dy[0], &x[0], len(dy), scale, shift, mean)
	}
	return siluGradSumsGo(dz, dy, x, scale, shift, mean)
}

// GradSums returns Σdy and Σdy*(x-mean).
func GradSums(dy, x []float32, mean float32) (sd, sdx float32) {
	checkLen("GradSums", len(dy), len(x))
	if len(dy) == 0 {
		return 0, 0
	}
	if hasAVX512 {
		return gradSumsAVX512(&dy[0], &x[0], len(dy), mean)
	}
	return gradSumsGo(dy, x, mean)
}

// Combine sets dx = ka*dz + kx*(x-mean) + k0, the last step of batch
// normalisation's backward pass; dx may be dz.
func Combine(dx, dz, x []float32, ka, kx, mean, k0 float32) {
	checkLen("Combine", len(dx), len(dz), len(x))
	if len(dx) == 0 {
		return
	}
	if hasAVX512 {
		combineAVX512(&dx[0], &dz[0], &x[0], len(dx), ka, kx, mean, k0)
		return
	}
	combineGo(dx, dz, x, ka, kx, mean, k0)
}

// sumBlock is how many values the vector reductions add in float32 lanes
// before handing the block's sum to a float64 total: 16 in each of the
// kernel's 32 lanes (two 16-lane accumulators).
const sumBlock = 512

// ShiftedSums returns Σ(x-x0) and Σ(x-x0)²: a channel's mean and variance
// with the shift x0 (any value near the mean) keeping float32 sums exact
// enough for a channel whose mean is large next to its spread.
func ShiftedSums(x []float32, x0 float32) (s, ss float64) {
	if len(x) == 0 {
		return 0, 0
	}
	if hasAVX512 {
		// float32 lanes over a block, float64 across blocks: lanes
		// summing a whole 160x160 plane (800 values each) lose enough to
		// move the deep layers' batch statistics, and through them the
		// gradients, by 4e-4 (yolo's TestLossMatchesUltralytics).
		for i := 0; i < len(x); i += sumBlock {
			a, b := shiftedSumsAVX512(&x[i], min(sumBlock, len(x)-i), x0)
			s += float64(a)
			ss += float64(b)
		}
		return s, ss
	}
	return shiftedSumsGo(x, x0)
}
