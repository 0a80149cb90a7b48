package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/dataset"
)

// maxProblemsShown bounds the problems the text summary lists; --json
// lists them all.
const maxProblemsShown = 20

func newDataPrepareCmd() *cobra.Command {
	var (
		opts   = dataset.PrepareOptions{Source: "coco128"}
		asJSON bool
		quiet  bool
	)
	cmd := &cobra.Command{
		Use:   "prepare --source coco128 --classes person --out DIR",
		Short: "Build a YOLO dataset of chosen classes, such as person-only COCO128",
		Long: `Build a YOLO dataset holding only the chosen classes of a source dataset,
renumbered 0..k-1 in the order given: DIR/images/<split>/ (copies of the
images), DIR/labels/<split>/ (their labels, filtered), DIR/data.yaml for
yolops and Ultralytics, and DIR/prepare.json recording how it was built.

--source is coco128, or the path of an Ultralytics data YAML. COCO128 is
read from --from (a copy of the extracted archive, the directory holding
images/ and labels/), else from the cache (--cache, default
$YOLOPS_CACHE/datasets or the user cache directory), else downloaded from
Ultralytics' release into the cache. Every file is checked against the
SHA-256 digests built into yolops: a download that differs is refused; a
--from tree with a file missing is refused, one with changed or extra
files is used with a warning.

Every image is decoded and every label line checked first; the summary
names each broken file and line. Broken images, and images with a broken
label line, are left out; repeated label lines are dropped; images left
without boxes are dropped unless --keep-background.

DIR must not exist, be empty, or hold an earlier output of this command,
which is replaced only once the new one is complete.`,
		Example: `  yolops data prepare --source coco128 --classes person --out datasets/coco128-person
  yolops data prepare --from ~/datasets/coco128 --classes person --keep-background --out person
  yolops data prepare --source data/coco.yaml --classes car,truck --out vehicles --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Out == "" {
				return errors.New("prepare needs --out, the directory to build")
			}
			if !quiet {
				opts.Progress = cmd.ErrOrStderr()
			}
			res, err := dataset.Prepare(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return writePrepareSummary(cmd.OutOrStdout(), res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Source, "source", opts.Source, "coco128, or the path of an Ultralytics data YAML")
	f.StringVar(&opts.From, "from", "", "a local copy of the extracted coco128 archive, instead of the cache or a download")
	f.StringSliceVar(&opts.Classes, "classes", nil, "classes to keep, by name or id, in their new order (default all)")
	f.StringVar(&opts.Out, "out", "", "the directory to build")
	f.BoolVar(&opts.KeepBackground, "keep-background", false, "keep images left without boxes, as background images")
	f.StringVar(&opts.CacheDir, "cache", "", "where downloaded datasets are kept (default $YOLOPS_CACHE/datasets or the user cache directory)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVarP(&quiet, "quiet", "q", false, "print no progress lines")
	return cmd
}

// writePrepareSummary prints the problems found, each split's statistics
// before and after filtering, and where data.yaml is.
func writePrepareSummary(w io.Writer, res *dataset.PrepareResult) error {
	var b strings.Builder
	for _, warn := range res.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	for _, s := range res.Splits {
		if s.SameAs != "" {
			fmt.Fprintf(&b, "\n%s: the images of %s (%s)\n", s.Name, s.SameAs, s.Dir)
			continue
		}
		if n := len(s.Problems); n > 0 {
			fmt.Fprintf(&b, "\n%s: %d problems in the source:\n", s.Name, n)
			for i, p := range s.Problems {
				if i == maxProblemsShown {
					fmt.Fprintf(&b, "  ... and %d more (--json lists them all)\n", n-i)
					break
				}
				fmt.Fprintf(&b, "  %s\n", p)
			}
		}
		fmt.Fprintf(&b, "\n%s: source\n", s.Name)
		if err := s.Source.WriteTable(&b); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n%s: written to %s\n", s.Name, s.Dir)
		if err := s.Stats.WriteTable(&b); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "\nclasses: %s\ndata.yaml: %s\n", strings.Join(res.Names, ", "), res.DataYAML)
	_, err := io.WriteString(w, b.String())
	return err
}
