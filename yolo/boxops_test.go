package yolo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCIoU checks bbox_iou(CIoU=True) on boxes worked out by hand:
// CIoU = IoU - ρ²/c² - v·α, ρ the distance between the centres, c the
// diagonal of the enclosing box, v = 4/π²·(atan(w2/h2) - atan(w1/h1))²,
// α = v/(v - IoU + 1).
func TestCIoU(t *testing.T) {
	k := 4 / (math.Pi * math.Pi)
	vWide := k * math.Pow(math.Atan(1)-math.Atan(2), 2)     // 2x2 against 4x2
	vCross := k * math.Pow(math.Atan(3)-math.Atan(1./3), 2) // 1x3 against 3x1
	for _, tc := range []struct {
		name   string
		b1, b2 [4]float64
		want   float64
	}{
		// inter 1, union 7; enclosing 3x3: c² 18; centres 1 apart in x
		// and y: ρ² 2; same shape: v 0.
		{"shifted squares", [4]float64{0, 0, 2, 2}, [4]float64{1, 1, 3, 3}, 1./7 - 2./18},
		// inter 4, union 8; c² 4²+2²; centres (2,1), (1,1): ρ² 1.
		{"wide and square", [4]float64{0, 0, 4, 2}, [4]float64{0, 0, 2, 2}, 0.5 - 1./20 - vWide*vWide/(vWide+0.5)},
		{"identical", [4]float64{1, 2, 5, 4}, [4]float64{1, 2, 5, 4}, 1},
		// no overlap; enclosing 4x1: c² 17; centres 3 apart: ρ² 9.
		{"disjoint", [4]float64{0, 0, 1, 1}, [4]float64{3, 0, 4, 1}, -9. / 17},
		// inter 4, union 16, same centre and shape.
		{"nested", [4]float64{0, 0, 4, 4}, [4]float64{1, 1, 3, 3}, 0.25},
		// inter 1, union 5; enclosing 3x3: c² 18; centres (0.5,1.5),
		// (1.5,0.5): ρ² 2.
		{"crossed", [4]float64{0, 0, 1, 3}, [4]float64{0, 0, 3, 1}, 0.2 - 2./18 - vCross*vCross/(vCross+0.8)},
	} {
		got := ciou(tc.b1, tc.b2)
		if math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: CIoU %.7f, want %.7f", tc.name, got, tc.want)
		}
		if sym := ciou(tc.b2, tc.b1); math.Abs(sym-tc.want) > 1e-6 {
			t.Errorf("%s: CIoU(b2, b1) %.7f, want %.7f", tc.name, sym, tc.want)
		}
		var b1, b2 [4]float32
		for i := range 4 {
			b1[i], b2[i] = float32(tc.b1[i]), float32(tc.b2[i])
		}
		if got32 := ciou(b1, b2); math.Abs(float64(got32)-tc.want) > 1e-6 {
			t.Errorf("%s: float32 CIoU %.7f, want %.7f", tc.name, got32, tc.want)
		}
		if c, _ := ciouGrad(tc.b1, tc.b2, ciouAlpha(tc.b1, tc.b2)); c != got {
			t.Errorf("%s: ciouGrad's CIoU %v, ciou's %v", tc.name, c, got)
		}
	}
}

// ciouFrozen is CIoU written out with alpha given, the function whose
// gradient ciouGrad returns.
func ciouFrozen(p, t [4]float64, alpha float64) float64 {
	const eps = ciouEps
	w1, h1 := p[2]-p[0], p[3]-p[1]+eps
	w2, h2 := t[2]-t[0], t[3]-t[1]+eps
	inter := max(min(p[2], t[2])-max(p[0], t[0]), 0) * max(min(p[3], t[3])-max(p[1], t[1]), 0)
	iou := inter / (w1*h1 + w2*h2 - inter + eps)
	cw := max(p[2], t[2]) - min(p[0], t[0])
	ch := max(p[3], t[3]) - min(p[1], t[1])
	rho2 := (math.Pow(t[0]+t[2]-p[0]-p[2], 2) + math.Pow(t[1]+t[3]-p[1]-p[3], 2)) / 4
	v := fourOverPi2 * math.Pow(math.Atan(w2/h2)-math.Atan(w1/h1), 2)
	return iou - (rho2/(cw*cw+ch*ch+eps) + v*alpha)
}

// TestCIoUGrad compares ciouGrad with central differences of CIoU with
// alpha held fixed, on random box pairs (overlapping, nested, disjoint)
// and on pairs with shared edges, where min and max split the gradient
// in halves as PyTorch's do (the central difference averages the two
// one-sided slopes, which is the same).
func TestCIoUGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pairs [][2][4]float64
	for range 200 {
		var p, q [4]float64
		for _, b := range []*[4]float64{&p, &q} {
			x, y := r.Float64()*10, r.Float64()*10
			b[0], b[1], b[2], b[3] = x, y, x+0.1+r.Float64()*6, y+0.1+r.Float64()*6
		}
		pairs = append(pairs, [2][4]float64{p, q})
	}
	pairs = append(pairs,
		[2][4]float64{{0, 0, 4, 2}, {0, 1, 4, 5}},     // shared x1 and x2
		[2][4]float64{{1, 1, 3, 3}, {0, 1, 3, 2.5}},   // shared y1 and x2
		[2][4]float64{{2, 2, 3, 3.5}, {2, 2, 3, 3.5}}, // identical
	)
	for _, pq := range pairs {
		p, q := pq[0], pq[1]
		alpha := ciouAlpha(p, q)
		_, g := ciouGrad(p, q, alpha)
		for i := range 4 {
			const h = 1e-6
			up, down := p, p
			up[i] += h
			down[i] -= h
			num := (ciouFrozen(up, q, alpha) - ciouFrozen(down, q, alpha)) / (2 * h)
			if math.Abs(num-g[i]) > 1e-6*(1+math.Abs(num)) {
				t.Errorf("p %v, t %v: d/dp[%d] = %.9g, numeric %.9g", p, q, i, g[i], num)
			}
		}
	}
}

// TestCIoUGradTouching: boxes that touch have an intersection width of
// exactly 0, where clamp(0) lets the gradient through in PyTorch: moving
// p's right edge right would start an overlap, and the gradient says so.
func TestCIoUGradTouching(t *testing.T) {
	p, q := [4]float64{0, 0, 2, 2}, [4]float64{2, 0, 4, 2}
	_, g := ciouGrad(p, q, ciouAlpha(p, q))
	// inter = iw·ih with iw = min(p.x2, q.x2) - max(p.x1, q.x1) = 0 and
	// ih = 2: d(inter)/d(p.x2) = ih = 2 (a one-sided slope: central
	// differences would halve it), and inter = 0, so dIoU/d(p.x2) =
	// 2/union.
	union := 2*(2+ciouEps) + 2*(2+ciouEps) + ciouEps
	diou := 2 / union
	// The centres are 2 apart in x: ρ² = 4²/4, d(ρ²)/d(p.x2) = -4/2, over
	// c² = 4²+2²; c² does not move with p.x2 (max(p.x2, q.x2) = q.x2),
	// and both boxes are squares: v = 0.
	want := diou - (-2.0 / (16 + 4 + ciouEps))
	if math.Abs(g[2]-want) > 1e-9 {
		t.Errorf("d/d(p.x2) = %.9g, want %.9g", g[2], want)
	}
}
