package yolo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlpodyssey/safetensors"

	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
)

// testCheckpoint returns a checkpoint of a yolov8n with nc classes whose
// EMA differs from the model, with Adam state for two parameters and a
// pending gradient.
func testCheckpoint(t testing.TB, e *nn.Engine, nc int) *Checkpoint {
	t.Helper()
	m, err := New(e, Config{"n", nc}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var ema []Named
	for _, n := range m.State() {
		c := n.Tensor.Clone()
		for i := range c.Data {
			c.Data[i] = c.Data[i]*0.5 + 0.25
		}
		ema = append(ema, Named{n.Name, c})
	}
	st := m.State()
	mk := func(name string, like *tensor.Tensor, v float32) Named {
		t := tensor.New(like.Shape...)
		for i := range t.Data {
			t.Data[i] = v + float32(i)
		}
		return Named{name, t}
	}
	best, fit := 0.25, 0.125
	names := make([]string, nc)
	for i := range names {
		names[i] = "class" + string(rune('a'+i))
	}
	return &Checkpoint{
		Meta: CheckpointMeta{
			Config: Config{"n", nc}, Task: "detect", Names: names, Epoch: 4,
			BestFitness: &best, Fitness: &fit, Args: json.RawMessage(`{"epochs":10,"lr0":0.01}`),
			Optimizer:       "AdamW",
			OptimizerGroups: []OptimizerGroup{{0.001, 0.002, 0.9, 0}, {0.001, 0.002, 0.9, 0.0005}, {0.001, 0.002, 0.9, 0}},
			OptimizerSteps:  map[string]int{st[0].Name: 7, st[1].Name: 7},
			EMAUpdates:      7, LastOptStep: 13, TrainSeed: 42,
			EarlyStopping: EarlyStopping{BestEpoch: 3, BestFitness: 0.25},
			Metrics:       map[string]float64{"metrics/mAP50(B)": 0.5, "fitness": 0.125},
			Date:          time.Date(2024, 8, 30, 12, 0, 0, 0, time.UTC), Version: "v0.1.0",
		},
		Model: st,
		EMA:   ema,
		Optimizer: []Named{
			mk(st[0].Name+".exp_avg", st[0].Tensor, 1), mk(st[0].Name+".exp_avg_sq", st[0].Tensor, 2),
			mk(st[1].Name+".exp_avg", st[1].Tensor, 3), mk(st[1].Name+".exp_avg_sq", st[1].Tensor, 4),
		},
		Grads: []Named{mk(st[2].Name, st[2].Tensor, 5)},
	}
}

func sameNamed(t *testing.T, what string, got, want []Named) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got), len(want))
	}
	byName := map[string]*tensor.Tensor{}
	for _, n := range got {
		byName[n.Name] = n.Tensor
	}
	for _, n := range want {
		g := byName[n.Name]
		if g == nil || !slices.Equal(g.Shape, n.Tensor.Shape) || !slices.Equal(g.Data, n.Tensor.Data) {
			t.Fatalf("%s: tensor %s differs after the round trip", what, n.Name)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	want := testCheckpoint(t, e, 2)
	path := filepath.Join(t.TempDir(), "last.safetensors")
	if err := WriteCheckpoint(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	sameNamed(t, "model", got.Model, want.Model)
	sameNamed(t, "ema", got.EMA, want.EMA)
	sameNamed(t, "optimizer", got.Optimizer, want.Optimizer)
	sameNamed(t, "grads", got.Grads, want.Grads)
	if !reflect.DeepEqual(got.Meta, want.Meta) {
		t.Errorf("metadata:\n got %+v\nwant %+v", got.Meta, want.Meta)
	}
	if got.Finalized() {
		t.Error("an epoch-4 checkpoint reads as finalised")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	// A plain safetensors reader sees the documented names and metadata.
	data, _ := os.ReadFile(path)
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"model.0.conv.weight", "ema.model.0.conv.weight", "optimizer.model.0.conv.weight.exp_avg", "grad.model.0.bn.bias"} {
		if _, ok := st.Tensor(name); !ok {
			t.Errorf("no tensor %s in the file", name)
		}
	}
	_, md, _ := safetensors.ReadMetadata(data)
	meta := md.Metadata()
	for k, v := range map[string]string{"format": "yolops-checkpoint", "format_version": "1", "task": "detect", "model": "yolov8n",
		"nc": "2", "epoch": "4", "names": `["classa","classb"]`, "ema_updates": "7", "train_seed": "42", "optimizer": "AdamW", "yolops_version": "v0.1.0"} {
		if meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
		}
	}
}

// TestOpenCheckpoint checks that predict and val, through Open, take a
// checkpoint's EMA weights, or its model's once finalised.
func TestOpenCheckpoint(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	ck := testCheckpoint(t, e, 2)
	dir := t.TempDir()
	path := filepath.Join(dir, "last.safetensors")
	if err := WriteCheckpoint(path, ck); err != nil {
		t.Fatal(err)
	}
	w, err := Open(context.Background(), e, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.Names, []string{"classa", "classb"}) {
		t.Errorf("names %v", w.Names)
	}
	sameNamed(t, "opened weights", w.Model.State(), ck.EMA)
	ck.Model, ck.EMA, ck.Optimizer, ck.Grads, ck.Meta.Epoch = ck.EMA, nil, nil, nil, -1
	final := filepath.Join(dir, "best.safetensors")
	if err := WriteCheckpoint(final, ck); err != nil {
		t.Fatal(err)
	}
	w, err = Open(context.Background(), e, final, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameNamed(t, "opened final weights", w.Model.State(), ck.Model)
	c, err := ReadCheckpoint(final)
	if err != nil || !c.Finalized() {
		t.Errorf("final checkpoint: %v, finalized %v", err, c != nil && c.Finalized())
	}
}

func TestCheckpointErrors(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := WriteCheckpoint(good, testCheckpoint(t, e, 1)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edits := 0
	ck := func(edit func(*Checkpoint)) string {
		c := testCheckpoint(t, e, 1)
		edit(c)
		p := filepath.Join(dir, fmt.Sprintf("edited%d.safetensors", edits))
		edits++
		if err := WriteCheckpoint(p, c); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, _ := New(e, Config{"n", 1}, nil)
	var plain bytes.Buffer
	if err := m.WriteSafetensors(&plain, nil); err != nil {
		t.Fatal(err)
	}
	meta, err := testCheckpoint(t, e, 1).Meta.encode()
	if err != nil {
		t.Fatal(err)
	}
	meta["format_version"] = "2"
	newer, err := safetensors.Serialize(map[string]safetensors.TensorView{}, meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"truncated tensors", write("t1.safetensors", data[:len(data)-1000]), "truncated: the header describes"},
		{"truncated header", write("t2.safetensors", data[:100]), "truncated: the header alone"},
		{"empty", write("t3.safetensors", nil), "truncated"},
		{"weights only", write("plain.safetensors", plain.Bytes()), "not a yolops training checkpoint"},
		{"newer format", write("newer.safetensors", newer), "format version 2"},
		{"another task", ck(func(c *Checkpoint) { c.Meta.Task = "segment" }), `a "segment" checkpoint`},
		{"wrong architecture", ck(func(c *Checkpoint) { c.Meta.Config = Config{"s", 1} }), "wrong architecture: the metadata says yolov8s with 1 classes, the weights are yolov8n"},
		{"class count", ck(func(c *Checkpoint) { c.Meta.Config.NC, c.Meta.Names = 3, []string{"a", "b", "c"} }), "wrong architecture"},
		{"stray ema", ck(func(c *Checkpoint) { c.EMA[0].Name = "model.99.conv.weight" }), "EMA tensor model.99.conv.weight"},
		{"unknown state", ck(func(c *Checkpoint) { c.Optimizer[0].Name = "model.0.conv.weight.velocity" }), `unknown state "velocity"`},
		{"stray gradient", ck(func(c *Checkpoint) { c.Grads[0].Tensor = tensor.New(3) }), "gradient"},
		{"names", ck(func(c *Checkpoint) { c.Meta.Names = []string{"a", "b"} }), "2 class names for 1 classes"},
		{"missing", filepath.Join(dir, "none.safetensors"), "no such file"},
	} {
		_, err := ReadCheckpoint(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestWriteCheckpointKeepsOld checks that a failed write leaves the
// previous file whole and no temporary file behind.
func TestWriteCheckpointKeepsOld(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "last.safetensors")
	if err := WriteCheckpoint(path, testCheckpoint(t, e, 1)); err != nil {
		t.Fatal(err)
	}
	bad := testCheckpoint(t, e, 1)
	bad.Grads = append(bad.Grads, bad.Grads[0]) // the same tensor twice
	if err := WriteCheckpoint(path, bad); err == nil {
		t.Fatal("a checkpoint with a duplicate tensor was written")
	}
	if _, err := ReadCheckpoint(path); err != nil {
		t.Errorf("the old checkpoint was damaged: %v", err)
	}
	if err := WriteCheckpoint(filepath.Join(dir, "missing", "x.safetensors"), testCheckpoint(t, e, 1)); err == nil {
		t.Error("wrote into a missing directory")
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Errorf("files left in the directory: %v", es)
	}
}

// tinyCheckpoint is a checkpoint file with only the two tensors the
// architecture is read from: small enough to fuzz.
func tinyCheckpoint(t testing.TB) []byte {
	meta, err := (&CheckpointMeta{Config: Config{"n", 1}, Task: "detect", Names: []string{"person"}}).encode()
	if err != nil {
		t.Fatal(err)
	}
	view := func(shape ...uint64) safetensors.TensorView {
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		v, err := safetensors.NewTensorView(safetensors.F32, shape, make([]byte, 4*n))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	data, err := safetensors.Serialize(map[string]safetensors.TensorView{
		"model.0.conv.weight":       view(16, 3, 3, 3),
		"model.22.cv3.0.2.bias":     view(1),
		"ema.model.0.conv.weight":   view(16, 3, 3, 3),
		"ema.model.22.cv3.0.2.bias": view(1),
	}, meta)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func FuzzParseCheckpoint(f *testing.F) {
	good := tinyCheckpoint(f)
	if _, err := parseCheckpoint(good); err != nil {
		f.Fatalf("the seed does not parse: %v", err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}        "))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCheckpoint(data)
		if err != nil {
			return
		}
		if c.Meta.Task != "detect" || len(c.Model) == 0 || len(c.Meta.Names) != c.Meta.Config.NC {
			t.Fatalf("accepted an inconsistent checkpoint: %+v", c.Meta)
		}
	})
}
