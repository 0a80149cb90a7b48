package torchpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// pk writes pickles by hand.
type pk struct{ bytes.Buffer }

func newPK() *pk {
	p := &pk{}
	p.Write([]byte{opProto, 2})
	return p
}

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte(opBinUnicode)
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pk) int(i int32) *pk {
	p.WriteByte(opBinInt)
	binary.Write(p, binary.LittleEndian, i)
	return p
}

func (p *pk) global(module, name string) *pk {
	p.WriteByte(opGlobal)
	p.WriteString(module + "\n" + name + "\n")
	return p
}

func (p *pk) stop() []byte { p.WriteByte(opStop); return p.Bytes() }

func TestUnpickleErrors(t *testing.T) {
	tests := []struct {
		name   string
		pickle []byte
		want   string // in the error
	}{
		{"unknown opcode", newPK().op(0xff).stop(), "pickle offset 2: unknown opcode 0xff"},
		{"text opcode", newPK().op('I', '1', '\n').stop(), "offset 2: opcode INT (0x49) is not supported"},
		{"ext opcode", newPK().op(0x82, 1).stop(), "opcode EXT1 (0x82) is not supported"},
		{"protocol", []byte{opProto, 6, opNone, opStop}, "offset 0: unsupported pickle protocol 6"},
		{"reduce underflow", newPK().op(opNone, opReduce).stop(), "offset 3: stack underflow"},
		{"stop on empty", newPK().stop(), "offset 2: stack underflow"},
		{"tuple2 below mark", newPK().op(opNone, opMark, opEmptyTuple, opTuple2).stop(), "offset 5: stack underflow"},
		{"tuple1 below mark", newPK().op(opNone, opMark, opTuple1).stop(), "offset 4: stack underflow"},
		{"put below mark", newPK().op(opNone, opMark, opBinPut, 0).stop(), "offset 4: stack underflow"},
		{"no mark", newPK().op(opNone, opTuple).stop(), "offset 3: no MARK"},
		{"memo", newPK().op(opNone, opBinPut, 1, opBinGet, 5).stop(), "offset 5: memo key 5 missing"},
		{"long memo", newPK().op(opLongBinGet, 0, 0, 0, 1).stop(), "memo key 16777216 missing"},
		{"no stop", newPK().op(opNone).Bytes(), "offset 3: pickle truncated: no STOP"},
		{"short string", newPK().op(opBinUnicode, 0xff, 0, 0, 0, 'a').stop(), "offset 2: pickle truncated: length 255 past the end"},
		{"huge string", newPK().op(opBinUnicode8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff).stop(), "length 18446744073709551615 past the end"},
		{"short int", newPK().op(opBinInt, 1, 2).Bytes(), "pickle truncated"},
		{"global line", newPK().op(opGlobal, 'o', 's').Bytes(), "pickle truncated"},
		{"append", newPK().op(opEmptyDict, opNone, opAppend).stop(), "APPEND to dict"},
		{"setitem", newPK().op(opEmptyList, opNone, opNone, opSetItem).stop(), "SETITEM on list"},
		{"odd setitems", newPK().op(opEmptyDict, opMark, opNone, opSetItems).stop(), "odd number"},
		{"unhashable", newPK().op(opEmptyDict, opEmptyList, opNone, opSetItem).stop(), "unhashable dict key: list"},
		{"reduce non-tuple", newPK().global("collections", "OrderedDict").op(opNone, opReduce).stop(), "REDUCE arguments are a None"},
		{"reduce non-callable", newPK().op(opNone, opEmptyTuple, opReduce).stop(), "REDUCE calls a None"},
		{"reduce marker", newPK().global("torch", "FloatStorage").op(opEmptyTuple, opReduce).stop(), "torch.FloatStorage cannot be called"},
		{"newobj function", newPK().global("torch._utils", "_rebuild_tensor_v2").op(opEmptyTuple, opNewObj).stop(), "NEWOBJ on torch._utils._rebuild_tensor_v2"},
		{"build", newPK().op(opEmptyList, opEmptyDict, opBuild).stop(), "BUILD on list"},
		{"persid", newPK().op(opNone, opBinPersID).stop(), "persistent id outside a checkpoint archive"},
		{"rebuild args", newPK().global("torch._utils", "_rebuild_tensor_v2").op(opEmptyTuple, opReduce).stop(), "torch._utils._rebuild_tensor_v2: takes 6 to 7 arguments, got 0"},
		{"encode", newPK().global("_codecs", "encode").str("a").str("utf-8").op(opTuple2, opReduce).stop(), `encoding "utf-8" is not supported`},
		{"stack global", newPK().op(opNone, opNone, opStackGlobal).stop(), "STACK_GLOBAL needs two strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Unpickle(tt.pickle)
			if err == nil {
				t.Fatalf("got %v, want an error", v)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, want it to contain %q", err, tt.want)
			}
			var pe *PickleError
			if !errors.As(err, &pe) {
				t.Errorf("%v is not a *PickleError", err)
			}
		})
	}
}

