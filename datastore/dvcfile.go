package datastore

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DVCFileSuffix ends the name of every .dvc file.
const DVCFileSuffix = ".dvc"

// Out is one output of a .dvc file: a file or directory tracked by hash.
type Out struct {
	// MD5 is the md5 of the file's bytes, or for a directory the md5 of
	// its manifest followed by ".dir". Empty when the output was never
	// saved.
	MD5 string
	// Size is the size in bytes of the file or of all the directory's
	// files, -1 when the file does not say.
	Size int64
	// NFiles is the number of files of a directory, -1 when the file does
	// not say (always so for a file).
	NFiles int64
	// IsExec is set for an executable file.
	IsExec bool
	// Hash is "md5" in files written by DVC 3 (a plain md5 of the bytes,
	// objects under files/md5/ in the cache). DVC 2 wrote no hash field
	// and hashed text files after converting CRLF to LF.
	Hash string
	// Path is the output's path relative to the .dvc file's directory,
	// slash-separated.
	Path string
	// Cache is false when DVC does not cache the output (cache: false).
	Cache bool
	// Push is false when the output is never pushed (push: false).
	Push bool
	// Remote names the remote the output goes to instead of the default.
	Remote string
}

// IsDir reports whether o is a directory.
func (o Out) IsDir() bool { return strings.HasSuffix(o.MD5, DirSuffix) }

// DVCFile is a .dvc file as `dvc add` writes it: a single stage with
// outputs and nothing to run.
type DVCFile struct {
	Outs []Out
	// Canonical is set when the file is exactly what DVC writes for its
	// outputs, with no comments, descriptions or other fields; such a
	// file is rewritten whole when an output changes, others are edited
	// in place so that nothing a person wrote in them is lost.
	Canonical bool

	raw  []byte
	outs []*yaml.Node // the mapping of each output, for in-place edits
}

// The keys DVC's schema allows at the top of a single-stage file and in
// an output (dvc/schema.py SINGLE_STAGE_SCHEMA, dvc/output.py SCHEMA,
// CHECKSUMS_SCHEMA, META_SCHEMA, annotations).
var (
	stageKeys = map[string]bool{"md5": true, "wdir": true, "deps": true, "outs": true, "locked": true,
		"frozen": true, "meta": true, "always_changed": true, "desc": true}
	outKeys = map[string]bool{"md5": true, "etag": true, "checksum": true, "size": true, "nfiles": true,
		"isexec": true, "version_id": true, "path": true, "cloud": true, "files": true, "hash": true,
		"desc": true, "type": true, "labels": true, "meta": true, "cache": true, "remote": true,
		"push": true, "fs_config": true, "persist": true, "isdir": true}
)

