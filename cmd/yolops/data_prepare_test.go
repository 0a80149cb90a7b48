package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataPrepareFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{name: "data help", args: []string{"data", "--help"}, want: []string{"prepare"}},
		{name: "help", args: []string{"data", "prepare", "--help"},
			want: []string{"--source string", `(default "coco128")`, "--classes strings", "--from", "--keep-background", "--cache", "--out", "--json"}},
		{name: "no out", args: []string{"data", "prepare", "--classes", "person"}, wantErr: true, want: []string{"prepare needs --out"}},
		{name: "unknown source", args: []string{"data", "prepare", "--source", "voc", "--out", t.TempDir()}, wantErr: true,
			want: []string{`unknown source "voc"`}},
		{name: "stray argument", args: []string{"data", "prepare", "coco128"}, wantErr: true, want: []string{`unknown command "coco128"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, err := execute(t, tc.args...)
			got := stdout
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; stdout:\n%s", stdout)
				}
				got = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

func TestDataPrepareCOCO128(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "coco128"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "images", "train2017")); err != nil {
		t.Skipf("COCO128 is not at %s (see /work/shared/data/README.md): %v", src, err)
	}
	out := filepath.Join(t.TempDir(), "coco128-person")
	stdout, stderr, err := execute(t, "data", "prepare", "--from", src, "--classes", "person", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, w := range []string{
		"train: 2 problems in the source:\n",
		filepath.Join(src, "labels", "train2017", "000000000656.txt") + ": label file without an image: ignored\n",
		filepath.Join(src, "labels", "train2017", "000000000659.txt") + ": label file without an image: ignored\n",
		"images 128 (2 background), boxes 929 ",
		"train: written to images/train2017\nimages 61 (0 background), boxes 254 ",
		"val: the images of train (images/train2017)",
		"classes: person\ndata.yaml: " + filepath.Join(out, "data.yaml") + "\n",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stderr, "train: checked 128 images in") {
		t.Errorf("stderr:\n%s", stderr)
	}

	// --json, over the previous output, quietly.
	stdout, stderr, err = execute(t, "data", "prepare", "--from", src, "--classes", "0", "--keep-background", "--out", out, "--json", "-q")
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("--quiet printed %q", stderr)
	}
	var res struct {
		DataYAML string `json:"data_yaml"`
		Splits   []struct {
			Name  string `json:"name"`
			Stats struct {
				Images, Background, Boxes int
			} `json:"stats"`
			Problems []struct {
				Kind string `json:"kind"`
			} `json:"problems"`
		} `json:"splits"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if res.DataYAML != filepath.Join(out, "data.yaml") || len(res.Splits) != 2 {
		t.Fatalf("result %+v", res)
	}
	if s := res.Splits[0]; s.Stats.Images != 128 || s.Stats.Background != 67 || s.Stats.Boxes != 254 ||
		len(s.Problems) != 2 || s.Problems[0].Kind != "orphan-label" {
		t.Errorf("train %+v", s)
	}
}
