package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

func newValidate() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate [-c FILE]",
		Short: "Check a config and print every problem as FILE:LINE: message",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(file)
			if err != nil {
				return configError(cmd, err)
			}
			rt, err := edge.Compile(cfg, edge.Options{})
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			rt.Close()
			for _, w := range rt.Warnings() {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", file, w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d distributions)\n", file, len(rt.Distributions()))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "edgefront.yaml", "config file")
	return cmd
}
