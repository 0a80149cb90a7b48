package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataVersionWorkflow runs the versioning commands as a user would:
// init, add, status, remote add, push, then pull in a clone.
func TestDataVersionWorkflow(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if _, _, err := execute(t, "data", "add", "data"); err == nil || !strings.Contains(err.Error(), "yolops data init") {
		t.Fatalf("add outside a repository: %v", err)
	}
	if _, _, err := execute(t, "data", "init"); err == nil || !strings.Contains(err.Error(), "--no-scm") {
		t.Fatalf("init outside git: %v", err)
	}
	os.Mkdir(".git", 0o777)
	mustRun(t, "data", "init")
	files := map[string]string{"images/a.jpg": "a", "labels/a.txt": "0 0.5 0.5 0.2 0.2\n", "data.yaml": "names: [person]\n"}
	for name, c := range files {
		p := filepath.Join("data", "person", filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o777)
		os.WriteFile(p, []byte(c), 0o666)
	}
	out, errOut := mustRun(t, "data", "add", "data/person")
	for _, want := range []string{"data/person (3 files, 35 B): ", ".dir", "data/person.dvc written; 4 new objects", "git add data/person.dvc data/.gitignore"} {
		if !strings.Contains(out, want) {
			t.Errorf("add output lacks %q:\n%s", want, out)
		}
	}
	// Not a terminal: plain progress lines.
	if !strings.Contains(errOut, "Hashing person: 3 files") || strings.Contains(errOut, "\r") {
		t.Errorf("progress:\n%q", errOut)
	}
	hash, _ := mustRun(t, "data", "hash", "data/person")
	dvcFile, _ := os.ReadFile(filepath.Join("data", "person.dvc"))
	if h := strings.Fields(hash)[0]; !strings.Contains(string(dvcFile), "- md5: "+h+"\n") {
		t.Errorf("hash %s is not the .dvc file's:\n%s", h, dvcFile)
	}
	if out, _ := mustRun(t, "data", "status"); out != "Data is up to date.\n" {
		t.Errorf("status: %q", out)
	}
	os.WriteFile(filepath.Join("data", "person", "labels", "a.txt"), []byte("changed\n"), 0o666)
	if out, _ := mustRun(t, "data", "status"); !strings.Contains(out, "modified: labels/a.txt") {
		t.Errorf("status after an edit: %q", out)
	}
	os.WriteFile(filepath.Join("data", "person", "labels", "a.txt"), []byte(files["labels/a.txt"]), 0o666)

	remote := filepath.Join(t.TempDir(), "remote")
	mustRun(t, "data", "remote", "add", "-d", "store", remote)
	if out, _ := mustRun(t, "data", "status", "-c"); !strings.Contains(out, "4 objects to push") {
		t.Errorf("status -c: %q", out)
	}
	if out, _ := mustRun(t, "data", "push", "-q"); out != "4 objects pushed (248 B), 0 already on the remote\n" {
		t.Errorf("push: %q", out)
	}
	if out, _ := mustRun(t, "data", "remote", "list"); out != "store\t"+remote+" (default)\n" {
		t.Errorf("remote list: %q", out)
	}

	// A clone: the git-tracked files only.
	clone := t.TempDir()
	for _, p := range []string{".dvc/config", ".dvcignore", "data/person.dvc", "data/.gitignore"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(clone, filepath.Dir(p)), 0o777)
		os.WriteFile(filepath.Join(clone, p), data, 0o666)
	}
	t.Chdir(clone)
	out, _ = mustRun(t, "data", "pull", "-q")
	if out != "4 objects fetched (248 B); 3 files added, 0 modified, 0 deleted, 0 unchanged\n" {
		t.Errorf("pull: %q", out)
	}
	for name, c := range files {
		if got, _ := os.ReadFile(filepath.Join("data", "person", filepath.FromSlash(name))); string(got) != c {
			t.Errorf("%s = %q", name, got)
		}
	}
	os.WriteFile(filepath.Join("data", "person", "data.yaml"), []byte("mine\n"), 0o666)
	if _, _, err := execute(t, "data", "checkout"); err == nil || !strings.Contains(err.Error(), "data/person/data.yaml") {
		t.Errorf("checkout over an unsaved edit: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join("data", "person", "data.yaml")); string(got) != "mine\n" {
		t.Errorf("the edit was lost: %q", got)
	}
}

func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := execute(t, args...)
	if err != nil {
		t.Fatalf("yolops %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

func TestProgressPrinter(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := &progressPrinter{w: &b, now: func() time.Time { return now }}
	p.Start("Pushing to store", 100, 100e6)
	for range 100 {
		now = now.Add(50 * time.Millisecond)
		p.Add(1, 1e6)
	}
	p.Done()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// Start, one line per 10% once a second has passed (20% to 90%),
	// and the end.
	if len(lines) != 10 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	if lines[0] != "Pushing to store: 100 files, 100 MB" {
		t.Errorf("first line %q", lines[0])
	}
	if lines[1] != "Pushing to store 20/100 files (20%) 20 MB/s ETA 4s" {
		t.Errorf("second line %q", lines[1])
	}
	if lines[9] != "Pushing to store: 100/100 files in 5s" {
		t.Errorf("last line %q", lines[9])
	}

	b.Reset()
	p = &progressPrinter{w: &b, tty: true, now: func() time.Time { return now }}
	p.Start("Hashing", 2, 0)
	now = now.Add(time.Second)
	p.Add(1, 0)
	if got := b.String(); got != "\r\033[KHashing [############............] 1/2 files (50%) 1.0 files/s ETA 1s" {
		t.Errorf("terminal line %q", got)
	}
}
