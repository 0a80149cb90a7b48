package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func TestParseManifest(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, in string
		want     Manifest
		wantErr  string
	}{
		{name: "sha256sum text and binary", in: h + "  images/a.jpg\n" + strings.ToUpper(h) + " *labels/a.txt\r\n\n# comment\n",
			want: Manifest{"images/a.jpg": h, "labels/a.txt": h}},
		{name: "name with spaces", in: h + "  a b.jpg\n", want: Manifest{"a b.jpg": h}},
		{name: "one space", in: h + " a.jpg\n", wantErr: "line 1: want"},
		{name: "short digest", in: "abcd  a.jpg\n", wantErr: "line 1: want"},
		{name: "not hex", in: strings.Repeat("zz", 32) + "  a.jpg\n", wantErr: "is not a hex digest"},
		{name: "escape", in: h + "  ../a.jpg\n", wantErr: `"../a.jpg" is not a relative path inside the tree`},
		{name: "absolute", in: h + "  /etc/passwd\n", wantErr: "not a relative path"},
		{name: "twice", in: h + "  a\n" + h + "  a\n", wantErr: "line 2: a is listed twice"},
		{name: "empty", in: "\n# nothing\n", wantErr: "no files listed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(m, tc.want) {
				t.Fatalf("got %v, %v; want %v", m, err, tc.want)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(strings.Repeat("ab", 32) + "  images/a.jpg\n" + strings.Repeat("0", 64) + " *b\n")
	f.Add("# x\n\n" + strings.Repeat("f", 64) + "  ../x\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseManifest(strings.NewReader(s))
		if err != nil {
			return
		}
		for name, sum := range m {
			if !filepath.IsLocal(name) || len(sum) != 64 || strings.ToLower(sum) != sum {
				t.Fatalf("accepted %q -> %q", name, sum)
			}
		}
	})
}

func TestEmbeddedCOCO128Manifest(t *testing.T) {
	m := COCO128().Manifest
	if len(m) != 256 {
		t.Fatalf("%d files, want 256 (128 images, 128 labels)", len(m))
	}
	if got := m["images/train2017/000000000009.jpg"]; got != "3b0bb6bebad60a3329f1e3484434872e86998aeb7750d779b308e4a064868c2c" {
		t.Errorf("000000000009.jpg: %s", got)
	}
}

func TestVerifyCOCO128(t *testing.T) {
	dir := coco128Dir(t)
	v, err := COCO128().Manifest.Verify(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.Files != 256 || v.Err() != nil {
		t.Errorf("shared COCO128 does not verify: %+v: %v", v, v.Err())
	}
	if !reflect.DeepEqual(v.Extra, []string{"LICENSE", "README.txt"}) {
		t.Errorf("extra files %v, want LICENSE and README.txt", v.Extra)
	}
}

func TestVerify(t *testing.T) {
	files := map[string][]byte{
		"images/t/a.jpg": []byte("image a"),
		"images/t/b.jpg": []byte("image b"),
		"labels/t/a.txt": []byte("0 0.5 0.5 0.1 0.1\n"),
	}
	m := Manifest{}
	for name, data := range files {
		m[name] = sha256Hex(data)
	}
	for _, tc := range []struct {
		name   string
		change func(dir string) error
		want   Verification
		err    string
	}{
		{name: "same", change: func(string) error { return nil }, want: Verification{Files: 3}},
		{name: "readme", change: func(d string) error { return os.WriteFile(filepath.Join(d, "README"), []byte("x"), 0o644) },
			want: Verification{Files: 3, Extra: []string{"README"}}},
		{name: "missing", change: func(d string) error { return os.Remove(filepath.Join(d, "images/t/b.jpg")) },
			want: Verification{Files: 2, Missing: []string{"images/t/b.jpg"}}, err: "1 files missing (images/t/b.jpg)"},
		{name: "changed", change: func(d string) error {
			return os.WriteFile(filepath.Join(d, "labels/t/a.txt"), []byte("1 0.5 0.5 0.1 0.1\n"), 0o644)
		},
			want: Verification{Files: 2, Mismatched: []string{"labels/t/a.txt"}}, err: "1 files with other content (labels/t/a.txt)"},
		{name: "unlisted image", change: func(d string) error {
			if err := os.MkdirAll(filepath.Join(d, "images/u"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(d, "images/u/c.jpg"), []byte("c"), 0o644)
		}, want: Verification{Files: 3, Unlisted: []string{"images/u/c.jpg"}}, err: "1 files not in the manifest (images/u/c.jpg)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestTree(t, dir, files)
			if err := tc.change(dir); err != nil {
				t.Fatal(err)
			}
			v, err := m.Verify(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Root = dir
			if !reflect.DeepEqual(*v, tc.want) {
				t.Errorf("got %+v\nwant %+v", *v, tc.want)
			}
			if err := v.Err(); (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Err() = %v, want %q", err, tc.err)
			}
		})
	}
}
