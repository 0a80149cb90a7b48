package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// resolveVersion picks the version to report: the one set at link time,
// else the module version `go install module@version` records, else "dev".
func resolveVersion(linked string) string {
	if linked != "" {
		return linked
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// vcsRevision is the commit the binary was built from, when the build
// recorded one (it does not with -buildvcs=false or outside a checkout).
func vcsRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

func newVersionCmd(version string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the yolops version, Go version and platform",
		Long: `Print the version of this yolops binary, the Go release it was built
with and the OS/architecture it was built for, plus the source commit when
the build recorded one. Include this output in bug reports.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "yolops:  %s\n", version)
			if rev := vcsRevision(); rev != "" {
				fmt.Fprintf(w, "commit:  %s\n", rev)
			}
			fmt.Fprintf(w, "go:      %s\n", runtime.Version())
			_, err := fmt.Fprintf(w, "os/arch: %s/%s\n", runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
