package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"
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
and its answer and time come from the second run, within --budget.

A connection function (one that defines connectionHandler) runs on a
connection event instead: {"clientIp", "serverName", "tlsVersion",
"cipherSuite", "clientCertificate": PEM or absent}, and prints
{"connection": "allow"} or {"connection": "deny"}.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if connectionHandler.Match(src) {
				return testConnectionFunction(cmd, args[0], string(src), args[1], kvs, budget)
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

var connectionHandler = regexp.MustCompile(`function\s+connectionHandler\s*\(`)

// testConnectionFunction runs a connection function on the connection
// event in file, and prints its decision.
func testConnectionFunction(cmd *cobra.Command, name, src, file, kvs string, budget time.Duration) error {
	f, err := functions.CompileConnection(name, src)
	if err != nil {
		return err
	}
	if kvs != "" {
		if f.KVS, err = functions.LoadKeyValueStore(kvs); err != nil {
			return err
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var ev struct {
		ClientIP          string `json:"clientIp"`
		ServerName        string `json:"serverName"`
		TLSVersion        string `json:"tlsVersion"`
		CipherSuite       string `json:"cipherSuite"`
		ClientCertificate string `json:"clientCertificate"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s is not a connection event: %v", file, err)
	}
	c := &functions.Connection{ClientIP: ev.ClientIP, ServerName: ev.ServerName, TLSVersion: ev.TLSVersion, Cipher: ev.CipherSuite}
	if ev.ClientCertificate != "" {
		blk, _ := pem.Decode([]byte(ev.ClientCertificate))
		if blk == nil {
			return fmt.Errorf("%s: clientCertificate is not a PEM certificate", file)
		}
		if c.Cert, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return fmt.Errorf("%s: clientCertificate: %v", file, err)
		}
	}
	f.Budget = time.Second
	f.RunConnection(c)
	f.Budget = budget
	start := time.Now()
	allowed, logs, err := f.RunConnection(c)
	for _, l := range logs {
		fmt.Fprintln(cmd.ErrOrStderr(), l)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "function ran in %v\n", time.Since(start).Round(time.Microsecond))
	decision := "deny"
	if allowed {
		decision = "allow"
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "the connection is denied: %v\n", err)
	}
	_, werr := fmt.Fprintf(cmd.OutOrStdout(), "{\n  \"connection\": %q\n}\n", decision)
	return werr
}
