package tensor

import (
	"math"
	"testing"
)

func TestFloat16(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x7bff, 65504},
		{0x0001, math.Ldexp(1, -24)}, {0x03ff, math.Ldexp(1023, -24)}, {0x0400, math.Ldexp(1, -14)},
		{0x8001, -math.Ldexp(1, -24)}, {0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)},
	} {
		if got := Float16(tc.bits); float64(got) != tc.want {
			t.Errorf("Float16(%#04x) = %v, want %v", tc.bits, got, tc.want)
		}
	}
	if v := Float16(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("Float16(NaN) = %v", v)
	}
	if got := Float16(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("Float16(-0) = %v", got)
	}
	if got := BFloat16(0x3f80); got != 1 {
		t.Errorf("BFloat16(0x3f80) = %v", got)
	}
	// Every finite half round-trips through float32's exact value.
	for b := 0; b < 1<<16; b++ {
		v := Float16(uint16(b))
		if e := (b >> 10) & 0x1f; e == 0x1f {
			continue
		}
		if float64(v) != halfRef(uint16(b)) {
			t.Fatalf("Float16(%#04x) = %v, want %v", b, v, halfRef(uint16(b)))
		}
	}
}

// halfRef decodes a finite half from its definition.
func halfRef(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	f := float64(h & 0x3ff)
	if e == 0 {
		return sign * math.Ldexp(f, -24)
	}
	return sign * math.Ldexp(1024+f, e-25)
}
