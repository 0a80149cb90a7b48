package vmath

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

func sigmoid64(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// closeRel reports whether got is within tol of want, relative to
// max(|want|, floor).
func closeRel(got float32, want, tol, floor float64) bool {
	return math.Abs(float64(got)-want) <= tol*math.Max(math.Abs(want), floor)
}

var lengths = []int{1, 2, 7, 15, 16, 17, 31, 32, 33, 100, 1023}

func TestSiLUAffineAndSigmoid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		for _, sc := range [][2]float32{{1, 0}, {0.7, -0.3}, {3, 2}} {
			x := randSlice(r, n, 4)
			if n > 10 { // saturation and clamping
				x[0], x[1], x[2], x[3], x[4] = 100, -100, 88, -87, 0
			}
			y, s, yg, sg, sig := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			SiLUAffine(y, s, x, sc[0], sc[1])
			siluAffineGo(yg, sg, x, sc[0], sc[1])
			Sigmoid(sig, x)
			// The inference variant computes the same y, also in place.
			yi, yig := append([]float32(nil), x...), make([]float32, n)
			SiLUAffineInfer(yi, yi, sc[0], sc[1])
			siluAffineInferGo(yig, x, sc[0], sc[1])
			for i := range x {
				if yi[i] != y[i] || !closeRel(yig[i], float64(yg[i]), 1e-6, 1e-30) {
					t.Fatalf("n=%d scale=%v: SiLUAffineInfer(%v) = %v (Go %v), SiLUAffine gives %v (Go %v)", n, sc, x[i], yi[i], yig[i], y[i], yg[i])
				}
			}
			for i, v := range x {
				z := float64(v)*float64(sc[0]) + float64(sc[1])
				ws := sigmoid64(z)
				// z itself is rounded to float32 (with or without FMA),
				// which moves e^-z by up to |z| ulps.
				tol := 1e-6 + 2e-7*math.Abs(z)
				if !closeRel(s[i], ws, tol, 1e-30) || !closeRel(sg[i], ws, tol, 1e-30) {
					t.Fatalf("n=%d scale=%v: sigmoid(%v) = %v (Go %v), want %v", n, sc, z, s[i], sg[i], ws)
				}
				// z = x*scale + shift may cancel: bound by the terms' size.
				// Beyond |z| = 87 the sigmoid saturates near 1e-38.
				floor := math.Max((math.Abs(float64(v*sc[0]))+math.Abs(float64(sc[1])))*ws, 1e-30)
				if !closeRel(y[i], z*ws, tol, floor) || !closeRel(yg[i], z*ws, tol, floor) {
					t.Fatalf("n=%d scale=%v: silu(%v) = %v (Go %v), want %v", n, sc, z, y[i], yg[i], z*ws)
				}
				if !closeRel(sig[i], sigmoid64(float64(v)), 1e-6, 1e-30) {
					t.Fatalf("n=%d: Sigmoid(%v) = %v, want %v", n, v, sig[i], sigmoid64(float64(v)))
				}
			}
		}
	}
}

func TestSigmoidAccuracy(t *testing.T) {
	impls := []struct {
		name string
		f    func(y, x []float32)
	}{{"Sigmoid", Sigmoid}, {"sigmoidGo", sigmoidGo}}
	var xs []float32
	for x := -80.0; x <= 80; x += 0.0007 {
		xs = append(xs, float32(x))
	}
	// Beyond the clamp the result saturates instead of wrapping around.
	edges := []float32{-1000, -90, -20, 0, 20, 90, 1000, float32(math.NaN())}
	for _, im := range impls {
		y := make([]float32, len(xs))
		im.f(y, xs)
		var worst float64
		for i, x := range xs {
			want := sigmoid64(float64(x))
			worst = max(worst, math.Abs(float64(y[i])-want)/want)
		}
		if worst > 3e-7 {
			t.Errorf("%s: worst relative error %.3g, want <= 3e-7", im.name, worst)
		}
		ye := make([]float32, len(edges))
		im.f(ye, edges)
		for i, x := range edges {
			want := sigmoid64(float64(x))
			if got := float64(ye[i]); math.IsNaN(want) != math.IsNaN(got) || math.Abs(got-want) > 1e-7 {
				t.Errorf("%s(%v) = %v, want %v", im.name, x, got, want)
			}
		}
	}
}

