package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/yolops/yolops/internal/gemmbench"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantErr    string
		wantStdout []string
	}{
		{name: "tiny", args: []string{"-imgsz", "32", "-duration", "1ms", "-repeats", "1", "-threads", "1"},
			wantStdout: []string{"FLOP-weighted total", "yolops/gonum"}},
		{name: "json", args: []string{"-imgsz=32", "-duration=1ms", "-repeats=1", "-threads=2", "-json", "-quiet"},
			wantStdout: []string{`"imgsz": 32`, `"yolops/gonum"`}},
		{name: "threads 0", args: []string{"-threads", "0"}, wantErr: `invalid value "0" for flag -threads: thread count 0 is out of range`},
		{name: "imgsz 100", args: []string{"-imgsz", "100"}, wantErr: `invalid value "100" for flag -imgsz: image size 100 is not a multiple of 32`},
		{name: "duration 0", args: []string{"-duration", "0s"}, wantErr: "duration per shape 0s is out of range"},
		{name: "stray argument", args: []string{"fast"}, wantErr: `unexpected argument "fast"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if tc.wantErr != "" {
				// The flag package prints its own errors to stderr too.
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			note := strings.Contains(stderr.String(), "go run -tags openblas ./bench")
			if note == gemmbench.OpenBLASBuilt {
				t.Errorf("note on how to include OpenBLAS shown=%v in a build with OpenBLAS=%v", note, gemmbench.OpenBLASBuilt)
			}
		})
	}
}
