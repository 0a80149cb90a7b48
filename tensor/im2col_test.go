package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// im2colGeoms are odd shapes that exercise every branch: kernels wider than
// the padding, strides that skip the last input column, windows that only
// see padding, and non-square kernels.
var im2colGeoms = []ConvGeom{
	{C: 1, H: 1, W: 1, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{C: 3, H: 5, W: 7, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{C: 3, H: 5, W: 7, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{C: 3, H: 5, W: 7, KH: 3, KW: 3, Stride: 2, Pad: 1},
	{C: 2, H: 5, W: 7, KH: 3, KW: 3, Stride: 1, Pad: 0},
	{C: 2, H: 6, W: 8, KH: 3, KW: 3, Stride: 2, Pad: 0},
	{C: 2, H: 7, W: 5, KH: 5, KW: 5, Stride: 3, Pad: 2},
	{C: 2, H: 4, W: 9, KH: 2, KW: 3, Stride: 1, Pad: 0},
	{C: 1, H: 2, W: 2, KH: 3, KW: 3, Stride: 1, Pad: 2},
	{C: 2, H: 9, W: 6, KH: 1, KW: 1, Stride: 2, Pad: 1},
	{C: 3, H: 11, W: 13, KH: 7, KW: 7, Stride: 4, Pad: 3},
	{C: 4, H: 16, W: 16, KH: 3, KW: 3, Stride: 2, Pad: 1},
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// naiveIm2col is the definition: col[(c*KH+ki)*KW+kj][oy*OW+ox] is the
// input pixel under kernel tap (ki, kj) at output (oy, ox), or zero.
func naiveIm2col(x []float32, g ConvGeom) []float32 {
	oh, ow := g.OutH(), g.OutW()
	col := make([]float32, g.ColRows()*oh*ow)
	for c := range g.C {
		for ki := range g.KH {
			for kj := range g.KW {
				r := (c*g.KH+ki)*g.KW + kj
				for oy := range oh {
					for ox := range ow {
						iy, ix := oy*g.Stride-g.Pad+ki, ox*g.Stride-g.Pad+kj
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							col[r*oh*ow+oy*ow+ox] = x[(c*g.H+iy)*g.W+ix]
						}
					}
				}
			}
		}
	}
	return col
}

func naiveCol2im(x, col []float32, g ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	for c := range g.C {
		for ki := range g.KH {
			for kj := range g.KW {
				r := (c*g.KH+ki)*g.KW + kj
				for oy := range oh {
					for ox := range ow {
						iy, ix := oy*g.Stride-g.Pad+ki, ox*g.Stride-g.Pad+kj
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							x[(c*g.H+iy)*g.W+ix] += col[r*oh*ow+oy*ow+ox]
						}
					}
				}
			}
		}
	}
}

func TestIm2colMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, g := range im2colGeoms {
		t.Run(g.String(), func(t *testing.T) {
			x := randSlice(r, g.C*g.H*g.W)
			want := naiveIm2col(x, g)
			got := randSlice(r, len(want)) // garbage that must be overwritten
			Im2col(got, x, g)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("col[%d] = %v, want %v", i, got[i], want[i])
				}
			}
			// Row ranges cover the matrix piecewise.
			parts := randSlice(r, len(want))
			rows := g.ColRows()
			Im2colRows(parts, x, g, 0, rows/2)
			Im2colRows(parts, x, g, rows/2, rows)
			for i := range want {
				if parts[i] != want[i] {
					t.Fatalf("by rows: col[%d] = %v, want %v", i, parts[i], want[i])
				}
			}
		})
	}
}

func TestCol2imMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, g := range im2colGeoms {
		t.Run(g.String(), func(t *testing.T) {
			col := randSlice(r, g.ColRows()*g.ColCols())
			base := randSlice(r, g.C*g.H*g.W) // Col2im accumulates onto this
			want := append([]float32(nil), base...)
			naiveCol2im(want, col, g)
			got := append([]float32(nil), base...)
			Col2im(got, col, g)
			parts := append([]float32(nil), base...)
			Col2imChannels(parts, col, g, 0, g.C/2)
			Col2imChannels(parts, col, g, g.C/2, g.C)
			for i := range want {
				// Summation order matches the naive loop exactly.
				if got[i] != want[i] || parts[i] != want[i] {
					t.Fatalf("x[%d] = %v (by channels %v), want %v", i, got[i], parts[i], want[i])
				}
			}
		})
	}
}

// TestCol2imIsAdjoint checks <Im2col(x), y> == <x, Col2im(y)>, the property
// a convolution's backward pass relies on.
func TestCol2imIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, g := range im2colGeoms {
		x := randSlice(r, g.C*g.H*g.W)
		y := randSlice(r, g.ColRows()*g.ColCols())
		col := make([]float32, len(y))
		Im2col(col, x, g)
		back := make([]float32, len(x))
		Col2im(back, y, g)
		var lhs, rhs, scale float64
		for i := range y {
			lhs += float64(col[i]) * float64(y[i])
			scale += math.Abs(float64(col[i]) * float64(y[i]))
		}
		for i := range x {
			rhs += float64(x[i]) * float64(back[i])
		}
		if math.Abs(lhs-rhs) > 1e-5*max(scale, 1) {
			t.Errorf("%v: <Im2col(x), y> = %v, <x, Col2im(y)> = %v", g, lhs, rhs)
		}
	}
}

