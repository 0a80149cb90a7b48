package dataset

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/yolops/yolops/assets"
)

// Manifest maps the path of every file of a dataset tree (relative to its
// root, with "/" separators) to the SHA-256 of its content, in hex.
type Manifest map[string]string

// ParseManifest reads a manifest in the format sha256sum writes: a line
// per file, the hex digest, two spaces (or a space and "*") and the path.
// Blank lines and lines starting with "#" are skipped.
func ParseManifest(r io.Reader) (Manifest, error) {
	m := make(Manifest)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		if ok {
			name, ok = strings.CutPrefix(name, " ")
			if !ok {
				name, ok = strings.CutPrefix(name, "*")
			}
		}
		if !ok || len(sum) != sha256.Size*2 {
			return nil, fmt.Errorf("manifest line %d: want \"<sha256 hex>  <path>\", got %q", n, line)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("manifest line %d: %q is not a hex digest", n, sum)
		}
		if !fs.ValidPath(name) || name == "." {
			return nil, fmt.Errorf("manifest line %d: %q is not a relative path inside the tree", n, name)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("manifest line %d: %s is listed twice", n, name)
		}
		m[name] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("manifest: no files listed")
	}
	return m, nil
}

// Verification is the outcome of checking a tree against a Manifest.
type Verification struct {
	Root       string
	Files      int      // files of the manifest found with the right digest
	Missing    []string // files of the manifest not in the tree
	Mismatched []string // files whose content differs
	// Unlisted are files the manifest does not list inside a directory
	// it covers (images/..., labels/...): they would enter the dataset
	// unchecked.
	Unlisted []string
	// Extra are other files the manifest does not list (a README).
	Extra []string
}

// OK reports whether the tree holds exactly the manifest's files in the
// directories it covers, each with its digest.
func (v *Verification) OK() bool {
	return len(v.Missing)+len(v.Mismatched)+len(v.Unlisted) == 0
}

// Err describes what is wrong, or is nil when OK.
func (v *Verification) Err() error {
	if v.OK() {
		return nil
	}
	var parts []string
	for _, g := range []struct {
		what  string
		paths []string
	}{{"missing", v.Missing}, {"with other content", v.Mismatched}, {"not in the manifest", v.Unlisted}} {
		if len(g.paths) == 0 {
			continue
		}
		s := fmt.Sprintf("%d files %s (%s", len(g.paths), g.what, strings.Join(g.paths[:min(3, len(g.paths))], ", "))
		if len(g.paths) > 3 {
			s += ", ..."
		}
		parts = append(parts, s+")")
	}
	return fmt.Errorf("%s does not match its manifest: %s", v.Root, strings.Join(parts, "; "))
}

// Verify hashes every file under root and compares it with the manifest.
// Its error is for failures to read the tree; a tree that differs is
// described by the Verification.
func (m Manifest) Verify(ctx context.Context, root string) (*Verification, error) {
	v := &Verification{Root: root}
	covered := make(map[string]bool) // directories that hold listed files
	for name := range m {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			covered[d] = true
		}
	}
	seen := make(map[string]bool, len(m))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		want, listed := m[rel]
		switch {
		case !listed && underAny(rel, covered):
			v.Unlisted = append(v.Unlisted, rel)
			return nil
		case !listed:
			v.Extra = append(v.Extra, rel)
			return nil
		}
		seen[rel] = true
		got, err := assets.FileSHA256(p)
		if err != nil {
			return err
		}
		if got != want {
			v.Mismatched = append(v.Mismatched, rel)
		} else {
			v.Files++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", root, err)
	}
	for name := range m {
		if !seen[name] {
			v.Missing = append(v.Missing, name)
		}
	}
	slices.Sort(v.Missing)
	return v, nil
}

// underAny reports whether a directory of name is in dirs.
func underAny(name string, dirs map[string]bool) bool {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if dirs[d] {
			return true
		}
	}
	return false
}