func TestForbiddenGlobals(t *testing.T) {
	for _, g := range [][2]string{
		{"os", "system"},
		{"posix", "system"},
		{"builtins", "eval"},
		{"builtins", "exec"},
		{"__builtin__", "eval"},
		{"builtins", "getattr"},
		{"builtins", "__import__"},
		{"subprocess", "Popen"},
		{"subprocess", "check_output"},
		{"torch", "load"},
		{"torch.serialization", "load"},
		{"torch._utils", "_rebuild_device_tensor_from_numpy"},
		{"torch.nn", "Module"}, // not under torch.nn.modules.
		{"numpy", "load"},
		{"numpy.core.multiarray", "frombuffer"},
		{"nt", "system"},
		{"webbrowser", "open"},
		{"ultralytics_evil", "x"},
		{"torch.nn.modulesx", "Conv2d"},
		{"pathlib", "Path.write_text"},
	} {
		for _, stack := range []bool{false, true} {
			p := newPK()
			if stack {
				p.str(g[0]).str(g[1])
			}
			at := p.Len()
			if stack {
				p.op(opStackGlobal)
			} else {
				p.global(g[0], g[1])
			}
			p.str("echo pwned").op(opTuple1, opReduce)
			_, err := Unpickle(p.stop())
			var ge *GlobalError
			if !errors.As(err, &ge) || ge.Module != g[0] || ge.Name != g[1] {
				t.Errorf("%s.%s (stack %v): got %v, want a GlobalError", g[0], g[1], stack, err)
				continue
			}
			if want := fmt.Sprintf("offset %d: global not allowed: %s.%s", at, g[0], g[1]); !strings.Contains(err.Error(), want) {
				t.Errorf("got %q, want %q", err, want)
			}
		}
	}
}

func TestAllowClass(t *testing.T) {
	p := newPK().global("__main__", "Net").op(opEmptyTuple, opNewObj).
		op(opEmptyDict).str("k").int(-3).op(opSetItem, opBuild).stop()
	if _, err := Unpickle(p); err == nil {
		t.Fatal("__main__.Net accepted by default")
	}
	o := &Options{AllowClass: func(m, n string) bool { return DefaultAllowClass(m, n) || m == "__main__" }}
	v, err := o.Unpickle(p)
	if err != nil {
		t.Fatal(err)
	}
	obj := v.(*Object)
	if k, _ := obj.Attr("k"); obj.Class() != "__main__.Net" || k != int64(-3) {
		t.Errorf("got %s with k=%v", obj.Class(), k)
	}
	// Even an allowed name only makes an inert object.
	o = &Options{AllowClass: func(m, n string) bool { return true }}
	v, err = o.Unpickle(newPK().global("os", "system").str("rm").op(opTuple1, opReduce).stop())
	if err != nil {
		t.Fatal(err)
	}
	if obj := v.(*Object); obj.Class() != "os.system" || obj.Args[0] != "rm" {
		t.Errorf("got %#v", obj)
	}
}

