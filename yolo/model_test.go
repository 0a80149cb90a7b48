package yolo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

func TestParamCountsMatchUltralytics(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	// Ultralytics 8.2: sum(p.numel() for p in DetectionModel("yolov8n.yaml", nc=...).parameters())
	for _, tc := range []struct {
		cfg  Config
		want int
	}{
		{Config{"n", 80}, 3157200},
		{Config{"n", 1}, 3011043},
		{Config{"s", 80}, 11166560},
		{Config{"m", 80}, 25902640},
	} {
		m, err := New(e, tc.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.NumParams(); got != tc.want {
			t.Errorf("%+v: %d parameters, want %d", tc.cfg, got, tc.want)
		}
	}
}

func TestStateNames(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	m, err := New(e, Config{"n", 80}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	st := m.State()
	for i, want := range map[int]string{
		0: "model.0.conv.weight", 1: "model.0.bn.weight", 4: "model.0.bn.running_var",
	} {
		if st[i].Name != want {
			t.Errorf("state[%d] = %s, want %s", i, st[i].Name, want)
		}
	}
	if last := st[len(st)-1].Name; last != "model.22.dfl.conv.weight" {
		t.Errorf("last state entry %s", last)
	}
	seen := map[string]bool{}
	for _, n := range st {
		if seen[n.Name] {
			t.Errorf("duplicate name %s", n.Name)
		}
		seen[n.Name] = true
	}
	if len(m.Params()) == 0 {
		t.Fatal("no params")
	}
}

// TestForwardChunks: in evaluation mode, the maps of a batch run a few
// images at a time equal Forward's over the whole batch, for chunk sizes
// that divide the batch and that leave a remainder; in training mode
// ForwardChunks is Forward.
func TestForwardChunks(t *testing.T) {
	for _, threads := range []int{1, 2} {
		e := nn.NewEngine(threads)
		defer e.Close()
		m, err := New(e, Config{"n", 2}, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		m.SetTrain(false)
		x := tensor.New(5, 3, 64, 96)
		r := rand.New(rand.NewPCG(5, 6))
		for i := range x.Data {
			x.Data[i] = r.Float32()
		}
		var want [3][]float32
		for l, mp := range m.Forward(x) {
			want[l] = slices.Clone(mp.Data)
		}
		for _, chunk := range []int{1, 2, 4, 5, 8} {
			var out [3]*tensor.Tensor
			got := m.ForwardChunks(x, chunk, &out)
			for l := range got {
				if got[l].Shape[0] != 5 || len(got[l].Data) != len(want[l]) {
					t.Fatalf("threads %d chunk %d map %d: shape %v", threads, chunk, l, got[l].Shape)
				}
				for i, v := range got[l].Data {
					if d := math.Abs(float64(v - want[l][i])); d > 1e-6*(1+math.Abs(float64(want[l][i]))) {
						t.Fatalf("threads %d chunk %d map %d [%d]: %v, Forward gives %v", threads, chunk, l, i, v, want[l][i])
					}
				}
			}
		}
		m.SetTrain(true)
		var out [3]*tensor.Tensor
		got := m.ForwardChunks(x, 2, &out)
		if out[0] != nil || got[0].Shape[0] != 5 {
			t.Fatalf("training mode: chunked (out %v, map shape %v)", out[0], got[0].Shape)
		}
	}
}

// TestEvalFollowsWeightChanges: in evaluation mode the convolutions keep
// their weights packed between passes; Load, and SetTrain(false) after a
// direct change, must make the next Forward use the new weights.
func TestEvalFollowsWeightChanges(t *testing.T) {
	e := nn.NewEngine(2)
	defer e.Close()
	cfg := Config{"n", 2}
	a, err := New(e, cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(e, cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 3, 64, 64)
	for i := range x.Data {
		x.Data[i] = float32(i%251) / 251
	}
	maps := func(m *Model) [3][]float32 {
		var out [3][]float32
		for l, mp := range m.Forward(x) {
			out[l] = slices.Clone(mp.Data)
		}
		return out
	}
	b.SetTrain(false)
	want := maps(b)
	a.SetTrain(false)
	before := maps(a) // packs a's weights
	if slices.Equal(before[0], want[0]) {
		t.Fatal("two differently seeded models give the same maps")
	}
	if err := a.Load(namedSource(b.State())); err != nil {
		t.Fatal(err)
	}
	if got := maps(a); !slices.Equal(got[0], want[0]) || !slices.Equal(got[2], want[2]) {
		t.Fatal("after Load in evaluation mode the maps still come from the old weights")
	}
	// A direct change, then SetTrain(false).
	for _, p := range a.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] *= 0.5
		}
	}
	a.SetTrain(false)
	if got := maps(a); slices.Equal(got[0], want[0]) {
		t.Fatal("after changing the weights and SetTrain(false) the maps are unchanged")
	}
}
