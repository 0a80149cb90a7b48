package artifacts

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxKeyLen is S3's limit on an object name, applied to every backend so
// that a key valid in one store is valid in all.
const maxKeyLen = 1024

// CheckKey reports whether key is a clean relative slash-separated path:
// non-empty, at most 1024 bytes of UTF-8, no leading or trailing slash, no
// empty, "." or ".." segment, no backslash and no control character (NUL
// included). Every Store method checks its key with it before any I/O; the
// error wraps ErrBadKey and names the key and the reason.
func CheckKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrBadKey, key, reason)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > maxKeyLen:
		return fmt.Sprintf("%d bytes long, over the limit of %d", len(key), maxKeyLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return "absolute (starts with /)"
	case strings.HasSuffix(key, "/"):
		return "ends with /"
	}
	for i, c := range key {
		switch {
		case c == '\\':
			return fmt.Sprintf("backslash at byte %d (keys are slash-separated)", i)
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("control character %U at byte %d", c, i)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return "empty path segment (//)"
		case ".", "..":
			return fmt.Sprintf("%q path segment", seg)
		}
	}
	return ""
}

// checkPrefix checks a List prefix: "" (the root) or a key.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return CheckKey(prefix)
}

// joinKey joins a directory key (possibly "", the root) and a name.
func joinKey(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
