package torchpt

import (
	"reflect"
	"strings"
	"testing"
)

func TestStateDictFixture(t *testing.T) {
	want := loadExpected(t)["state_dict.pt"].(map[string]any)
	f := openFixture(t, "state_dict.pt")
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	names := []any{}
	for _, n := range sd.Names {
		names = append(names, n)
	}
	compare(t, "names", names, want["names"])
	// BUILD gave the OrderedDict its _metadata attribute.
	meta, ok := f.Root.(*Dict).Attrs().Get("_metadata")
	if !ok {
		t.Fatal("no _metadata")
	}
	keys := []any{}
	for _, k := range meta.(*Dict).Keys() {
		keys = append(keys, k)
	}
	compare(t, "_metadata", keys, want["metadata_keys"])

	// The same tensors as the whole module's.
	m, err := openFixture(t, "module.pt").StateDict()
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range sd.All() {
		a, _ := x.Raw()
		b, _ := m.Tensors[name].Raw()
		if string(a) != string(b) || !reflect.DeepEqual(x.Shape, m.Tensors[name].Shape) {
			t.Errorf("%s differs from the module's", name)
		}
	}
}

// module makes an nn.Module-like object with the given parameters and
// children.
func module(name string, params map[string]any, children ...any) *Object {
	attrs, p, b, c := NewDict(), NewDict(), NewDict(), NewDict()
	for k, v := range params {
		p.Set(k, v)
	}
	for i := 0; i+1 < len(children); i += 2 {
		c.Set(children[i], children[i+1])
	}
	attrs.Set("_parameters", p)
	attrs.Set("_buffers", b)
	attrs.Set("_modules", c)
	return &Object{Module: "torch.nn.modules.x", Name: name, State: attrs}
}

func TestStateDictErrors(t *testing.T) {
	x := &Tensor{DType: Float32, Shape: []int{1}, Stride: []int{1}}

	loop := module("Loop", nil)
	mods, _ := loop.Attr("_modules")
	mods.(*Dict).Set("self", loop)

	deep := module("Leaf", map[string]any{"w": x})
	for range maxModuleDepth + 1 {
		deep = module("Wrap", nil, "m", deep)
	}

	// A diamond of shared submodules, 40 levels deep: 2⁴⁰ paths.
	wide := module("Leaf", map[string]any{"w": x})
	for range 40 {
		wide = module("Pair", nil, "a", wide, "b", wide)
	}

	tests := []struct {
		name string
		v    any
		want string
	}{
		{"cycle", module("Top", nil, "loop", loop), "module torch.nn.modules.x.Loop at loop.self. contains itself"},
		{"deep", deep, "nested more than 1000 deep"},
		{"wide", wide, "too many modules"},
		{"not a module", &Object{Module: "a", Name: "B", State: NewDict()}, "a.B at the root is not an nn.Module: it has no _parameters"},
		{"no state", &Object{Module: "a", Name: "B"}, "has no attributes"},
		{"param", module("M", map[string]any{"w": "x"}), "w is a str, not a tensor"},
		{"child", module("M", nil, "c", int64(1)), "submodule c is a int"},
		{"child name", module("M", nil, int64(0), module("C", nil)), "submodule name is a int"},
		{"duplicate", module("M", map[string]any{"c.w": x}, "c", module("C", map[string]any{"w": x})), `name "c.w" occurs twice`},
		{"list", &List{}, "a list has no state dict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := StateDictOf(tt.v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}

	// None parameters and children are skipped, as in torch.
	sd, err := StateDictOf(module("M", map[string]any{"bias": nil}, "c", nil, "d", module("D", map[string]any{"w": x})))
	if err != nil || !reflect.DeepEqual(sd.Names, []string{"d.w"}) {
		t.Errorf("got %v, %v", sd, err)
	}
}
