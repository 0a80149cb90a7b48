package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/yolops/yolops/internal/gemmbench"
	"github.com/yolops/yolops/tensor/gemm"
)

// execute runs a fresh command tree with args, as the shell would, with
// stdout and stderr captured (so never on a terminal).
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd("v1.2.3-test")
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// want are substrings of stdout, or of the error when wantErr.
		want    []string
		wantErr bool
	}{
		{name: "root help", args: []string{"--help"},
			want: []string{"Usage:", "yolops [command]", "version", "sysinfo", "bench"}},
		{name: "no args shows help", args: nil, want: []string{"Available Commands:"}},
		{name: "version help", args: []string{"version", "--help"}, want: []string{"yolops version", "Go release"}},
		{name: "sysinfo help", args: []string{"sysinfo", "--help"}, want: []string{"yolops sysinfo", "--json", "micro-kernel"}},
		{name: "bench help", args: []string{"bench", "--help"}, want: []string{"yolops bench [command]", "gemm"}},
		{name: "bench without benchmark", args: []string{"bench"}, want: []string{"Available Commands:", "gemm"}},
		{name: "bench gemm help", args: []string{"bench", "gemm", "--help"},
			want: []string{"yolops bench gemm [flags]", "--threads", "--imgsz", "--duration", "--json", "(default 1,2)", "(default 320)", "FLOP-weighted"}},
		{name: "help subcommand", args: []string{"help", "bench", "gemm"}, want: []string{"yolops bench gemm [flags]"}},

		{name: "version", args: []string{"version"},
			want: []string{"yolops:  v1.2.3-test", "go:      " + runtime.Version(), "os/arch: " + runtime.GOOS + "/" + runtime.GOARCH}},
		{name: "version flag", args: []string{"--version"}, want: []string{"yolops v1.2.3-test"}},
		{name: "sysinfo", args: []string{"sysinfo"},
			want: []string{"cpu:", "logical cpus:", "gomaxprocs:", "simd:", "gemm kernel:", " " + gemm.Kernels()[0].Name + "\n"}},

		{name: "threads 0", args: []string{"bench", "gemm", "--threads", "0"}, wantErr: true,
			want: []string{`invalid argument "0" for "-t, --threads" flag`, "out of range"}},
		{name: "threads in a list", args: []string{"bench", "gemm", "-t", "1,0"}, wantErr: true,
			want: []string{`invalid argument "1,0"`, "--threads", "thread count 0"}},
		{name: "threads not a number", args: []string{"bench", "gemm", "--threads=two"}, wantErr: true,
			want: []string{`invalid argument "two"`, "--threads", "not a whole number"}},
		{name: "imgsz not a multiple of 32", args: []string{"bench", "gemm", "--imgsz", "100"}, wantErr: true,
			want: []string{`invalid argument "100" for "--imgsz" flag`, "multiple of 32"}},
		{name: "imgsz too large", args: []string{"bench", "gemm", "--imgsz", "4096"}, wantErr: true,
			want: []string{`invalid argument "4096" for "--imgsz" flag`, "out of range"}},
		{name: "duration zero", args: []string{"bench", "gemm", "--duration", "0s"}, wantErr: true,
			want: []string{`invalid argument "0s" for "-d, --duration" flag`}},
		{name: "duration unparsable", args: []string{"bench", "gemm", "-d", "fast"}, wantErr: true,
			want: []string{`invalid argument "fast"`, "--duration"}},
		{name: "repeats zero", args: []string{"bench", "gemm", "--repeats", "0"}, wantErr: true,
			want: []string{`invalid argument "0" for "--repeats" flag`}},
		{name: "unknown flag", args: []string{"bench", "gemm", "--fast"}, wantErr: true,
			want: []string{"unknown flag: --fast", "yolops bench gemm --help"}},
		{name: "unknown command", args: []string{"fly"}, wantErr: true, want: []string{`unknown command "fly" for "yolops"`}},
		{name: "unknown benchmark", args: []string{"bench", "conv"}, wantErr: true, want: []string{`unknown benchmark "conv"`}},
		{name: "stray argument", args: []string{"version", "now"}, wantErr: true, want: []string{`unknown command "now" for "yolops version"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := execute(t, tc.args...)
			got := stdout
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; stdout:\n%s", stdout)
				}
				got = err.Error()
				if !strings.Contains(stderr, "Error: ") {
					t.Errorf("stderr does not show the error:\n%s", stderr)
				}
				if strings.Contains(stderr, "Flags:") {
					t.Errorf("an error should not print the whole usage:\n%s", stderr)
				}
			} else if err != nil {
				t.Fatalf("error %v; stderr:\n%s", err, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestSysinfoJSON(t *testing.T) {
	stdout, _, err := execute(t, "sysinfo", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var m gemmbench.Machine
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("sysinfo --json: %v\n%s", err, stdout)
	}
	if m.Kernel != gemm.Kernels()[0].Name || m.CPUs < 1 || m.GOMAXPROCS < 1 {
		t.Errorf("sysinfo --json = %+v", m)
	}
}

// A real benchmark run, as small as it gets: the 32 px shapes, 1 ms each.
func TestBenchGemmTiny(t *testing.T) {
	stdout, stderr, err := execute(t, "bench", "gemm", "--imgsz", "32", "--duration", "1ms", "--repeats", "1", "--threads", "1,2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"imgsz 32", "threads=1, GFLOPS", "threads=2, GFLOPS", "FLOP-weighted total", "yolops/gonum"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	shapes, _ := gemmbench.Shapes(32)
	progress := strings.Split(strings.TrimSpace(stderr), "\n")
	if want := len(shapes) * 2; len(progress) != want {
		t.Errorf("%d progress lines on stderr, want one per shape and thread count (%d):\n%s", len(progress), want, stderr)
	}
	if !strings.HasPrefix(progress[0], "threads=1  1/") || !strings.Contains(progress[0], "yolops") ||
		strings.ContainsAny(stderr, "\r\x1b") {
		t.Errorf("progress should be plain lines, got:\n%s", stderr)
	}
}

func TestBenchGemmJSONQuiet(t *testing.T) {
	stdout, stderr, err := execute(t, "bench", "gemm", "--imgsz=32", "-d", "1ms", "--repeats=1", "-t", "2", "--json", "-q")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet printed to stderr:\n%s", stderr)
	}
	var rep gemmbench.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if rep.Imgsz != 32 || len(rep.Runs) != 1 || rep.Runs[0].Threads != 2 || !(rep.Runs[0].Total.GFLOPS["yolops"] > 0) {
		t.Errorf("report %+v", rep)
	}
}

func TestResolveVersion(t *testing.T) {
	if got := resolveVersion("v9.9.9"); got != "v9.9.9" {
		t.Errorf("linked version: %q", got)
	}
	if got := resolveVersion(""); got == "" {
		t.Error("no version without a linked one")
	}
}
