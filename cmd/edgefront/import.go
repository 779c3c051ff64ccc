package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/cfimport"
)

func newImport() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert another product's configuration into an edgefront config",
	}
	var resource, functionsDir, keysDir string
	var policies []string
	cf := &cobra.Command{
		Use:   "cloudfront FILE",
		Short: "Convert a CloudFront distribution (get-distribution-config JSON, or a CloudFormation resource) into an edgefront config on stdout",
		Long: `Reads the JSON of 'aws cloudfront get-distribution-config' (with or without
its ETag wrapper), a bare DistributionConfig, or a CloudFormation template
(JSON or YAML) with an AWS::CloudFront::Distribution resource, and writes an
edgefront YAML config on stdout. Every setting that cannot be carried over
gets a comment beside the nearest line.

Managed policies are known by id. Custom policies come from the template's
AWS::CloudFront::*Policy resources, or from --policy files: the JSON of
'aws cloudfront get-cache-policy --id ID' (or get-origin-request-policy,
get-response-headers-policy, or list-cache-policies --type custom).

CloudFront Functions: with --functions DIR, a behavior's function
associations become functions.viewer_request/viewer_response naming
DIR/NAME.js; a template's inline FunctionCode is written there (an existing
file with other content is not overwritten), and for a distribution's JSON
the code must already be there ('aws cloudfront get-function --name NAME
DIR/NAME.js').

Signed URLs: a behavior's trusted key groups stay required. A template's
AWS::CloudFront::PublicKey keys are written to --keys DIR (keys/); for a
distribution's JSON, and for legacy TrustedSigners, the config names the
key files and ids to supply, and validate refuses it until they are there.
Paths are written as given: run the import where the config will live.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			opts := cfimport.Options{Resource: resource, FunctionsDir: functionsDir, KeysDir: keysDir}
			for _, p := range policies {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				opts.Policies = append(opts.Policies, b)
			}
			res, err := cfimport.Convert(data, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := writeNew(res.Files); err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(res.Config)
			return err
		},
	}
	cf.Flags().StringVar(&resource, "resource", "", "the distribution's logical id, in a template that has several")
	cf.Flags().StringArrayVar(&policies, "policy", nil, "a custom policy's JSON (get-cache-policy, ...); repeatable")
	cf.Flags().StringVar(&functionsDir, "functions", "", "directory of the distribution's CloudFront Functions code (NAME.js)")
	cf.Flags().StringVar(&keysDir, "keys", "keys", "directory the public keys of a template's key groups are written to, and other key groups' keys are expected in")
	cmd.AddCommand(cf)
	return cmd
}

// writeNew writes files that do not exist yet; one that exists must
// already hold the same bytes. Nothing is written unless all can be.
func writeNew(files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name, b := range files {
		if old, err := os.ReadFile(name); err == nil && !bytes.Equal(old, b) {
			return fmt.Errorf("%s exists with other content; move it away or pick another --functions or --keys directory", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
