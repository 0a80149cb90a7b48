package gemmbench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of Run; it marshals to the -json output.
type Report struct {
	Machine  Machine       `json:"machine"`
	Imgsz    int           `json:"imgsz"`
	Duration string        `json:"duration_per_shape"`
	Repeats  int           `json:"repeats"`
	Backends []BackendInfo `json:"backends"`
	Shapes   []Shape       `json:"shapes"`
	Runs     []ThreadRun   `json:"runs"`
	Targets  []Target      `json:"targets"`
}

// BackendInfo names a backend in a report.
type BackendInfo struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// ThreadRun holds the results at one thread count.
type ThreadRun struct {
	Threads int   `json:"threads"`
	Rows    []Row `json:"rows"` // one per shape, in Report.Shapes' order
	// Total is FLOP-weighted over a forward pass: each shape counted as
	// often as the network runs it, total FLOPs over total time.
	Total Row `json:"total"`
	// OtherCPU is how many CPUs other work kept busy, on average, during
	// this run (-1: unknown). Well above 0, the timings are too low.
	OtherCPU float64 `json:"other_cpu"`
}

// Row is one shape's results, or the total of all.
type Row struct {
	Shape   string             `json:"shape"` // "MxNxK", or "total"
	M       int                `json:"m,omitempty"`
	N       int                `json:"n,omitempty"`
	K       int                `json:"k,omitempty"`
	Count   int                `json:"count"` // calls per forward pass
	FLOPs   float64            `json:"flops"` // per call; for the total, per forward pass
	Seconds map[string]float64 `json:"seconds"`
	GFLOPS  map[string]float64 `json:"gflops"`
	// Ratios are the first backend's GFLOPS over each other's, keyed
	// "yolops/openblas" and so on.
	Ratios map[string]float64 `json:"ratios"`
}

// Target is one of the project's speed goals, checked against a run.
type Target struct {
	Goal  string  `json:"goal"`
	Ratio float64 `json:"ratio"`
	Want  float64 `json:"want"`
	Met   bool    `json:"met"`
}

func newRow(shape string, m, n, k, count int, flops float64) Row {
	return Row{Shape: shape, M: m, N: n, K: k, Count: count, FLOPs: flops,
		Seconds: map[string]float64{}, GFLOPS: map[string]float64{}, Ratios: map[string]float64{}}
}

func (r *Report) backendNames() []string {
	var names []string
	for _, b := range r.Backends {
		names = append(names, b.Name)
	}
	return names
}

// ratioKeys are the Ratios keys, in backend order.
func ratioKeys(names []string) []string {
	var keys []string
	for _, n := range names[1:] {
		keys = append(keys, names[0]+"/"+n)
	}
	return keys
}

// finish fills in the ratios and the FLOP-weighted total.
func (t *ThreadRun) finish(names []string) {
	t.Total = newRow("total", 0, 0, 0, 0, 0)
	for i := range t.Rows {
		r := &t.Rows[i]
		t.Total.Count += r.Count
		t.Total.FLOPs += float64(r.Count) * r.FLOPs
		for _, n := range names {
			t.Total.Seconds[n] += float64(r.Count) * r.Seconds[n]
		}
		r.setRatios(names)
	}
	for _, n := range names {
		t.Total.GFLOPS[n] = t.Total.FLOPs / t.Total.Seconds[n] / 1e9
	}
	t.Total.setRatios(names)
}

func (r *Row) setRatios(names []string) {
	for i, k := range ratioKeys(names) {
		r.Ratios[k] = r.GFLOPS[names[0]] / r.GFLOPS[names[i+1]]
	}
}

// targets checks the goals whose backends and thread count were measured.
func (r *Report) targets() []Target {
	var ts []Target
	for _, run := range r.Runs {
		if run.Threads != TargetThreads {
			continue
		}
		for _, g := range []struct {
			backend string
			want    float64
		}{{"openblas", TargetOpenBLASRate}, {"gonum", TargetGonumRate}} {
			ratio, ok := run.Total.Ratios["yolops/"+g.backend]
			if !ok {
				continue
			}
			ts = append(ts, Target{
				Goal:  fmt.Sprintf("yolops >= %.2fx %s, FLOP-weighted at %d threads", g.want, g.backend, TargetThreads),
				Ratio: ratio, Want: g.want, Met: ratio >= g.want,
			})
		}
	}
	return ts
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("gemmbench: writing JSON: %w", err)
	}
	return nil
}

// WriteTable writes the report as text: a header on the machine and
// backends, then per thread count a table of GFLOPS per shape and backend
// with the ratios, ending in the FLOP-weighted total, then the targets.
func (r *Report) WriteTable(w io.Writer) error {
	names := r.backendNames()
	var convs int
	var flops float64
	for _, s := range r.Shapes {
		convs += s.Count()
		flops += float64(s.Count()) * s.FLOPs()
	}
	m := r.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "SGEMM on the convolutions of YOLOv8n (nc=1) at imgsz %d: %d convs, %d shapes, %.2f GFLOP per image\n",
		r.Imgsz, convs, len(r.Shapes), flops/1e9)
	fmt.Fprintf(&b, "machine: %s, %d logical CPUs, GOMAXPROCS %d, %s %s/%s\n",
		m.CPU, m.CPUs, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch)
	for _, bi := range r.Backends {
		fmt.Fprintf(&b, "  %-9s %s\n", bi.Name+":", bi.Detail)
	}
	fmt.Fprintf(&b, "timing: %s per shape and backend, best of %d timed loops after warm-up\n", r.Duration, r.Repeats)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("gemmbench: writing table: %w", err)
	}

	keys := ratioKeys(names)
	for _, run := range r.Runs {
		fmt.Fprintf(w, "\nthreads=%d, GFLOPS\n", run.Threads)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		head := []string{"shape MxNxK", "convs", "MFLOP"}
		head = append(head, names...)
		head = append(head, keys...)
		fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
		for _, row := range append(run.Rows, run.Total) {
			label := row.Shape
			if row.Shape == "total" {
				label = "FLOP-weighted total"
			}
			cells := []string{label, fmt.Sprint(row.Count), fmt.Sprintf("%.1f", row.FLOPs/1e6)}
			for _, n := range names {
				cells = append(cells, fmt.Sprintf("%.1f", row.GFLOPS[n]))
			}
			for _, k := range keys {
				cells = append(cells, fmt.Sprintf("%.2fx", row.Ratios[k]))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("gemmbench: writing table: %w", err)
		}
		if run.OtherCPU >= 0 {
			fmt.Fprintf(w, "other work on the machine meanwhile: %.2f CPUs", run.OtherCPU)
			if run.OtherCPU > 0.1 {
				fmt.Fprint(w, " -- the machine was shared, these timings are too low; run again when it is idle")
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets:")
		for _, t := range r.Targets {
			verdict := "met"
			if !t.Met {
				verdict = "NOT met"
			}
			fmt.Fprintf(w, "  %s: %.2fx, %s\n", t.Goal, t.Ratio, verdict)
		}
	}
	_, err := fmt.Fprintln(w)
	if err != nil {
		return fmt.Errorf("gemmbench: writing table: %w", err)
	}
	return nil
}
