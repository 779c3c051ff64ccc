// Package benchkit holds what the benchmark programs under bench/ share.
package benchkit

import (
	"fmt"
	"net"
	"os"
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
