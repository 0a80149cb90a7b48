package yolo

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// lossRef is testdata/ref/loss_ref.json (see its README).
type lossRef struct {
	Images    []string     `json:"images"`
	Imgsz     int          `json:"imgsz"`
	Cls       []float64    `json:"cls"`
	Bboxes    [][4]float64 `json:"bboxes"`
	BatchIdx  []float64    `json:"batch_idx"`
	LossSum   float64      `json:"loss_sum_x_bs"`
	LossItems [3]float64   `json:"loss_items"`
	Grads     []struct {
		Name  string    `json:"name"`
		Norm  *float64  `json:"norm"`
		Sum   float64   `json:"sum"`
		First []float64 `json:"first"`
	} `json:"grads"`
}

func readLossRefFile(t testing.TB, name string) lossRef {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "ref", name))
	if err != nil {
		t.Fatal(err)
	}
	var ref lossRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// targets converts the reference's labels to Targets (float64 -> float32,
// as torch.tensor does).
func (r lossRef) targets() Targets {
	var t Targets
	for i := range r.Cls {
		t.Cls = append(t.Cls, float32(r.Cls[i]))
		t.BatchIdx = append(t.BatchIdx, float32(r.BatchIdx[i]))
		for _, v := range r.Bboxes[i] {
			t.Boxes = append(t.Boxes, float32(v))
		}
	}
	return t
}

// relErr is |got-want| relative to max(|want|, floor).
func relErr(got, want, floor float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), floor)
}

// headOutput matches the parameters of the head's output convolutions,
// the ones that compute the maps.
var headOutput = regexp.MustCompile(`^model\.22\.cv[23]\.[012]\.2\.(weight|bias)$`)

