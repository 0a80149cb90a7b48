package gemm

import "unsafe"

// goKernel is the portable 4x8 kernel, used where no SIMD kernel runs.
var goKernel = Kernel{Name: "go_4x8", MR: 4, NR: 8, MC: 128, KC: 256, NC: 2048, fn: kernGo4x8, set: kernGo4x8Set}

func kernGo4x8(kc int, a, b *float32, ldb int, c *float32, ldc int) {
	goKernel4x8(kc, a, b, ldb, c, ldc, false)
}

func kernGo4x8Set(kc int, a, b *float32, ldb int, c *float32, ldc int) {
	goKernel4x8(kc, a, b, ldb, c, ldc, true)
}

func goKernel4x8(kc int, a, b *float32, ldb int, c *float32, ldc int, set bool) {
	as := unsafe.Slice(a, kc*4)
	bs := unsafe.Slice(b, (kc-1)*ldb+8)
	var acc [4][8]float32
	for p := 0; p < kc; p++ {
		bv := (*[8]float32)(bs[p*ldb : p*ldb+8])
		av := (*[4]float32)(as[p*4 : p*4+4])
		for r := 0; r < 4; r++ {
			x := av[r]
			row := &acc[r]
			row[0] += x * bv[0]
			row[1] += x * bv[1]
			row[2] += x * bv[2]
			row[3] += x * bv[3]
			row[4] += x * bv[4]
			row[5] += x * bv[5]
			row[6] += x * bv[6]
			row[7] += x * bv[7]
		}
	}
	cs := unsafe.Slice(c, 3*ldc+8)
	for r := 0; r < 4; r++ {
		row := (*[8]float32)(cs[r*ldc : r*ldc+8])
		if set {
			*row = acc[r]
			continue
		}
		for j := range row {
			row[j] += acc[r][j]
		}
	}
}
