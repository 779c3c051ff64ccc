package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/cfimport"
)

func newImport() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert another product's configuration into an edgefront config",
	}
	var resource string
	cf := &cobra.Command{
		Use:   "cloudfront FILE",
		Short: "Convert a CloudFront distribution (get-distribution-config JSON, or a CloudFormation resource) into an edgefront config on stdout",
		Long: `Reads the JSON of 'aws cloudfront get-distribution-config' (with or without
its ETag wrapper), a bare DistributionConfig, or a CloudFormation template
(JSON or YAML) with an AWS::CloudFront::Distribution resource, and writes an
edgefront YAML config on stdout. Every setting that cannot be carried over
gets a comment beside the nearest line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			out, err := cfimport.Convert(data, resource)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cf.Flags().StringVar(&resource, "resource", "", "the distribution's logical id, in a template that has several")
	cmd.AddCommand(cf)
	return cmd
}
