// Command infer times YOLOv8 inference (forward pass, decode and NMS) in
// yolops and, when the reference is installed, in PyTorch on the same
// machine with the same thread counts, and prints their ratio:
//
//	go run ./bench/infer
//	go run ./bench/infer -threads 2 -imgsz 640 -batch 1,16 -rounds 3
//
// PyTorch runs as a child process (bench/ref/infer_torch.py, on Debian's
// python3-torch with an Ultralytics 8.2.82 checkout on PYTHONPATH, given
// by -ultralytics or $YOLOPS_ULTRALYTICS) that the command feeds one case
// at a time, alternating with its own: both sides see the same machine
// load, and with several rounds the fastest of each side counts. Without
// the reference it prints yolops' times alone and says why.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/yolops/yolops/internal/gemmbench"
	"github.com/yolops/yolops/nn"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "infer:", err)
		}
		os.Exit(2)
	}
}

type config struct {
	threads, imgsz, batch []int
	rounds                int
	minTime               time.Duration
	python, ultralytics   string
	scale                 string
}

// result is one case's best time per image on each side; torch is 0
// when the reference did not run.
type result struct {
	Threads int     `json:"threads"`
	Imgsz   int     `json:"imgsz"`
	Batch   int     `json:"batch"`
	Yolops  float64 `json:"yolops_ms_per_image"`
	Torch   float64 `json:"pytorch_ms_per_image,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config{threads: []int{1, 2}, imgsz: []int{320, 640}, batch: []int{1, 16}, rounds: 2,
		minTime: 2 * time.Second, python: "/usr/bin/python3", ultralytics: os.Getenv("YOLOPS_ULTRALYTICS"), scale: "n"}
	var asJSON bool
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	list := func(name string, dst *[]int, check func(int) error) {
		fs.Func(name, "comma-separated `list` (default "+joinInts(*dst)+")", func(s string) error {
			v, err := parseInts(s, check)
			*dst = v
			return err
		})
	}
	positive := func(n int) error {
		if n < 1 {
			return fmt.Errorf("%d is not positive", n)
		}
		return nil
	}
	list("threads", &cfg.threads, positive)
	list("imgsz", &cfg.imgsz, func(n int) error {
		if n < 32 || n%32 != 0 {
			return fmt.Errorf("image size %d is not a positive multiple of 32", n)
		}
		return nil
	})
	list("batch", &cfg.batch, positive)
	fs.IntVar(&cfg.rounds, "rounds", cfg.rounds, "times each case runs on each side, alternating; the fastest counts")
	fs.DurationVar(&cfg.minTime, "min-time", cfg.minTime, "timed runs of a case last at least this long (median taken)")
	fs.StringVar(&cfg.python, "python", cfg.python, "Python with torch for the reference")
	fs.StringVar(&cfg.ultralytics, "ultralytics", cfg.ultralytics, "`dir` holding the ultralytics package (8.2.82) for the reference; empty: no reference")
	fs.StringVar(&cfg.scale, "scale", cfg.scale, "YOLOv8 scale: n, s, m, l or x")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.rounds < 1 || cfg.minTime <= 0 {
		return fmt.Errorf("-rounds %d and -min-time %v must be positive", cfg.rounds, cfg.minTime)
	}

	ref, why := startReference(ctx, cfg)
	if ref == nil {
		fmt.Fprintf(stderr, "no PyTorch reference: %s\n", why)
	} else {
		defer ref.close()
		fmt.Fprintf(stderr, "reference: PyTorch %s\n", ref.version)
	}
	var results []result
	for _, threads := range cfg.threads {
		e := nn.NewEngine(threads)
		m, err := yolo.New(e, yolo.Config{Scale: cfg.scale, NC: 80}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			e.Close()
			return err
		}
		m.SetTrain(false)
		for _, sz := range cfg.imgsz {
			for _, bs := range cfg.batch {
				r := result{Threads: threads, Imgsz: sz, Batch: bs, Yolops: -1, Torch: -1}
				for round := range cfg.rounds {
					if err := ctx.Err(); err != nil {
						e.Close()
						return err
					}
					ms := timeYolops(m, bs, sz, cfg.minTime)
					r.Yolops = minPositive(r.Yolops, ms)
					line := fmt.Sprintf("threads %d imgsz %d batch %d round %d: yolops %.1f ms/image", threads, sz, bs, round+1, ms)
					if ref != nil {
						tms, err := ref.time(threads, sz, bs, cfg.minTime)
						if err != nil {
							e.Close()
							return fmt.Errorf("reference: %w", err)
						}
						r.Torch = minPositive(r.Torch, tms)
						line += fmt.Sprintf(", PyTorch %.1f", tms)
					}
					fmt.Fprintln(stderr, line)
				}
				if r.Torch < 0 {
					r.Torch = 0
				}
				results = append(results, r)
			}
		}
		e.Close()
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"machine": gemmbench.DescribeMachine(), "scale": cfg.scale, "results": results})
	}
	mach := gemmbench.DescribeMachine()
	fmt.Fprintf(stdout, "YOLOv8%s (80 classes) inference, forward + decode + NMS, ms per image (best of %d rounds of medians)\n", cfg.scale, cfg.rounds)
	fmt.Fprintf(stdout, "machine: %s, %d CPUs, %s, kernel %s\n\n", mach.CPU, mach.CPUs, mach.GoVersion, mach.Kernel)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "threads\timgsz\tbatch\tyolops\tPyTorch\tPyTorch/yolops\t")
	for _, r := range results {
		torch, ratio := "-", "-"
		if r.Torch > 0 {
			torch, ratio = fmt.Sprintf("%.1f", r.Torch), fmt.Sprintf("%.2fx", r.Torch/r.Yolops)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%s\t%s\t\n", r.Threads, r.Imgsz, r.Batch, r.Yolops, torch, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nPyTorch/yolops above 1 means yolops is faster.")
	return nil
}

// timeYolops returns the median time per image of forward + decode + NMS
// over runs lasting at least minTime, after one warm-up run.
func timeYolops(m *yolo.Model, batch, sz int, minTime time.Duration) float64 {
	x := tensor.New(batch, 3, sz, sz)
	r := rand.New(rand.NewPCG(2, 2))
	for i := range x.Data {
		x.Data[i] = r.Float32()
	}
	dec := tensor.New(0)
	once := func() {
		yolo.Decode(dec, m.Forward(x), 80)
		for i := range batch {
			yolo.NMS(dec, i, yolo.DefaultNMS())
		}
	}
	once()
	var times []time.Duration
	start := time.Now()
	for len(times) < 3 || time.Since(start) < minTime {
		t0 := time.Now()
		once()
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	return float64(times[len(times)/2].Microseconds()) / 1000 / float64(batch)
}

// reference is the PyTorch child process in serve mode.
type reference struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	version string
}

func startReference(ctx context.Context, cfg config) (*reference, string) {
	if cfg.ultralytics == "" {
		return nil, "give -ultralytics DIR (or $YOLOPS_ULTRALYTICS), the folder holding an Ultralytics 8.2.82 'ultralytics' package"
	}
	if _, err := os.Stat(filepath.Join(cfg.ultralytics, "ultralytics", "__init__.py")); err != nil {
		return nil, fmt.Sprintf("%s holds no ultralytics package", cfg.ultralytics)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return nil, "cannot locate bench/ref/infer_torch.py"
	}
	script := filepath.Join(filepath.Dir(file), "..", "ref", "infer_torch.py")
	cmd := exec.CommandContext(ctx, cfg.python, script, "--serve", "--model", "yolov8"+cfg.scale+".yaml")
	cfgDir, err := os.MkdirTemp("", "yolops-ref-")
	if err != nil {
		return nil, err.Error()
	}
	cmd.Env = append(os.Environ(), "PYTHONPATH="+cfg.ultralytics, "YOLO_OFFLINE=1", "YOLO_CONFIG_DIR="+cfgDir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err.Error()
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err.Error()
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Sprintf("%s: %v", cfg.python, err)
	}
	ref := &reference{cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	var hello struct {
		Ready bool   `json:"ready"`
		Torch string `json:"torch"`
	}
	if !ref.out.Scan() || json.Unmarshal(ref.out.Bytes(), &hello) != nil || !hello.Ready {
		ref.close()
		return nil, fmt.Sprintf("%s %s did not start (is python3-torch installed?)", cfg.python, script)
	}
	ref.version = hello.Torch
	return ref, ""
}

func (r *reference) time(threads, sz, batch int, minTime time.Duration) (float64, error) {
	if _, err := fmt.Fprintf(r.in, "%d %d %d %g\n", threads, sz, batch, minTime.Seconds()); err != nil {
		return 0, err
	}
	if !r.out.Scan() {
		return 0, fmt.Errorf("the reference process stopped: %v", r.out.Err())
	}
	var res struct {
		MS float64 `json:"ms_per_image"`
	}
	if err := json.Unmarshal(r.out.Bytes(), &res); err != nil || res.MS <= 0 {
		return 0, fmt.Errorf("unexpected reply %q", r.out.Text())
	}
	return res.MS, nil
}

func (r *reference) close() {
	r.in.Close()
	r.cmd.Wait()
}

func minPositive(cur, v float64) float64 {
	if cur < 0 || v < cur {
		return v
	}
	return cur
}

func parseInts(s string, check func(int) error) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", f)
		}
		if err := check(n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
