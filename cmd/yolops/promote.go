package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/yolops/yolops/promote"
)

// constraintsValue is a repeatable --min metric=value flag.
type constraintsValue struct{ p *[]promote.Constraint }

func (v constraintsValue) String() string {
	if v.p == nil {
		return ""
	}
	s := make([]string, len(*v.p))
	for i, c := range *v.p {
		s[i] = fmt.Sprintf("%s=%g", c.Metric, c.Min)
	}
	return strings.Join(s, ",")
}

func (v constraintsValue) Set(s string) error {
	c, err := promote.ParseConstraint(s)
	if err != nil {
		return err
	}
	*v.p = append(*v.p, c)
	return nil
}

func (constraintsValue) Type() string { return "metric=value" }

func newPromoteCmd() *cobra.Command {
	var (
		o           promote.Options
		trackingURI string
	)
	o.Metric = "mAP50"
	o.Stage = "Staging"
	o.User = os.Getenv("USER")
	cmd := &cobra.Command{
		Use:   "promote --experiment E [--metric mAP50] [--min metric=value] [--stage Staging|Production]",
		Short: "Pick the best run of an experiment, register it, move it to a stage and write the decision",
		Long: `Rank the finished runs of an experiment and promote the best to the model
registry, writing down why.

Runs that differ only in their seed are one configuration: promote ranks
configurations by the mean of --metric over their seeds (ties: mAP50-95,
then fewer epochs, then the smaller imgsz), applies the --min constraints
to the configuration's mean and to the run it registers, and registers the
best seed of the first configuration that meets them. A run's value is its
latest logged one: the final validation of its best weights, as
Ultralytics logs it after the last epoch.

The version (source runs:/<run>/weights/best.safetensors) moves to Staging
and, with --stage Production, on to Production, archiving the version
that was there; the alias (champion for Production, challenger for
Staging) is pointed at it and each transition records --user and the
reason. Promoting a run registered before reuses its version.

The decision is written as decision.md and decision.html (figures
embedded) with its PNGs to --out, and stored with the promoted run under
promotion/<time>/, which the version's yolops.report_uri tag names: the
objective and constraints, the promoted run, the top-3 configurations,
the effect of each swept setting over seeds, seed variance, risks and
next steps, every number read from the tracking store.

--metric and --min take mAP50, mAP50-95, precision and recall, which
resolve to the keys Ultralytics logs (metrics/mAP50B; MLflow forbids
parentheses), or any logged key. When no run meets the constraints,
promote changes nothing, writes the report of the refusal and exits with
an error naming the constraint the best configuration fails.`,
		Example: `  yolops promote --experiment person-grid
  yolops promote --experiment person-grid --metric mAP50 --min precision=0.3 --stage Production
  yolops promote --experiment person-grid --dry-run --out report/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Experiment == "" {
				return fmt.Errorf("--experiment is required: the experiment whose runs compete")
			}
			ctx := cmd.Context()
			c, err := openTrackingForReading(ctx, trackingURI)
			if err != nil {
				return err
			}
			defer c.Close()
			o.Version = cmd.Root().Version
			o.CommandLine = commandLine(cmd)
			o.TrackingURI = c.URI()
			res, err := promote.Promote(ctx, c, o)
			if res != nil {
				printPromotion(cmd.OutOrStdout(), res, o)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&trackingURI, "tracking-uri", "", trackingURIHelp)
	f.StringVar(&o.Experiment, "experiment", "", "the experiment (name or id) whose finished runs compete")
	f.StringVar(&o.Metric, "metric", o.Metric, "objective, higher is better: mAP50, mAP50-95, precision, recall or a logged metric key")
	f.Var(constraintsValue{&o.Constraints}, "min", "a lower bound, metric=value (repeatable): --min precision=0.3")
	f.StringVar(&o.Stage, "stage", o.Stage, "stage to move the version to: Staging or Production")
	f.StringVar(&o.ModelName, "model-name", "", "registered model name (default: the experiment's name, slashes and spaces made dashes)")
	f.StringVar(&o.Alias, "alias", "", "alias to point at the version (default: champion for Production, challenger for Staging)")
	f.StringVar(&o.Weights, "weights", "", "run artifact to register (default weights/best.safetensors, else weights/best.pt)")
	f.StringVar(&o.OutDir, "out", "", "folder for the local copy of the report (default runs/promote/<experiment>-<time>)")
	f.StringVar(&o.User, "user", o.User, "who promotes, recorded with the stage transitions (default $USER)")
	f.BoolVar(&o.DryRun, "dry-run", false, "decide and write the report locally; change nothing in the registry")
	return cmd
}

// commandLine reconstructs the command as typed, for the report.
func commandLine(cmd *cobra.Command) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name == "min" {
			for _, v := range strings.Split(f.Value.String(), ",") {
				parts = append(parts, "--min "+v)
			}
			return
		}
		if f.Value.Type() == "bool" {
			parts = append(parts, "--"+f.Name)
			return
		}
		parts = append(parts, "--"+f.Name+" "+shellQuote(f.Value.String()))
	})
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printPromotion(w io.Writer, res *promote.Result, o promote.Options) {
	a := res.Analysis
	fmt.Fprintf(w, "experiment %s: %d runs ranked in %d configurations, %d left out\n",
		a.Experiment.Name, len(a.Runs), len(a.Configs), len(a.Skipped))
	top := a.Top(3)
	for _, c := range top {
		mark := " "
		if c == a.Chosen {
			mark = "*"
		}
		status := ""
		if !c.Qualifies() {
			var f []string
			for _, x := range c.Failed {
				f = append(f, x.String())
			}
			if c.NoRun {
				f = append(f, "no single run meets the constraints")
			}
			status = "  fails: " + strings.Join(f, ", ")
		}
		fmt.Fprintf(w, "%s #%d %-28s %s mean %.4f over %d run(s)%s\n", mark, c.Rank, c.Key,
			promote.ShortName(a.Objective), c.Mean, len(c.Runs), status)
	}
	if r := a.Candidate; r != nil {
		fmt.Fprintf(w, "candidate: run %s (%s), %s %.4f\n", r.Name, r.ID, promote.ShortName(a.Objective), r.Value)
	}
	if reg := res.Registration; reg != nil {
		v := reg.Version
		how := "registered"
		if !reg.Created {
			how = "already registered"
		}
		fmt.Fprintf(w, "%s %s version %s, stage %s", how, res.Model, v.Version, v.CurrentStage)
		if len(reg.Aliases) > 0 {
			fmt.Fprintf(w, ", alias %s", strings.Join(reg.Aliases, ", "))
		}
		fmt.Fprintln(w)
		if len(reg.Archived) > 0 {
			fmt.Fprintf(w, "archived version(s) %s\n", strings.Join(reg.Archived, ", "))
		}
	} else if o.DryRun && a.Candidate != nil {
		fmt.Fprintln(w, "dry run: nothing registered")
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(res.ReportDir, promote.ReportHTML))
	if res.ReportURI != "" {
		fmt.Fprintf(w, "stored with the run: %s\n", res.ReportURI)
	}
}
