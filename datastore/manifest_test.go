package datastore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManifestBytes(t *testing.T) {
	// The bytes Python's json.dumps(..., sort_keys=True) gives, worked
	// out by hand from its rules: ", " and ": " separators, \uXXXX for
	// control and non-ASCII characters, surrogate pairs above the BMP.
	m := Manifest{
		{"0cc175b9c0f1b6a831c399e269772661", "z"},
		{"92eb5ffee6ae2fec3ad71c777531578f", "ctl\x01\x1f\x7f\b\f\n\r\t"},
		{"4a8a08f09d37b73795649038408b5f33", "é/𝄞 \"q\" \\"},
	}
	m.Sort()
	want := `[{"md5": "92eb5ffee6ae2fec3ad71c777531578f", "relpath": "ctl\u0001\u001f` + "\x7f" + `\b\f\n\r\t"}, ` +
		`{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "z"}, ` +
		`{"md5": "4a8a08f09d37b73795649038408b5f33", "relpath": "\u00e9/\ud834\udd1e \"q\" \\"}]`
	if got := string(m.Bytes()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	back, err := ParseManifest([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Bytes()) != want {
		t.Errorf("round trip: %s", back.Bytes())
	}
	if got := (Manifest{}).Hash(); got != md5hex("[]")+".dir" {
		t.Errorf("empty manifest hash %s", got)
	}
}

func TestParseManifestRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{}`, "not a JSON list"},
		{`[{"relpath": "a"}]`, `no string "md5"`},
		{`[{"md5": "0cc175b9c0f1b6a831c399e269772661"}]`, `no string "relpath"`},
		{`[{"md5": "0CC175B9C0F1B6A831C399E269772661", "relpath": "a"}]`, "lowercase hex"},
		{`[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "../etc/passwd"}]`, "clean relative"},
		{`[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "/etc/passwd"}]`, "relative"},
		{`[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "a//b"}]`, "clean relative"},
		{`[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "a"}, {"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "a"}]`, "twice"},
	} {
		if _, err := ParseManifest([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseManifest(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestGitIgnore(t *testing.T) {
	r := newRepo(t)
	dir := filepath.Join(r.Root, "d")
	os.MkdirAll(dir, 0o777)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log"), 0o666) // no final newline
	for _, name := range []string{"a[1]", "x#y", "a[1]"} {
		if _, err := r.gitIgnore(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, filepath.Join(dir, ".gitignore")); got != "*.log\n/a\\[1\\]\n/x\\#y\n" {
		t.Errorf(".gitignore %q", got)
	}
}
