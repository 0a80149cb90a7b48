package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

func newModel(t testing.TB, e *nn.Engine, scale string, nc int, seed uint64) *yolo.Model {
	t.Helper()
	m, err := yolo.New(e, yolo.Config{Scale: scale, NC: nc}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestParamGroupsYOLOv8n checks the grouping against Ultralytics' log for
// yolov8n: "AdamW(lr=0.002, momentum=0.9) with parameter groups 57
// weight(decay=0.0), 64 weight(decay=0.0005), 63 bias(decay=0.0)".
func TestParamGroupsYOLOv8n(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	for _, nc := range []int{1, 80} {
		m := newModel(t, e, "n", nc, 1)
		groups, counts := paramGroups(m, frozenLayers(0))
		if counts != [3]int{63, 64, 57} {
			t.Errorf("nc %d: group counts (bias, weight, norm) %v, want [63 64 57]", nc, counts)
		}
		// The 64th decaying weight is the DFL's, frozen: not optimised.
		if got := [3]int{len(groups[0]), len(groups[1]), len(groups[2])}; got != [3]int{63, 63, 57} {
			t.Errorf("nc %d: trained group sizes %v, want [63 63 57]", nc, got)
		}
		for _, p := range groups[pgBias] {
			if !strings.HasSuffix(p.Name, "bias") {
				t.Errorf("%s in the bias group", p.Name)
			}
		}
		for _, p := range groups[pgNorm] {
			if !strings.HasSuffix(p.Name, ".bn.weight") {
				t.Errorf("%s in the BatchNorm group", p.Name)
			}
		}
		for _, p := range groups[pgWeight] {
			if !strings.HasSuffix(p.Name, "weight") || strings.Contains(p.Name, ".bn.") {
				t.Errorf("%s in the decaying weight group", p.Name)
			}
		}
	}
	m := newModel(t, e, "n", 1, 1)
	groups, counts := paramGroups(m, frozenLayers(10))
	if counts != [3]int{63, 64, 57} {
		t.Errorf("freeze 10: counts %v; frozen parameters still count, as in Ultralytics' log", counts)
	}
	n := 0
	for _, g := range groups {
		for _, p := range g {
			n++
			for i := range 10 {
				if strings.HasPrefix(p.Name, "model."+strconv.Itoa(i)+".") {
					t.Errorf("freeze 10: %s is trained", p.Name)
				}
			}
		}
	}
	if n >= 183 || n == 0 {
		t.Errorf("freeze 10: %d parameters trained of 183", n)
	}
}

func TestFrozenLayers(t *testing.T) {
	f := frozenLayers(3)
	for name, want := range map[string]bool{
		"model.0.conv.weight": true, "model.2.m.0.cv1.bn.bias": true, "model.3.conv.weight": false,
		"model.22.cv2.0.2.bias": false, "model.12.cv1.conv.weight": false,
	} {
		if f(name) != want {
			t.Errorf("freeze 3: %s frozen %v, want %v", name, f(name), want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	mk := func(vals ...float32) *nn.Param {
		p := nn.NewParam("p", nn.GroupWeight, len(vals))
		copy(p.Grad.Data, vals)
		return p
	}
	// Norm sqrt(3² + 4² + 12²) = 13: scaled by 10/(13 + 1e-6).
	ps := []*nn.Param{mk(3, 4), mk(12)}
	if n := clipGradNorm(ps, 10); n != 13 {
		t.Errorf("norm %v, want 13", n)
	}
	k := float32(10 / (13 + 1e-6))
	if want := []float32{3 * k, 4 * k}; !slices.Equal(ps[0].Grad.Data, want) {
		t.Errorf("clipped %v, want %v", ps[0].Grad.Data, want)
	}
	// Below the norm nothing changes.
	ps = []*nn.Param{mk(3, 4)}
	clipGradNorm(ps, 10)
	if !slices.Equal(ps[0].Grad.Data, []float32{3, 4}) {
		t.Errorf("a norm of 5 was clipped to %v", ps[0].Grad.Data)
	}
}

func TestNewOptimizer(t *testing.T) {
	p := [3][]*nn.Param{{nn.NewParam("b", nn.GroupBias, 2)}, {nn.NewParam("w", nn.GroupWeight, 2)}, {nn.NewParam("g", nn.GroupNorm, 2)}}
	for _, name := range []string{"SGD", "Adam", "AdamW"} {
		o, err := newOptimizer(optimizerChoice{Name: name, LR: 0.01, Momentum: 0.9}, 0.0005, p)
		if err != nil {
			t.Fatal(err)
		}
		g := o.Groups()
		if len(g) != 3 || g[0].WeightDecay != 0 || g[1].WeightDecay != 0.0005 || g[2].WeightDecay != 0 || g[1].LR != 0.01 {
			t.Errorf("%s: groups %+v %+v %+v", name, *g[0], *g[1], *g[2])
		}
		switch o := o.(type) {
		case *nn.SGD:
			if !o.Nesterov || name != "SGD" {
				t.Errorf("%s: %T nesterov %v", name, o, o.Nesterov)
			}
		case *nn.Adam:
			if o.Decoupled != (name == "AdamW") || o.Beta1 != 0.9 || o.Beta2 != 0.999 {
				t.Errorf("%s: %+v", name, o)
			}
		}
	}
	if _, err := newOptimizer(optimizerChoice{Name: "RMSProp"}, 0, p); err == nil {
		t.Error("RMSProp accepted")
	}
}

// TestTransfer checks intersect_dicts' rule from 80 classes to one: all
// but the classification branch (3 levels of two Conv+BN blocks and the
// output conv: 3*(5+5+2) = 36 tensors) are copied.
func TestTransfer(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	src := newModel(t, e, "n", 80, 1)
	dst := newModel(t, e, "n", 1, 2)
	fresh := dst.State()[len(dst.State())-2].Tensor.Clone() // a cv3 tensor
	n := transfer(dst, src.State())
	if want := len(dst.State()) - 36; n != want {
		t.Errorf("transferred %d tensors, want %d", n, want)
	}
	srcT := map[string]*tensor.Tensor{}
	for _, s := range src.State() {
		srcT[s.Name] = s.Tensor
	}
	for _, d := range dst.State() {
		copied := slices.Equal(d.Tensor.Data, srcT[d.Name].Data)
		if strings.Contains(d.Name, ".cv3.") {
			continue
		}
		if !copied {
			t.Errorf("%s was not copied", d.Name)
		}
	}
	last := dst.State()[len(dst.State())-2]
	if !slices.Equal(last.Tensor.Data, fresh.Data) {
		t.Errorf("%s changed: it has no counterpart of its shape", last.Name)
	}
}

// randomize fills every tensor of m's state with distinct random values
// (running variances positive), so that copies can be traced.
func randomize(m *yolo.Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 3))
	for _, n := range m.State() {
		for i := range n.Tensor.Data {
			v := float32(r.NormFloat64() * 0.1)
			if strings.HasSuffix(n.Name, "running_var") {
				v = 0.5 + float32(r.Float64())
			}
			n.Tensor.Data[i] = v
		}
	}
}

func TestInitHeadFromClassSameWidth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two yolov8s models")
	}
	// yolov8s: the class branch is 128 wide for 80 classes and for one,
	// so the new logit is the pretrained one of class k exactly.
	e := nn.NewEngine(1)
	defer e.Close()
	src := newModel(t, e, "s", 80, 1)
	randomize(src, 5)
	dst := newModel(t, e, "s", 1, 2)
	transfer(dst, src.State())
	const k = 5
	if err := initHeadFromClass(dst, src.State(), k); err != nil {
		t.Fatal(err)
	}
	src.SetTrain(false)
	dst.SetTrain(false)
	x := tensor.New(1, 3, 64, 64)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range x.Data {
		x.Data[i] = float32(r.Float64())
	}
	want := src.Forward(x)
	var wantCls [3][]float32
	for i, m := range want {
		hw := m.Shape[2] * m.Shape[3]
		wantCls[i] = slices.Clone(m.Data[(64+k)*hw : (65+k)*hw])
	}
	got := dst.Forward(x)
	for i, m := range got {
		hw := m.Shape[2] * m.Shape[3]
		for p, v := range m.Data[64*hw : 65*hw] {
			if w := wantCls[i][p]; math.Abs(float64(v-w)) > 1e-4*math.Max(1, math.Abs(float64(w))) {
				t.Fatalf("level %d cell %d: logit %v, pretrained class %d %v", i, p, v, k, w)
			}
		}
	}
}

func TestInitHeadFromClassNarrower(t *testing.T) {
	// yolov8n: 80 wide for 80 classes, 64 for one. The new branch keeps
	// the 64 second-conv channels with the largest |weight| in row k of
	// the output conv, in order, with their BatchNorm, and the first
	// conv's channels they draw on most.
	e := nn.NewEngine(1)
	defer e.Close()
	src := newModel(t, e, "n", 80, 1)
	randomize(src, 6)
	dst := newModel(t, e, "n", 1, 2)
	transfer(dst, src.State())
	const k = 0
	if err := initHeadFromClass(dst, src.State(), k); err != nil {
		t.Fatal(err)
	}
	st := map[string]*tensor.Tensor{}
	for _, n := range src.State() {
		st[n.Name] = n.Tensor
	}
	dt := map[string]*tensor.Tensor{}
	for _, n := range dst.State() {
		dt[n.Name] = n.Tensor
	}
	for i := range 3 {
		p := "model.22.cv3." + strconv.Itoa(i) + "."
		row := st[p+"2.weight"].Data[k*80 : (k+1)*80]
		got := dt[p+"2.weight"].Data
		// The kept channels, found back by their value.
		var keep []int
		for _, v := range got {
			c := slices.Index(row, v)
			if c < 0 {
				t.Fatalf("level %d: weight %v is not from row %d", i, v, k)
			}
			keep = append(keep, c)
		}
		if !slices.IsSorted(keep) || len(keep) != 64 {
			t.Fatalf("level %d: kept channels %v, want 64 in ascending order", i, keep)
		}
		minKept := math.Inf(1)
		for _, c := range keep {
			minKept = math.Min(minKept, math.Abs(float64(row[c])))
		}
		for c, v := range row {
			if !slices.Contains(keep, c) && math.Abs(float64(v)) > minKept {
				t.Errorf("level %d: dropped channel %d (|w| %v) outweighs a kept one (%v)", i, c, math.Abs(float64(v)), minKept)
			}
		}
		if dt[p+"2.bias"].Data[0] != st[p+"2.bias"].Data[k] {
			t.Errorf("level %d: bias %v, want class %d's %v", i, dt[p+"2.bias"].Data[0], k, st[p+"2.bias"].Data[k])
		}
		for _, stat := range []string{"weight", "bias", "running_mean", "running_var"} {
			for r, c := range keep {
				if dt[p+"1.bn."+stat].Data[r] != st[p+"1.bn."+stat].Data[c] {
					t.Fatalf("level %d: bn %s of kept channel %d (row %d) not copied", i, stat, c, r)
				}
			}
		}
	}
	// A model of several classes has no single class row to start from.
	two := newModel(t, e, "n", 2, 3)
	if err := initHeadFromClass(two, src.State(), 0); err == nil {
		t.Error("a 2-class head was started from one class")
	}
}

func TestClassIndex(t *testing.T) {
	names := []string{"person", "bicycle", "car"}
	for _, tc := range []struct {
		spec string
		want int
		ok   bool
	}{{"person", 0, true}, {"car", 2, true}, {"1", 1, true}, {"3", 0, false}, {"-1", 0, false}, {"dog", 0, false}} {
		got, err := classIndex(tc.spec, names)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("classIndex(%q) = %d, %v", tc.spec, got, err)
		}
	}
}

func TestModelSpec(t *testing.T) {
	for _, tc := range []struct {
		model, scale, weights string
		ok                    bool
	}{
		{"yolov8n.yaml", "n", "", true},
		{"cfg/yolov8s.yml", "s", "", true},
		{"yolov8n", "", "yolov8n.pt", true}, // Ultralytics' check_model_file_from_stem
		{"yolov8n.pt", "", "yolov8n.pt", true},
		{"runs/x/weights/best.safetensors", "", "runs/x/weights/best.safetensors", true},
		{"yolov9n.yaml", "", "", false},
	} {
		scale, weights, err := modelSpec(tc.model)
		if (err == nil) != tc.ok || scale != tc.scale || weights != tc.weights {
			t.Errorf("modelSpec(%q) = %q, %q, %v", tc.model, scale, weights, err)
		}
	}
}
