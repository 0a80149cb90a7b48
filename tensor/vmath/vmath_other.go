//go:build !amd64 || purego

package vmath

const hasAVX512 = false

func siluAffineAVX512(y, s, x *float32, n int, scale, shift float32) { panic("unreachable") }
func sigmoidAVX512(y, x *float32, n int)                             { panic("unreachable") }
func dfl16AVX512(dst, src *float32, n, stride int)                   { panic("unreachable") }
func maxIntoAVX512(dst, src *float32, n int)                         { panic("unreachable") }
func evensAVX512(dst, src *float32, blocks int)                      { panic("unreachable") }
func deinterleaveAVX512(even, odd, src *float32, blocks int)         { panic("unreachable") }
func siluAffineNoSAVX512(y, x *float32, n int, scale, shift float32) { panic("unreachable") }
func siluGradSumsAVX512(dz, dy, x *float32, n int, scale, shift, mean float32) (sd, sdx float32) {
	panic("unreachable")
}
func gradSumsAVX512(dy, x *float32, n int, mean float32) (sd, sdx float32) { panic("unreachable") }
func combineAVX512(dx, dz, x *float32, n int, ka, kx, mean, k0 float32)    { panic("unreachable") }
func shiftedSumsAVX512(x *float32, n int, x0 float32) (s, ss float32)      { panic("unreachable") }
