package main

import (
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/demo"
)

func newDemo() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "demo [--http ADDR]",
		Short: "Run the single-domain layout (SPA, API, buckets) in one process with nothing installed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sigs := notifySignals()
			defer signal.Stop(sigs)
			d, err := demo.Start(listen)
			if err != nil {
				return err
			}
			defer d.Close()
			d.PrintURLs(cmd.OutOrStdout())
			return runUntilSignal(d.Edge, sigs)
		},
	}
	cmd.Flags().StringVar(&listen, "http", "127.0.0.1:8080", "address the edge listens on")
	return cmd
}
