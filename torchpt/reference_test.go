package torchpt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestReference reads a full Ultralytics YOLOv8n checkpoint and compares
// its state dict with what torch reads (testdata/reference.json, written
// by testdata/refgen.py). The checkpoint is not committed: the test reads
// $TORCHPT_REFERENCE, or else /work/ref/out/<file>, and skips when it is
// absent or is not the file the JSON describes.
func TestReference(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		File       string
		Size       int64
		SHA256     string
		Count      int
		FloatCount int    `json:"float_count"`
		TotalSum   string `json:"total_sum"`
		Stride     []float32
		Tensors    [][4]any
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("TORCHPT_REFERENCE")
	if path == "" {
		path = filepath.Join("/work/ref/out", ref.File)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Skipf("reference checkpoint absent: %v", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != ref.SHA256 {
		t.Skipf("%s is not the checkpoint reference.json describes (sha256 %s); rerun testdata/refgen.py", path, got)
	}

	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := f.Root.(*Dict)
	if v, _ := root.GetString("version"); v != "8.2.82" {
		t.Errorf("version %q", v)
	}
	model, _ := root.Get("model")
	if m, ok := model.(*Object); !ok || m.Class() != "ultralytics.nn.tasks.DetectionModel" {
		t.Fatalf("model is a %s", typeName(model))
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	if sd.Len() != ref.Count || len(ref.Tensors) != ref.Count {
		t.Fatalf("%d tensors, torch has %d", sd.Len(), ref.Count)
	}
	floats, total := 0, 0.0
	for i, name := range sd.Names {
		want := ref.Tensors[i]
		x := sd.Tensors[name]
		if name != want[0] || string(x.DType) != want[1] {
			t.Fatalf("tensor %d: %s %s, torch has %s %s", i, name, x.DType, want[0], want[1])
		}
		shape := want[2].([]any)
		if len(shape) != len(x.Shape) {
			t.Fatalf("%s: shape %v, torch has %v", name, x.Shape, shape)
		}
		for j, d := range shape {
			if int(d.(float64)) != x.Shape[j] {
				t.Fatalf("%s: shape %v, torch has %v", name, x.Shape, shape)
			}
		}
		if x.DType.IsFloat() {
			floats++
		}
		vals, err := x.Float32()
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, v := range vals {
			sum += float64(v)
		}
		total += sum
		// torch adds in another order: allow for rounding.
		if w := unbits(t, want[3].(string)); math.Abs(sum-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: sum %v, torch has %v", name, sum, w)
		}
	}
	if floats != ref.FloatCount {
		t.Errorf("%d floating-point tensors, torch has %d", floats, ref.FloatCount)
	}
	if w := unbits(t, ref.TotalSum); math.Abs(total-w) > 1e-9*math.Abs(w) {
		t.Errorf("total %v, torch has %v", total, w)
	}
	// The Detect head's strides are a plain (float32) tensor attribute.
	st, _ := model.(*Object).Attr("stride")
	if got, err := st.(*Tensor).Float32(); err != nil || len(got) != 3 || got[0] != ref.Stride[0] || got[2] != ref.Stride[2] {
		t.Errorf("stride %v, %v; torch has %v", got, err, ref.Stride)
	}
	t.Logf("%s: %d state_dict tensors (%d floating point), matching torch", path, sd.Len(), floats)
}

func BenchmarkReference(b *testing.B) {
	path := "/work/ref/out/rand_n80.pt"
	if _, err := os.Stat(path); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sd, err := f.StateDict()
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range sd.All() {
			if _, err := x.Float32(); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}