// TestLossMatchesUltralytics: on one fixed batch (three COCO128 images,
// all their labels) and fixed weights, the loss and its items equal
// Ultralytics' v8DetectionLoss and, after Model.Backward, every
// parameter's gradient (norm, sum, first four values) PyTorch's, both for
// PyTorch's float32 run (loss_ref.json) and for the same computation in
// float64 (loss_ref64.json), the exact answer both float32 runs
// approximate: PyTorch's own float32 norms are within 1e-5 of it.
//
// Norms and loss items must agree within 1e-4 (relative). Sums (relative
// to the norm, as they may cancel) and single values (relative to the
// typical element, norm/sqrt(n)) must agree within 1e-4 for the head's
// output convolutions, which see the maps' gradients directly, and 2e-3
// further back, where train-mode BatchNorm subtracts the mean of nearly
// constant gradients and so magnifies the last bits. Before the
// BatchNorm statistics were summed in float64 blocks the norms were off
// by 4e-4: the assigner (CIoU^6, eps-normalised scores) magnifies tiny
// differences in the maps.
func TestLossMatchesUltralytics(t *testing.T) {
	dir := filepath.Join("testdata", "ref")
	src, _, err := OpenPT(filepath.Join(dir, "yolov8n_seed0.pt"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFrom(src)
	if err != nil {
		t.Fatal(err)
	}
	e := nn.NewEngine(2)
	defer e.Close()
	m, err := New(e, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.SetTrain(true)
	for _, file := range []string{"loss_ref.json", "loss_ref64.json"} {
		t.Run(file, func(t *testing.T) {
			ref := readLossRefFile(t, file)
			// Every run starts from the checkpoint's running statistics,
			// which a training-mode Forward moves.
			if err := m.Load(src); err != nil {
				t.Fatal(err)
			}
			checkLossAndGrads(t, m, ref)
		})
	}
}

func checkLossAndGrads(t *testing.T, m *Model, ref lossRef) {
	s := ref.Imgsz
	x := tensor.New(len(ref.Images), 3, s, s)
	for i, name := range ref.Images {
		im := loadInput(t, filepath.Join("testdata", "ref", name))
		if !im.SameShape(tensor.New(1, 3, s, s)) {
			t.Fatalf("%s: shape %v, want [1 3 %d %d]", name, im.Shape, s, s)
		}
		copy(x.Data[i*3*s*s:], im.Data)
	}
	maps := m.Forward(x)
	l := NewLoss(m.Config.NC, DefaultLossHyp())
	total, items, grads, err := l.Compute(maps, ref.targets())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.7g (want %.7g), items %v (want %v), %d foreground anchors", total, ref.LossSum, items, ref.LossItems, len(l.fg))
	if d := relErr(float64(total), ref.LossSum, 1e-3); d > 1e-4 {
		t.Errorf("loss %v, want %v (relative difference %.3g)", total, ref.LossSum, d)
	}
	for i, want := range ref.LossItems {
		if d := relErr(float64(items[i]), want, 1e-3); d > 1e-4 {
			t.Errorf("loss item %d: %v, want %v (relative difference %.3g)", i, items[i], want, d)
		}
	}
	params := m.Params()
	nn.ZeroGrad(params)
	m.Backward(grads)
	byName := map[string]*nn.Param{}
	for _, p := range params {
		byName[p.Name] = p
	}
	type worst struct {
		d    float64
		what string
	}
	var wNorm, wHead, wRest worst
	for _, r := range ref.Grads {
		if r.Norm == nil {
			continue // the DFL convolution: no gradient
		}
		p := byName[r.Name]
		if p == nil {
			t.Errorf("no parameter %s", r.Name)
			continue
		}
		var norm, sum float64
		for _, v := range p.Grad.Data {
			norm += float64(v) * float64(v)
			sum += float64(v)
		}
		norm = math.Sqrt(norm)
		if *r.Norm == 0 {
			// The largest stride's box branch: no anchor there is
			// assigned on this batch.
			if norm > 1e-12 {
				t.Errorf("%s: gradient norm %g, want 0", r.Name, norm)
			}
			continue
		}
		tol, w := 2e-3, &wRest
		if headOutput.MatchString(r.Name) {
			tol, w = 1e-4, &wHead
		}
		check := func(w *worst, got, want, floor, tol float64, what string) {
			d := relErr(got, want, floor)
			if d > w.d {
				*w = worst{d, fmt.Sprintf("%s %s: %.8g, want %.8g", r.Name, what, got, want)}
			}
			if d > tol {
				t.Errorf("%s %s: %.8g, want %.8g (relative difference %.3g)", r.Name, what, got, want, d)
			}
		}
		check(&wNorm, norm, *r.Norm, 0, 1e-4, "norm")
		check(w, sum, r.Sum, *r.Norm, tol, "sum")
		typical := *r.Norm / math.Sqrt(float64(len(p.Grad.Data)))
		for k, want := range r.First {
			check(w, float64(p.Grad.Data[k]), want, typical, tol, fmt.Sprintf("[%d]", k))
		}
	}
	t.Logf("worst relative differences: norms %.2g (%s); head outputs %.2g (%s); others %.2g (%s)",
		wNorm.d, wNorm.what, wHead.d, wHead.what, wRest.d, wRest.what)
}

// synthMaps returns random head maps for nb images of size sz with nc
// classes: DFL logits spread enough to give boxes of every size, class
// logits around -2.
func synthMaps(r *rand.Rand, nb, sz, nc int) [3]*tensor.Tensor {
	var maps [3]*tensor.Tensor
	for i, s := range strides {
		m := tensor.New(nb, 4*RegMax+nc, sz/s, sz/s)
		hw := (sz / s) * (sz / s)
		for j := range m.Data {
			if (j/hw)%(4*RegMax+nc) < 4*RegMax {
				m.Data[j] = float32(r.NormFloat64() * 1.5)
			} else {
				m.Data[j] = float32(r.NormFloat64() - 2)
			}
		}
		maps[i] = m
	}
	return maps
}

// synthTargets returns n random boxes per image, some large enough to
// reach every level, classes below nc.
func synthTargets(r *rand.Rand, nb, n, nc int) Targets {
	var t Targets
	for b := range nb {
		for range n {
			w, h := 0.1+0.8*r.Float32(), 0.1+0.8*r.Float32()
			x, y := w/2+(1-w)*r.Float32(), h/2+(1-h)*r.Float32()
			t.Cls = append(t.Cls, float32(r.IntN(nc)))
			t.BatchIdx = append(t.BatchIdx, float32(b))
			t.Boxes = append(t.Boxes, x, y, w, h)
		}
	}
	return t
}

// TestLossGradient checks the analytic gradients against central finite
// differences of the total, with what autograd treats as constants held
// fixed (the assignment and CIoU's alpha): every foreground anchor's 64
// DFL logits and its class logit, and a sample of other entries.
func TestLossGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const nb, sz, nc = 2, 64, 3
	maps := synthMaps(r, nb, sz, nc)
	tg := synthTargets(r, nb, 3, nc)
	l := NewLoss(nc, DefaultLossHyp())
	_, _, grads, err := l.Compute(maps, tg)
	if err != nil {
		t.Fatal(err)
	}
	var weighted int
	for _, f := range l.fg {
		if f.score > 0 {
			weighted++
		}
	}
	if weighted < 5 {
		t.Fatalf("only %d foreground anchors with a positive score: the case tests little", weighted)
	}
	analytic := [3][]float32{}
	for i, g := range grads {
		analytic[i] = append([]float32(nil), g.Data...)
	}
	fm, bs, err := l.setup(maps)
	if err != nil {
		t.Fatal(err)
	}
	l.frozenAlpha = true
	total := func() float64 {
		l.sigmoid(fm, bs)
		it := l.losses(fm, bs)
		return float64(bs) * (it[0] + it[1] + it[2])
	}
	type entry struct{ level, idx int }
	var entries []entry
	for _, f := range l.fg {
		li, p := l.locate(f.anchor)
		for ch := range 4 * RegMax {
			entries = append(entries, entry{li, fm[li].idx(int(f.img), ch, p)})
		}
		entries = append(entries, entry{li, fm[li].idx(int(f.img), 4*RegMax+int(l.gts[f.gt].cls), p)})
	}
	for range 40 {
		li := r.IntN(3)
		entries = append(entries, entry{li, r.IntN(len(maps[li].Data))})
	}
	var scale float64
	for _, a := range analytic {
		for _, v := range a {
			scale = max(scale, math.Abs(float64(v)))
		}
	}
	worst := 0.0
	for _, en := range entries {
		d := maps[en.level].Data
		orig := d[en.idx]
		// float32 maps and the float32 sigmoid limit how small h can be.
		const h = 1e-2
		d[en.idx] = orig + h
		hi := float64(d[en.idx])
		up := total()
		d[en.idx] = orig - h
		lo := float64(d[en.idx])
		down := total()
		d[en.idx] = orig
		num := (up - down) / (hi - lo)
		got := float64(analytic[en.level][en.idx])
		diff := math.Abs(num - got)
		worst = max(worst, diff/scale)
		if diff > 3e-5*scale+1e-4*math.Abs(num) {
			t.Errorf("map %d [%d]: analytic %.6g, numeric %.6g", en.level, en.idx, got, num)
		}
	}
	t.Logf("%d entries checked, worst difference %.2g of the largest gradient %.3g", len(entries), worst, scale)
}

// TestLossNoTargets: with no boxes everything is background: no box or DFL
// loss, zero gradient on the DFL logits, and the BCE of every class logit
// against 0, normalised by 1.
func TestLossNoTargets(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const nb, sz, nc = 2, 64, 2
	maps := synthMaps(r, nb, sz, nc)
	l := NewLoss(nc, DefaultLossHyp())
	total, items, grads, err := l.Compute(maps, Targets{})
	if err != nil {
		t.Fatal(err)
	}
	var bce float64
	for i, m := range maps {
		hw := m.Shape[2] * m.Shape[3]
		for j, x := range m.Data {
			g := float64(grads[i].Data[j])
			if (j/hw)%(4*RegMax+nc) < 4*RegMax {
				if g != 0 {
					t.Fatalf("map %d [%d]: DFL gradient %v without targets", i, j, g)
				}
				continue
			}
			xf := float64(x)
			bce += math.Log1p(math.Exp(-math.Abs(xf))) + max(xf, 0)
			sig := 1 / (1 + math.Exp(-xf))
			if want := 0.5 * nb * sig; math.Abs(g-want) > 1e-6*want+1e-12 {
				t.Fatalf("map %d [%d]: gradient %v, want %v", i, j, g, want)
			}
		}
	}
	if items[0] != 0 || items[2] != 0 {
		t.Errorf("box and DFL items %v, %v, want 0", items[0], items[2])
	}
	if want := 0.5 * bce; relErr(float64(items[1]), want, 0) > 1e-6 {
		t.Errorf("cls item %v, want %v", items[1], want)
	}
	if want := float64(nb) * 0.5 * bce; relErr(float64(total), want, 0) > 1e-6 {
		t.Errorf("total %v, want %v", total, want)
	}
}

func TestLossRejectsBadInput(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const nc = 3
	good := synthMaps(r, 2, 64, nc)
	box := []float32{0.5, 0.5, 0.2, 0.2}
	for _, tc := range []struct {
		name string
		maps [3]*tensor.Tensor
		t    Targets
		want string
	}{
		{"classes", synthMaps(r, 2, 64, nc+1), Targets{}, "map 0 has shape"},
		{"level size", [3]*tensor.Tensor{good[0], good[2], good[2]}, Targets{}, "map 1 has shape"},
		{"batch", [3]*tensor.Tensor{good[0], good[1], synthMaps(r, 1, 64, nc)[2]}, Targets{}, "map 2 has shape"},
		{"not 4-D", [3]*tensor.Tensor{tensor.New(2, 67), good[1], good[2]}, Targets{}, "map 0"},
		{"nil", [3]*tensor.Tensor{good[0], nil, good[2]}, Targets{}, "map 1 is nil"},
		{"lengths", good, Targets{Cls: []float32{0}, BatchIdx: []float32{0}, Boxes: box[:3]}, "3 box values"},
		{"batch index", good, Targets{Cls: []float32{0}, BatchIdx: []float32{2}, Boxes: box}, "target 0: batch index 2"},
		{"fractional index", good, Targets{Cls: []float32{0}, BatchIdx: []float32{0.5}, Boxes: box}, "batch index 0.5"},
		{"class", good, Targets{Cls: []float32{1, 3}, BatchIdx: []float32{0, 1}, Boxes: append(box, box...)}, "target 1: class 3"},
		{"negative class", good, Targets{Cls: []float32{-1}, BatchIdx: []float32{0}, Boxes: box}, "class -1"},
		{"NaN", good, Targets{Cls: []float32{0}, BatchIdx: []float32{0}, Boxes: []float32{0.5, float32(math.NaN()), 0.1, 0.1}}, "coordinate 1 is NaN"},
		{"huge", good, Targets{Cls: []float32{0}, BatchIdx: []float32{0}, Boxes: []float32{3e38, 0.5, 0.1, 0.1}}, "target 0: box [3e+38 0.5 0.1 0.1] is out of range"},
		{"Inf", good, Targets{Cls: []float32{0}, BatchIdx: []float32{0}, Boxes: []float32{0.5, 0.5, float32(math.Inf(1)), 0.1}}, "coordinate 2 is +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := NewLoss(nc, DefaultLossHyp()).Compute(tc.maps, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzLossTargets feeds arbitrary targets (any float32 bit patterns,
// classes and batch indices near the valid range) to Compute, which must
// either reject them or return a result without panicking.
func FuzzLossTargets(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 63, 0, 0, 0, 63, 205, 204, 76, 62, 205, 204, 76, 62})
	f.Add([]byte{1, 2, 0, 0, 128, 127, 0, 0, 192, 127, 0, 0, 0, 0, 0, 0, 0, 0})
	const nb, nc = 2, 3
	maps := synthMaps(rand.New(rand.NewPCG(15, 16)), nb, 64, nc)
	l := NewLoss(nc, DefaultLossHyp())
	f.Fuzz(func(t *testing.T, data []byte) {
		var tg Targets
		for ; len(data) >= 18; data = data[18:] {
			tg.BatchIdx = append(tg.BatchIdx, float32(int(data[0])%(nb+1)))
			tg.Cls = append(tg.Cls, float32(int(data[1])%(nc+1)))
			for k := range 4 {
				tg.Boxes = append(tg.Boxes, math.Float32frombits(binary.LittleEndian.Uint32(data[2+4*k:])))
			}
		}
		l.Compute(maps, tg)
	})
}

// TestLossAllocatesNothing: once its buffers have grown, a Loss computes
// a batch without allocating, as a training step needs.
func TestLossAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	maps := synthMaps(r, 4, 128, 3)
	tg := synthTargets(r, 4, 6, 3)
	l := NewLoss(3, DefaultLossHyp())
	if _, _, _, err := l.Compute(maps, tg); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { l.Compute(maps, tg) }); n != 0 {
		t.Errorf("%v allocations per Compute, want 0", n)
	}
}

// BenchmarkLoss times the loss and its gradient for a training batch:
// 16 images at 320 px, 8 boxes each, 80 and 1 classes.
func BenchmarkLoss(b *testing.B) {
	for _, nc := range []int{80, 1} {
		b.Run(fmt.Sprintf("nc=%d", nc), func(b *testing.B) {
			r := rand.New(rand.NewPCG(11, 12))
			maps := synthMaps(r, 16, 320, nc)
			tg := synthTargets(r, 16, 8, nc)
			l := NewLoss(nc, DefaultLossHyp())
			if _, _, _, err := l.Compute(maps, tg); err != nil { // grow the buffers
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := l.Compute(maps, tg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
