package torchpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type entry struct {
	name string
	data []byte
}

// makeZip writes entries into a zip, compressed or stored as torch stores.
func makeZip(t testing.TB, method uint16, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rezip copies a checkpoint's entries, changed by edit (which may drop an
// entry by returning nil), and then the extra entries.
func rezip(t testing.TB, src []byte, method uint16, edit func(name string, data []byte) []byte, extra ...entry) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var entries []entry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			data = edit(f.Name, data)
		}
		if data != nil {
			entries = append(entries, entry{f.Name, data})
		}
	}
	return makeZip(t, method, append(entries, extra...)...)
}

func readBytes(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

// tensorPickle is torch.save's pickle of one tensor of the given view on
// storage key, declared to hold numel float32 elements.
func tensorPickle(key string, numel int32, offset int32, shape, stride []int32) []byte {
	return writeTensor(newPK(), key, numel, offset, shape, stride).stop()
}

// writeTensor writes torch.save's pickle of a float32 tensor, the call
// _rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict()).
func writeTensor(p *pk, key string, numel int32, offset int32, shape, stride []int32) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op(opMark)
	p.op(opMark).str("storage").global("torch", "FloatStorage").str(key).str("cpu").int(numel).op(opTuple, opBinPersID)
	p.int(offset)
	for _, dims := range [][]int32{shape, stride} {
		p.op(opMark)
		for _, d := range dims {
			p.int(d)
		}
		p.op(opTuple)
	}
	p.op(opNewFalse).global("collections", "OrderedDict").op(opEmptyTuple, opReduce)
	return p.op(opTuple, opReduce)
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestReadTensor(t *testing.T) {
	data := f32bytes(0, 1, 2, 3, 4, 5, 6, 7)
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		z := makeZip(t, method,
			entry{"a/data.pkl", tensorPickle("0", 8, 1, []int32{2, 3}, []int32{1, 2})},
			entry{"a/data/0", data}, entry{"a/byteorder", []byte("little")}, entry{"a/.data/version", []byte("3\n")})
		f, err := readBytes(z)
		if err != nil {
			t.Fatal(err)
		}
		x := f.Root.(*Tensor)
		got, err := x.Float32()
		if err != nil {
			t.Fatal(err)
		}
		// Element [i][j] is storage[1 + i + 2j].
		if want := []float32{1, 3, 5, 2, 4, 6}; !reflect.DeepEqual(got, want) {
			t.Errorf("method %d: got %v, want %v", method, got, want)
		}
		if f.Version != 3 || f.Storages["0"] != x.Storage || x.Storage.Location != "cpu" {
			t.Errorf("version %d, storages %v", f.Version, f.Storages)
		}
	}
}

