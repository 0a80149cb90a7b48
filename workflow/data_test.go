package workflow

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/datastore"
)

func TestMaterialise(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for name, body := range map[string]string{"data.yaml": "names: [person]\n", "images/a.jpg": "a", "labels/a.txt": "0 0.5 0.5 0.1 0.1\n"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := datastore.Hash(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "datasets", "person-"+shortVersion(want))
	check := func(when string) {
		t.Helper()
		got, err := materialise(ctx, src, dst)
		if err != nil || got != dst {
			t.Fatalf("%s: materialise = %q, %v", when, got, err)
		}
		if h, err := datastore.Hash(ctx, dst); err != nil || h != want {
			t.Errorf("%s: %s holds %s, want %s (%v)", when, dst, h, want, err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".*")); len(left) > 0 {
			t.Errorf("%s: temporary folders left: %v", when, left)
		}
	}
	check("new")
	// Reused as it is: a file's time is not touched.
	old := filepath.Join(dst, "images", "a.jpg")
	st, _ := os.Stat(old)
	check("again")
	if st2, _ := os.Stat(old); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("an up-to-date copy was rewritten")
	}
	// A copy edited by hand is replaced.
	if err := os.WriteFile(filepath.Join(dst, "labels", "a.txt"), []byte("0 0.1 0.1 0.1 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("edited")
	if _, err := os.Stat(dst + ".old"); err == nil {
		t.Error("the replaced copy was left behind")
	}
}

func TestDatasetName(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"coco128", "person"}:        "coco128-person",
		{"coco128", "person-car"}:    "coco128-person-car",
		{"my data", "traffic light"}: "my_data-traffic_light",
		{"..", ""}:                   "dataset",
		{"coco128", ""}:              "coco128",
	} {
		if got := datasetName(in[0], in[1]); got != want {
			t.Errorf("datasetName(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