func TestIm2colPanics(t *testing.T) {
	g := ConvGeom{C: 3, H: 5, W: 7, KH: 3, KW: 3, Stride: 2, Pad: 1} // 27 x 12
	for _, tc := range []struct {
		name string
		fn   func()
		want []string
	}{
		{"short image", func() { Im2col(make([]float32, 27*12), make([]float32, 104), g) }, []string{"[3 5 7]", "105", "104"}},
		{"short col", func() { Im2col(make([]float32, 27*11), make([]float32, 105), g) }, []string{"[27 12]", "324", "297"}},
		{"col2im col", func() { Col2im(make([]float32, 105), make([]float32, 1), g) }, []string{"Col2im", "[27 12]"}},
		{"col2im image", func() { Col2im(make([]float32, 1), make([]float32, 324), g) }, []string{"Col2im", "[3 5 7]"}},
		{"rows", func() { Im2colRows(make([]float32, 324), make([]float32, 105), g, 3, 28) }, []string{"[3, 28)", "27 rows"}},
		{"channels", func() { Col2imChannels(make([]float32, 105), make([]float32, 324), g, 2, 4) }, []string{"[2, 4)", "3 channels"}},
		{"kernel too big", func() {
			Im2col(nil, make([]float32, 4), ConvGeom{C: 1, H: 2, W: 2, KH: 3, KW: 3, Stride: 1})
		}, []string{"invalid", "kernel 3x3"}},
		{"zero stride", func() {
			Im2col(nil, make([]float32, 4), ConvGeom{C: 1, H: 2, W: 2, KH: 1, KW: 1})
		}, []string{"invalid", "stride 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("panic %q does not mention %q", msg, w)
					}
				}
			}()
			tc.fn()
		})
	}
}

func BenchmarkIm2col(b *testing.B) {
	for _, g := range []ConvGeom{
		{C: 16, H: 160, W: 160, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{C: 32, H: 80, W: 80, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{C: 128, H: 20, W: 20, KH: 3, KW: 3, Stride: 1, Pad: 1},
	} {
		x := make([]float32, g.C*g.H*g.W)
		col := make([]float32, g.ColRows()*g.ColCols())
		b.Run("im2col/"+g.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				Im2col(col, x, g)
			}
		})
		b.Run("col2im/"+g.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				Col2im(x, col, g)
			}
		})
	}
}

// TestIm2colBandMatchesIm2col checks that every band of output rows,
// stored as its own matrix, holds the same columns as the full matrix.
func TestIm2colBandMatchesIm2col(t *testing.T) {
	for _, g := range im2colGeoms {
		x := make([]float32, g.C*g.H*g.W)
		for i := range x {
			x[i] = float32(i%97) + 1
		}
		full := make([]float32, g.ColRows()*g.ColCols())
		Im2col(full, x, g)
		oh, ow := g.OutH(), g.OutW()
		for b0 := 0; b0 < oh; b0++ {
			for b1 := b0 + 1; b1 <= oh; b1 += max(1, oh/3) {
				p := (b1 - b0) * ow
				band := make([]float32, g.ColRows()*p)
				for i := range band {
					band[i] = -1 // every entry must be written
				}
				Im2colBand(band, x, g, 0, g.ColRows(), b0, b1)
				// The same rows 3 values further apart, the gaps untouched.
				ld := p + 3
				wide := make([]float32, g.ColRows()*ld)
				for i := range wide {
					wide[i] = -2
				}
				Im2colBandStride(wide, ld, x, g, 0, g.ColRows(), b0, b1)
				for r := range g.ColRows() {
					for j := range p {
						want := full[r*g.ColCols()+b0*ow+j]
						if got := band[r*p+j]; got != want {
							t.Fatalf("%v band [%d, %d): col[%d][%d] = %v, want %v", g, b0, b1, r, j, got, want)
						}
						if got := wide[r*ld+j]; got != want {
							t.Fatalf("%v band [%d, %d), rows %d apart: col[%d][%d] = %v, want %v", g, b0, b1, ld, r, j, got, want)
						}
					}
					for j := p; j < ld; j++ {
						if wide[r*ld+j] != -2 {
							t.Fatalf("%v band [%d, %d), rows %d apart: the gap after row %d was written", g, b0, b1, ld, r)
						}
					}
				}
			}
		}
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("a band beyond the output did not panic")
		}
	}()
	g := im2colGeoms[0]
	Im2colBand(make([]float32, 1<<16), make([]float32, g.C*g.H*g.W), g, 0, 1, 0, g.OutH()+1)
}
