package train

import (
	"context"
	"errors"
	"iter"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/plots"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// batchesOf yields the batches given, then err if it is not nil.
func batchesOf(err error, bs ...*dataset.Batch) iter.Seq2[*dataset.Batch, error] {
	return func(yield func(*dataset.Batch, error) bool) {
		for _, b := range bs {
			if !yield(b, nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// randomBatch is n random images of size x size.
func randomBatch(r *rand.Rand, index, n, size int) *dataset.Batch {
	b := &dataset.Batch{Index: index, N: n, H: size, W: size, Images: make([]float32, n*3*size*size)}
	for i := range b.Images {
		b.Images[i] = r.Float32()
	}
	return b
}

// firstBNStats computes, directly, the mean and unbiased variance over
// the batch of each output channel of model.0's convolution (3x3,
// stride 2, padding 1, no bias): what model.0.bn normalises.
func firstBNStats(t *testing.T, m *yolo.Model, b *dataset.Batch) (mean, vars []float64) {
	t.Helper()
	var w *tensor.Tensor
	for _, n := range m.State() {
		if n.Name == "model.0.conv.weight" {
			w = n.Tensor
		}
	}
	if w == nil || len(w.Shape) != 4 || w.Shape[1] != 3 || w.Shape[2] != 3 {
		t.Fatalf("model.0.conv.weight: %v", w)
	}
	co, oh, ow := w.Shape[0], b.H/2, b.W/2
	for c := range co {
		var vals []float64
		for i := range b.N {
			for y := range oh {
				for x := range ow {
					var s float64
					for ci := range 3 {
						for ky := range 3 {
							for kx := range 3 {
								iy, ix := 2*y+ky-1, 2*x+kx-1
								if iy < 0 || ix < 0 || iy >= b.H || ix >= b.W {
									continue
								}
								s += float64(w.Data[((c*3+ci)*3+ky)*3+kx]) * float64(b.Images[((i*3+ci)*b.H+iy)*b.W+ix])
							}
						}
					}
					vals = append(vals, s)
				}
			}
		}
		var mu, ss float64
		for _, v := range vals {
			mu += v
		}
		mu /= float64(len(vals))
		for _, v := range vals {
			ss += (v - mu) * (v - mu)
		}
		mean, vars = append(mean, mu), append(vars, ss/float64(len(vals)-1))
	}
	return mean, vars
}

func newTestModel(t *testing.T, e *nn.Engine) *yolo.Model {
	t.Helper()
	m, err := yolo.New(e, yolo.Config{Scale: "n", NC: 1}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func namedOf(m *yolo.Model, name string) *tensor.Tensor {
	for _, n := range m.State() {
		if n.Name == name {
			return n.Tensor
		}
	}
	return nil
}

func isBuffer(name string) bool {
	return strings.HasSuffix(name, ".running_mean") || strings.HasSuffix(name, ".running_var")
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / max(math.Abs(want), 1e-12) }

func TestBNMomentum(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	if m := float64(nn.NewBatchNorm2d(e, "x", 1).Momentum); m != bnMomentum {
		t.Errorf("nn.BatchNorm2d momentum %v, recalibrateBN assumes %v", m, bnMomentum)
	}
}

// TestRecalibrateBN checks the statistics against model.0's computed
// directly, for one batch and as the average of two, that every layer's
// are its batch's after a one-batch recalibration, and that weights are
// untouched and the result reproducible.
func TestRecalibrateBN(t *testing.T) {
	e := nn.NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	b1, b2 := randomBatch(r, 0, 2, 128), randomBatch(r, 1, 2, 128)

	m := newTestModel(t, e)
	before := map[string][]float32{}
	for _, n := range m.State() {
		before[n.Name] = slices.Clone(n.Tensor.Data)
	}
	used, err := recalibrateBN(context.Background(), m, batchesOf(nil, b1, b2), 1)
	if err != nil || used != 1 {
		t.Fatalf("recalibrateBN on 1 of 2 batches: %d, %v", used, err)
	}
	mean, vars := firstBNStats(t, m, b1)
	gotMean, gotVar := namedOf(m, "model.0.bn.running_mean"), namedOf(m, "model.0.bn.running_var")
	for c := range mean {
		if relErr(float64(gotVar.Data[c]), vars[c]) > 1e-5 || math.Abs(float64(gotMean.Data[c])-mean[c]) > 1e-5*math.Sqrt(vars[c]) {
			t.Errorf("model.0.bn channel %d: running mean %v var %v, batch mean %v var %v", c, gotMean.Data[c], gotVar.Data[c], mean[c], vars[c])
		}
	}
	for _, n := range m.State() {
		if !isBuffer(n.Name) && !slices.Equal(n.Tensor.Data, before[n.Name]) {
			t.Errorf("recalibrateBN changed %s", n.Name)
		}
	}
	// Every layer, not only the first, holds its batch statistics: one
	// more training-mode forward on the batch, which moves each running
	// statistic towards the batch's, leaves them where they are.
	recal := map[string][]float32{}
	for _, n := range m.State() {
		if isBuffer(n.Name) {
			recal[n.Name] = slices.Clone(n.Tensor.Data)
		}
	}
	x, err := tensor.FromData(b1.Images, b1.N, 3, b1.H, b1.W)
	if err != nil {
		t.Fatal(err)
	}
	m.SetTrain(true)
	m.Forward(x)
	m.SetTrain(false)
	for _, n := range m.State() {
		if !isBuffer(n.Name) {
			continue
		}
		for j, v := range n.Tensor.Data {
			if w := recal[n.Name][j]; math.Abs(float64(v-w)) > 1e-5*max(math.Abs(float64(w)), 1e-2) {
				t.Errorf("%s[%d] = %v after recalibration, %v after one more forward: not the batch's", n.Name, j, w, v)
				break
			}
		}
	}

	// Two batches: the plain average of their statistics, as
	// momentum=None; the same twice over.
	var runs [2][]float32
	for k := range runs {
		if used, err := recalibrateBN(context.Background(), m, batchesOf(nil, b1, b2), 5); err != nil || used != 2 {
			t.Fatalf("recalibrateBN on 2 batches: %d, %v", used, err)
		}
		for _, n := range m.State() {
			if isBuffer(n.Name) {
				runs[k] = append(runs[k], n.Tensor.Data...)
			}
		}
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Error("two recalibrations on the same batches differ")
	}
	mean2, vars2 := firstBNStats(t, m, b2)
	for c := range mean {
		wm, wv := (mean[c]+mean2[c])/2, (vars[c]+vars2[c])/2
		if relErr(float64(gotVar.Data[c]), wv) > 1e-5 || math.Abs(float64(gotMean.Data[c])-wm) > 1e-5*math.Sqrt(wv) {
			t.Errorf("model.0.bn channel %d over 2 batches: running mean %v var %v, want %v and %v", c, gotMean.Data[c], gotVar.Data[c], wm, wv)
		}
	}
}

func TestRecalibrateBNErrors(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	m := newTestModel(t, e)
	b := randomBatch(rand.New(rand.NewPCG(5, 6)), 0, 1, 64)
	boom := errors.New("unreadable image")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		batches iter.Seq2[*dataset.Batch, error]
		n       int
		want    string
	}{
		{"zero batches asked", context.Background(), batchesOf(nil, b), 0, "want at least 1"},
		{"no batches", context.Background(), batchesOf(nil), 1, "no batches"},
		{"loader error", context.Background(), batchesOf(boom, b), 2, "unreadable image"},
		{"cancelled", cancelled, batchesOf(nil, b), 1, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := recalibrateBN(tc.ctx, m, tc.batches, tc.n)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestRunBNRecal trains with and without bn_recal, and with it in one go
// and resumed: the recalibration changes only the saved BatchNorm
// statistics, which are those of recalibrateBN on the epoch's batches,
// and a resumed training still matches bit for bit.
func TestRunBNRecal(t *testing.T) {
	data := synthDataset(t, 12, 64, []string{"red", "green"})
	a := tinyArgs(t, data, 2)
	a.BNRecal = 2 // of 3 batches
	straight := runUntil(t, a, 1)

	b := a
	b.Project = t.TempDir()
	r, err := ResumeArgs(filepath.Join(runUntil(t, b, 0), "weights", "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	resumed := runUntil(t, r, 1)

	c := a
	c.Project, c.BNRecal = t.TempDir(), 0
	plain := runUntil(t, c, 1)

	read := func(dir string) *yolo.Checkpoint {
		ck, err := yolo.ReadCheckpoint(filepath.Join(dir, "weights", "last.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	ckS, ckR, ckP := read(straight), read(resumed), read(plain)
	if len(ckS.EMA) != len(ckR.EMA) || len(ckS.EMA) != len(ckP.EMA) || len(ckS.Model) != len(ckP.Model) {
		t.Fatalf("checkpoints of %d, %d and %d EMA tensors", len(ckS.EMA), len(ckR.EMA), len(ckP.EMA))
	}
	for i, n := range ckS.EMA {
		if n.Name != ckR.EMA[i].Name || n.Name != ckP.EMA[i].Name {
			t.Fatalf("EMA tensor %d is %s, %s and %s", i, n.Name, ckR.EMA[i].Name, ckP.EMA[i].Name)
		}
		if !slices.Equal(n.Tensor.Data, ckR.EMA[i].Tensor.Data) {
			t.Errorf("EMA %s differs between the resumed and the straight training", n.Name)
		}
		same := slices.Equal(n.Tensor.Data, ckP.EMA[i].Tensor.Data)
		if isBuffer(n.Name) == same {
			t.Errorf("EMA %s with bn_recal equal to without: %v (only running statistics should differ)", n.Name, same)
		}
	}
	for i, n := range ckS.Model {
		if n.Name != ckP.Model[i].Name || !slices.Equal(n.Tensor.Data, ckP.Model[i].Tensor.Data) {
			t.Errorf("trained %s differs with bn_recal: the training itself must not change", n.Name)
		}
	}
	rs, err := plots.ReadResultsCSV(filepath.Join(straight, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rp, err := plots.ReadResultsCSV(filepath.Join(plain, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs.Rows {
		if !slices.Equal(rs.Rows[i][:4], rp.Rows[i][:4]) {
			t.Errorf("epoch %d train losses %v with bn_recal, %v without", i+1, rs.Rows[i][:4], rp.Rows[i][:4])
		}
	}

	// The saved statistics are recalibrateBN's on the last epoch's
	// batches, from the EMA weights.
	e := nn.NewEngine(1)
	defer e.Close()
	m, err := yolo.New(e, ckS.Meta.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(ckS.EMASource()); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.State() {
		if isBuffer(n.Name) {
			clear(n.Tensor.Data)
		}
	}
	dc, err := dataset.LoadConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	split, err := dc.Scan(context.Background(), "train")
	if err != nil {
		t.Fatal(err)
	}
	l, err := dataset.NewLoader(split.Items, recalLoaderOptions(a, 2))
	if err != nil {
		t.Fatal(err)
	}
	if used, err := recalibrateBN(context.Background(), m, l.Epoch(context.Background(), 1), a.BNRecal); err != nil || used != 2 {
		t.Fatalf("recalibrateBN: %d batches, %v", used, err)
	}
	saved := map[string][]float32{}
	for _, n := range ckS.EMA {
		saved[n.Name] = n.Tensor.Data
	}
	for _, n := range m.State() {
		if isBuffer(n.Name) && !slices.Equal(n.Tensor.Data, saved[n.Name]) {
			t.Errorf("saved %s is not the recalibration's", n.Name)
		}
	}
}

func TestBNRecalArg(t *testing.T) {
	a := DefaultArgs()
	a.Data = "d.yaml"
	if a.BNRecal != 0 || a.Params()["bn_recal"] != "0" {
		t.Errorf("default bn_recal %d (param %q), want 0: Ultralytics' behaviour", a.BNRecal, a.Params()["bn_recal"])
	}
	a.BNRecal = -1
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "bn_recal -1") {
		t.Errorf("bn_recal -1: %v", err)
	}
	a.BNRecal = 4
	if err := a.Validate(); err != nil {
		t.Errorf("bn_recal 4: %v", err)
	}
}
