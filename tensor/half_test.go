package tensor

import (
	"math"
	"testing"
)

// TestHalfExhaustive checks all 65536 half values against the definition
// of binary16, computed independently with math.Ldexp.
func TestHalfExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp, mant := int(h>>10)&0x1f, int(h&0x3ff)
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(int(sign))
		case exp == 0x1f:
			want = math.NaN()
		case exp == 0: // subnormal: mant·2⁻²⁴
			want = sign * math.Ldexp(float64(mant), -24)
		default:
			want = sign * math.Ldexp(1+float64(mant)/1024, exp-15)
		}
		got := Float16(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: got %v, want NaN", h, got)
			}
			// The payload is kept, so that a quiet NaN stays quiet.
			if b := math.Float32bits(got); b&0x7fffff != uint32(mant)<<13 || b>>31 != uint32(h>>15) {
				t.Fatalf("%#04x: NaN bits %#08x", h, b)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
	}
	for h, want := range map[uint16]float32{
		0x0001: 5.960464477539063e-08, // smallest subnormal
		0x03ff: 6.097555160522461e-05, // largest subnormal
		0x0400: 6.103515625e-05,       // smallest normal
		0x3c00: 1,
		0xc000: -2,
		0x7bff: 65504, // largest
		0x3555: 0.333251953125,
	} {
		if got := Float16(h); got != want {
			t.Errorf("%#04x: got %v, want %v", h, got, want)
		}
	}
}

func TestBFloat16Values(t *testing.T) {
	for b, want := range map[uint16]float32{
		0x3f80: 1,
		0xc040: -3,
		0x3e80: 0.25,
		0x7f80: float32(math.Inf(1)),
		0x0001: math.Float32frombits(0x00010000), // subnormal
		0x7f7f: math.Float32frombits(0x7f7f0000), // largest
	} {
		if got := BFloat16(b); got != want {
			t.Errorf("%#04x: got %v, want %v", b, got, want)
		}
	}
	if !math.IsNaN(float64(BFloat16(0x7fc0))) {
		t.Error("0x7fc0 is not NaN")
	}
}
