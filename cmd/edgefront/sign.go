package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
	"github.com/spf13/cobra"

	"github.com/edgefront/edgefront/internal/signedurl"
)

func newSign() *cobra.Command {
	var (
		rawURL, keyID, keyFile, expires, policyFile, ip, starts string
		cookies                                                 bool
	)
	cmd := &cobra.Command{
		Use:   "sign --url URL --key-pair-id ID --private-key FILE (--expires TIME | --policy FILE) [--ip CIDR] [--starts TIME] [--cookies]",
		Short: "Make a CloudFront-compatible signed URL or signed cookies",
		Long: `Make a CloudFront-compatible signed URL (canned policy, or custom with --ip,
--starts or --policy) or, with --cookies, the three signed cookies, using
AWS's own signer. TIME is RFC 3339 (2026-12-01T00:00:00Z), Unix seconds, or a
duration from now (1h, 30m). A custom policy's URL may use * and ? wildcards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rawURL == "" || keyID == "" || keyFile == "" {
				return usageError{errors.New("--url, --key-pair-id and --private-key are required")}
			}
			if (expires == "") == (policyFile == "") {
				return usageError{errors.New("give exactly one of --expires and --policy")}
			}
			u, err := url.Parse(rawURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "http*" && u.Scheme != "*") {
				return usageError{fmt.Errorf("--url %q is not an http:// or https:// URL", rawURL)}
			}
			key, err := signedurl.LoadPrivateKey(keyFile)
			if err != nil {
				return err
			}
			now := time.Now()
			var policy *sign.Policy
			custom := ip != "" || starts != ""
			if policyFile != "" {
				data, err := os.ReadFile(policyFile)
				if err != nil {
					return err
				}
				policy = &sign.Policy{}
				if err := json.Unmarshal(data, policy); err != nil {
					return fmt.Errorf("policy %s: %w", policyFile, err)
				}
				custom = true
			} else {
				exp, err := parseTime(expires, now)
				if err != nil {
					return usageError{fmt.Errorf("--expires: %w", err)}
				}
				policy = sign.NewCannedPolicy(rawURL, exp)
				if starts != "" {
					st, err := parseTime(starts, now)
					if err != nil {
						return usageError{fmt.Errorf("--starts: %w", err)}
					}
					policy.Statements[0].Condition.DateGreaterThan = sign.NewAWSEpochTime(st)
				}
				if ip != "" {
					policy.Statements[0].Condition.IPAddress = &sign.IPAddress{SourceIP: ip}
				}
			}
			out := cmd.OutOrStdout()
			if cookies {
				// The cookies the SDK's cookie signer makes (always with
				// CloudFront-Policy), from the policy signer that takes
				// ECDSA keys too.
				sig, pol, err := policy.Sign(key)
				if err != nil {
					return err
				}
				cs := [][2]string{{sign.CookiePolicyName, string(pol)}, {sign.CookieSignatureName, string(sig)}, {sign.CookieKeyIDName, keyID}}
				parts := make([]string, len(cs))
				for i, c := range cs {
					parts[i] = c[0] + "=" + c[1]
					fmt.Fprintf(out, "Set-Cookie: %s=%s; Path=/; Secure; HttpOnly\n", c[0], c[1])
				}
				fmt.Fprintf(out, "Cookie: %s\n", strings.Join(parts, "; "))
				return nil
			}
			signer := sign.NewURLSigner(keyID, key)
			var signed string
			if custom {
				signed, err = signer.SignWithPolicy(rawURL, policy)
			} else {
				signed, err = signer.Sign(rawURL, policy.Statements[0].Condition.DateLessThan.Time)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, signed)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rawURL, "url", "", "URL (or, with a custom policy, URL pattern) to sign")
	f.StringVar(&keyID, "key-pair-id", "", "the public key's id in the key group")
	f.StringVar(&keyFile, "private-key", "", "PEM file of the private key (RSA, or ECDSA P-256)")
	f.StringVar(&expires, "expires", "", "when the signature expires")
	f.StringVar(&policyFile, "policy", "", "JSON file of a custom policy")
	f.StringVar(&ip, "ip", "", "only this IPv4 or IPv6 address or CIDR may use it (custom policy)")
	f.StringVar(&starts, "starts", "", "not valid before this time (custom policy)")
	f.BoolVar(&cookies, "cookies", false, "print signed cookies instead of a URL")
	return cmd
}

// parseTime reads RFC 3339, Unix seconds, or a duration from now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339, Unix seconds or a duration", s)
}

func newKeygen() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "keygen --out DIR",
		Short: "Write an RSA-2048 key pair (PEM) for signing URLs and cookies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{errors.New("--out is required")}
			}
			priv, pub, err := signedurl.WriteKeyPair(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key: %s (keep it secret; sign with it)\npublic key:  %s (add it to a key group as public_key_file)\n", priv, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "out", "", "directory to write private_key.pem and public_key.pem to")
	return cmd
}