func TestUnpickleValues(t *testing.T) {
	long1 := func(b ...byte) []byte { return append(newPK().op(opLong1, byte(len(b))).op(b...).Bytes(), opStop) }
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	tests := []struct {
		name   string
		pickle []byte
		want   any
	}{
		{"long1 empty", long1(), int64(0)},
		{"long1 -1", long1(0xff), int64(-1)},
		{"long1 128", long1(0x80, 0x00), int64(128)},
		{"long1 -32768", long1(0x00, 0x80), int64(-32768)},
		{"long1 max", long1(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), int64(1<<63 - 1)},
		{"long1 min", long1(0, 0, 0, 0, 0, 0, 0, 0x80), int64(-1 << 63)},
		{"long1 2^63 in 9 bytes", long1(0, 0, 0, 0, 0, 0, 0, 0x80, 0), new(big.Int).Lsh(big.NewInt(1), 63)},
		{"long1 2^70", long1(0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0), big70},
		{"long1 -2^70", long1(0, 0, 0, 0, 0, 0, 0, 0, 0xc0), new(big.Int).Neg(big70)},
		{"long4", append(newPK().op(opLong4, 2, 0, 0, 0, 0x34, 0x12).Bytes(), opStop), int64(0x1234)},
		{"binint", newPK().int(-5).stop(), int64(-5)},
		{"binint2", newPK().op(opBinInt2, 0xff, 0xff).stop(), int64(65535)},
		{"bytes", newPK().op(opShortBinBytes, 2, 'h', 'i').stop(), []byte("hi")},
		{"binstring", newPK().op(opShortBinString, 2, 'h', 'i').stop(), "hi"},
		{"device", newPK().global("torch", "device").str("cuda").int(1).op(opTuple2, opReduce).stop(), Device("cuda:1")},
		{"dtype", newPK().global("torch", "bfloat16").stop(), BFloat16},
		{"half alias", newPK().global("torch", "half").stop(), Float16},
		{"size", newPK().global("torch", "Size").op(opMark).int(2).int(3).op(opTuple, opTuple1, opReduce).stop(), Tuple{int64(2), int64(3)}},
		{"slice", newPK().global("builtins", "slice").op(opNone).int(4).op(opTuple2, opReduce).stop(), Slice{Start: nil, Stop: int64(4)}},
		{"pop mark", newPK().op(opNone, opMark, opPop).stop(), nil},
		{"pop mark items", newPK().op(opNone, opMark, opNone, opNone, opPopMark).stop(), nil},
		{"dup", newPK().op(opNewTrue, opDup, opTuple2).stop(), Tuple{true, true}},
		{"memoize", newPK().op(opNewFalse, opMemoize, opPop).op(opBinGet, 0).stop(), false},
		{"frame", newPK().op(opFrame, 1, 0, 0, 0, 0, 0, 0, 0, opNone).stop(), nil},
		{"ordered dict pairs", newPK().global("collections", "OrderedDict").op(opMark).str("a").int(1).op(opTuple2).op(opList, opTuple1, opReduce).stop(),
			func() any { d := NewDict(); d.Set("a", int64(1)); return d }()},
		{"bytes list", newPK().global("builtins", "bytes").op(opMark).int(104).int(105).op(opList, opTuple1, opReduce).stop(), []byte("hi")},
		{"bytearray latin-1", newPK().global("__builtin__", "bytearray").str("h\u00ff").str("latin-1").op(opTuple2, opReduce).stop(), []byte("h\xff")},
		{"frozenset", newPK().op(opMark).int(1).op(opFrozenSet).stop(), &Set{Items: []any{int64(1)}}},
		{"numpy big-endian", newPK().global("numpy.core.multiarray", "scalar").
			global("numpy", "dtype").str("i4").op(opNewFalse, opNewTrue, opTuple3, opReduce).
			op(opMark).int(3).str(">").op(opNone, opNone, opNone).int(-1).int(-1).int(0).op(opTuple, opBuild).
			op(opShortBinBytes, 4, 0xff, 0xff, 0xff, 0xfe, opTuple2, opReduce).stop(), int64(-2)},
		{"numpy 2 uint64", newPK().global("numpy._core.multiarray", "scalar").
			global("numpy", "dtype").str("u8").op(opNewFalse, opNewTrue, opTuple3, opReduce).
			op(opShortBinBytes, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, opTuple2, opReduce).stop(), new(big.Int).SetUint64(1<<64 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Unpickle(tt.pickle)
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := tt.want.(*big.Int); ok {
				if g, ok := v.(*big.Int); !ok || g.Cmp(b) != 0 {
					t.Fatalf("got %v, want %v", v, b)
				}
				return
			}
			compareValues(t, v, tt.want)
		})
	}
}

