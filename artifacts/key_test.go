package artifacts_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yolops/yolops/artifacts"
)

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key    string
		reason string // "" for a valid key
	}{
		{"a", ""},
		{"a/b/c.txt", ""},
		{"...", ""},
		{"..a/a..", ""},
		{".hidden/x", ""},
		{"ünï cödé/κλειδί", ""},
		{"x%2F..%2Fy", ""}, // escapes are not decoded: a plain name
		{strings.Repeat("k", 1024), ""},
		{"", "empty"},
		{strings.Repeat("k", 1025), "1025 bytes"},
		{"/abs", "absolute"},
		{"a/", "ends with /"},
		{"..", `".."`},
		{"a/../b", `".."`},
		{"./a", `"."`},
		{"a//b", "empty path segment"},
		{"a\\b", "backslash at byte 1"},
		{"a\x00b", "U+0000"},
		{"a\tb", "U+0009"},
		{"a\x7f", "U+007F"},
		{"\xff", "UTF-8"},
	}
	for _, tc := range tests {
		err := artifacts.CheckKey(tc.key)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("CheckKey(%q): %v", tc.key, err)
		case tc.reason != "" && err == nil:
			t.Errorf("CheckKey(%q) accepted it, want %q", tc.key, tc.reason)
		case err != nil && (!errors.Is(err, artifacts.ErrBadKey) || !strings.Contains(err.Error(), tc.reason)):
			t.Errorf("CheckKey(%q) = %v, want ErrBadKey saying %q", tc.key, err, tc.reason)
		}
	}
}

// FuzzCheckKey checks that every key CheckKey accepts is a clean, local,
// slash-separated path that no file system can read as something else.
func FuzzCheckKey(f *testing.F) {
	for _, k := range []string{"a/b", "../x", "a/./b", "a\\b", "/", "", "a//b", "é", "a/b/", "\x00"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if artifacts.CheckKey(key) != nil {
			return
		}
		if path.Clean(key) != key {
			t.Errorf("accepted %q, which cleans to %q", key, path.Clean(key))
		}
		if !filepath.IsLocal(key) {
			t.Errorf("accepted %q, which is not a local path", key)
		}
		if !utf8.ValidString(key) || strings.ContainsAny(key, "\\\x00") || len(key) > 1024 {
			t.Errorf("accepted %q", key)
		}
	})
}
