package train

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// The expected values below are worked out by hand from Ultralytics
// 8.2.82's formulas (trainer.py), with Python's and numpy's rounding of
// halves to even.

func TestWarmupIters(t *testing.T) {
	for _, tc := range []struct {
		epochs float64
		nb     int
		want   int
	}{
		{3, 4, 100},     // round(12) = 12, the floor of 100 wins
		{3, 50, 150},    // round(150)
		{0.5, 201, 100}, // round(100.5) = 100: half to even
		{2.5, 41, 102},  // round(102.5) = 102
		{2.5, 43, 108},  // round(107.5) = 108
		{0, 10, -1},     // no warmup
	} {
		if got := warmupIters(tc.epochs, tc.nb); got != tc.want {
			t.Errorf("warmupIters(%v, %d) = %d, want %d", tc.epochs, tc.nb, got, tc.want)
		}
	}
}

func TestAccumulateAndDecay(t *testing.T) {
	for _, tc := range []struct {
		nbs, batch, acc int
		decay           float64 // weight_decay 5e-4 scaled
	}{
		{64, 16, 4, 0.0005},      // 5e-4 * 16 * 4 / 64
		{64, 24, 3, 0.0005625},   // round(2.67) = 3; 5e-4 * 24 * 3 / 64
		{64, 128, 1, 0.001},      // round(0.5) = 0, at least 1; 5e-4 * 128 / 64
		{64, 40, 2, 0.000625},    // round(1.6) = 2
		{10, 4, 2, 0.0004},       // round(2.5) = 2: half to even
		{64, 1, 64, 0.0005},      // 5e-4 * 1 * 64 / 64
		{64, 100, 1, 0.00078125}, // 5e-4 * 100 / 64
	} {
		if got := baseAccumulate(tc.nbs, tc.batch); got != tc.acc {
			t.Errorf("baseAccumulate(%d, %d) = %d, want %d", tc.nbs, tc.batch, got, tc.acc)
		}
		if got := scaledDecay(0.0005, tc.batch, tc.nbs); !near(got, tc.decay) {
			t.Errorf("scaledDecay(5e-4, batch %d, nbs %d) = %v, want %v", tc.batch, tc.nbs, got, tc.decay)
		}
	}
}

func TestLRLambda(t *testing.T) {
	for _, tc := range []struct {
		cos   bool
		epoch int
		want  float64
	}{
		{false, 0, 1},
		{false, 50, 0.505},    // 0.5 * 0.99 + 0.01
		{false, 99, 0.0199},   // 0.01 * 0.99 + 0.01
		{false, 100, 0.01},    // lrf
		{false, 150, 0.01},    // clamped: max(1 - x/epochs, 0)
		{true, 0, 1},          // (1 - cos 0)/2 = 0
		{true, 50, 0.505},     // (1 - cos(pi/2))/2 = 0.5: 0.5 * (0.01 - 1) + 1
		{true, 100, 0.01},     // (1 - cos pi)/2 = 1
		{true, 25, 0.8550179}, // (1 - cos(pi/4))/2 = 0.1464466: 1 - 0.99 * 0.1464466
	} {
		got := lrLambda(100, 0.01, tc.cos)(tc.epoch)
		if math.Abs(got-tc.want) > 1e-7 {
			t.Errorf("lf(%d) cos=%v = %v, want %v", tc.epoch, tc.cos, got, tc.want)
		}
	}
}

