package vmath

import "math"

// The portable versions of the kernels. Go neither unrolls nor vectorises
// loops, so the reductions keep several partial sums where one would be a
// long dependency chain.

// sigmoid is 1/(1+exp(-x)) in float32, within 3e-7 relative error of
// the exact value for |x| <= 80 (beyond, it saturates to 1 or to about
// 6e-39). math.Exp works in float64 and costs several times more, which
// matters because SiLU runs on every activation of the network.
// siluAffineGo repeats this code inline, since the compiler will not.
func sigmoid(x float32) float32 {
	t := -x
	if t > expMax {
		t = expMax
	}
	if t < expMin {
		t = expMin
	}
	f := t*exp64OverLn2 + expRound
	kf := f - expRound
	r := t - kf*expLn2Hi - kf*expLn2Lo
	p := 1 + r + 0.5*r*r
	k := int32(math.Float32bits(f) - expRoundBits)
	e := math.Float32frombits(exp2Table[k&63]+uint32(k>>6)<<23) * p
	return 1 / (1 + e)
}

// e^t is computed as 2^(k/64) * e^r with k = round(t*64/ln2) and
// |r| <= ln2/128: 2^(k/64) is 2^(k>>6) put into the exponent bits of a
// table entry, e^r the quadratic 1 + r + r²/2, whose error r³/6 < 3e-8
// is below float32 rounding.
const (
	expMax, expMin = 88, -87 // e^t stays a normal float32
	exp64OverLn2   = 92.33248261689366
	// ln2/64 split so that kf*expLn2Hi is exact for |kf| < 2^13.
	expLn2Hi = 0.01082611083984375
	expLn2Lo = 4.313856607041089e-06
	// Adding 1.5*2^23 rounds a float32 of magnitude below 2^22 to an
	// integer, which then sits in the low mantissa bits.
	expRound     = 12582912
	expRoundBits = 0x4b400000
)

// exp2Table holds the bits of 2^(j/64), j = 0..63. It is read-only.
var exp2Table = func() (t [64]uint32) {
	for j := range t {
		t[j] = math.Float32bits(float32(math.Exp2(float64(j) / 64)))
	}
	return t
}()

// siluAffineGo is SiLUAffine with sigmoid written out so that the loop
// has no calls.
func siluAffineGo(y, s, x []float32, scale, shift float32) {
	y, s = y[:len(x)], s[:len(x)]
	tab := &exp2Table
	for i, v := range x {
		z := v*scale + shift
		t := -z
		if t > expMax {
			t = expMax
		}
		if t < expMin {
			t = expMin
		}
		f := t*exp64OverLn2 + expRound
		kf := f - expRound
		r := t - kf*expLn2Hi - kf*expLn2Lo
		p := 1 + r + 0.5*r*r
		k := int32(math.Float32bits(f) - expRoundBits)
		g := 1 / (1 + math.Float32frombits(tab[k&63]+uint32(k>>6)<<23)*p)
		s[i] = g
		y[i] = z * g
	}
}

// siluAffineInferGo is siluAffineGo without the stored sigmoid.
func siluAffineInferGo(y, x []float32, scale, shift float32) {
	y = y[:len(x)]
	tab := &exp2Table
	for i, v := range x {
		z := v*scale + shift
		t := min(max(-z, expMin), expMax)
		f := t*exp64OverLn2 + expRound
		kf := f - expRound
		r := t - kf*expLn2Hi - kf*expLn2Lo
		p := 1 + r + 0.5*r*r
		k := int32(math.Float32bits(f) - expRoundBits)
		y[i] = z * (1 / (1 + math.Float32frombits(tab[k&63]+uint32(k>>6)<<23)*p))
	}
}

func sigmoidGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = sigmoid(v)
	}
}

// shiftedSumsGo returns Σ(x-x0) and Σ(x-x0)² over one plane.
func shiftedSumsGo(x []float32, x0 float32) (s, ss float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0]-x0), float64(v[1]-x0), float64(v[2]-x0), float64(v[3]-x0)
		s0 += d0
		s1 += d1
		s2 += d2
		s3 += d3
		q0 += d0 * d0
		q1 += d1 * d1
		q2 += d2 * d2
		q3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i] - x0)
		s0 += d
		q0 += d * d
	}
	return float64(s0) + float64(s1) + float64(s2) + float64(s3),
		float64(q0) + float64(q1) + float64(q2) + float64(q3)
}

// gradSumsGo returns Σdy and Σdy*(x-mean).
func gradSumsGo(dy, x []float32, mean float32) (sd, sdx float32) {
	x = x[:len(dy)]
	var a0, a1, b0, b1 float32
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		d0, d1 := dy[i], dy[i+1]
		a0 += d0
		a1 += d1
		b0 += d0 * (x[i] - mean)
		b1 += d1 * (x[i+1] - mean)
	}
	for ; i < len(dy); i++ {
		a0 += dy[i]
		b0 += dy[i] * (x[i] - mean)
	}
	return a0 + a1, b0 + b1
}

// siluGradSumsGo sets dz = dy * dSiLU/dz at z = x*scale + shift, with the
// sigmoid computed as siluAffineInferGo does, and returns Σdz and
// Σdz*(x-mean).
func siluGradSumsGo(dz, dy, x []float32, scale, shift, mean float32) (sd, sdx float32) {
	dz, x = dz[:len(dy)], x[:len(dy)]
	var a0, b0 float32
	for i, v := range x {
		z := v*scale + shift
		g := sigmoid(z)
		d := dy[i] * g * (1 + z*(1-g))
		dz[i] = d
		a0 += d
		b0 += d * (v - mean)
	}
	return a0, b0
}

// combineGo sets dx = ka*dz + kx*(x-mean) + k0; dx may be dz. Folding
// mean into k0 would save a subtraction but cancel catastrophically in
// float32 for a channel whose mean is large next to its spread.
func combineGo(dx, dz, x []float32, ka, kx, mean, k0 float32) {
	dz, x = dz[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] = ka*dz[i] + kx*(x[i]-mean) + k0
	}
}

func dfl16Go(dst, src []float32, stride int) {
	for j := range dst {
		m := src[j]
		for k := 1; k < 16; k++ {
			m = max(m, src[k*stride+j])
		}
		var sum, wsum float32
		for k := range 16 {
			e := float32(math.Exp(float64(src[k*stride+j] - m)))
			sum += e
			wsum += float32(k) * e
		}
		dst[j] = wsum / sum
	}
}

func maxIntoGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(dst[i], v)
	}
}

func deinterleaveGo(even, odd, src []float32) {
	odd = odd[:len(src)/2]
	even = even[:len(src)-len(odd)]
	for i := range odd {
		even[i], odd[i] = src[2*i], src[2*i+1]
	}
	if len(even) > len(odd) {
		even[len(odd)] = src[len(src)-1]
	}
}

func evensGo(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	i := 0
	for ; i+4 <= len(dst); i += 4 { // one bounds check per four
		r, o := src[2*i:2*i+7:2*i+7], dst[i:i+4:i+4]
		o[0], o[1], o[2], o[3] = r[0], r[2], r[4], r[6]
	}
	for ; i < len(dst); i++ {
		dst[i] = src[2*i]
	}
}