func TestBatchNormReductions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range lengths {
		x, dy := randSlice(r, n, 2), randSlice(r, n, 1)
		scale, shift, mean := float32(1.3), float32(-0.2), float32(0.1)
		dz, dzg := make([]float32, n), make([]float32, n)
		sd, sdx := SiLUGradSums(dz, dy, x, scale, shift, mean)
		sdg, sdxg := siluGradSumsGo(dzg, dy, x, scale, shift, mean)
		var wsd, wsdx, gsd, gsdx, ws, wss float64
		for i := range x {
			z := float64(x[i]*scale + shift)
			g := sigmoid64(z)
			d := float64(dy[i]) * g * (1 + z*(1-g))
			// 1 + z(1-g) cancels near z = -1.28, where the rounding of z
			// (FMA or not) shows; bound the error by the terms' size.
			floor := math.Abs(float64(dy[i])*g) * (1 + math.Abs(z))
			if !closeRel(dz[i], d, 1e-5, floor) || !closeRel(dzg[i], d, 1e-5, floor) {
				t.Fatalf("n=%d: dz[%d] = %v (Go %v), want %v", n, i, dz[i], dzg[i], d)
			}
			wsd += d
			wsdx += d * float64(x[i]-mean)
			gsd += float64(dy[i])
			gsdx += float64(dy[i]) * float64(x[i]-mean)
			ws += float64(x[i] - mean)
			wss += float64(x[i]-mean) * float64(x[i]-mean)
		}
		tol := 1e-5 * float64(n)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"SiLUGradSums sd", float64(sd), wsd}, {"SiLUGradSums sdx", float64(sdx), wsdx},
			{"siluGradSumsGo sd", float64(sdg), wsd}, {"siluGradSumsGo sdx", float64(sdxg), wsdx},
		} {
			if math.Abs(c.got-c.want) > tol {
				t.Errorf("n=%d: %s = %v, want %v", n, c.name, c.got, c.want)
			}
		}
		a, b := GradSums(dy, x, mean)
		if math.Abs(float64(a)-gsd) > tol || math.Abs(float64(b)-gsdx) > tol {
			t.Errorf("n=%d: GradSums = %v, %v, want %v, %v", n, a, b, gsd, gsdx)
		}
		a2, b2 := gradSumsGo(dy, x, mean)
		if math.Abs(float64(a2)-gsd) > tol || math.Abs(float64(b2)-gsdx) > tol {
			t.Errorf("n=%d: gradSumsGo = %v, %v, want %v, %v", n, a2, b2, gsd, gsdx)
		}
		s1, ss1 := ShiftedSums(x, mean)
		s2, ss2 := shiftedSumsGo(x, mean)
		if math.Abs(s1-ws) > tol || math.Abs(ss1-wss) > tol || math.Abs(s2-ws) > tol || math.Abs(ss2-wss) > tol {
			t.Errorf("n=%d: ShiftedSums = %v, %v (Go %v, %v), want %v, %v", n, s1, ss1, s2, ss2, ws, wss)
		}
		dx, dxg := make([]float32, n), append([]float32(nil), dz...)
		Combine(dx, dz, x, 0.5, -0.25, mean, 0.125)
		combineGo(dxg, dxg, x, 0.5, -0.25, mean, 0.125) // in place, as documented
		for i := range dx {
			want := 0.5*float64(dz[i]) - 0.25*float64(x[i]-mean) + 0.125
			floor := 0.5*math.Abs(float64(dz[i])) + 0.25*math.Abs(float64(x[i]-mean)) + 0.125
			if !closeRel(dx[i], want, 1e-6, floor) || !closeRel(dxg[i], want, 1e-6, floor) {
				t.Fatalf("n=%d: Combine[%d] = %v (Go %v), want %v", n, i, dx[i], dxg[i], want)
			}
		}
	}
}

// TestShiftedSumsPrecision: over a 160x160 plane (a first layer's
// channel at 320 pixels) the mean and variance they give stay within
// 3e-8 and 1e-7 of float64's (now 1.4e-8 and 4.8e-8); lanes summing the
// whole plane in float32 were off by 5e-8 and 1.6e-7 here, which through
// the network moved the gradients 4e-4 away from PyTorch's (see yolo's
// TestLossMatchesUltralytics).
func TestShiftedSumsPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, 160*160)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	x0 := x[0]
	var ws, wss float64
	for _, v := range x {
		d := float64(v - x0)
		ws += d
		wss += d * d
	}
	m := float64(len(x))
	wantVar := wss/m - (ws/m)*(ws/m)
	for name, f := range map[string]func([]float32, float32) (float64, float64){"ShiftedSums": ShiftedSums, "shiftedSumsGo": shiftedSumsGo} {
		s, ss := f(x, x0)
		v := ss/m - (s/m)*(s/m)
		dm, dv := math.Abs(s-ws)/m, math.Abs(v-wantVar)/wantVar
		if dm > 3e-8 || dv > 1e-7 {
			t.Errorf("%s: mean off by %.3g, variance by %.3g (relative)", name, dm, dv)
		}
	}
}

func TestEmptyAndMismatch(t *testing.T) {
	SiLUAffine(nil, nil, nil, 1, 0)
	Sigmoid(nil, nil)
	if a, b := ShiftedSums(nil, 0); a != 0 || b != 0 {
		t.Fatal("ShiftedSums(nil) != 0")
	}
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "slice lengths differ: 3 vs 2") {
			t.Fatalf("panic = %q, want a message naming both lengths", r)
		}
	}()
	SiLUAffine(make([]float32, 2), make([]float32, 3), make([]float32, 3), 1, 0)
}