func TestWarmupStep(t *testing.T) {
	// nw 100, nbs 64 at batch 16 (accumulate ramps 1 -> 4), lr0 0.01,
	// warmup_bias_lr 0.1, momentum 0.8 -> 0.937, 100 epochs, lrf 0.01.
	s := schedule{nw: 100, nbs: 64, batch: 16, warmupBiasLR: 0.1, warmupMomentum: 0.8, momentum: 0.937,
		lf: lrLambda(100, 0.01, false)}
	for _, tc := range []struct {
		ni, epoch int
		acc       int
		lrs       [3]float64
		momentum  float64
	}{
		{0, 0, 1, [3]float64{0.1, 0, 0}, 0.8},
		// interp 1 + 3*0.16 = 1.48 -> 1; lrs 0.1 - 0.09*0.16, 0.01*0.16.
		{16, 0, 1, [3]float64{0.0856, 0.0016, 0.0016}, 0.82192},
		{17, 0, 2, [3]float64{0.0847, 0.0017, 0.0017}, 0.82329},                                      // 1.51 -> 2
		{50, 0, 2, [3]float64{0.055, 0.005, 0.005}, 0.8685},                                          // 2.5 -> 2: half to even
		{51, 0, 3, [3]float64{0.0541, 0.0051, 0.0051}, 0.86987},                                      // 2.53 -> 3
		{83, 1, 3, [3]float64{0.1 + 0.83*(0.009901-0.1), 0.83 * 0.009901, 0.83 * 0.009901}, 0.91371}, // epoch 1: target 0.01 * 0.9901
		{84, 1, 4, [3]float64{0.1 + 0.84*(0.009901-0.1), 0.84 * 0.009901, 0.84 * 0.009901}, 0.91508}, // 3.52 -> 4
		{100, 1, 4, [3]float64{0.009901, 0.009901, 0.009901}, 0.937},
	} {
		acc, lrs, mom, ok := s.warmupStep(tc.ni, tc.epoch, 0.01)
		if !ok {
			t.Fatalf("iteration %d: warmup over, want it on until 100", tc.ni)
		}
		if acc != tc.acc || math.Abs(mom-tc.momentum) > 1e-12 {
			t.Errorf("iteration %d: accumulate %d momentum %v, want %d and %v", tc.ni, acc, mom, tc.acc, tc.momentum)
		}
		for j := range lrs {
			if math.Abs(lrs[j]-tc.lrs[j]) > 1e-12 {
				t.Errorf("iteration %d: group %d lr %v, want %v", tc.ni, j, lrs[j], tc.lrs[j])
			}
		}
	}
	if _, _, _, ok := s.warmupStep(101, 1, 0.01); ok {
		t.Error("warmup still on at iteration 101 of 100")
	}
	s.nw = -1
	if _, _, _, ok := s.warmupStep(0, 0, 0.01); ok {
		t.Error("warmup on with warmup_epochs 0")
	}
}

func TestChooseOptimizer(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		opt                       string
		nc, images, batch, epochs int
		want                      optimizerChoice
	}{
		// 61 person images, 3 epochs: ceil(61/64)*3 = 3 iterations.
		{"person", "auto", 1, 61, 16, 3, optimizerChoice{"AdamW", 0.002, 0.9, true}},
		{"coco classes", "auto", 80, 128, 16, 100, optimizerChoice{"AdamW", 0.000119, 0.9, true}}, // 0.01/84 = 0.00011905
		{"two classes", "auto", 2, 128, 16, 100, optimizerChoice{"AdamW", 0.001667, 0.9, true}},   // 0.01/6
		// ceil(120000/64)*10 = 18750 > 10000.
		{"long", "auto", 1, 120000, 16, 10, optimizerChoice{"SGD", 0.01, 0.9, true}},
		// ceil(64000/64)*10 = 10000: not more than 10000.
		{"boundary", "auto", 1, 64000, 16, 10, optimizerChoice{"AdamW", 0.002, 0.9, true}},
		// batch above nbs: ceil(64000/128)*21 = 10500.
		{"large batch", "auto", 1, 64000, 128, 21, optimizerChoice{"SGD", 0.01, 0.9, true}},
		{"explicit", "SGD", 1, 61, 16, 3, optimizerChoice{"SGD", 0.02, 0.95, false}},
	} {
		got := chooseOptimizer(tc.opt, 0.02, 0.95, tc.nc, tc.images, tc.batch, 64, tc.epochs)
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestInterp(t *testing.T) {
	for _, tc := range []struct{ x, want float64 }{
		{-5, 1}, {0, 1}, {25, 1.75}, {100, 4}, {150, 4},
	} {
		if got := interp(tc.x, 0, 100, 1, 4); got != tc.want {
			t.Errorf("interp(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

func TestRoundTo(t *testing.T) {
	for _, tc := range []struct {
		x      float64
		digits int
		want   float64
	}{
		{0.002, 6, 0.002}, {0.0016666666, 6, 0.001667}, {0.123456789, 5, 0.12346}, {2.675, 2, 2.67}, // 2.675 is below .675 in binary
	} {
		if got := roundTo(tc.x, tc.digits); got != tc.want {
			t.Errorf("roundTo(%v, %d) = %v, want %v", tc.x, tc.digits, got, tc.want)
		}
	}
}
