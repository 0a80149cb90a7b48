package metrics

import (
	"math"
	"sort"
)

// The functions below repeat the numpy routines Ultralytics' metrics use,
// operation by operation, so that results agree to the last bits where
// numpy's order of operations is known. Explicit float64 conversions stop
// the compiler from fusing a multiply and an add into one FMA.

// linspace is np.linspace(start, stop, n): start + i*step, with the last
// value set to stop.
func linspace(start, stop float64, n int) []float64 {
	x := make([]float64, n)
	if n == 1 {
		x[0] = start
		return x
	}
	step := (stop - start) / float64(n-1)
	for i := range x {
		x[i] = float64(float64(i)*step) + start
	}
	x[n-1] = stop
	return x
}

// interp is np.interp(x, xp, fp, left, right) for xp sorted ascending
// (repeated values allowed) and not empty, written into out. Where x
// equals a run of equal xp values it takes the last one's fp, as numpy.
func interp(out, x, xp, fp []float64, left, right float64) {
	n := len(xp)
	for i, v := range x {
		switch {
		case math.IsNaN(v):
			out[i] = v
			continue
		case v > xp[n-1]:
			out[i] = right
			continue
		case v < xp[0]:
			out[i] = left
			continue
		}
		// The last j with xp[j] <= v, as numpy's binary_search_with_guess.
		j := sort.Search(n, func(k int) bool { return xp[k] > v }) - 1
		if j == n-1 || xp[j] == v {
			out[i] = fp[j]
			continue
		}
		slope := (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])
		r := float64(slope*(v-xp[j])) + fp[j]
		if math.IsNaN(r) {
			r = float64(slope*(v-xp[j+1])) + fp[j+1]
			if math.IsNaN(r) && fp[j] == fp[j+1] {
				r = fp[j]
			}
		}
		out[i] = r
	}
}

// pairwiseSum is numpy's summation of a float64 array (np.sum, np.mean,
// add.reduce): eight interleaved partial sums in blocks of at most 128,
// halves above that.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for k := range r {
				r[k] += a[i+k]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// mean is np.mean of a 1-D array; 0 for an empty one (where numpy warns
// and returns NaN, Ultralytics guards with "if len(...) else 0.0").
func mean(a []float64) float64 {
	if len(a) == 0 {
		return 0
	}
	return pairwiseSum(a) / float64(len(a))
}

// Smooth is Ultralytics' smooth(y, f): a box filter over a fraction f of
// the points (2*f*len(y)+1 for Ultralytics' curves), the ends padded with
// the end values. The metrics pick P and R at the maximum of the mean F1
// smoothed with f=0.1; the confidence plots draw it with f=0.05.
func Smooth(y []float64, f float64) []float64 {
	if len(y) == 0 {
		return nil
	}
	nf := int(math.RoundToEven(float64(len(y))*f*2))/2 + 1
	pad := nf / 2
	yp := make([]float64, 0, len(y)+2*pad)
	for range pad {
		yp = append(yp, y[0])
	}
	yp = append(yp, y...)
	for range pad {
		yp = append(yp, y[len(y)-1])
	}
	w := 1 / float64(nf)
	out := make([]float64, len(yp)-nf+1)
	for i := range out {
		s := 0.0
		for _, v := range yp[i : i+nf] {
			s += float64(v * w)
		}
		out[i] = s
	}
	return out
}

// argmax is np.argmax: the first index of the largest value.
func argmax(a []float64) int {
	best := 0
	for i, v := range a {
		if v > a[best] {
			best = i
		}
	}
	return best
}

// trapz is np.trapz(y, x).
func trapz(y, x []float64) float64 {
	terms := make([]float64, len(y)-1)
	for i := range terms {
		terms[i] = float64((x[i+1]-x[i])*(y[i+1]+y[i])) / 2
	}
	return pairwiseSum(terms)
}
