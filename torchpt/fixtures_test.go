package torchpt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// The fixtures and expected.json come from testdata/gen.py, which records
// what torch itself reads from each file.

func loadExpected(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func openFixture(t testing.TB, name string) *File {
	t.Helper()
	f, err := Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fbits renders a float64 as gen.py does: its IEEE bits in hex.
func fbits(x float64) string { return fmt.Sprintf("%016x", math.Float64bits(x)) }

func unbits(t *testing.T, s string) float64 {
	t.Helper()
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		t.Fatalf("bad float bits %q", s)
	}
	return math.Float64frombits(u)
}

// tensorInfo mirrors gen.py's tensor_info.
func tensorInfo(tb testing.TB, x *Tensor) map[string]any {
	tb.Helper()
	vals, err := x.Float64()
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	first := []any{}
	for i, v := range vals {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			sum += v
		}
		if i < 8 {
			first = append(first, fbits(v))
		}
	}
	ints := func(s []int) []any {
		out := []any{}
		for _, v := range s {
			out = append(out, float64(v))
		}
		return out
	}
	return map[string]any{
		"dtype":      string(x.DType),
		"shape":      ints(x.Shape),
		"stride":     ints(x.Stride),
		"offset":     float64(x.Offset),
		"parameter":  x.Parameter,
		"finite_sum": fbits(sum),
		"first":      first,
	}
}

// render mirrors gen.py's render.
func render(tb testing.TB, v any) any {
	tb.Helper()
	tag := func(t string, v any) any { return map[string]any{"t": t, "v": v} }
	list := func(items []any) []any {
		out := []any{}
		for _, it := range items {
			out = append(out, render(tb, it))
		}
		return out
	}
	switch v := v.(type) {
	case nil:
		return map[string]any{"t": "none"}
	case bool:
		return tag("bool", v)
	case int64:
		return tag("int", strconv.FormatInt(v, 10))
	case *big.Int:
		return tag("int", v.String())
	case float64:
		return tag("float", fbits(v))
	case string:
		return tag("str", v)
	case []byte:
		return tag("bytes", fmt.Sprintf("%x", v))
	case Tuple:
		return tag("tuple", list(v))
	case *List:
		return tag("list", list(v.Items))
	case *Set:
		return tag("set", list(v.Items))
	case *Dict:
		out := []any{}
		for k, x := range v.All() {
			out = append(out, []any{render(tb, k), render(tb, x)})
		}
		return tag("dict", out)
	case Slice:
		return tag("slice", []any{render(tb, v.Start), render(tb, v.Stop), render(tb, v.Step)})
	case Device:
		return tag("device", string(v))
	case DType:
		return tag("dtype", string(v))
	case *Tensor:
		return tag("tensor", tensorInfo(tb, v))
	case *NDArray:
		f, err := v.Float64()
		if err != nil {
			tb.Fatal(err)
		}
		vals := []any{}
		for _, x := range f {
			vals = append(vals, fbits(x))
		}
		shape := []any{}
		for _, d := range v.Shape {
			shape = append(shape, float64(d))
		}
		return map[string]any{"t": "ndarray", "dtype": v.DType, "shape": shape, "v": vals}
	}
	tb.Fatalf("render: unexpected %T", v)
	return nil
}

// compare reports the first difference between got and want (JSON-shaped
// values), comparing "finite_sum" to within rounding, since torch and Go
// add in different orders.
func compare(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for k := range w {
			if k == "finite_sum" {
				gs, ws := unbits(t, g[k].(string)), unbits(t, w[k].(string))
				if math.Abs(gs-ws) > 1e-12*math.Max(1, math.Abs(ws)) {
					t.Errorf("%s.%s: got %v, want %v", path, k, gs, ws)
				}
				continue
			}
			compare(t, path+"."+k, g[k], w[k])
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			compare(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	default:
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", path, got, want)
		}
	}
}

