package main

import (
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

func newExplain() *cobra.Command {
	var (
		file, method        string
		headers             []string
		live                bool
		adminURL, tokenFile string
	)
	cmd := &cobra.Command{
		Use:   "explain [-c FILE] [-X METHOD] [-H 'Name: value']... URL",
		Short: "Say what the edge would do with a request, without sending it",
		Long: `Explain reads the config and says what the edge would do with a request:
the distribution and behavior chosen and why, the origin request, the TTLs,
the cache key, the error pages that could apply. It sends nothing anywhere.
With --live it asks the running edge's admin listener instead (admin.listen,
or --admin), which also says what its cache holds for the request: status,
size, age, TTL and cache tags.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := edge.ExplainRequest(method, args[0], headers)
			if err != nil {
				return usageError{err}
			}
			if live || adminURL != "" {
				base, token, err := adminTarget(cmd, file, adminURL, tokenFile)
				if err != nil {
					return err
				}
				q := url.Values{"url": {args[0]}, "method": {req.Method}, "header": headers}
				cl := &adminClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
				b, err := cl.send(http.MethodGet, "/api/explain?"+q.Encode(), nil, http.StatusOK, "the explanation")
				if err != nil {
					return err
				}
				cmd.OutOrStdout().Write(b)
				return nil
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
	cmd.Flags().BoolVar(&live, "live", false, "ask the running edge (its admin listener), which also says what its cache holds")
	cmd.Flags().StringVar(&adminURL, "admin", "", "admin listener URL, instead of the config's admin.listen (implies --live)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "admin token file, instead of the config's admin.token_file")
	return cmd
}
