package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
)

func newFunction() *cobra.Command {
	cmd := &cobra.Command{Use: "function", Short: "Work with CloudFront Functions"}
	var kvs string
	test := &cobra.Command{
		Use:   "test FILE.js EVENT.json [--kvs FILE]",
		Short: "Run a CloudFront Function on one event and print what it returns, as aws cloudfront test-function does",
		Long: `Runs the function in FILE.js on the event object in EVENT.json (CloudFront's
event structure, version 1.0) and prints {"request": ...} or {"response": ...}
on stdout. What the function logs with console.log, and the time it took,
go to stderr. --kvs names a key value store file (CloudFront's import
format) for cf.kvs().`,
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
				if f.KVS, err = config.LoadKeyValueStore(kvs); err != nil {
					return err
				}
			}
			raw, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			var event map[string]any
			if err := json.Unmarshal(raw, &event); err != nil {
				return fmt.Errorf("%s is not a JSON event: %v", args[1], err)
			}
			start := time.Now()
			res, logs, err := f.Run(event)
			took := time.Since(start)
			for _, l := range logs {
				fmt.Fprintln(cmd.ErrOrStderr(), l)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "function ran in %v\n", took.Round(time.Microsecond))
			if err != nil {
				return err
			}
			m, ok := res.(map[string]any)
			if !ok {
				return errors.New("the function returned neither a request nor a response")
			}
			kind := "request"
			if _, isResponse := m["statusCode"]; isResponse || event["response"] != nil {
				kind = "response"
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{kind: m})
		},
	}
	test.Flags().StringVar(&kvs, "kvs", "", "key value store file for cf.kvs()")
	cmd.AddCommand(test)
	return cmd
}
