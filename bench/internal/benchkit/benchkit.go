// Package benchkit holds what the benchmark programs under bench/ share.
package benchkit

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/server"
)

// Check ends the program with err's message when err is not nil.
func Check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// FreeAddr is a loopback address with a port free at the time of asking.
func FreeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Check(err)
	defer ln.Close()
	return ln.Addr().String()
}

// Edge runs the config yaml, read as if from file (relative paths are
// beside it), logging nowhere, and returns the server and its config; the
// program dies on an error.
func Edge(file, yaml string) (*server.Server, *config.Config) {
	cfg, err := config.Parse(file, []byte(yaml))
	Check(err)
	srv, err := server.New(cfg, nil, slog.New(slog.DiscardHandler))
	Check(err)
	return srv, cfg
}
