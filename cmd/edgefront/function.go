package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/functions"
)

func newFunction() *cobra.Command {
	cmd := &cobra.Command{Use: "function", Short: "Work with CloudFront Functions"}
	var kvs string
	var budget time.Duration
	test := &cobra.Command{
		Use:   "test FILE.js EVENT.json [--kvs FILE]",
		Short: "Run a CloudFront Function on one event and print what it returns, as aws cloudfront test-function does",
		Long: `Runs the function in FILE.js on the event object in EVENT.json (CloudFront's
event structure, version 1.0) and prints {"request": ...} or {"response": ...}
on stdout. What the function logs with console.log, and the time it took,
go to stderr. --kvs names a key value store file (CloudFront's import
format) for cf.kvs().

The function runs once first to warm its runtime up, as the edge's are,
and its answer and time come from the second run, within --budget.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			f, err := functions.Compile(args[0], string(src))
			if err != nil {
				return err
			}
			if kvs != "" {
				if f.KVS, err = functions.LoadKeyValueStore(kvs); err != nil {
					return err
				}
			}
			raw, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			event, err := functions.EventFromJSON(raw)
			if err != nil {
				return fmt.Errorf("%s is not a CloudFront event: %v", args[1], err)
			}
			// A first run warms the runtime up (the edge's runtimes are
			// warm); what is printed is the second's.
			f.Budget = time.Second
			f.RunJSON(event)
			f.Budget = budget
			start := time.Now()
			kind, js, out, err := f.RunJSON(event)
			took := time.Since(start)
			for _, l := range out.Logs {
				fmt.Fprintln(cmd.ErrOrStderr(), l)
			}
			if o := out.Origin; o != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "origin changed: %s\n", o)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "function ran in %v\n", took.Round(time.Microsecond))
			if err != nil {
				return err
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, js, "  ", "  "); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "{\n  %q: %s\n}\n", kind, pretty.Bytes())
			return err
		},
	}
	test.Flags().StringVar(&kvs, "kvs", "", "key value store file for cf.kvs()")
	test.Flags().DurationVar(&budget, "budget", functions.Budget, "how long the function may run, as limits.function_time")
	cmd.AddCommand(test)
	return cmd
}
