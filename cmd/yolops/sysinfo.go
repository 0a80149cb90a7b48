package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/internal/gemmbench"
)

func newSysinfoCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sysinfo",
		Short: "Show the CPU, its SIMD features and the GEMM kernel yolops will use",
		Long: `Show what training and inference will run on: the CPU model (from
/proc/cpuinfo where present), the logical CPUs and GOMAXPROCS, the SIMD
extensions that matter to float32 matrix products, and the GEMM
micro-kernel yolops picks for this CPU (AVX-512, AVX2+FMA, or the pure-Go
kernel on other CPUs and in builds with -tags purego).

Set GOMAXPROCS in the environment to change how many cores yolops uses.`,
		Example: `  yolops sysinfo
  yolops sysinfo --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := gemmbench.DescribeMachine()
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(m); err != nil {
					return fmt.Errorf("writing system information: %w", err)
				}
				return nil
			}
			simd := strings.Join(m.SIMD, " ")
			if simd == "" {
				simd = "none detected"
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "cpu:\t%s\n", m.CPU)
			fmt.Fprintf(tw, "logical cpus:\t%d\n", m.CPUs)
			fmt.Fprintf(tw, "gomaxprocs:\t%d\n", m.GOMAXPROCS)
			fmt.Fprintf(tw, "simd:\t%s\n", simd)
			fmt.Fprintf(tw, "gemm kernel:\t%s\n", m.Kernel)
			fmt.Fprintf(tw, "gemm kernels available:\t%s\n", strings.Join(m.Kernels, ", "))
			fmt.Fprintf(tw, "go:\t%s %s/%s\n", m.GoVersion, m.OS, m.Arch)
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("writing system information: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the information as JSON")
	return cmd
}
