package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestComputeAP(t *testing.T) {
	x101 := linspace(0, 1, 101)
	for _, c := range []struct {
		name              string
		recall, precision []float64
		want              float64
	}{
		// Sampling at recall 1 reads the precision sentinel 0, so a
		// perfect detector scores 0.995, as in Ultralytics.
		{"one true positive", []float64{1}, []float64{1}, 0.995},
		{"one false positive", []float64{0}, []float64{0}, 0},
		{"no predictions", nil, nil, 0.5},
		{"two of four found, both right", []float64{0.25, 0.5}, []float64{1, 1}, 0.75},
		// TP then FP, two labels: envelope 1 up to recall 0.5, 0.5 at
		// 0.5, then the line to the sentinel (1, 0).
		{"hit then miss", []float64{0.5, 0.5}, []float64{1, 0.5}, 0.49 + 0.0075 + 0.125},
		// FP then TP, one label: the envelope lifts the first point to
		// 0.5.
		{"miss then hit", []float64{0, 1}, []float64{0, 0.5}, 0.495 + 0.0025},
		// Envelope: 1 on [0, 0.5), 2/3 from 0.5 (the run at 0.5 takes
		// its last value) to the point (1, 2/3), the sentinel 0 at 1.
		{"precision rises later", []float64{0.5, 0.5, 1}, []float64{1, 0.5, 2.0 / 3},
			0.49 + 0.01*(1+2.0/3)/2 + 0.49*2.0/3 + 0.01*(2.0/3)/2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, _ := computeAP(c.recall, c.precision, x101)
			if math.Abs(got-c.want) > 1e-12 {
				t.Errorf("AP = %.15g, want %.15g", got, c.want)
			}
		})
	}
}

func TestInterp(t *testing.T) {
	xp := []float64{0, 1, 1, 2}
	fp := []float64{0, 1, 3, 4}
	x := []float64{-1, 0, 0.5, 1, 1.5, 2, 3}
	// np.interp(x, xp, fp, left=-5, right=9)
	want := []float64{-5, 0, 0.5, 3, 3.5, 4, 9}
	got := make([]float64, len(x))
	interp(got, x, xp, fp, -5, 9)
	if !slices.Equal(got, want) {
		t.Errorf("interp = %v, want %v", got, want)
	}
	interp(got[:3], []float64{-1, 2, 3}, []float64{2}, []float64{7}, 1, 8)
	if want := []float64{1, 7, 8}; !slices.Equal(got[:3], want) {
		t.Errorf("interp with one point = %v, want %v", got[:3], want)
	}
}

func TestPairwiseSum(t *testing.T) {
	// Integer values sum exactly in any order: this checks that every
	// element is added once, across the block and split boundaries.
	for n := range 300 {
		a := make([]float64, n)
		want := 0.0
		for i := range a {
			a[i] = float64(i%7 + 1)
			want += a[i]
		}
		if got := pairwiseSum(a); got != want {
			t.Fatalf("n=%d: sum %v, want %v", n, got, want)
		}
	}
}

func TestSmooth(t *testing.T) {
	// 20 points, f=0.1: 3-point box filter, ends padded with end values.
	y := make([]float64, 20)
	for i := 10; i < 20; i++ {
		y[i] = 3
	}
	got := Smooth(y, 0.1)
	if len(got) != 20 {
		t.Fatalf("%d points, want 20", len(got))
	}
	for i, want := range map[int]float64{0: 0, 8: 0, 9: 1, 10: 2, 11: 3, 19: 3} {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("smooth[%d] = %v, want %v", i, got[i], want)
		}
	}
	// Ultralytics' 1000-point curves use 101 points (f=0.1) and 51
	// (f=0.05): a spike is spread over exactly that many.
	for _, c := range []struct {
		f    float64
		want int
	}{{0.1, 101}, {0.05, 51}} {
		y := make([]float64, 1000)
		y[500] = 1
		nz := 0
		for _, v := range Smooth(y, c.f) {
			if v != 0 {
				nz++
			}
		}
		if nz != c.want {
			t.Errorf("f=%v: spike spread over %d points, want %d", c.f, nz, c.want)
		}
	}
}

