package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
)

const trackingURIHelp = `where runs are tracked: http(s)://host:port (a tracking server), a folder
holding mlruns.db, sqlite:///path.db or postgresql://...
(default $MLFLOW_TRACKING_URI, else the working directory)`

func newPipelineCmd() *cobra.Command {
	var trackingURI string
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Inspect cached pipeline runs and the lineage of their artifacts",
		Long: `Pipelines run steps in a DAG, ZenML-style: a step whose name, code version,
parameters and input contents match an earlier finished run reuses that
run's outputs instead of running again. Each pipeline run is an MLflow run,
each step run a nested run, so the tracking UI and MLflow clients see them
too; these commands read them back.`,
	}
	cmd.PersistentFlags().StringVar(&trackingURI, "tracking-uri", "", trackingURIHelp)
	cmd.AddCommand(newPipelineListCmd(&trackingURI), newPipelineShowCmd(&trackingURI))
	cmd.AddCommand(newPipelineRunCmd(&trackingURI))
	return cmd
}

func newPipelineListCmd(trackingURI *string) *cobra.Command {
	var (
		opt    pipeline.ListOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pipeline runs, newest first",
		Example: `  yolops pipeline list
  yolops pipeline list --pipeline person-detector --max 10 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openTrackingForReading(cmd.Context(), *trackingURI)
			if err != nil {
				return err
			}
			defer store.Close()
			runs, err := pipeline.List(cmd.Context(), store, opt)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return writePipelineJSON(w, runs)
			}
			if len(runs) == 0 {
				fmt.Fprintln(w, "no pipeline runs")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN ID\tPIPELINE\tRUN NAME\tSTATUS\tSTARTED\tTOOK\tSTEPS")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RunID, r.Pipeline, r.RunName, r.Status,
					pipelineTime(r.StartTime), pipelineSpan(r.StartTime, r.EndTime), r.Summary)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Pipeline, "pipeline", "", "only this pipeline's runs")
	f.StringVar(&opt.Experiment, "experiment", "", "only runs in this experiment")
	f.Var(checkedInt{&opt.MaxResults, func(n int) error {
		if n < 1 || n > 50000 {
			return errors.New("out of range: want 1 to 50000")
		}
		return nil
	}}, "max", "list at most this many runs (default 100)")
	f.BoolVar(&asJSON, "json", false, "print the runs as JSON")
	return cmd
}

func newPipelineShowCmd(trackingURI *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a pipeline run: its DAG, what each step did, and its artifacts' lineage",
		Long: `Show a pipeline run: each step in DAG order with what became of it
(executed, cached from an earlier step run, failed, killed, skipped), how
long it took, its parameters, its inputs with the step run that produced
each (or the source file or directory), and its outputs with their content
hashes, where they are stored and which steps read them.

RUN is a pipeline run's id, or a prefix of it (at least 6 characters)
naming one pipeline run.`,
		Example: `  yolops pipeline show 3f2a9c1d
  yolops pipeline show 3f2a9c1d04e8437a9fd2b6c4a1e07b55 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := openTrackingForReading(ctx, *trackingURI)
			if err != nil {
				return err
			}
			defer store.Close()
			id, err := resolvePipelineRun(ctx, store, args[0])
			if err != nil {
				return err
			}
			rec, err := pipeline.Inspect(ctx, store, id)
			if err != nil {
				return err
			}
			if asJSON {
				return writePipelineJSON(cmd.OutOrStdout(), rec)
			}
			return writeRunRecord(cmd.OutOrStdout(), rec)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the run as JSON")
	return cmd
}

// openTrackingForReading opens the tracking store a URI names, as
// client.Open does, but refuses to create an empty local one: a command
// that only reads should say the store is not there.
func openTrackingForReading(ctx context.Context, uri string) (*client.Client, error) {
	if uri == "" {
		uri = os.Getenv("MLFLOW_TRACKING_URI")
	}
	if uri == "" {
		uri = "."
	}
	db := ""
	switch {
	case strings.HasPrefix(uri, "sqlite:///"):
		db = strings.TrimPrefix(uri, "sqlite:///")
		if db == ":memory:" {
			db = ""
		}
	case strings.HasPrefix(uri, "file:///"):
		db = filepath.Join(strings.TrimPrefix(uri, "file://"), client.DefaultDB)
	case !strings.Contains(uri, "://") && !strings.HasPrefix(uri, "sqlite:") && !strings.HasPrefix(uri, "postgres"):
		db = filepath.Join(uri, client.DefaultDB)
	}
	if db != "" {
		if _, err := os.Stat(db); err != nil {
			return nil, fmt.Errorf("no tracking store at %s (tracking URI %q): set --tracking-uri or MLFLOW_TRACKING_URI to where runs are tracked", db, uri)
		}
	}
	return client.Open(ctx, uri)
}

var runIDPrefix = regexp.MustCompile(`^[0-9a-f]{6,31}$`)

// resolvePipelineRun returns the run id arg names: a run id, or a prefix
// of exactly one pipeline run's id.
func resolvePipelineRun(ctx context.Context, s tracking.TrackingStore, arg string) (string, error) {
	_, err := s.GetRun(ctx, arg)
	if err == nil || !tracking.IsNotFound(err) && !runIDPrefix.MatchString(arg) {
		return arg, err
	}
	if !runIDPrefix.MatchString(arg) {
		return "", fmt.Errorf("no run %q", arg)
	}
	var ids []string
	token := ""
	for {
		exps, next, err := s.SearchExperiments(ctx, tracking.SearchExperiments{ViewType: tracking.AllStages, MaxResults: 1000, PageToken: token})
		if err != nil {
			return "", err
		}
		for _, e := range exps {
			ids = append(ids, e.ExperimentID)
		}
		if next == "" {
			break
		}
		token = next
	}
	runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{
		ExperimentIDs: ids,
		Filter:        fmt.Sprintf("attributes.run_id LIKE '%s%%' and tags.`%s` LIKE '%%'", arg, pipeline.TagPipeline),
		ViewType:      tracking.AllStages,
		MaxResults:    2,
	})
	switch {
	case err != nil:
		return "", err
	case len(runs) == 0:
		return "", fmt.Errorf("no pipeline run with an id starting %q", arg)
	case len(runs) > 1:
		return "", fmt.Errorf("several pipeline runs have ids starting %q (%s, %s...): give more of the id", arg, runs[0].Info.RunID, runs[1].Info.RunID)
	}
	return runs[0].Info.RunID, nil
}

func writePipelineJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func pipelineTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).Format("2006-01-02 15:04:05")
}

// pipelineSpan is how long from start to end, "-" if not ended.
func pipelineSpan(start, end int64) string {
	if start == 0 || end == 0 {
		return "-"
	}
	return pipelineDuration(time.Duration(end-start) * time.Millisecond)
}

func pipelineDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// pipelineHash shortens a content hash for reading: sha256:0123456789ab.
func pipelineHash(h string) string {
	hex, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(hex) <= 12 {
		return h
	}
	suffix := ""
	if strings.HasSuffix(hex, ".dir") {
		suffix = ".dir"
	}
	return "sha256:" + hex[:12] + suffix
}

func writeRunRecord(w io.Writer, rec *pipeline.RunRecord) error {
	r := rec.Run
	fmt.Fprintf(w, "Pipeline %s, run %s (%s): %s\n", rec.Pipeline, r.RunID, r.RunName, r.Status)
	fmt.Fprintf(w, "Experiment %s, started %s, took %s", r.ExperimentID, pipelineTime(r.StartTime), pipelineSpan(r.StartTime, r.EndTime))
	if rec.Summary != "" {
		fmt.Fprintf(w, ": %s", rec.Summary)
	}
	fmt.Fprintln(w)
	for i, st := range rec.Steps {
		fmt.Fprintln(w)
		state := string(st.Status)
		switch st.Status {
		case pipeline.StepCached:
			state = "cached from " + st.CachedFrom
		case pipeline.StepSkipped:
			state = "not run"
			switch r.Status {
			case tracking.RunFailed:
				state += " (an upstream step failed)"
			case tracking.RunKilled:
				state += " (the run was stopped)"
			case tracking.RunRunning:
				state += " yet"
			}
		case pipeline.StepRunning:
			state = "running (or its process died)"
		}
		fmt.Fprintf(w, "[%d] %s: %s", i+1, st.Name, state)
		if st.RunID != "" {
			fmt.Fprintf(w, ", %s, step run %s", pipelineSpan(st.StartTime, st.EndTime), st.RunID)
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if len(st.Upstream) > 0 {
			fmt.Fprintf(tw, "    after\t%s\n", strings.Join(st.Upstream, ", "))
		}
		if st.Version != "" {
			v := st.Version
			if st.SourceHash != "" {
				v += ", source " + pipelineHash(st.SourceHash)
			}
			fmt.Fprintf(tw, "    version\t%s\n", v)
		}
		if st.Error != "" {
			msg, _, _ := strings.Cut(st.Error, "\n")
			fmt.Fprintf(tw, "    error\t%s\n", msg)
		}
		for j, p := range st.Params {
			fmt.Fprintf(tw, "    %s\t%s = %s\n", listLabel(j, "params"), p.Key, p.Value)
		}
		for j, in := range st.Inputs {
			from := "source " + in.Source
			if in.Source == "" {
				from = fmt.Sprintf("%s.%s (step run %s)", in.Step, in.Output, in.RunID)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t<- %s\n", listLabel(j, "inputs"), in.Name, pipelineHash(in.Hash), from)
		}
		for j, o := range st.Outputs {
			to := ""
			if len(o.Consumers) > 0 {
				to = " -> " + strings.Join(o.Consumers, ", ")
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s, %d bytes%s\n", listLabel(j, "outputs"), o.Name, pipelineHash(o.Hash), o.Kind, o.Size, to)
			fmt.Fprintf(tw, "    \t\t\tat %s\n", o.URI)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, p := range rec.Problems {
		fmt.Fprintf(w, "warning: %s\n", p)
	}
	return nil
}

// listLabel returns name for the first line of a list and blanks after.
func listLabel(i int, name string) string {
	if i == 0 {
		return name
	}
	return ""
}