// ParseDVCFile reads a .dvc file. name is used in errors, which give the
// line of the offending field.
func ParseDVCFile(name string, data []byte) (*DVCFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file, not a .dvc file", name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the top level is not a mapping", name, root.Line)
	}
	f := &DVCFile{raw: data}
	var outsNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case !stageKeys[k.Value]:
			return nil, fmt.Errorf("%s:%d: unknown field %q", name, k.Line, k.Value)
		case k.Value == "outs":
			outsNode = v
		case k.Value == "deps" && !isNull(v) && !(v.Kind == yaml.SequenceNode && len(v.Content) == 0):
			return nil, fmt.Errorf("%s:%d: the stage has dependencies: it was made by `dvc run` or `dvc import`, which yolops does not handle", name, k.Line)
		case k.Value == "wdir" && !isNull(v) && v.Value != ".":
			return nil, fmt.Errorf("%s:%d: wdir %q is not supported", name, k.Line, v.Value)
		}
	}
	if outsNode == nil || isNull(outsNode) {
		return nil, fmt.Errorf("%s: no outs: nothing is tracked", name)
	}
	if outsNode.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: outs is not a list", name, outsNode.Line)
	}
	paths := map[string]bool{}
	for i, on := range outsNode.Content {
		o, err := parseOut(on)
		if err != nil {
			return nil, fmt.Errorf("%s: outs[%d]: %w", name, i, err)
		}
		if paths[o.Path] {
			return nil, fmt.Errorf("%s:%d: outs[%d]: path %q is listed twice", name, on.Line, i, o.Path)
		}
		paths[o.Path] = true
		f.Outs = append(f.Outs, o)
		f.outs = append(f.outs, on)
	}
	if len(f.Outs) == 0 {
		return nil, fmt.Errorf("%s: outs is empty: nothing is tracked", name)
	}
	f.Canonical = bytes.Equal(f.Bytes(), data)
	return f, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func parseOut(n *yaml.Node) (Out, error) {
	o := Out{Size: -1, NFiles: -1, Cache: true, Push: true}
	if n.Kind != yaml.MappingNode {
		return o, fmt.Errorf("line %d: an output is not a mapping", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if !outKeys[key] {
			return o, fmt.Errorf("line %d: unknown field %q", k.Line, key)
		}
		if seen[key] {
			return o, fmt.Errorf("line %d: field %q appears twice", k.Line, key)
		}
		seen[key] = true
		bad := func(want string) error {
			return fmt.Errorf("line %d: %s is %q, not %s", v.Line, key, v.Value, want)
		}
		switch key {
		case "md5":
			// DVC's CHECKSUM_SCHEMA: null or "" (no hash), a string, or an
			// int coerced to a string; lower-cased.
			switch {
			case isNull(v) || v.Kind == yaml.ScalarNode && v.Value == "" && v.Tag == "!!str":
			case v.Kind == yaml.ScalarNode && (v.Tag == "!!str" || v.Tag == "!!int"):
				h := strings.ToLower(v.Value)
				if !isMD5(strings.TrimSuffix(h, DirSuffix)) {
					return o, bad("an md5 (32 hex digits, with .dir for a directory)")
				}
				o.MD5 = h
			default:
				return o, bad("an md5")
			}
		case "size", "nfiles":
			if isNull(v) {
				continue
			}
			x, err := strconv.ParseInt(v.Value, 10, 64)
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || err != nil || x < 0 {
				return o, bad("a whole number")
			}
			if key == "size" {
				o.Size = x
			} else {
				o.NFiles = x
			}
		case "isexec", "cache", "push":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
				return o, bad("true or false")
			}
			b := v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
			switch key {
			case "isexec":
				o.IsExec = b
			case "cache":
				o.Cache = b
			case "push":
				o.Push = b
			}
		case "hash", "path", "remote", "desc", "type":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				return o, bad("a string")
			}
			switch key {
			case "hash":
				o.Hash = v.Value
			case "path":
				o.Path = v.Value
			case "remote":
				o.Remote = v.Value
			}
		case "etag", "checksum", "version_id", "cloud", "files", "fs_config":
			return o, fmt.Errorf("line %d: field %q (cloud versioning or an external output) is not supported by yolops", k.Line, key)
		}
	}
	if o.Path == "" {
		return o, fmt.Errorf("line %d: no path", n.Line)
	}
	if err := checkOutPath(o.Path); err != nil {
		return o, fmt.Errorf("line %d: %w", n.Line, err)
	}
	switch o.Hash {
	case "md5":
	case "":
		if o.MD5 != "" {
			return o, fmt.Errorf("line %d: no \"hash: md5\": written by DVC 2, whose md5 converts CRLF to LF in text files; run `dvc cache migrate --dvc-files` with DVC 3, or add the data again with yolops", n.Line)
		}
	default:
		return o, fmt.Errorf("line %d: hash %q is not supported (yolops reads DVC 3's md5)", n.Line, o.Hash)
	}
	return o, nil
}

// checkOutPath accepts the paths yolops can track: relative, inside the
// .dvc file's directory tree, valid UTF-8.
func checkOutPath(p string) error {
	if !utf8.ValidString(p) {
		return fmt.Errorf("path %q is not valid UTF-8", p)
	}
	if strings.Contains(p, "://") {
		return fmt.Errorf("path %q is an external output, which yolops does not handle", p)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\") {
		return fmt.Errorf("path %q is absolute; yolops tracks data inside the repository", p)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q holds a NUL byte", p)
	}
	return nil
}

// Bytes is the file as DVC writes it for f's outputs: ruamel.yaml's block
// style with the keys in Output.dumpd's order.
func (f *DVCFile) Bytes() []byte {
	var b strings.Builder
	b.WriteString("outs:\n")
	for _, o := range f.Outs {
		writeOut(&b, o)
	}
	return []byte(b.String())
}

