package datastore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// newRepo makes a repository in a fresh directory, inside a git work
// tree (a bare .git directory is all DVC and yolops look for).
func newRepo(t *testing.T) *Repo {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o777); err != nil {
		t.Fatal(err)
	}
	r, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// writeFiles writes name -> content under dir, dating the files an hour
// back so that the hash state may remember them.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
