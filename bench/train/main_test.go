package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-imgsz", "100"}, {"-threads", "0"}, {"-epochs", "1"}, {"-batch", "0"}, {"-imgsz", "x"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// A profile folder that cannot be made fails before any training.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-cpuprofile", filepath.Join(file, "prof")}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "-cpuprofile") {
		t.Errorf("-cpuprofile under a file: %v, want an error naming the flag", err)
	}
}

func TestRefEpochs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ref.json")
	// The final validation repeats the last epoch, which must count once.
	os.WriteFile(path, []byte(`{"epochs":[{"epoch":1,"epoch_seconds":9},{"epoch":2,"epoch_seconds":4},{"epoch":3,"epoch_seconds":5},{"epoch":3,"epoch_seconds":7}]}`), 0o644)
	secs, err := refEpochs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 3 || secs[2] != 5 || median(secs[1:]) != 5 {
		t.Errorf("epochs %v, median of 2.. %v; want [9 4 5] and 5", secs, median(secs[1:]))
	}
}
