package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/admin"
	"github.com/edgefront/edgefront/internal/config"
)

func newInvalidate() *cobra.Command {
	var file, dist, adminURL, tokenFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "invalidate [-c FILE] [--distribution NAME] PATH|#TAG...",
		Short: "Invalidate paths or cache tags in the running edge's cache through its admin listener, and wait until done",
		Long: `Invalidate sends the paths to the admin listener of the edge that runs the
config (admin.listen, with the token of admin.token_file), or to --admin URL,
and waits until the invalidation is complete. Paths follow CloudFront's rules:
they start with /, and * may only be the last character ('/images/*'). An
item that starts with # is a cache tag ('#product:tv'): it invalidates every
object whose answer carried it in the distribution's cache_tag_header,
without case and without wildcards.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			if _, err := admin.Patterns(paths); err != nil {
				return usageError{err}
			}
			base, token, err := adminTarget(cmd, file, adminURL, tokenFile)
			if err != nil {
				return err
			}
			cl := &adminClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
			inv, err := cl.invalidate(dist, paths)
			if err != nil {
				return err
			}
			deadline := time.Now().Add(timeout)
			for inv.Status != admin.Completed {
				if time.Now().After(deadline) {
					return fmt.Errorf("invalidation %s is still %s after %s", inv.ID, inv.Status, timeout)
				}
				time.Sleep(100 * time.Millisecond)
				if inv, err = cl.status(inv.ID); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s in %s\n", inv.ID, inv.Status, strings.Join(inv.Paths, " "), inv.Distribution)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "edgefront.yaml", "config file of the running edge")
	cmd.Flags().StringVar(&dist, "distribution", "", "distribution name (may be left out when there is only one)")
	cmd.Flags().StringVar(&adminURL, "admin", "", "admin listener URL, instead of the config's admin.listen")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "admin token file, instead of the config's admin.token_file")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the invalidation to complete")
	return cmd
}

// adminTarget finds the admin listener's URL and token: from the flags, or
// from the config file.
func adminTarget(cmd *cobra.Command, file, adminURL, tokenFile string) (base, token string, err error) {
	if adminURL == "" {
		cfg, err := config.Load(file)
		if err != nil {
			return "", "", configError(cmd, err)
		}
		if cfg.Admin.Listen == "" {
			return "", "", fmt.Errorf("%s has no admin.listen: the edge it runs has no admin listener to send invalidations to", file)
		}
		adminURL = "http://" + dialable(cfg.Admin.Listen)
		if tokenFile == "" {
			tokenFile = cfg.Admin.TokenFile
		}
	}
	if tokenFile != "" {
		if token, err = config.ReadToken(tokenFile); err != nil {
			return "", "", err
		}
	}
	return strings.TrimSuffix(adminURL, "/"), token, nil
}

// dialable turns a listen address into one to connect to: an empty or
// unspecified host means this machine.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

type adminClient struct {
	base, token string
	http        *http.Client
}

func (c *adminClient) invalidate(dist string, paths []string) (*admin.Invalidation, error) {
	body, _ := json.Marshal(map[string]any{"distribution": dist, "paths": paths})
	return c.do(http.MethodPost, "/invalidations", body, http.StatusCreated)
}

func (c *adminClient) status(id string) (*admin.Invalidation, error) {
	return c.do(http.MethodGet, "/invalidations/"+id, nil, http.StatusOK)
}

func (c *adminClient) do(method, path string, body []byte, want int) (*admin.Invalidation, error) {
	b, err := c.send(method, path, body, want, "the invalidation")
	if err != nil {
		return nil, err
	}
	var inv admin.Invalidation
	if err := json.Unmarshal(b, &inv); err != nil || inv.ID == "" {
		return nil, errors.New("the admin listener's answer is not an invalidation; is " + c.base + " an edgefront admin listener?")
	}
	return &inv, nil
}

// send makes one admin API request and returns the answer's body when its
// status is want; what names the request in errors.
func (c *adminClient) send(method, path string, body []byte, want int, what string) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the admin listener at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("the admin listener at %s: %w", c.base, err)
	}
	if resp.StatusCode != want {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("the admin listener refused %s (%s): %s", what, resp.Status, e.Error)
		}
		return nil, fmt.Errorf("the admin listener at %s answered %s", c.base, resp.Status)
	}
	return b, nil
}
