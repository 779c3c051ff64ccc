package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

func newExplain() *cobra.Command {
	var (
		file    string
		method  string
		headers []string
	)
	cmd := &cobra.Command{
		Use:   "explain [-c FILE] [-X METHOD] [-H 'Name: value']... URL",
		Short: "Say what the edge would do with a request, without sending it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := explainRequest(method, args[0], headers)
			if err != nil {
				return usageError{err}
			}
			cfg, err := config.Load(file)
			if err != nil {
				return configError(cmd, err)
			}
			rt, err := edge.Compile(cfg, edge.Options{})
			if err != nil {
				return err
			}
			defer rt.Close()
			rt.Explain(cmd.OutOrStdout(), req)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "edgefront.yaml", "config file")
	cmd.Flags().StringVarP(&method, "request", "X", "GET", "request method")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "request header, 'Name: value' (repeatable)")
	return cmd
}

// explainRequest builds the request explain reasons about. A URL without a
// scheme is taken as http://.
func explainRequest(method, rawURL string, headers []string) (*http.Request, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", rawURL)
	}
	req, err := http.NewRequest(strings.ToUpper(method), u.String(), nil)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		req.TLS = &tlsStateForExplain
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("header %q is not 'Name: value'", h)
		}
		if strings.EqualFold(strings.TrimSpace(name), "Host") {
			req.Host = strings.TrimSpace(value)
			continue
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return req, nil
}
