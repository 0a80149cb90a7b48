// Command train times YOLOv8n training on the person images of COCO128 in
// yolops and, when the reference is installed, in Ultralytics 8.2.82 on
// PyTorch (CPU, same threads, same data, imgsz and batch, no AMP), and
// prints seconds per epoch, their ratio and each side's peak memory:
//
//	go run ./bench/train -ultralytics /path/to/ultralytics-8.2.82
//	go run ./bench/train -threads 2 -imgsz 416 -epochs 3
//
// Both sides run as child processes, one after the other for each case,
// so that each one's peak resident memory is its own (getrusage of the
// child). An epoch is timed from the end of the previous one (the start
// of training for the first) to the end of its validation, as the
// Ultralytics trainer loop runs it; the median over epochs 2.. counts,
// leaving out the first epoch's one-off costs (model build, warm-up).
// The reference is bench/../train/testdata/ref/gen_train_ref.py on
// Debian's python3-torch, with PYTHONPATH at -ultralytics (or
// $YOLOPS_ULTRALYTICS); without it yolops' times print alone.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if len(os.Args) > 2 && os.Args[1] == "-child" {
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(train.GCPercent) // as cmd/yolops does
		}
		err = child(ctx, os.Args[2])
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "train bench:", err)
		}
		os.Exit(2)
	}
}

// childArgs is what the parent hands a yolops child, as JSON.
type childArgs struct {
	Data    string `json:"data"`
	Imgsz   int    `json:"imgsz"`
	Batch   int    `json:"batch"`
	Epochs  int    `json:"epochs"`
	Threads int    `json:"threads"`
	Dir     string `json:"dir"`
	Profile string `json:"profile,omitempty"`
}