func TestBoxIoU(t *testing.T) {
	for _, c := range []struct {
		a, b [4]float32
		want float64
	}{
		{[4]float32{0, 0, 10, 10}, [4]float32{0, 0, 10, 10}, 1},
		{[4]float32{0, 0, 10, 10}, [4]float32{5, 0, 15, 10}, 50.0 / 150},
		{[4]float32{0, 0, 10, 10}, [4]float32{20, 20, 30, 30}, 0},
		{[4]float32{0, 0, 10, 10}, [4]float32{0, 0, 10, 5}, 0.5},
	} {
		if got := BoxIoU(c.a, c.b); math.Abs(float64(got)-c.want) > 1e-6 {
			t.Errorf("IoU(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func tpRow(from, to int) [NumIoU]bool {
	var r [NumIoU]bool
	for j := from; j < to; j++ {
		r[j] = true
	}
	return r
}

func TestMatch(t *testing.T) {
	sq := [4]float32{0, 0, 10, 10}
	for _, c := range []struct {
		name   string
		preds  []Detection
		labels []Label
		want   [][NumIoU]bool
	}{
		{
			name:   "class must match",
			preds:  []Detection{{Box: sq, Score: 0.9, Class: 1}},
			labels: []Label{{Box: sq, Class: 0}},
			want:   [][NumIoU]bool{{}},
		},
		{
			name:   "exact box is a hit at every threshold",
			preds:  []Detection{{Box: sq, Score: 0.9, Class: 0}},
			labels: []Label{{Box: sq, Class: 0}},
			want:   [][NumIoU]bool{tpRow(0, 10)},
		},
		{
			// Each detection keeps its best label, then each label its
			// lowest-index detection: at 0.50-0.60 the IoU 0.62
			// detection wins over the IoU 0.92 one, as in Ultralytics.
			name: "label goes to the lowest detection index",
			preds: []Detection{
				{Box: [4]float32{0, 0, 10, 6.2}, Score: 0.5, Class: 0},
				{Box: [4]float32{0, 0, 10, 9.2}, Score: 0.9, Class: 0},
			},
			labels: []Label{{Box: sq, Class: 0}},
			want:   [][NumIoU]bool{tpRow(0, 3), tpRow(3, 9)},
		},
		{
			// One detection over two labels (IoU 0.625 and 0.9375): it
			// is a hit once, up to the larger IoU.
			name:  "one detection, two labels",
			preds: []Detection{{Box: [4]float32{0, 0, 10, 8}, Score: 0.9, Class: 0}},
			labels: []Label{
				{Box: [4]float32{0, 0, 10, 5}, Class: 0},
				{Box: [4]float32{0, 0, 10, 7.5}, Class: 0},
			},
			want: [][NumIoU]bool{tpRow(0, 9)},
		},
		{
			name:  "no labels",
			preds: []Detection{{Box: sq, Score: 0.9, Class: 0}},
			want:  [][NumIoU]bool{{}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m matcher
			got := m.match(c.preds, c.labels)
			if !slices.Equal(got, c.want) {
				t.Errorf("tp = %v, want %v", got, c.want)
			}
		})
	}
}

func TestAccumulatorPerfect(t *testing.T) {
	acc := NewAccumulator(2)
	for i := range 3 {
		b := [4]float32{float32(i), 0, float32(i) + 20, 30}
		err := acc.Add([]Detection{{Box: b, Score: 0.9, Class: 1}}, []Label{{Box: b, Class: 1}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := acc.Add(nil, nil); err != nil {
		t.Fatal(err)
	}
	m := acc.Result()
	if m.Images != 4 || m.Instances != 3 || !slices.Equal(m.ClassInstances, []int{0, 3}) || !slices.Equal(m.ClassImages, []int{0, 3}) {
		t.Errorf("counts: images %d instances %d per class %v images per class %v", m.Images, m.Instances, m.ClassInstances, m.ClassImages)
	}
	if len(m.PerClass) != 1 || m.PerClass[0].Class != 1 {
		t.Fatalf("per class %+v, want class 1 only", m.PerClass)
	}
	for name, v := range map[string]float64{"P": m.Precision, "R": m.Recall} {
		if math.Abs(v-1) > 1e-9 {
			t.Errorf("%s = %v, want 1", name, v)
		}
	}
	for name, v := range map[string]float64{"mAP50": m.MAP50, "mAP50-95": m.MAP5095, "fitness": m.Fitness} {
		if math.Abs(v-0.995) > 1e-12 {
			t.Errorf("%s = %v, want 0.995", name, v)
		}
	}
	// The confidence curves step down after 0.9.
	c := m.Curves
	if len(c.X) != 1000 || c.Recall[0][899] != 1 || c.Recall[0][900] != 0 || c.Precision[0][950] != 1 {
		t.Errorf("curves: %d points, R(%.4f)=%v R(%.4f)=%v P(%.4f)=%v", len(c.X),
			c.X[899], c.Recall[0][899], c.X[900], c.Recall[0][900], c.X[950], c.Precision[0][950])
	}
}

func TestAccumulatorEdges(t *testing.T) {
	sq := [4]float32{0, 0, 10, 10}
	far := [4]float32{50, 50, 60, 60}
	t.Run("no true positive leaves metrics at 0", func(t *testing.T) {
		acc := NewAccumulator(1)
		if err := acc.Add([]Detection{{Box: far, Score: 0.9}}, []Label{{Box: sq}}); err != nil {
			t.Fatal(err)
		}
		m := acc.Result()
		if m.Precision != 0 || m.Recall != 0 || m.MAP50 != 0 || m.Fitness != 0 || len(m.PerClass) != 0 || m.Instances != 1 {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("false positives on an empty image lower precision", func(t *testing.T) {
		acc := NewAccumulator(1)
		acc.Add([]Detection{{Box: sq, Score: 0.5}}, []Label{{Box: sq}})
		m1 := acc.Result()
		acc.Add([]Detection{{Box: sq, Score: 0.9}}, nil)
		m2 := acc.Result()
		if !(m2.MAP50 < m1.MAP50) {
			t.Errorf("mAP50 %v after a confident false positive, was %v", m2.MAP50, m1.MAP50)
		}
		// update_metrics skips the confusion matrix for label-free images.
		if got := acc.ConfusionMatrix().Matrix()[0][1]; got != 0 {
			t.Errorf("background column = %v, want 0", got)
		}
	})
	t.Run("predicted class without labels is ignored", func(t *testing.T) {
		acc := NewAccumulator(2)
		acc.Add([]Detection{{Box: sq, Score: 0.9}, {Box: far, Score: 0.95, Class: 1}}, []Label{{Box: sq}})
		m := acc.Result()
		if len(m.PerClass) != 1 || math.Abs(m.MAP50-0.995) > 1e-12 {
			t.Errorf("mAP50 %v with %d classes, want 0.995 with 1", m.MAP50, len(m.PerClass))
		}
	})
	t.Run("bad input is refused and not recorded", func(t *testing.T) {
		acc := NewAccumulator(2)
		for _, c := range []struct {
			preds  []Detection
			labels []Label
			msg    string
		}{
			{[]Detection{{Box: sq, Score: 0.9, Class: 2}}, nil, "detection 0: class 2 outside [0, 2)"},
			{nil, []Label{{Box: sq}, {Box: sq, Class: -1}}, "label 1: class -1"},
			{[]Detection{{Box: sq, Score: float32(math.NaN())}}, nil, "confidence NaN"},
			{[]Detection{{Box: [4]float32{0, 0, float32(math.Inf(1)), 1}, Score: 0.5}}, nil, "box"},
		} {
			err := acc.Add(c.preds, c.labels)
			if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "image 0") {
				t.Errorf("error %v, want one naming image 0 and %q", err, c.msg)
			}
		}
		if m := acc.Result(); m.Images != 0 || m.Instances != 0 {
			t.Errorf("refused input recorded: %d images, %d labels", m.Images, m.Instances)
		}
	})
}

func TestConfusionMatrix(t *testing.T) {
	a := [4]float32{0, 0, 10, 10}
	b := [4]float32{20, 0, 30, 10}
	c := [4]float32{40, 0, 50, 10}
	elsewhere := [4]float32{100, 100, 110, 110}
	cm := NewConfusionMatrix(2)
	err := cm.Process([]Detection{
		{Box: a, Score: 0.9, Class: 0},         // right
		{Box: b, Score: 0.8, Class: 0},         // wrong class
		{Box: elsewhere, Score: 0.7, Class: 1}, // nothing there
		{Box: a, Score: 0.25, Class: 1},        // not above conf 0.25
	}, []Label{{Box: a, Class: 0}, {Box: b, Class: 1}, {Box: c, Class: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{
		{1, 1, 0},
		{0, 0, 1},
		{0, 1, 0},
	}
	if got := cm.Matrix(); !equal2(got, want) {
		t.Errorf("matrix %v, want %v", got, want)
	}
	tp, fp := cm.TPFP()
	if !slices.Equal(tp, []float64{1, 0}) || !slices.Equal(fp, []float64{1, 1}) {
		t.Errorf("tp %v fp %v, want [1 0] [1 1]", tp, fp)
	}
	n := cm.Normalized()
	if math.Abs(n[0][1]-0.5) > 1e-6 || math.Abs(n[2][1]-0.5) > 1e-6 || n[0][0] < 0.999999 {
		t.Errorf("normalized %v", n)
	}

	// No pair at all: Ultralytics counts the missed labels but not the
	// stray predictions.
	cm = NewConfusionMatrix(1)
	cm.Process([]Detection{{Box: elsewhere, Score: 0.9}}, []Label{{Box: a}})
	if got := cm.Matrix(); !equal2(got, [][]float64{{0, 0}, {1, 0}}) {
		t.Errorf("no overlap: %v", got)
	}
	// No labels: confident predictions are false positives.
	cm = NewConfusionMatrix(1)
	cm.Process([]Detection{{Box: a, Score: 0.9}, {Box: b, Score: 0.1}}, nil)
	if got := cm.Matrix(); !equal2(got, [][]float64{{0, 1}, {0, 0}}) {
		t.Errorf("no labels: %v", got)
	}
	if err := cm.Process([]Detection{{Box: a, Score: 0.9, Class: 1}}, nil); err == nil {
		t.Error("class 1 of 1 accepted")
	}
}

func equal2(a, b [][]float64) bool {
	return slices.EqualFunc(a, b, func(x, y []float64) bool { return slices.Equal(x, y) })
}

// FuzzAccumulator feeds arbitrary images: Add must refuse or take them,
// and Result must never panic nor give a NaN or a value outside [0, 1].
func FuzzAccumulator(f *testing.F) {
	f.Add([]byte{2, 3, 1, 2, 10, 10, 40, 40, 200, 0, 12, 11, 41, 39, 180, 0, 90, 90, 20, 20, 7, 1})
	f.Add([]byte{0, 1, 0, 0})
	f.Add([]byte{4, 9, 5, 5, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 127, 192, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		coord := func() float32 {
			b := next()
			if b == 255 { // now and then a value that is not finite
				return math.Float32frombits(uint32(next())<<24 | 0x7f800000)
			}
			return float32(b) * 2.5
		}
		nc := 1 + int(next()%5)
		acc := NewAccumulator(nc)
		labelsAdded := make([]int, nc)
		for range int(next() % 8) {
			n, k := int(next()%6), int(next()%6)
			var preds []Detection
			var labels []Label
			for range n {
				x, y := coord(), coord()
				d := Detection{Box: [4]float32{x, y, x + coord(), y + coord()}, Class: int(next()) % (nc + 1)}
				d.Score = float32(next()) / 200
				preds = append(preds, d)
			}
			for range k {
				x, y := coord(), coord()
				labels = append(labels, Label{Box: [4]float32{x, y, x + coord(), y + coord()}, Class: int(next()) % (nc + 1)})
			}
			if acc.Add(preds, labels) == nil {
				for _, l := range labels {
					labelsAdded[l.Class]++
				}
			}
		}
		m := acc.Result()
		check := func(name string, v float64) {
			if math.IsNaN(v) || v < 0 || v > 1 {
				t.Fatalf("%s = %v", name, v)
			}
		}
		for i, v := range m.MeanResults() {
			check(Keys()[i], v)
		}
		check("fitness", m.Fitness)
		check("mAP75", m.MAP75)
		for _, c := range m.PerClass {
			check("class P", c.Precision)
			check("class R", c.Recall)
			check("class F1", c.F1)
			check("class AP50-95", c.AP5095)
			for _, v := range c.AP {
				check("class AP", v)
			}
		}
		for _, rows := range [][][]float64{m.Curves.Precision, m.Curves.Recall, m.Curves.F1, m.Curves.PR} {
			for _, row := range rows {
				for _, v := range row {
					check("curve", v)
				}
			}
		}
		// Every label lands in its true class's column exactly once.
		cmat := acc.ConfusionMatrix().Matrix()
		for c := range nc {
			s := 0.0
			for r := range cmat {
				s += cmat[r][c]
			}
			if int(s) != labelsAdded[c] || m.ClassInstances[c] != labelsAdded[c] {
				t.Fatalf("class %d: column sum %v, instances %d, labels added %d", c, s, m.ClassInstances[c], labelsAdded[c])
			}
		}
	})
}

// A COCO-sized validation: 128 images, 300 detections each (the
// validator's max_det), 80 classes.
// go test -run XXX -bench Accumulator -benchtime 5x ./metrics/
func BenchmarkAccumulator(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	type image struct {
		preds  []Detection
		labels []Label
	}
	imgs := make([]image, 128)
	for i := range imgs {
		for range 10 {
			x, y := rng.Float32()*600, rng.Float32()*600
			imgs[i].labels = append(imgs[i].labels, Label{Box: [4]float32{x, y, x + 50, y + 80}, Class: rng.IntN(80)})
		}
		for k := range 300 {
			l := imgs[i].labels[k%10]
			j := rng.Float32() * 20
			c := l.Class
			if k >= 10 {
				c = rng.IntN(80)
			}
			imgs[i].preds = append(imgs[i].preds, Detection{Box: [4]float32{l.Box[0] + j, l.Box[1], l.Box[2] + j, l.Box[3]}, Score: rng.Float32(), Class: c})
		}
	}
	for b.Loop() {
		acc := NewAccumulator(80)
		for _, im := range imgs {
			if err := acc.Add(im.preds, im.labels); err != nil {
				b.Fatal(err)
			}
		}
		if m := acc.Result(); m.MAP50 <= 0 {
			b.Fatal("nothing found")
		}
	}
}
