package datastore

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DirSuffix marks the hash of a directory: the md5 of its manifest with
// ".dir" appended, as DVC writes it in .dvc files and names the manifest
// object in the cache.
const DirSuffix = ".dir"

// Entry is one file of a directory manifest: the md5 of its bytes and its
// slash-separated path relative to the directory.
type Entry struct {
	MD5     string
	RelPath string
}

// Manifest is the content of a directory as DVC 3 records it: its files
// (no directories, empty or not), sorted by path.
type Manifest []Entry

// Sort orders m as DVC does: Python's sorted() by relpath, which compares
// code points. For valid UTF-8 (yolops accepts no other file names) that is
// Go's byte-wise string order.
func (m Manifest) Sort() {
	sort.SliceStable(m, func(i, j int) bool { return m[i].RelPath < m[j].RelPath })
}

// Bytes serialises m exactly as DVC's Tree.as_bytes does:
// json.dumps([{"md5": ..., "relpath": ...}, ...], sort_keys=True) encoded
// as UTF-8, which means ", " and ": " separators and every non-ASCII
// character escaped as \uXXXX (ensure_ascii). m must be sorted.
func (m Manifest) Bytes() []byte {
	var b bytes.Buffer
	b.Grow(len(m) * 80)
	b.WriteByte('[')
	for i, e := range m {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"md5": `)
		writePyJSONString(&b, e.MD5)
		b.WriteString(`, "relpath": `)
		writePyJSONString(&b, e.RelPath)
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.Bytes()
}

// Hash is the directory's hash: the md5 of Bytes with ".dir" appended.
func (m Manifest) Hash() string {
	sum := md5.Sum(m.Bytes())
	return hex.EncodeToString(sum[:]) + DirSuffix
}

// ParseManifest reads a .dir object. DVC accepts any JSON list of objects
// holding "relpath" and one hash; yolops needs "md5" for every entry, as
// DVC 3 writes it, and rejects paths that would leave the directory.
func ParseManifest(data []byte) (Manifest, error) {
	var raw []map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("directory manifest is not a JSON list of objects: %w", err)
	}
	m := make(Manifest, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for i, r := range raw {
		rel, ok := r["relpath"].(string)
		if !ok {
			return nil, fmt.Errorf("directory manifest entry %d: no string \"relpath\"", i)
		}
		sum, ok := r["md5"].(string)
		if !ok {
			return nil, fmt.Errorf("directory manifest entry %d (%q): no string \"md5\"", i, rel)
		}
		if !isMD5(sum) {
			return nil, fmt.Errorf("directory manifest entry %d (%q): md5 %q is not 32 lowercase hex digits", i, rel, sum)
		}
		if err := checkRelPath(rel); err != nil {
			return nil, fmt.Errorf("directory manifest entry %d: %w", i, err)
		}
		if seen[rel] {
			return nil, fmt.Errorf("directory manifest entry %d: %q is listed twice", i, rel)
		}
		seen[rel] = true
		m = append(m, Entry{MD5: sum, RelPath: rel})
	}
	m.Sort()
	return m, nil
}

// checkRelPath rejects manifest paths that are absolute, empty, or climb out
// of the directory, so that a crafted manifest cannot make checkout write
// elsewhere.
func checkRelPath(rel string) error {
	if !utf8.ValidString(rel) {
		return fmt.Errorf("relpath %q is not valid UTF-8", rel)
	}
	// A backslash is an ordinary character in a Linux file name, but a
	// separator on Windows, where it could lead out of the directory.
	if rel == "" || strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, 0) ||
		filepath.Separator == '\\' && strings.Contains(rel, "\\") {
		return fmt.Errorf("relpath %q is not a relative slash-separated path", rel)
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("relpath %q is not a clean relative path", rel)
		}
	}
	return nil
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// writePyJSONString writes s as Python's json.dumps does with
// ensure_ascii=True: short escapes for \" \\ \n \r \t \b \f, \u00XX for
// other control characters, \uXXXX (UTF-16, so surrogate pairs above the
// BMP) for everything outside ASCII. DEL (0x7f) stays as it is.
func writePyJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r > 0x7e && r != 0x7f:
			if r > 0xFFFF {
				r1, r2 := utf16.EncodeRune(r)
				writeU4(b, r1)
				writeU4(b, r2)
			} else {
				writeU4(b, r)
			}
		default:
			b.WriteByte(byte(r))
		}
	}
	b.WriteByte('"')
}

func writeU4(b *bytes.Buffer, r rune) {
	b.WriteString(`\u`)
	b.WriteByte(hexDigits[r>>12&0xF])
	b.WriteByte(hexDigits[r>>8&0xF])
	b.WriteByte(hexDigits[r>>4&0xF])
	b.WriteByte(hexDigits[r&0xF])
}
