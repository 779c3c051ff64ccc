package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/admin"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/server"
)

// DrainTimeout is how long SIGTERM waits for in-flight requests.
const DrainTimeout = 30 * time.Second

func newServe() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "serve [-c edgefront.yaml]",
		Short: "Run the edge from a config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sigs := notifySignals()
			defer signal.Stop(sigs)
			cfg, err := config.Load(file)
			if err != nil {
				return configError(cmd, err)
			}
			slog.SetDefault(newLogger(cfg.Log, cmd.ErrOrStderr()))
			tuneGC(int64(cfg.Cache.Sizes().Memory), slog.Default())
			srv, err := server.New(cfg, func() (*config.Config, error) { return config.Load(file) }, nil)
			if err != nil {
				return err
			}
			httpAddr, httpsAddr, err := srv.Listen(cfg.Listen)
			if err != nil {
				return err
			}
			adminAddr, err := listenAdmin(srv, cfg.Admin)
			if err != nil {
				srv.Shutdown(context.Background())
				return err
			}
			slog.Info("edgefront serving", "config", file, "http", addrString(httpAddr), "https", addrString(httpsAddr), "admin", addrString(adminAddr))
			return runUntilSignal(srv, sigs)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "edgefront.yaml", "config file")
	return cmd
}

// listenAdmin starts the admin listener when the config has one.
func listenAdmin(srv *server.Server, c config.Admin) (net.Addr, error) {
	if c.Listen == "" {
		return nil, nil
	}
	var token string
	if c.TokenFile != "" {
		t, err := config.ReadToken(c.TokenFile)
		if err != nil {
			return nil, err
		}
		token = t
	}
	return srv.ListenAdmin(c.Listen, admin.New(srv, token, nil))
}

// notifySignals starts catching the signals the server answers. It is
// called before the listeners open: a SIGHUP that arrives as soon as the
// server says it is serving must reload it, not kill it.
func notifySignals() chan os.Signal {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	return sigs
}

// runUntilSignal serves until SIGTERM or SIGINT, reloading on SIGHUP.
func runUntilSignal(srv *server.Server, sigs <-chan os.Signal) error {
	for {
		select {
		case err := <-srv.Err():
			srv.Shutdown(context.Background())
			return err
		case sig := <-sigs:
			if sig == syscall.SIGUSR1 {
				if err := srv.ReopenLogs(); err != nil {
					slog.Error("access log not reopened", "err", err)
				} else {
					slog.Info("access log reopened")
				}
				continue
			}
			if sig == syscall.SIGHUP {
				if err := srv.Reload(); err != nil {
					slog.Error("config reload refused; the previous config keeps serving", "err", err)
				} else {
					slog.Info("config reloaded")
				}
				continue
			}
			slog.Info("draining", "signal", sig.String(), "timeout", DrainTimeout)
			ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
			err := srv.Shutdown(ctx)
			cancel()
			return err
		}
	}
}

// newLogger makes edgefront's own logger as the config's log section asks.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch c.Level {
	case "debug":
		opts.Level = slog.LevelDebug
	case "warn":
		opts.Level = slog.LevelWarn
	case "error":
		opts.Level = slog.LevelError
	}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// configError prints a config's problems one a line and fails quietly.
func configError(cmd *cobra.Command, err error) error {
	var probs config.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintln(cmd.ErrOrStderr(), p.Error())
		}
		return silentError{err}
	}
	return err
}
