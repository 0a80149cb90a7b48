package torchpt

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// Fuzzing must never panic, hang or allocate without bound: the fuzz
// functions read arbitrary input and then touch everything it produced.

func fixtureSeeds(tb testing.TB) (files, pickles [][]byte) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.pt"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, b)
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			tb.Fatal(err)
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) == "data.pkl" {
				rc, _ := zf.Open()
				pkl, _ := io.ReadAll(rc)
				rc.Close()
				pickles = append(pickles, pkl)
			}
		}
	}
	return files, pickles
}

func FuzzRead(f *testing.F) {
	files, _ := fixtureSeeds(f)
	for _, b := range files {
		f.Add(b)
		f.Add(noCRC(b))
	}
	f.Add(makeZip(f, zip.Store,
		entry{"a/data.pkl", tensorPickle("0", 8, 1, []int32{2, 3}, []int32{1, 2})},
		entry{"a/data/0", f32bytes(0, 1, 2, 3, 4, 5, 6, 7)}, entry{"a/byteorder", []byte("little")}))
	f.Add(makeZip(f, zip.Deflate,
		entry{"a/data.pkl", tensorPickle("0", 4, 0, []int32{2, 2}, []int32{2, 1})},
		entry{"a/data/0", f32bytes(0, 1, 2, 3)}, entry{"a/.data/version", []byte("3")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := &Options{MaxPickleSize: 1 << 20}
		file, err := o.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		exercise(file.Root)
		if sd, err := file.StateDict(); err == nil {
			for _, x := range sd.All() {
				exercise(x)
			}
		}
	})
}

// noCRC clears the CRC and data-descriptor flag of every entry in a zip's
// central directory, which makes archive/zip skip the checksum, so that
// mutations of the pickle reach the unpickler instead of failing the CRC.
func noCRC(b []byte) []byte {
	b = bytes.Clone(b)
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("PK\x01\x02"))
		if j < 0 || i+j+20 > len(b) {
			return b
		}
		i += j
		b[i+8] &^= 0x08                        // general purpose flag bit 3
		copy(b[i+16:i+20], []byte{0, 0, 0, 0}) // CRC-32
		i += 4
	}
}

func FuzzUnpickle(f *testing.F) {
	_, pickles := fixtureSeeds(f)
	for _, b := range pickles {
		f.Add(b)
	}
	f.Add(tensorPickle("0", 8, 1, []int32{2, 3}, []int32{1, 2}))
	f.Add(newPK().global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opMark).
		str("a").op(opEmptyList, opBinPut, 0, opBinGet, 0, opAppend).op(opSetItems).stop())
	f.Fuzz(func(t *testing.T, data []byte) {
		u := newUnpickler(data, "fuzz", nil)
		u.persistentLoad = fakeStorages
		v, err := u.run()
		if err != nil {
			return
		}
		exercise(v)
		if sd, err := StateDictOf(v); err == nil {
			for _, x := range sd.All() {
				exercise(x)
			}
		}
	})
}

// fakeStorages backs any well-formed persistent id with zeros.
func fakeStorages(pid any) (any, error) {
	t, ok := pid.(Tuple)
	if !ok || len(t) != 5 {
		return nil, errTruncated
	}
	g, ok := t[1].(*Global)
	if !ok || g.dtype == "" {
		return nil, errTruncated
	}
	n, err := toInt(t[4], "numel", 0, 1<<16)
	if err != nil {
		return nil, err
	}
	key, _ := t[2].(string)
	return &Storage{Key: key, DType: g.dtype, Len: int64(n), src: zeros{}}, nil
}

type zeros struct{}

func (zeros) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

// exercise walks a value, calling every accessor, once per shared value.
func exercise(v any) {
	seen := map[any]bool{}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 10000 {
			return
		}
		_ = typeName(v)
		switch v := v.(type) {
		case Tuple:
			// Tuples are values, but the memo can share them, and a
			// diamond of shared tuples has exponentially many paths.
			if len(v) == 0 || seen[unsafe.SliceData(v)] {
				return
			}
			seen[unsafe.SliceData(v)] = true
			for _, e := range v {
				walk(e, depth+1)
			}
			return
		case Slice:
			walk(v.Start, depth+1)
			walk(v.Stop, depth+1)
			walk(v.Step, depth+1)
			return
		}
		if isPointer(v) || isContainer(v) {
			if seen[v] {
				return
			}
			seen[v] = true
		}
		switch v := v.(type) {
		case *List:
			for _, e := range v.Items {
				walk(e, depth+1)
			}
		case *Set:
			for _, e := range v.Items {
				walk(e, depth+1)
			}
		case *Dict:
			for k, e := range v.All() {
				v.Get(k)
				walk(k, depth+1)
				walk(e, depth+1)
			}
			if a := v.Attrs(); a != nil {
				walk(a, depth+1)
			}
		case *Object:
			_ = v.Class()
			v.Attr("_modules")
			walk(v.Args, depth+1)
			walk(v.State, depth+1)
		case *Tensor:
			if v.NumElements() <= 1<<16 {
				v.Float32()
				v.Int64()
			}
			v.IsContiguous()
			walk(v.State, depth+1)
		case *NDArray:
			v.Float64()
		case *Storage:
			if v.Len <= 1<<16 {
				v.Bytes()
			}
		}
	}
	walk(v, 0)
}

func isContainer(v any) bool {
	switch v.(type) {
	case *List, *Set, *Dict:
		return true
	}
	return false
}