func BenchmarkSiLUAffine(b *testing.B) {
	x := randSlice(rand.New(rand.NewPCG(1, 1)), 1<<16, 3)
	y, s := make([]float32, len(x)), make([]float32, len(x))
	b.Run("vmath", func(b *testing.B) {
		b.SetBytes(int64(len(x) * 4))
		for b.Loop() {
			SiLUAffine(y, s, x, 1.1, 0.1)
		}
	})
	b.Run("go", func(b *testing.B) {
		b.SetBytes(int64(len(x) * 4))
		for b.Loop() {
			siluAffineGo(y, s, x, 1.1, 0.1)
		}
	})
}

func BenchmarkSiLUGradSums(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, dy := randSlice(r, 1<<16, 3), randSlice(r, 1<<16, 1)
	dz := make([]float32, len(x))
	b.Run("vmath", func(b *testing.B) {
		b.SetBytes(int64(len(x) * 4))
		for b.Loop() {
			SiLUGradSums(dz, dy, x, 1.1, 0.1, 0.2)
		}
	})
	b.Run("go", func(b *testing.B) {
		b.SetBytes(int64(len(x) * 4))
		for b.Loop() {
			siluGradSumsGo(dz, dy, x, 1.1, 0.1, 0.2)
		}
	})
}

func TestDFL16(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range lengths {
		for _, spread := range []float64{0.1, 4, 40} {
			stride := n + 3
			src := randSlice(r, 15*stride+n, spread)
			if n > 4 {
				src[0], src[stride] = 90, -90 // one bin dominates, one vanishes
			}
			got, gotGo := make([]float32, n), make([]float32, n)
			DFL16(got, src, stride)
			dfl16Go(gotGo, src, stride)
			for j := range n {
				m := math.Inf(-1)
				for k := range 16 {
					m = math.Max(m, float64(src[k*stride+j]))
				}
				var sum, wsum float64
				for k := range 16 {
					e := math.Exp(float64(src[k*stride+j]) - m)
					sum += e
					wsum += float64(k) * e
				}
				want := wsum / sum
				if !closeRel(got[j], want, 2e-6, 1) || !closeRel(gotGo[j], want, 2e-6, 1) {
					t.Fatalf("n=%d spread=%v: DFL16[%d] = %v (Go %v), want %v", n, spread, j, got[j], gotGo[j], want)
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("DFL16 with a short source did not panic")
		}
	}()
	DFL16(make([]float32, 4), make([]float32, 15*4+3), 4)
}

func TestMaxInto(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 8))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for _, n := range append(lengths, 0, 64) {
		dst, src := make([]float32, n+1), make([]float32, n)
		for i := range n {
			dst[i], src[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			if r.IntN(4) == 0 {
				dst[i] = special[r.IntN(len(special))]
			}
			if r.IntN(4) == 0 {
				src[i] = special[r.IntN(len(special))]
			}
		}
		dst[n] = 7 // guard
		want := make([]float32, n)
		for i := range n {
			want[i] = max(dst[i], src[i])
		}
		MaxInto(dst[:n], src)
		for i := range n {
			if g, w := dst[i], want[i]; g != w && !(g != g && w != w) {
				t.Fatalf("n=%d: [%d] = %v, want %v", n, i, g, w)
			}
		}
		if dst[n] != 7 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

func TestDeinterleave(t *testing.T) {
	for _, n := range append(lengths, 0, 63, 64, 65, 97, 320) {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i)
		}
		ne, no := (n+1)/2, n/2
		// One guard element past each destination.
		even, odd := make([]float32, ne+1), make([]float32, no+1)
		even[ne], odd[no] = -1, -1
		Deinterleave(even[:ne], odd[:no], src)
		for i := range ne {
			if even[i] != float32(2*i) {
				t.Fatalf("n=%d: even[%d] = %v, want %v", n, i, even[i], 2*i)
			}
		}
		for i := range no {
			if odd[i] != float32(2*i+1) {
				t.Fatalf("n=%d: odd[%d] = %v, want %v", n, i, odd[i], 2*i+1)
			}
		}
		if even[ne] != -1 || odd[no] != -1 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "7 source values split into 3 and 3, want 4 and 3") {
			t.Fatalf("panic = %q, want a message naming the lengths", r)
		}
	}()
	Deinterleave(make([]float32, 3), make([]float32, 3), make([]float32, 7))
}

func TestEvens(t *testing.T) {
	for _, n := range append(lengths, 48, 49, 64) {
		for _, extra := range []int{0, 1, 5} { // source of exactly 2n-1 values, or longer
			src := make([]float32, 2*n-1+extra)
			for i := range src {
				src[i] = float32(i)
			}
			dst := make([]float32, n+1)
			dst[n] = -1
			Evens(dst[:n], src)
			for i := range n {
				if dst[i] != float32(2*i) {
					t.Fatalf("n=%d extra=%d: dst[%d] = %v, want %v", n, extra, i, dst[i], 2*i)
				}
			}
			if dst[n] != -1 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	}
}
