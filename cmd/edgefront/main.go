// Command edgefront is a self-hosted edge: ordered path behaviors in front of
// HTTP and directory origins, with CloudFront's vocabulary and formats.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ error }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var silent silentError
	if !errors.As(err, &silent) {
		fmt.Fprintln(stderr, "edgefront: "+err.Error())
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// silentError is a failure whose explanation was already printed.
type silentError struct{ error }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "edgefront",
		Short:         "A self-hosted edge: one domain in front of HTTP APIs, buckets and a single-page app",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newDemo(), newServe(), newValidate(), newExplain(), newSign(), newKeygen(), newInvalidate(), newImport(), newFunction(), newVersion())
	return root
}

// isCobraUsage recognises cobra's own complaints about arguments.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
