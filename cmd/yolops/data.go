package main

import "github.com/spf13/cobra"

// newDataCmd groups the dataset commands: building the person subset and
// versioning it the way DVC does.
func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Prepare YOLO datasets and version them (DVC-compatible)",
	}
	cmd.AddCommand(
		newDataPrepareCmd(),
		newDataInitCmd(), newDataAddCmd(), newDataHashCmd(), newDataStatusCmd(),
		newDataPushCmd(), newDataPullCmd(), newDataFetchCmd(), newDataCheckoutCmd(),
		newDataRemoteCmd(),
	)
	return cmd
}