func writeOut(b *strings.Builder, o Out) {
	first := true
	field := func(key, value string) {
		prefix := "  "
		if first {
			prefix = "- "
			first = false
		}
		b.WriteString(prefix + key + ":" + value + "\n")
	}
	str := func(key, value string) {
		field(key, yamlValue(value, 2+len(key)+1, 4))
	}
	if o.MD5 != "" {
		str("md5", o.MD5)
	}
	if o.Size >= 0 {
		field("size", " "+strconv.FormatInt(o.Size, 10))
	}
	if o.NFiles >= 0 {
		field("nfiles", " "+strconv.FormatInt(o.NFiles, 10))
	}
	if o.IsExec {
		field("isexec", " true")
	}
	if o.Hash != "" {
		str("hash", o.Hash)
	}
	str("path", o.Path)
	if !o.Cache {
		field("cache", " false")
	}
	if o.Remote != "" {
		str("remote", o.Remote)
	}
	if !o.Push {
		field("push", " false")
	}
}

// errNotEditable is returned by Update for a hand-edited file whose
// fields cannot be changed in place.
var errNotEditable = errors.New("cannot be updated in place")

// Update returns the bytes of f with output i set to o. A canonical file
// is written afresh; any other is edited in place, value by value, so
// that comments, descriptions and fields yolops does not know stay as
// they were (DVC keeps them the same way, through ruamel's round-trip
// parser).
func (f *DVCFile) Update(i int, o Out) ([]byte, error) {
	if f.Canonical || f.raw == nil {
		g := &DVCFile{Outs: append([]Out(nil), f.Outs...)}
		g.Outs[i] = o
		return g.Bytes(), nil
	}
	old := f.Outs[i]
	if old.Path != o.Path || old.Cache != o.Cache || old.Push != o.Push || old.Remote != o.Remote {
		return nil, fmt.Errorf("output %q: only the hash, size, file count and executable bit can change: %w", old.Path, errNotEditable)
	}
	type edit struct {
		line, col int
		oldLen    int
		text      string
	}
	var edits []edit
	n := f.outs[i]
	set := func(key, text string, want bool) error {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value != key {
				continue
			}
			v := n.Content[j+1]
			if !want {
				return fmt.Errorf("output %q: field %q would have to be removed: %w", o.Path, key, errNotEditable)
			}
			if v.Style != 0 || v.Kind != yaml.ScalarNode || v.Value == "" {
				return fmt.Errorf("output %q: field %q is quoted or not a single value: %w", o.Path, key, errNotEditable)
			}
			edits = append(edits, edit{v.Line, v.Column, utf8.RuneCountInString(v.Value), text})
			return nil
		}
		if want {
			return fmt.Errorf("output %q: field %q would have to be added: %w", o.Path, key, errNotEditable)
		}
		return nil
	}
	md5Text := strings.TrimPrefix(yamlValue(o.MD5, 6, 4), " ")
	if err := set("md5", md5Text, o.MD5 != ""); err != nil {
		return nil, err
	}
	if err := set("size", strconv.FormatInt(o.Size, 10), o.Size >= 0); err != nil {
		return nil, err
	}
	if err := set("nfiles", strconv.FormatInt(o.NFiles, 10), o.NFiles >= 0); err != nil {
		return nil, err
	}
	if o.IsExec != old.IsExec {
		return nil, fmt.Errorf("output %q: the executable bit changed: %w", o.Path, errNotEditable)
	}
	if o.Hash != old.Hash {
		if err := set("hash", o.Hash, true); err != nil {
			return nil, err
		}
	}
	if bytes.ContainsAny(f.raw, "\r\u0085\u2028\u2029") {
		return nil, fmt.Errorf("the file has line breaks other than LF: %w", errNotEditable)
	}
	lines := strings.SplitAfter(string(f.raw), "\n")
	sort.Slice(edits, func(a, b int) bool {
		if edits[a].line != edits[b].line {
			return edits[a].line > edits[b].line
		}
		return edits[a].col > edits[b].col
	})
	for _, e := range edits {
		if e.line < 1 || e.line > len(lines) {
			return nil, fmt.Errorf("line %d is out of range: %w", e.line, errNotEditable)
		}
		line := []rune(lines[e.line-1])
		start := e.col - 1
		if start < 0 || start+e.oldLen > len(line) {
			return nil, fmt.Errorf("line %d: value out of range: %w", e.line, errNotEditable)
		}
		lines[e.line-1] = string(line[:start]) + e.text + string(line[start+e.oldLen:])
	}
	return []byte(strings.Join(lines, "")), nil
}
