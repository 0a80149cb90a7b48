package yolo

import (
	"math/rand/v2"
	"testing"

	"github.com/yolops/yolops/nn"
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