func TestReadErrors(t *testing.T) {
	good := tensorPickle("0", 4, 0, []int32{4}, []int32{1})
	store := func(entries ...entry) []byte { return makeZip(t, zip.Store, entries...) }
	fixture, err := os.ReadFile(filepath.Join("testdata", "tensors.pt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "not a zip checkpoint"},
		{"truncated zip", fixture[:len(fixture)/2], "not a zip checkpoint"},
		{"truncated end", fixture[:len(fixture)-1], "not a zip checkpoint"},
		{"legacy", append(append([]byte{}, legacyMagic...), 0, 0, 0), "legacy (pre-1.6, non-zip) torch.save format"},
		{"no data.pkl", store(entry{"a/data/0", f32bytes(1)}), "missing data.pkl"},
		{"nested data.pkl", store(entry{"a/b/data.pkl", good}), "missing data.pkl"},
		{"two data.pkl", store(entry{"a/data.pkl", good}, entry{"b/data.pkl", good}), "two data.pkl"},
		{"duplicate", store(entry{"a/data.pkl", good}, entry{"a/data.pkl", good}), `zip entry "a/data.pkl" appears twice`},
		{"big endian", store(entry{"a/data.pkl", good}, entry{"a/data/0", f32bytes(1, 2, 3, 4)}, entry{"a/byteorder", []byte("big")}), "a/byteorder: big-endian checkpoints are not supported"},
		{"byte order", store(entry{"a/data.pkl", good}, entry{"a/byteorder", []byte("middle")}), `unknown byte order "middle"`},
		{"version", store(entry{"a/data.pkl", good}, entry{"a/version", []byte("x")}), `a/version: bad version "x"`},
		{"storage missing", store(entry{"a/data.pkl", good}), `a/data.pkl offset 89: storage key "0" missing: no zip entry a/data/0`},
		{"storage short", store(entry{"a/data.pkl", good}, entry{"a/data/0", f32bytes(1, 2)}), `storage "0" of 4 float32 elements needs 16 bytes but a/data/0 has 8`},
		{"tensor outside storage", store(entry{"a/data.pkl", tensorPickle("0", 4, 1, []int32{4}, []int32{1})}, entry{"a/data/0", f32bytes(1, 2, 3, 4)}),
			`tensor needs 20 bytes but storage "0" has 16`},
		{"strided outside storage", store(entry{"a/data.pkl", tensorPickle("0", 4, 0, []int32{2, 2}, []int32{3, 1})}, entry{"a/data/0", f32bytes(1, 2, 3, 4)}),
			`tensor needs 20 bytes but storage "0" has 16`},
		{"negative size", store(entry{"a/data.pkl", tensorPickle("0", 4, 0, []int32{-1}, []int32{1})}, entry{"a/data/0", f32bytes(1, 2, 3, 4)}), "size -1 is out of range"},
		{"rank mismatch", store(entry{"a/data.pkl", tensorPickle("0", 4, 0, []int32{2, 2}, []int32{1})}, entry{"a/data/0", f32bytes(1, 2, 3, 4)}), "shape has 2 dimensions but stride 1"},
		{"forbidden", store(entry{"a/data.pkl", newPK().global("os", "system").stop()}), "torchpt: a/data.pkl offset 2: global not allowed: os.system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readBytes(tt.file)
			if err == nil {
				t.Fatalf("got %v, want an error", f.Root)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := readBytes(store(entry{"a/data.pkl", good}, entry{"a/byteorder", []byte("big")})); !errors.Is(err, ErrBigEndian) {
		t.Errorf("big endian: %v is not ErrBigEndian", err)
	}
}

// TestStoredEntryBounds checks that a zip whose central directory claims a
// stored entry larger than the file is refused before anything is read.
func TestStoredEntryBounds(t *testing.T) {
	z := makeZip(t, zip.Store, entry{"a/data.pkl", tensorPickle("0", 4, 0, []int32{4}, []int32{1})}, entry{"a/data/0", f32bytes(1, 2, 3, 4)})
	// Patch the entry's sizes in its central directory record (after the
	// signature PK\1\2 come 16 bytes, then the compressed and uncompressed
	// sizes).
	i := bytes.LastIndex(z, []byte("PK\x01\x02"))
	big := bytes.Clone(z)
	binary.LittleEndian.PutUint32(big[i+20:], 1<<30)
	binary.LittleEndian.PutUint32(big[i+24:], 1<<30)
	if _, err := readBytes(big); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("got %v, want a size error", err)
	}
}

func TestRezippedFixture(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "tensors.pt"))
	if err != nil {
		t.Fatal(err)
	}
	// Deflated, with torch 2's .data/version and byteorder.
	z := rezip(t, src, zip.Deflate, func(name string, data []byte) []byte {
		if name == "tensors/version" {
			return nil
		}
		return data
	}, entry{"tensors/.data/version", []byte("3\n")}, entry{"tensors/byteorder", []byte("little")})
	f, err := readBytes(z)
	if err != nil {
		t.Fatal(err)
	}
	g := openFixture(t, "tensors.pt")
	a, err := StateDictOf(f.Root)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := StateDictOf(g.Root)
	if !reflect.DeepEqual(a.Names, b.Names) || f.Version != 3 {
		t.Fatalf("names %v vs %v, version %d", a.Names, b.Names, f.Version)
	}
	for name, x := range a.All() {
		va, err := x.Raw()
		if err != nil {
			t.Fatal(err)
		}
		vb, _ := b.Tensors[name].Raw()
		if !bytes.Equal(va, vb) {
			t.Errorf("%s differs after re-zipping", name)
		}
	}
	// A corrupted pickle in a deflated entry fails its CRC check.
	bad := rezip(t, src, zip.Deflate, nil)
	i := bytes.Index(bad, []byte("tensors/data.pkl"))
	bad[i+len("tensors/data.pkl")+40] ^= 0xff
	if _, err := readBytes(bad); err == nil {
		t.Error("corrupted data.pkl accepted")
	}
}

// TestRebuildVariants covers the rebuild functions torch 2 writes for
// tensors and parameters that carry Python attributes, which torch 1.13
// (used for the fixtures) does not produce.
func TestRebuildVariants(t *testing.T) {
	data := entry{"a/data/0", f32bytes(1, 2, 3, 4)}
	read := func(p []byte) (*File, error) {
		return readBytes(makeZip(t, zip.Store, entry{"a/data.pkl", p}, data))
	}
	attrs := func(p *pk) *pk { return p.op(opEmptyDict).str("tag").int(3).op(opSetItem) }

	// _rebuild_parameter_with_state(tensor, True, OrderedDict(), {"tag": 3})
	p := newPK().global("torch._utils", "_rebuild_parameter_with_state").op(opMark)
	writeTensor(p, "0", 4, 0, []int32{2, 2}, []int32{2, 1}).op(opNewTrue)
	p.global("collections", "OrderedDict").op(opEmptyTuple, opReduce)
	f, err := read(attrs(p).op(opTuple, opReduce).stop())
	if err != nil {
		t.Fatal(err)
	}
	x := f.Root.(*Tensor)
	if tag, _ := x.State.(*Dict).Get("tag"); !x.Parameter || !x.RequiresGrad || tag != int64(3) {
		t.Errorf("parameter with state: %+v", x)
	}

	// _rebuild_from_type_v2(_rebuild_tensor_v2, torch.Tensor, args, {"tag": 3})
	build := func(fn, typ [2]string) []byte {
		p := newPK().global("torch._tensor", "_rebuild_from_type_v2").op(opMark)
		p.global(fn[0], fn[1]).global(typ[0], typ[1]).op(opMark)
		p.op(opMark).str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(4).op(opTuple, opBinPersID)
		p.int(1).int(3).op(opTuple1).int(1).op(opTuple1, opNewFalse)
		p.global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opTuple)
		return attrs(p).op(opTuple, opReduce).stop()
	}
	rebuild := [2]string{"torch._utils", "_rebuild_tensor_v2"}
	f, err = read(build(rebuild, [2]string{"torch", "Tensor"}))
	if err != nil {
		t.Fatal(err)
	}
	x = f.Root.(*Tensor)
	got, err := x.Float32()
	if tag, _ := x.State.(*Dict).Get("tag"); err != nil || x.Parameter || tag != int64(3) || !reflect.DeepEqual(got, []float32{2, 3, 4}) {
		t.Errorf("from type: %+v %v %v", x, got, err)
	}
	f, err = read(build(rebuild, [2]string{"torch.nn.parameter", "Parameter"}))
	if err != nil || !f.Root.(*Tensor).Parameter {
		t.Errorf("from type Parameter: %v", err)
	}
	for _, bad := range []struct {
		fn, typ [2]string
		want    string
	}{
		{[2]string{"torch._utils", "_rebuild_parameter"}, [2]string{"torch", "Tensor"}, "func torch._utils._rebuild_parameter is not supported"},
		{rebuild, [2]string{"torch", "FloatStorage"}, "tensor type torch.FloatStorage is not supported"},
		{rebuild, [2]string{"torch.nn.modules.conv", "Conv2d"}, "tensor type torch.nn.modules.conv.Conv2d is not supported"},
		{[2]string{"os", "system"}, [2]string{"torch", "Tensor"}, "global not allowed: os.system"},
	} {
		if _, err := read(build(bad.fn, bad.typ)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("got %v, want %q", err, bad.want)
		}
	}

	// _rebuild_tensor_v2 with torch 2's seventh argument, metadata.
	p = newPK().global("torch._utils", "_rebuild_tensor_v2").op(opMark)
	p.op(opMark).str("storage").global("torch", "UntypedStorage").str("0").str("cpu").int(16).op(opTuple, opBinPersID)
	p.int(0).int(16).op(opTuple1).int(1).op(opTuple1, opNewFalse)
	p.global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opEmptyDict, opTuple, opReduce)
	f, err = read(p.stop())
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := f.Root.(*Tensor).Raw(); err != nil || !bytes.Equal(raw, data.data) || f.Root.(*Tensor).DType != Uint8 {
		t.Errorf("untyped storage: %v %v", raw, err)
	}
}