func TestTensorsFixture(t *testing.T) {
	want := loadExpected(t)["tensors.pt"].(map[string]any)
	f := openFixture(t, "tensors.pt")
	if f.Archive != "tensors" || f.Version != 3 {
		t.Errorf("archive %q version %d, want tensors 3", f.Archive, f.Version)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	names := []any{}
	for _, n := range sd.Names {
		names = append(names, n)
	}
	compare(t, "names", names, want["names"])
	for name, x := range sd.All() {
		compare(t, name, tensorInfo(t, x), want["tensors"].(map[string]any)[name])
	}

	// Views of one storage share it.
	if sd.Tensors["base"].Storage != sd.Tensors["slice"].Storage {
		t.Error("base and slice do not share their storage")
	}
	if sd.Tensors["transposed"].IsContiguous() || !sd.Tensors["f32"].IsContiguous() {
		t.Error("IsContiguous is wrong")
	}
	// Float32 agrees with Float64 for the exact types.
	for _, name := range []string{"f32", "f16", "bf16", "transposed", "slice", "expanded"} {
		x := sd.Tensors[name]
		f32, err := x.Float32()
		if err != nil {
			t.Fatal(err)
		}
		f64, _ := x.Float64()
		for i := range f64 {
			if float64(f32[i]) != f64[i] {
				t.Fatalf("%s[%d]: Float32 %v, Float64 %v", name, i, f32[i], f64[i])
			}
		}
	}
	ints, err := sd.Tensors["i64"].Int64()
	if err != nil || !reflect.DeepEqual(ints, []int64{0, 1, 2, 3, 4, 5}) {
		t.Errorf("i64: %v, %v", ints, err)
	}
	if _, err := sd.Tensors["f32"].Int64(); err == nil {
		t.Error("Int64 of a float tensor did not fail")
	}
	raw, err := sd.Tensors["empty"].Raw()
	if err != nil || len(raw) != 0 {
		t.Errorf("empty: %v, %v", raw, err)
	}
}

func TestModuleFixture(t *testing.T) {
	want := loadExpected(t)["module.pt"].(map[string]any)
	f := openFixture(t, "module.pt")
	m, ok := f.Root.(*Object)
	if !ok || m.Class() != "torch.nn.modules.container.Sequential" {
		t.Fatalf("root is %s", typeName(f.Root))
	}
	sd, err := StateDictOf(m)
	if err != nil {
		t.Fatal(err)
	}
	names := []any{}
	for _, n := range sd.Names {
		names = append(names, n)
	}
	// The non-persistent buffer "scratch" and the None bias are left out.
	compare(t, "names", names, want["names"])
	for name, x := range sd.All() {
		compare(t, name, tensorInfo(t, x), want["tensors"].(map[string]any)[name])
	}
	if !sd.Tensors["0.weight"].Parameter || sd.Tensors["1.running_mean"].Parameter {
		t.Error("parameters and buffers are not told apart")
	}

	// Plain attributes survive.
	mods, _ := m.Attr("_modules")
	conv, _ := mods.(*Dict).Get("0")
	stride, _ := conv.(*Object).Attr("stride")
	compare(t, "conv stride", render(t, stride), map[string]any{"t": "tuple", "v": []any{
		map[string]any{"t": "int", "v": "2"}, map[string]any{"t": "int", "v": "2"}}})
	bn, _ := mods.(*Dict).Get("1")
	eps, _ := bn.(*Object).Attr("eps")
	if fbits(eps.(float64)) != want["bn_eps"] {
		t.Errorf("bn eps %v", eps)
	}
	if training, _ := m.Attr("training"); training != false {
		t.Errorf("training = %v", training)
	}
}

func TestNestedFixture(t *testing.T) {
	want := loadExpected(t)["nested.pt"]
	for _, name := range []string{"nested.pt", "nested_p5.pt"} {
		t.Run(name, func(t *testing.T) {
			f := openFixture(t, name)
			// A round trip through JSON gives render's output the types of
			// the unmarshalled expectation.
			b, err := json.Marshal(render(t, f.Root))
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			compare(t, name, got, want)

			d := f.Root.(*Dict)
			for _, k := range []any{1, int64(1), 1.0, true} {
				if v, _ := d.Get(k); v != "int key" {
					t.Errorf("Get(%#v) = %v", k, v)
				}
			}
			if v, _ := d.Get(Tuple{int64(1), "a"}); v != "tuple key" {
				t.Errorf("tuple key: %v", v)
			}
			if _, err := f.StateDict(); err == nil {
				t.Error("StateDict of a metadata dict did not fail")
			}
		})
	}
}

func TestForbiddenFixture(t *testing.T) {
	_, err := Open(filepath.Join("testdata", "forbidden.pt"))
	var ge *GlobalError
	if !errors.As(err, &ge) || ge.Module != "os" || ge.Name != "system" {
		t.Fatalf("got %v, want a GlobalError for os.system", err)
	}
	var pe *PickleError
	if !errors.As(err, &pe) || pe.Offset != 13 || pe.Stream != "forbidden/data.pkl" {
		t.Errorf("got %v, want a PickleError at forbidden/data.pkl offset 13", err)
	}
	t.Log(err)
}