// child trains from scratch and prints one JSON line per epoch with the
// seconds since the previous line.
func child(ctx context.Context, spec string) error {
	var c childArgs
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return err
	}
	a := train.DefaultArgs()
	a.Model, a.Data, a.ImgSz, a.Batch, a.Epochs = "yolov8n.yaml", c.Data, c.Imgsz, c.Batch, c.Epochs
	a.Threads, a.Workers, a.Plots, a.Project, a.Name, a.ExistOK = c.Threads, 2, false, c.Dir, "bench", true
	obs := &epochTimer{last: time.Now(), out: json.NewEncoder(os.Stdout)}
	if c.Profile != "" {
		f, err := os.Create(c.Profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	_, err := train.Run(ctx, a, train.Options{Observer: obs})
	if err == nil && c.Profile != "" {
		// What the run still holds (train.Run's buffers are garbage by
		// now, but the profile records where the peak's bytes came from).
		err = writeHeapProfile(strings.TrimSuffix(c.Profile, ".prof") + ".heap")
	}
	return err
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type epochTimer struct {
	last time.Time
	out  *json.Encoder
	seen map[int]bool
}

func (o *epochTimer) OnTrainStart(map[string]string) { o.last = time.Now() }
func (o *epochTimer) OnArtifact(string, string)      {}
func (o *epochTimer) OnTrainEnd(error)               {}
func (o *epochTimer) OnEpochEnd(epoch int, _ map[string]float64) {
	if o.seen == nil {
		o.seen = map[int]bool{}
	}
	if o.seen[epoch] { // the final validation's repeat of the last epoch
		return
	}
	o.seen[epoch] = true
	now := time.Now()
	o.out.Encode(map[string]any{"epoch": epoch + 1, "seconds": now.Sub(o.last).Seconds()})
	o.last = now
}

type config struct {
	threads, imgsz      []int
	epochs, batch       int
	coco, python, ultra string
	profile             string
}

type result struct {
	Threads, Imgsz      int
	Yolops, Torch       float64 // median seconds per epoch after the first
	YolopsRSS, TorchRSS int64   // peak resident bytes
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config{threads: []int{1, 2}, imgsz: []int{320, 416}, epochs: 3, batch: 16,
		coco: filepath.Join("..", "shared", "data", "coco128"), python: "/usr/bin/python3", ultra: os.Getenv("YOLOPS_ULTRALYTICS")}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ints := func(name string, dst *[]int) {
		fs.Func(name, "comma-separated `list`", func(s string) error {
			var out []int
			for _, f := range strings.Split(s, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 {
					return fmt.Errorf("%q is not a positive whole number", f)
				}
				out = append(out, n)
			}
			*dst = out
			return nil
		})
	}
	ints("threads", &cfg.threads)
	ints("imgsz", &cfg.imgsz)
	fs.IntVar(&cfg.epochs, "epochs", cfg.epochs, "epochs per run (at least 2: the first is not counted)")
	fs.IntVar(&cfg.batch, "batch", cfg.batch, "images per batch")
	fs.StringVar(&cfg.coco, "coco128", cfg.coco, "`dir` of COCO128 (images/ and labels/)")
	fs.StringVar(&cfg.python, "python", cfg.python, "Python with torch for the reference")
	fs.StringVar(&cfg.ultra, "ultralytics", cfg.ultra, "`dir` holding the ultralytics package (8.2.82); empty: no reference")
	fs.StringVar(&cfg.profile, "cpuprofile", "", "`dir` to write each yolops run's CPU profile (cpu_<threads>_<imgsz>.prof) and allocation profile (.heap) into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.epochs < 2 || cfg.batch < 1 {
		return fmt.Errorf("-epochs %d (want at least 2) or -batch %d is out of range", cfg.epochs, cfg.batch)
	}
	if cfg.profile != "" {
		// The children's stderr is not shown: a bad folder must fail here.
		if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
	}
	for _, s := range cfg.imgsz {
		if s%32 != 0 {
			return fmt.Errorf("-imgsz %d is not a multiple of 32", s)
		}
	}
	tmp, err := os.MkdirTemp("", "yolops-train-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(stderr, "preparing the person images of %s\n", cfg.coco)
	prep, err := dataset.Prepare(ctx, dataset.PrepareOptions{Source: "coco128", From: cfg.coco, Classes: []string{"person"}, Out: filepath.Join(tmp, "person")})
	if err != nil {
		return err
	}
	// Ultralytics resolves a relative data YAML against its own datasets
	// folder: give it the same YAML with an absolute path.
	refYAML := filepath.Join(tmp, "person_abs.yaml")
	if err := os.WriteFile(refYAML, []byte(fmt.Sprintf("path: %s\ntrain: images/train2017\nval: images/train2017\nnames:\n  0: person\n", prep.Dir)), 0o644); err != nil {
		return err
	}
	refScript, why := reference(cfg)
	if refScript == "" {
		fmt.Fprintf(stderr, "no PyTorch reference: %s\n", why)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []result
	for _, th := range cfg.threads {
		for _, sz := range cfg.imgsz {
			r := result{Threads: th, Imgsz: sz}
			ca := childArgs{Data: prep.DataYAML, Imgsz: sz, Batch: cfg.batch, Epochs: cfg.epochs, Threads: th, Dir: filepath.Join(tmp, "runs")}
			if cfg.profile != "" {
				if ca.Profile, err = filepath.Abs(filepath.Join(cfg.profile, fmt.Sprintf("cpu_%d_%d.prof", th, sz))); err != nil {
					return err
				}
			}
			spec, _ := json.Marshal(ca)
			fmt.Fprintf(stderr, "yolops: threads %d imgsz %d, %d epochs\n", th, sz, cfg.epochs)
			cmd := exec.CommandContext(ctx, self, "-child", string(spec))
			cmd.Stderr = io.Discard
			secs, rss, err := runEpochs(cmd, func(line []byte) (float64, bool) {
				var e struct{ Seconds float64 }
				return e.Seconds, json.Unmarshal(line, &e) == nil && e.Seconds > 0
			})
			if err != nil {
				return fmt.Errorf("yolops child: %w", err)
			}
			r.Yolops, r.YolopsRSS = median(secs[1:]), rss
			fmt.Fprintf(stderr, "  epochs %v s, peak %d MiB\n", round(secs), rss>>20)
			if refScript != "" {
				fmt.Fprintf(stderr, "PyTorch: threads %d imgsz %d, %d epochs\n", th, sz, cfg.epochs)
				out := filepath.Join(tmp, fmt.Sprintf("ref_%d_%d.json", th, sz))
				cmd := exec.CommandContext(ctx, cfg.python, refScript, "--data", refYAML, "--out", out, "--imgsz", strconv.Itoa(sz),
					"--epochs", strconv.Itoa(cfg.epochs), "--batch", strconv.Itoa(cfg.batch), "--threads", strconv.Itoa(th), "--project", filepath.Join(tmp, "refruns"))
				cmd.Env = append(os.Environ(), "PYTHONPATH="+cfg.ultra, "YOLO_OFFLINE=1", "YOLO_CONFIG_DIR="+filepath.Join(tmp, "ycfg"))
				cmd.Stderr = io.Discard
				_, rss, err := runEpochs(cmd, nil)
				if err != nil {
					return fmt.Errorf("reference: %w", err)
				}
				secs, err := refEpochs(out)
				if err != nil {
					return err
				}
				r.Torch, r.TorchRSS = median(secs[1:]), rss
				fmt.Fprintf(stderr, "  epochs %v s, peak %d MiB\n", round(secs), rss>>20)
			}
			results = append(results, r)
		}
	}
	fmt.Fprintf(stdout, "YOLOv8n from scratch on the %d person images of COCO128 (train = val), batch %d, seconds per epoch\n", prep.Splits[0].Stats.Images, cfg.batch)
	fmt.Fprintf(stdout, "(training + validation, median of epochs 2-%d), peak resident memory; %s, %d CPUs\n\n", cfg.epochs, runtime.GOARCH, runtime.NumCPU())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "threads\timgsz\tyolops s\tPyTorch s\tPyTorch/yolops\tyolops MiB\tPyTorch MiB\t")
	for _, r := range results {
		ts, ratio, tm := "-", "-", "-"
		if r.Torch > 0 {
			ts, ratio, tm = fmt.Sprintf("%.2f", r.Torch), fmt.Sprintf("%.2fx", r.Torch/r.Yolops), strconv.FormatInt(r.TorchRSS>>20, 10)
		}
		fmt.Fprintf(tw, "%d\t%d\t%.2f\t%s\t%s\t%d\t%s\t\n", r.Threads, r.Imgsz, r.Yolops, ts, ratio, r.YolopsRSS>>20, tm)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nPyTorch/yolops above 1 means yolops is faster.")
	return nil
}

// runEpochs runs cmd, collecting the per-epoch seconds parse finds on its
// stdout lines (parse nil: none), and returns them with the child's peak
// resident memory.
func runEpochs(cmd *exec.Cmd, parse func([]byte) (float64, bool)) ([]float64, int64, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	var secs []float64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if parse != nil {
			if s, ok := parse(sc.Bytes()); ok {
				secs = append(secs, s)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, 0, err
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10 // kilobytes on Linux
	}
	if parse != nil && len(secs) < 2 {
		return nil, 0, fmt.Errorf("%d epochs timed, want at least 2", len(secs))
	}
	return secs, rss, nil
}

// refEpochs reads gen_train_ref.py's JSON: epoch_seconds runs from the
// start of an epoch's training to the end of its validation.
func refEpochs(path string) ([]float64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ref struct {
		Epochs []struct {
			Epoch   int     `json:"epoch"`
			Seconds float64 `json:"epoch_seconds"`
		} `json:"epochs"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var secs []float64
	seen := map[int]bool{}
	for _, e := range ref.Epochs {
		if !seen[e.Epoch] { // the final validation repeats the last epoch
			seen[e.Epoch] = true
			secs = append(secs, e.Seconds)
		}
	}
	if len(secs) < 2 {
		return nil, fmt.Errorf("%s: %d epochs, want at least 2", path, len(secs))
	}
	return secs, nil
}

func reference(cfg config) (script, why string) {
	if cfg.ultra == "" {
		return "", "give -ultralytics DIR (or $YOLOPS_ULTRALYTICS), the folder holding an Ultralytics 8.2.82 'ultralytics' package"
	}
	if _, err := os.Stat(filepath.Join(cfg.ultra, "ultralytics", "__init__.py")); err != nil {
		return "", fmt.Sprintf("%s holds no ultralytics package", cfg.ultra)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", "cannot locate train/testdata/ref/gen_train_ref.py"
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "train", "testdata", "ref", "gen_train_ref.py"), ""
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*100+0.5)) / 100
	}
	return out
}
