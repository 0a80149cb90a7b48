//go:build !purego

#include "textflag.h"

// Constants of exp: t = n*ln2 + r, |r| <= ln2/2, e^t = 2^n * P(r) with
// P the degree-6 Taylor polynomial (error below 1.3e-7 relative).
#define LOAD_EXP_CONSTS \
	MOVL $0x3fb8aa3b, AX; VPBROADCASTD AX, Z22; \ // log2(e)
	MOVL $0x3f318000, AX; VPBROADCASTD AX, Z23; \ // ln2 high part
	MOVL $0xb95e8083, AX; VPBROADCASTD AX, Z24; \ // ln2 low part
	MOVL $0x3f800000, AX; VPBROADCASTD AX, Z25; \ // 1
	MOVL $0x3f000000, AX; VPBROADCASTD AX, Z26; \ // 1/2
	MOVL $0x3e2aaaab, AX; VPBROADCASTD AX, Z27; \ // 1/6
	MOVL $0x3d2aaaab, AX; VPBROADCASTD AX, Z28; \ // 1/24
	MOVL $0x3c088889, AX; VPBROADCASTD AX, Z29; \ // 1/120
	MOVL $0x3ab60b61, AX; VPBROADCASTD AX, Z30; \ // 1/720
	MOVL $0x42b00000, AX; VPBROADCASTD AX, Z31; \ // 88
	MOVL $0xc2ae0000, AX; VPBROADCASTD AX, Z19    // -87

// EXP sets S = e^t for t <= 88 in T (clobbered), using Z2. t is clamped
// below at -87 so that e^t stays a normal float32; the clamp takes the
// constant as first source, so that a NaN in T stays NaN.
#define EXP(T, S) \
	VMAXPS T, Z19, T; \
	VMULPS Z22, T, Z2; \
	VRNDSCALEPS $0, Z2, Z2; \
	VFNMADD231PS Z23, Z2, T; \
	VFNMADD231PS Z24, Z2, T; \
	VMOVAPS Z30, S; \
	VFMADD213PS Z29, T, S; \
	VFMADD213PS Z28, T, S; \
	VFMADD213PS Z27, T, S; \
	VFMADD213PS Z26, T, S; \
	VFMADD213PS Z25, T, S; \
	VFMADD213PS Z25, T, S; \
	VSCALEFPS Z2, S, S

// SIGMOID_NEG sets s = 1/(1+e^t) for t = -z in T (clobbered), using Z2, Z3;
// t is clamped to [-87, 88].
#define SIGMOID_NEG(T, S) \
	VMINPS T, Z31, T; \
	EXP(T, Z3); \
	VADDPS Z25, Z3, Z3; \
	VDIVPS Z3, Z25, S

// SILU_CONSTS loads exp's constants and, from scale in Z20 and shift in
// Z21, -scale in Z17 and -shift in Z18, for SILU_AFFINE.
#define SILU_CONSTS \
	LOAD_EXP_CONSTS; \
	VXORPS Z18, Z18, Z18; \
	VSUBPS Z20, Z18, Z17; \
	VSUBPS Z21, Z18, Z18

// SILU_AFFINE sets z = x*scale + shift from x in Z0, the sigmoid of z
// in Z4 and SiLU(z) = z*sigmoid(z) in Z5, clobbering Z0-Z3.
#define SILU_AFFINE \
	VMOVAPS Z0, Z1; \
	VFMADD213PS Z21, Z20, Z0; \
	VFMADD213PS Z18, Z17, Z1; \
	SIGMOID_NEG(Z1, Z4); \
	VMULPS Z4, Z0, Z5

// TAIL_MASK sets K1 to the low CX bits.
#define TAIL_MASK \
	MOVQ $1, AX; \
	SHLQ CX, AX; \
	DECQ AX; \
	KMOVW AX, K1

// REDUCE sums the 16 lanes of Z into the low lane of X, using Z16.
#define REDUCE(Z, Y, X) \
	VEXTRACTF64X4 $1, Z, Y16; \
	VADDPS Y16, Y, Y; \
	VEXTRACTF32X4 $1, Y, X16; \
	VADDPS X16, X, X; \
	VMOVHLPS X, X, X16; \
	VADDPS X16, X, X; \
	VMOVSHDUP X, X16; \
	VADDSS X16, X, X

