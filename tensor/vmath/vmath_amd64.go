//go:build !purego

package vmath

import "golang.org/x/sys/cpu"

// hasAVX512 is read-only after package initialisation.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

func siluAffineAVX512(y, s, x *float32, n int, scale, shift float32)
func siluAffineNoSAVX512(y, x *float32, n int, scale, shift float32)
func sigmoidAVX512(y, x *float32, n int)
func dfl16AVX512(dst, src *float32, n, stride int)
func evensAVX512(dst, src *float32, blocks int)
func maxIntoAVX512(dst, src *float32, n int)
func deinterleaveAVX512(even, odd, src *float32, blocks int)
func siluGradSumsAVX512(dz, dy, x *float32, n int, scale, shift, mean float32) (sd, sdx float32)
func gradSumsAVX512(dy, x *float32, n int, mean float32) (sd, sdx float32)
func combineAVX512(dx, dz, x *float32, n int, ka, kx, mean, k0 float32)
func shiftedSumsAVX512(x *float32, n int, x0 float32) (s, ss float32)
