package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time with -ldflags "-X main.version=…".
var (
	version = "dev"
	commit  = ""
)

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v, c := version, commit
			if bi, ok := debug.ReadBuildInfo(); ok {
				v, c = fromBuildInfo(bi, v, c)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "edgefront %s\ncommit %s\n%s %s/%s\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// pseudoVersion is a Go module pseudo-version, which ends in the
// commit's first twelve hex digits.
var pseudoVersion = regexp.MustCompile(`-(?:0\.)?\d{14}-([0-9a-f]{12})(?:\+incompatible)?$`)

// fromBuildInfo fills in the version and commit the build stamped: the
// module version (go install ...@v), the VCS revision (go build in a
// checkout; -dirty when the tree had changes), or the commit a
// pseudo-version names.
func fromBuildInfo(bi *debug.BuildInfo, v, c string) (string, string) {
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && c == "":
			c = s.Value
		case s.Key == "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if m := pseudoVersion.FindStringSubmatch(bi.Main.Version); m != nil && c == "" {
		c = m[1]
	}
	switch {
	case c == "":
		c = "unknown (built without VCS information, as with GOFLAGS=-buildvcs=false)"
	case dirty:
		c += "-dirty"
	}
	return v, c
}
