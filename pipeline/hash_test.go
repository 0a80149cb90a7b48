package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/sqlstore"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHashDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"b.txt": "B", "a/z.txt": "Z", "a.txt": "A"})
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	// The manifest as sha256sum prints it, sorted by path ("a.txt" < "a/z.txt").
	manifest := sha("A") + "  a.txt\n" + sha("Z") + "  a/z.txt\n" + sha("B") + "  b.txt\n"
	want := "sha256:" + sha(manifest) + ".dir"
	got, err := HashDir(ctx, dir)
	if err != nil || got != want {
		t.Fatalf("HashDir = %s, %v; want %s", got, err, want)
	}
	if h, _ := HashFile(ctx, filepath.Join(dir, "a.txt")); h != "sha256:"+sha("A") {
		t.Errorf("HashFile = %s", h)
	}

	// Same content elsewhere: same hash. A link to a file counts as the file.
	other := t.TempDir()
	writeFiles(t, other, map[string]string{"b.txt": "B", "a/z.txt": "Z"})
	if err := os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(other, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if h, err := HashDir(ctx, other); err != nil || h != want {
		t.Errorf("a copy with a link hashes %s, %v", h, err)
	}
	// A renamed file or changed content changes it.
	for _, change := range []func(d string){
		func(d string) { os.Rename(filepath.Join(d, "b.txt"), filepath.Join(d, "c.txt")) },
		func(d string) { os.WriteFile(filepath.Join(d, "b.txt"), []byte("b"), 0o644) },
		func(d string) { os.WriteFile(filepath.Join(d, "new"), nil, 0o644) },
	} {
		d := t.TempDir()
		writeFiles(t, d, map[string]string{"b.txt": "B", "a/z.txt": "Z", "a.txt": "A"})
		change(d)
		if h, _ := HashDir(ctx, d); h == want {
			t.Errorf("a change left the hash unchanged")
		}
	}
	if h, err := HashDir(ctx, t.TempDir()); err != nil || h != emptyDirHash || h != "sha256:"+sha("")+".dir" {
		t.Errorf("empty dir: %s, %v", h, err)
	}

	// Refused: links to directories, a file given as a directory and
	// vice versa, missing paths.
	loop := t.TempDir()
	os.Symlink(loop, filepath.Join(loop, "self"))
	if _, err := HashDir(ctx, loop); err == nil || !strings.Contains(err.Error(), "link to a directory") {
		t.Errorf("a link to a directory: %v", err)
	}
	if _, err := HashDir(ctx, filepath.Join(dir, "a.txt")); err == nil {
		t.Error("HashDir of a file succeeded")
	}
	if _, err := HashFile(ctx, dir); err == nil {
		t.Error("HashFile of a directory succeeded")
	}
	if _, err := HashFile(ctx, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := HashDir(cancelled, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestCacheKey(t *testing.T) {
	base := &node{name: "train", version: "1", outputs: []output{{name: "score", typ: reflect.TypeFor[int](), kind: KindJSON}}}
	key := func(n *node, params, src string, ins ...cacheInput) string {
		return cacheKey(n, []byte(params), src, ins)
	}
	ref := key(base, `{"a":1}`, "", cacheInput{"x", "sha256:1"})
	if ref != key(base, `{"a":1}`, "", cacheInput{"x", "sha256:1"}) {
		t.Fatal("the key is not deterministic")
	}
	with := func(f func(n *node)) *node {
		n := *base
		n.outputs = append([]output(nil), base.outputs...)
		f(&n)
		return &n
	}
	for name, k := range map[string]string{
		"name":           key(with(func(n *node) { n.name = "train2" }), `{"a":1}`, "", cacheInput{"x", "sha256:1"}),
		"version":        key(with(func(n *node) { n.version = "2" }), `{"a":1}`, "", cacheInput{"x", "sha256:1"}),
		"source":         key(base, `{"a":1}`, "sha256:s", cacheInput{"x", "sha256:1"}),
		"params":         key(base, `{"a":2}`, "", cacheInput{"x", "sha256:1"}),
		"input hash":     key(base, `{"a":1}`, "", cacheInput{"x", "sha256:2"}),
		"input name":     key(base, `{"a":1}`, "", cacheInput{"y", "sha256:1"}),
		"extra input":    key(base, `{"a":1}`, "", cacheInput{"x", "sha256:1"}, cacheInput{"y", "sha256:1"}),
		"output name":    key(with(func(n *node) { n.outputs[0].name = "loss" }), `{"a":1}`, "", cacheInput{"x", "sha256:1"}),
		"output type":    key(with(func(n *node) { n.outputs[0].typ = reflect.TypeFor[float64]() }), `{"a":1}`, "", cacheInput{"x", "sha256:1"}),
		"no output":      key(with(func(n *node) { n.outputs = nil }), `{"a":1}`, "", cacheInput{"x", "sha256:1"}),
		"parts shifted":  key(with(func(n *node) { n.name, n.version = "train1", "" }), `{"a":1}`, "", cacheInput{"x", "sha256:1"}),
		"shifted inputs": key(base, `{"a":1}`, "", cacheInput{"xsha256:1", ""}),
	} {
		if k == ref {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
}

func TestCanonicalParams(t *testing.T) {
	type P struct {
		LR     float64           `json:"lr0"`
		Epochs int               `json:"epochs"`
		Name   string            `json:"name"`
		Extra  map[string]string `json:"extra,omitempty"`
		Secret string            `json:"-"`
	}
	for _, tc := range []struct {
		params any
		want   string
	}{
		{P{LR: 0.01, Epochs: 3, Name: "n"}, `{"epochs":3,"lr0":0.01,"name":"n"}`},
		{map[string]any{"name": "n", "lr0": 0.01, "epochs": 3}, `{"epochs":3,"lr0":0.01,"name":"n"}`},
		{P{Extra: map[string]string{"b": "1", "a": "2"}}, `{"epochs":0,"extra":{"a":"2","b":"1"},"lr0":0,"name":""}`},
		{struct{}{}, `{}`},
		{map[string]int(nil), `{}`},
		{map[string]any{"big": uint64(12345678901234567890)}, `{"big":12345678901234567890}`},
	} {
		got, err := canonicalParams(tc.params)
		if err != nil || string(got) != tc.want {
			t.Errorf("canonicalParams(%#v) = %s, %v; want %s", tc.params, got, err, tc.want)
		}
	}
	for _, bad := range []any{3, "x", []int{1}, map[string]any{"c": make(chan int)}} {
		if _, err := canonicalParams(bad); err == nil {
			t.Errorf("canonicalParams(%#v) succeeded", bad)
		}
	}

	params, err := flattenParams([]byte(`{"a":"text","b":0.5,"c":{"d":[1,2]},"e":null,"f":true,"long":"` + strings.Repeat("x", 7000) + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []tracking.Param{{Key: "a", Value: "text"}, {Key: "b", Value: "0.5"}, {Key: "c", Value: `{"d":[1,2]}`},
		{Key: "e", Value: "null"}, {Key: "f", Value: "true"}, {Key: "long", Value: strings.Repeat("x", tracking.MaxParamValueLength-3) + "..."}}
	if !reflect.DeepEqual(params, want) {
		for _, p := range params {
			t.Errorf("flattenParams: %s = %.40q (%d bytes)", p.Key, p.Value, len(p.Value))
		}
	}
	for _, p := range params {
		if err := tracking.ValidateParam(p); err != nil {
			t.Errorf("param %s: %v", p.Key, err)
		}
	}
}

func TestSourceHash(t *testing.T) {
	p := New("src")
	Add(p, Spec[struct{}]{Name: "a", Version: "1", SourceHash: true},
		func(context.Context, *StepContext, struct{}) (int, error) { return 0, nil })
	_, thisFile, _, _ := runtime.Caller(0)
	if got := p.nodes[0].srcFile; got != thisFile {
		t.Fatalf("source file of the step %q, want %q", got, thisFile)
	}
	b, err := os.ReadFile(thisFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceHash(os.ReadFile, thisFile); got != hashBytes(b) {
		t.Errorf("sourceHash = %s", got)
	}
	edited := func(string) ([]byte, error) { return append(b, '\n'), nil }
	if sourceHash(edited, thisFile) == hashBytes(b) {
		t.Error("an edit leaves the source hash unchanged")
	}
	if got := sourceHash(func(string) ([]byte, error) { return nil, os.ErrNotExist }, thisFile); got != "" {
		t.Errorf("unreadable source: %q", got)
	}

	// A run records the hash and keys the cache with it: the same step
	// without SourceHash has another key.
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "db"), sqlstore.WithDefaultArtifactRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	res, err := p.Run(ctx, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	run, err := store.GetRun(ctx, res.Step("a").RunID)
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(run.Data.Tags)[TagSourceHash]; got != hashBytes(b) {
		t.Errorf("%s = %q", TagSourceHash, got)
	}
	p.nodes[0].sourceHash = false
	res2, err := p.Run(ctx, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Step("a").Status != StepExecuted || res2.Step("a").CacheKey == res.Step("a").CacheKey {
		t.Errorf("without the source hash: %s, key %s", res2.Step("a").Status, res2.Step("a").CacheKey)
	}
}

func TestSplitArtifactURI(t *testing.T) {
	for _, tc := range []struct {
		a         Artifact
		name      string
		root, key string
		bad       bool
	}{
		{Artifact{Kind: KindJSON, URI: "/r/1/abc/artifacts/outputs/text.json"}, "text", "/r/1/abc/artifacts", "outputs/text.json", false},
		{Artifact{Kind: KindFile, URI: "s3://b/p/1/abc/artifacts/outputs/model/best.pt"}, "model", "s3://b/p/1/abc/artifacts", "outputs/model/best.pt", false},
		{Artifact{Kind: KindDir, URI: "file:///r/a/outputs/data"}, "data", "file:///r/a", "outputs/data", false},
		{Artifact{Kind: KindDir, URI: "file:///r/a/outputs/data"}, "other", "", "", true},
		{Artifact{Kind: KindJSON, URI: "outputs/text.json"}, "text", "", "", true},
		{Artifact{Kind: KindFile, URI: "/r/outputs/model"}, "model", "", "", true},
	} {
		root, key, err := splitArtifactURI(tc.a, tc.name)
		if (err != nil) != tc.bad || root != tc.root || key != tc.key {
			t.Errorf("splitArtifactURI(%s, %s) = %q, %q, %v", tc.a.URI, tc.name, root, key, err)
		}
	}
}
