package yolo

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yolops/yolops/nn"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	e := nn.NewEngine(1)
	defer e.Close()
	m, err := New(e, Config{"n", 3}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.WriteSafetensors(&buf, map[string]string{"names": `["a","b","c"]`}); err != nil {
		t.Fatal(err)
	}
	src, meta, err := ReadSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if meta["model"] != "yolov8n" || meta["nc"] != "3" || meta["names"] != `["a","b","c"]` {
		t.Errorf("metadata %v", meta)
	}
	cfg, err := ConfigFrom(src)
	if err != nil || cfg != (Config{"n", 3}) {
		t.Fatalf("ConfigFrom = %+v, %v", cfg, err)
	}
	m2, _ := New(e, cfg, nil)
	if err := m2.Load(src); err != nil {
		t.Fatal(err)
	}
	a, b := m.State(), m2.State()
	for i := range a {
		if !bytes.Equal(f32bytes(a[i].Tensor.Data), f32bytes(b[i].Tensor.Data)) {
			t.Fatalf("%s differs after the round trip", a[i].Name)
		}
	}
	// A model with another class count refuses the weights, unchanged.
	m3, _ := New(e, Config{"n", 80}, nil)
	before := append([]float32(nil), m3.State()[0].Tensor.Data...)
	err = m3.Load(src)
	if err == nil || !strings.Contains(err.Error(), "the weights are for yolov8n with 3 classes, the model is yolov8n with 80") {
		t.Fatalf("Load into an 80-class model: %v", err)
	}
	if !bytes.Equal(f32bytes(before), f32bytes(m3.State()[0].Tensor.Data)) {
		t.Fatal("a failed Load changed the model")
	}
}

func TestReadSafetensorsRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("short"), []byte("\xff\xff\xff\xff\xff\xff\xff\xff{}"), []byte("\x02\x00\x00\x00\x00\x00\x00\x00{")} {
		if _, _, err := ReadSafetensors(data); err == nil {
			t.Errorf("ReadSafetensors(%q) succeeded", data)
		}
	}
}

func FuzzReadSafetensors(f *testing.F) {
	e := nn.NewEngine(1)
	defer e.Close()
	f.Add([]byte("\x59\x00\x00\x00\x00\x00\x00\x00" +
		`{"test":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"__metadata__":{"foo":"bar"}}` +
		"\x00\x3c\x00\x40\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, _, err := ReadSafetensors(data)
		if err != nil {
			return
		}
		if _, err := ConfigFrom(src); err == nil {
			// A file that passes for a model must load or fail cleanly.
			cfg, _ := ConfigFrom(src)
			if cfg.NC > 1000 {
				return
			}
			m, err := New(e, cfg, nil)
			if err == nil {
				_ = m.Load(src)
			}
		}
		src.Lookup("test")
	})
}

func f32bytes(v []float32) []byte {
	out := make([]byte, 0, 4*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
	}
	return out
}