// compareValues compares two values through their renderings.
func compareValues(t *testing.T, got, want any) {
	t.Helper()
	g, err1 := json.Marshal(render(t, got))
	w, err2 := json.Marshal(render(t, want))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("got %s, want %s", g, w)
	}
}

func TestReconstructor(t *testing.T) {
	// Protocol 0/1 instances: copyreg._reconstructor(cls, object, None).
	p := newPK().global("copy_reg", "_reconstructor").global("ultralytics.utils", "IterableSimpleNamespace").
		global("__builtin__", "object").op(opNone, opTuple3, opReduce).
		op(opEmptyDict).str("imgsz").int(640).op(opSetItem, opBuild).stop()
	v, err := Unpickle(p)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	if n, _ := o.Attr("imgsz"); o.Class() != "ultralytics.utils.IterableSimpleNamespace" || n != int64(640) {
		t.Errorf("got %s %v", o.Class(), n)
	}
	// Only for allowed classes.
	p = newPK().global("copyreg", "_reconstructor").global("torch", "Tensor").
		global("builtins", "object").op(opNone, opTuple3, opReduce).stop()
	if _, err := Unpickle(p); err == nil || !strings.Contains(err.Error(), "cannot make an instance of torch.Tensor") {
		t.Errorf("got %v", err)
	}
}

func TestDictKeys(t *testing.T) {
	d := NewDict()
	for _, kv := range [][2]any{
		{int64(1), "a"}, {true, "b"}, {1.0, "c"}, {"1", "d"}, {Tuple{int64(1), "x"}, "e"},
		{Tuple{true, "x"}, "f"}, {[]byte("1"), "g"}, {nil, "h"}, {2.5, "i"},
	} {
		if err := d.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	// 1, True and 1.0 are one key, (1, "x") and (True, "x") another.
	if d.Len() != 6 {
		t.Errorf("Len = %d, want 6", d.Len())
	}
	for k, want := range map[any]any{1: "c", "1": "d", nil: "h", 2.5: "i"} {
		if v, _ := d.Get(k); v != want {
			t.Errorf("Get(%v) = %v, want %v", k, v, want)
		}
	}
	if v, _ := d.Get(Tuple{int64(1), "x"}); v != "f" {
		t.Errorf("tuple key: %v", v)
	}
	if err := d.Set(&List{}, 1); err == nil {
		t.Error("list key accepted")
	}
	// Deeply nested tuple keys are refused, not recursed into.
	var k any = "x"
	for range maxKeyDepth + 5 {
		k = Tuple{k}
	}
	if err := d.Set(k, 1); err == nil {
		t.Error("deep tuple key accepted")
	}
}

// TestExpansionBudget checks that a small pickle cannot make the machine
// copy a big list over and over.
func TestExpansionBudget(t *testing.T) {
	p := newPK().op(opEmptyList, opBinPut, 0, opMark)
	for range 50000 {
		p.op(opNone)
	}
	p.op(opAppends, opPop)
	for range 200000 {
		p.global("builtins", "set").op(opBinGet, 0, opTuple1, opReduce, opPop)
	}
	_, err := Unpickle(p.op(opNone).stop())
	if err == nil || !strings.Contains(err.Error(), "copy budget") {
		t.Fatalf("got %v, want a copy budget error", err)
	}

	// A dict key of 2⁶⁰ paths, from tuples that share their elements.
	p = newPK().op(opEmptyDict, opNone, opTuple1)
	for range 60 {
		p.op(opDup, opTuple2)
	}
	_, err = Unpickle(p.op(opNone, opSetItem).stop())
	if err == nil || !strings.Contains(err.Error(), "copy budget") {
		t.Fatalf("got %v, want a copy budget error", err)
	}
}
