package artifacts_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/artifacts"
)

func TestCopyAndFiles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	a, err := artifacts.NewLocal(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := artifacts.NewLocal(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.bin")
	want := strings.Repeat("weights ", 100000)
	if err := os.WriteFile(src, []byte(want), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := artifacts.PutFile(ctx, a, "model/w.bin", src); err != nil {
		t.Fatal(err)
	}
	if err := artifacts.Copy(ctx, b, "copied/w.bin", a, "model/w.bin"); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out", "sub", "w.bin")
	if err := artifacts.GetFile(ctx, b, "copied/w.bin", dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != want {
		t.Fatalf("after PutFile, Copy, GetFile: read %d bytes, %v; want %d", len(got), err, len(want))
	}

	// Failures leave what was there.
	if err := artifacts.Copy(ctx, b, "copied/w.bin", a, "missing"); !errors.Is(err, artifacts.ErrNotExist) {
		t.Errorf("Copy of a missing key: error %v, want ErrNotExist", err)
	}
	if err := artifacts.GetFile(ctx, b, "missing", dst); !errors.Is(err, artifacts.ErrNotExist) {
		t.Errorf("GetFile of a missing key: error %v, want ErrNotExist", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := artifacts.GetFile(canceled, b, "copied/w.bin", dst); err == nil {
		t.Error("GetFile with a canceled context succeeded")
	}
	if err := artifacts.PutFile(ctx, a, "x", filepath.Join(dir, "nope")); err == nil {
		t.Error("PutFile of a missing file succeeded")
	}
	if err := artifacts.PutFile(ctx, a, "x", dir); err == nil {
		t.Error("PutFile of a folder succeeded")
	}
	got, err = os.ReadFile(dst)
	if err != nil || string(got) != want {
		t.Errorf("after failed GetFiles the file holds %d bytes, %v; want the old %d", len(got), err, len(want))
	}
	entries, err := os.ReadDir(filepath.Dir(dst))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"w.bin"}) {
		t.Errorf("the folder holds %q, want w.bin alone (no temporary files)", names)
	}
}