// func siluAffineAVX512(y, s, x *float32, n int, scale, shift float32)
TEXT ·siluAffineAVX512(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ s+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Z20
	VBROADCASTSS shift+36(FP), Z21
	SILU_CONSTS
	CMPQ CX, $16
	JLT silu_tail
silu_loop:
	VMOVUPS (SI), Z0
	SILU_AFFINE
	VMOVUPS Z4, (R8)
	VMOVUPS Z5, (DI)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE silu_loop
silu_tail:
	TESTQ CX, CX
	JEQ silu_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	SILU_AFFINE
	VMOVUPS Z4, K1, (R8)
	VMOVUPS Z5, K1, (DI)
silu_done:
	VZEROUPPER
	RET

// func siluAffineNoSAVX512(y, x *float32, n int, scale, shift float32)
TEXT ·siluAffineNoSAVX512(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z20
	VBROADCASTSS shift+28(FP), Z21
	SILU_CONSTS
	CMPQ CX, $16
	JLT silun_tail
silun_loop:
	VMOVUPS (SI), Z0
	SILU_AFFINE
	VMOVUPS Z5, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE silun_loop
silun_tail:
	TESTQ CX, CX
	JEQ silun_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	SILU_AFFINE
	VMOVUPS Z5, K1, (DI)
silun_done:
	VZEROUPPER
	RET

// func sigmoidAVX512(y, x *float32, n int)
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOAD_EXP_CONSTS
	VXORPS Z18, Z18, Z18
	CMPQ CX, $16
	JLT sig_tail
sig_loop:
	VMOVUPS (SI), Z0
	VSUBPS Z0, Z18, Z1
	SIGMOID_NEG(Z1, Z4)
	VMOVUPS Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE sig_loop
sig_tail:
	TESTQ CX, CX
	JEQ sig_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	VSUBPS Z0, Z18, Z1
	SIGMOID_NEG(Z1, Z4)
	VMOVUPS Z4, K1, (DI)
sig_done:
	VZEROUPPER
	RET

// func siluGradSumsAVX512(dz, dy, x *float32, n int, scale, shift, mean float32) (sd, sdx float32)
// The sigmoid is recomputed with SILU_AFFINE, the forward pass's own
// code, so it equals the forward's bit for bit without being stored.
TEXT ·siluGradSumsAVX512(SB), NOSPLIT, $0-56
	MOVQ dz+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Z20
	VBROADCASTSS shift+36(FP), Z21
	VBROADCASTSS mean+40(FP), Z12
	SILU_CONSTS
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	CMPQ CX, $16
	JLT sgs_tail
sgs_loop:
	VMOVUPS (SI), Z0
	VMOVAPS Z0, Z6           // x
	SILU_AFFINE              // z in Z0, s in Z4
	VMOVUPS (DX), Z7         // dy
	VSUBPS Z4, Z25, Z8       // 1-s
	VFMADD213PS Z25, Z0, Z8  // 1 + z(1-s)
	VMULPS Z4, Z7, Z9
	VMULPS Z8, Z9, Z9        // dz
	VMOVUPS Z9, (DI)
	VADDPS Z9, Z10, Z10
	VSUBPS Z12, Z6, Z6
	VFMADD231PS Z6, Z9, Z11
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE sgs_loop
sgs_tail:
	TESTQ CX, CX
	JEQ sgs_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVAPS Z0, Z6
	SILU_AFFINE
	VMOVUPS.Z (DX), K1, Z7
	VSUBPS Z4, Z25, Z8
	VFMADD213PS Z25, Z0, Z8
	VMULPS.Z Z4, Z7, K1, Z9
	VMULPS.Z Z8, Z9, K1, Z9
	VMOVUPS Z9, K1, (DI)
	VADDPS Z9, Z10, Z10
	VSUBPS.Z Z12, Z6, K1, Z6
	VFMADD231PS Z6, Z9, Z11
sgs_done:
	REDUCE(Z10, Y10, X10)
	REDUCE(Z11, Y11, X11)
	VMOVSS X10, sd+48(FP)
	VMOVSS X11, sdx+52(FP)
	VZEROUPPER
	RET

// func gradSumsAVX512(dy, x *float32, n int, mean float32) (sd, sdx float32)
TEXT ·gradSumsAVX512(SB), NOSPLIT, $0-40
	MOVQ dy+0(FP), DX
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Z22
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	CMPQ CX, $16
	JLT gs_tail
gs_loop:
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z5
	VADDPS Z5, Z10, Z10
	VSUBPS Z22, Z0, Z6
	VFMADD231PS Z6, Z5, Z11
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	CMPQ CX, $16
	JGE gs_loop
gs_tail:
	TESTQ CX, CX
	JEQ gs_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z5
	VADDPS Z5, Z10, Z10
	VSUBPS.Z Z22, Z0, K1, Z6
	VFMADD231PS Z6, Z5, Z11
gs_done:
	REDUCE(Z10, Y10, X10)
	REDUCE(Z11, Y11, X11)
	VMOVSS X10, sd+32(FP)
	VMOVSS X11, sdx+36(FP)
	VZEROUPPER
	RET

// func combineAVX512(dx, dz, x *float32, n int, ka, kx, mean, k0 float32)
TEXT ·combineAVX512(SB), NOSPLIT, $0-48
	MOVQ dx+0(FP), DI
	MOVQ dz+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS ka+32(FP), Z20
	VBROADCASTSS kx+36(FP), Z21
	VBROADCASTSS mean+40(FP), Z22
	VBROADCASTSS k0+44(FP), Z23
	CMPQ CX, $16
	JLT cb_tail
cb_loop:
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VSUBPS Z22, Z0, Z0
	VMULPS Z21, Z0, Z0
	VFMADD231PS Z20, Z1, Z0
	VADDPS Z23, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE cb_loop
cb_tail:
	TESTQ CX, CX
	JEQ cb_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VSUBPS Z22, Z0, Z0
	VMULPS Z21, Z0, Z0
	VFMADD231PS Z20, Z1, Z0
	VADDPS Z23, Z0, Z0
	VMOVUPS Z0, K1, (DI)
cb_done:
	VZEROUPPER
	RET

// func shiftedSumsAVX512(x *float32, n int, x0 float32) (s, ss float32)
TEXT ·shiftedSumsAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS x0+16(FP), Z22
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	CMPQ CX, $32
	JLT ss_one
ss_loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VSUBPS Z22, Z0, Z0
	VSUBPS Z22, Z1, Z1
	VADDPS Z0, Z10, Z10
	VADDPS Z1, Z12, Z12
	VFMADD231PS Z0, Z0, Z11
	VFMADD231PS Z1, Z1, Z13
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE ss_loop
ss_one:
	CMPQ CX, $16
	JLT ss_tail
	VMOVUPS (SI), Z0
	VSUBPS Z22, Z0, Z0
	VADDPS Z0, Z10, Z10
	VFMADD231PS Z0, Z0, Z11
	ADDQ $64, SI
	SUBQ $16, CX
ss_tail:
	TESTQ CX, CX
	JEQ ss_done
	TAIL_MASK
	VMOVUPS.Z (SI), K1, Z0
	VSUBPS.Z Z22, Z0, K1, Z0
	VADDPS Z0, Z10, Z10
	VFMADD231PS Z0, Z0, Z11
ss_done:
	VADDPS Z12, Z10, Z10
	VADDPS Z13, Z11, Z11
	REDUCE(Z10, Y10, X10)
	REDUCE(Z11, Y11, X11)
	VMOVSS X10, s+24(FP)
	VMOVSS X11, ss+28(FP)
	VZEROUPPER
	RET

// func dfl16AVX512(dst, src *float32, n, stride int)
// dst[j] = sum_k k*softmax_k(src[k*stride+j]), k < 16, for 16 j at a time.
TEXT ·dfl16AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	LOAD_EXP_CONSTS
	MOVQ $0xffff, AX
	KMOVW AX, K1
dfl_block:
	TESTQ CX, CX
	JEQ dfl_done
	CMPQ CX, $16
	JGE dfl_full
	TAIL_MASK
dfl_full:
	// Z0 = max over the 16 bins.
	MOVQ SI, R9
	VMOVUPS.Z (R9), K1, Z0
	MOVQ $15, R10
dfl_max:
	ADDQ R8, R9
	VMOVUPS.Z (R9), K1, Z1
	VMAXPS Z1, Z0, Z0
	DECQ R10
	JNZ dfl_max
	// Z5 = sum e^(v-max), Z6 = sum k*e^(v-max), Z7 = k.
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ SI, R9
	MOVQ $16, R10
dfl_sum:
	VMOVUPS.Z (R9), K1, Z1
	VSUBPS Z0, Z1, Z1
	EXP(Z1, Z4)
	VADDPS Z4, Z5, Z5
	VFMADD231PS Z4, Z7, Z6
	VADDPS Z25, Z7, Z7
	ADDQ R8, R9
	DECQ R10
	JNZ dfl_sum
	VDIVPS Z5, Z6, Z6
	VMOVUPS Z6, K1, (DI)
	CMPQ CX, $16
	JLT dfl_done
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP dfl_block
dfl_done:
	VZEROUPPER
	RET

DATA evensIdx<>+0(SB)/4, $0
DATA evensIdx<>+4(SB)/4, $2
DATA evensIdx<>+8(SB)/4, $4
DATA evensIdx<>+12(SB)/4, $6
DATA evensIdx<>+16(SB)/4, $8
DATA evensIdx<>+20(SB)/4, $10
DATA evensIdx<>+24(SB)/4, $12
DATA evensIdx<>+28(SB)/4, $14
DATA evensIdx<>+32(SB)/4, $16
DATA evensIdx<>+36(SB)/4, $18
DATA evensIdx<>+40(SB)/4, $20
DATA evensIdx<>+44(SB)/4, $22
DATA evensIdx<>+48(SB)/4, $24
DATA evensIdx<>+52(SB)/4, $26
DATA evensIdx<>+56(SB)/4, $28
DATA evensIdx<>+60(SB)/4, $30
GLOBL evensIdx<>(SB), RODATA|NOPTR, $64

// func evensAVX512(dst, src *float32, blocks int)
// dst[i] = src[2i] for i < 16*blocks; reads 32*blocks source values.
TEXT ·evensAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ blocks+16(FP), CX
	VMOVDQU32 evensIdx<>(SB), Z2
evens_loop:
	TESTQ CX, CX
	JEQ evens_done
	VMOVUPS (SI), Z0
	VPERMT2PS 64(SI), Z2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	DECQ CX
	JMP evens_loop
evens_done:
	VZEROUPPER
	RET

// func deinterleaveAVX512(even, odd, src *float32, blocks int)
// even[i] = src[2i] and odd[i] = src[2i+1] for i < 16*blocks; reads
// 32*blocks source values.
TEXT ·deinterleaveAVX512(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ blocks+24(FP), CX
	VMOVDQU32 evensIdx<>(SB), Z2
	MOVL $1, AX
	VPBROADCASTD AX, Z3
	VPADDD Z2, Z3, Z3 // the odd indices
deint_loop:
	TESTQ CX, CX
	JEQ deint_done
	VMOVUPS (SI), Z0
	VMOVAPS Z0, Z1
	VPERMT2PS 64(SI), Z2, Z0
	VPERMT2PS 64(SI), Z3, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, (DX)
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $64, DX
	DECQ CX
	JMP deint_loop
deint_done:
	VZEROUPPER
	RET

// func maxIntoAVX512(dst, src *float32, n int)
// dst[i] = max(dst[i], src[i]), NaN when either is. VMAXPS gives its
// second source when either is NaN, src here; a NaN in dst is put back.
TEXT ·maxIntoAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $16
	JLT max_tail
max_loop:
	VMOVUPS (DI), Z0
	VMAXPS (SI), Z0, Z2
	VCMPPS $3, Z0, Z0, K2
	VMOVAPS Z0, K2, Z2
	VMOVUPS Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE max_loop
max_tail:
	TESTQ CX, CX
	JEQ max_done
	TAIL_MASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VMAXPS Z1, Z0, Z2
	VCMPPS $3, Z0, Z0, K2
	VMOVAPS Z0, K2, Z2
	VMOVUPS Z2, K1, (DI)
max_done:
	VZEROUPPER
	RET
