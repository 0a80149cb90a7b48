package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestParseInts(t *testing.T) {
	positive := func(n int) error {
		if n < 1 {
			return context.Canceled // any error
		}
		return nil
	}
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"1,2", "1,2", true},
		{" 16 ", "16", true},
		{"1,x", "", false},
		{"0", "", false},
		{"", "", false},
	} {
		got, err := parseInts(tc.in, positive)
		if (err == nil) != tc.ok || (tc.ok && joinInts(got) != tc.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestRunWithoutReference times a tiny case and checks the table, and
// that a missing reference is explained rather than fatal.
func TestRunWithoutReference(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"-threads", "1", "-imgsz", "64", "-batch", "1", "-rounds", "1", "-min-time", "1ms", "-ultralytics", t.TempDir()}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "holds no ultralytics package") {
		t.Errorf("stderr does not explain the missing reference:\n%s", errOut.String())
	}
	if !strings.Contains(out.String(), "threads  imgsz  batch  yolops") || !strings.Contains(out.String(), "     1     64      1") {
		t.Errorf("unexpected table:\n%s", out.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-imgsz", "100"}, {"-threads", "0"}, {"-rounds", "0"}, {"-batch", "a"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
