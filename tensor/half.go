package tensor

import "math"

// Float16 converts IEEE 754 binary16 bits (PyTorch's half, the precision
// of Ultralytics checkpoints) to float32, exactly: subnormals, infinities
// and NaNs included.
func Float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: value = frac * 2^-24, exact in float32.
	v := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// BFloat16 converts bfloat16 bits (the top half of a float32) to float32.
func BFloat16(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }
