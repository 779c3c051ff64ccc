// Package signedurl verifies CloudFront signed URLs and signed cookies, with
// canned and custom policies, exactly as CloudFront accepts them, so that
// applications signing with AWS's libraries work unchanged. Signing itself
// is left to AWS's signer (github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign).
package signedurl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/pathpattern"
)

// Policy is a parsed CloudFront policy statement.
type Policy struct {
	Resource string // "" means any resource (custom policies on URLs only)
	HasRes   bool
	Expires  time.Time
	Starts   time.Time // zero when not set
	SourceIP netip.Prefix
	HasIP    bool
}

// MaxPolicySize bounds what is decoded and parsed.
const MaxPolicySize = 4096

// ParsePolicy parses a custom policy's JSON. Names are matched exactly, as
// CloudFront does (Go's decoder into structs would ignore their case).
func ParsePolicy(raw []byte) (*Policy, error) {
	if len(raw) > MaxPolicySize {
		return nil, errors.New("the policy is too long")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the policy is not valid JSON: %w", err)
	}
	stmts, ok := doc["Statement"].([]any)
	if !ok || len(stmts) != 1 {
		return nil, errors.New("the policy must have a Statement list with exactly one statement")
	}
	st, ok := stmts[0].(map[string]any)
	if !ok {
		return nil, errors.New("the policy's statement is not an object")
	}
	p := &Policy{}
	if res, present := st["Resource"]; present {
		if p.Resource, ok = res.(string); !ok {
			return nil, errors.New("the policy's Resource is not a string")
		}
		p.HasRes = true
	}
	cond, ok := st["Condition"].(map[string]any)
	if !ok {
		return nil, errors.New("the policy has no Condition")
	}
	exp, err := epochTime(cond, "DateLessThan")
	if err != nil {
		return nil, err
	}
	if exp == nil {
		return nil, errors.New("the policy has no DateLessThan")
	}
	p.Expires = *exp
	start, err := epochTime(cond, "DateGreaterThan")
	if err != nil {
		return nil, err
	}
	if start != nil {
		p.Starts = *start
	}
	if ipc, present := cond["IpAddress"]; present {
		m, ok := ipc.(map[string]any)
		src, ok2 := m["AWS:SourceIp"].(string)
		if !ok || !ok2 {
			return nil, errors.New("the policy's IpAddress has no AWS:SourceIp")
		}
		prefix, err := parseSourceIP(src)
		if err != nil {
			return nil, err
		}
		p.SourceIP, p.HasIP = prefix, true
	}
	return p, nil
}

// epochTime reads {"AWS:EpochTime": N} under name; nil when name is absent.
func epochTime(cond map[string]any, name string) (*time.Time, error) {
	v, present := cond[name]
	if !present {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the policy's %s is not an object", name)
	}
	n, ok := m["AWS:EpochTime"].(json.Number)
	if !ok {
		return nil, fmt.Errorf("the policy's %s has no AWS:EpochTime", name)
	}
	sec, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the policy's %s is not a whole number of seconds", name)
	}
	t := time.Unix(sec, 0)
	return &t, nil
}

// parseSourceIP reads an IPv4 or IPv6 CIDR, or a bare address.
func parseSourceIP(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("the policy's AWS:SourceIp %q is not an IP address or CIDR", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("the policy's AWS:SourceIp %q is not an IP address or CIDR", s)
	}
	return p.Masked(), nil
}

// CannedPolicy returns the JSON CloudFront signs for a canned policy: the
// exact bytes AWS's signers produce.
func CannedPolicy(resource string, expires int64) []byte {
	var b strings.Builder
	b.WriteString(`{"Statement":[{"Resource":`)
	b.Write(jsonString(resource))
	b.WriteString(`,"Condition":{"DateLessThan":{"AWS:EpochTime":`)
	b.WriteString(strconv.FormatInt(expires, 10))
	b.WriteString(`}}}]}`)
	return []byte(b.String())
}

// jsonString encodes s as Go's encoder does with HTML escaping off, which
// is how AWS's signers write the resource.
func jsonString(s string) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

// DecodeBase64 decodes CloudFront's URL-safe base64, in which '-', '_' and
// '~' stand for '+', '=' and '/'.
func DecodeBase64(s string) ([]byte, error) {
	if len(s) > 2*MaxPolicySize {
		return nil, errors.New("too long")
	}
	b := []byte(s)
	for i, c := range b {
		switch c {
		case '-':
			b[i] = '+'
		case '_':
			b[i] = '='
		case '~':
			b[i] = '/'
		case '+', '=', '/':
			// CloudFront's alphabet has none of these, but a URL that went
			// through a decoder may; tolerate them as AWS does.
		}
	}
	return base64.StdEncoding.DecodeString(string(b))
}

// MatchResource reports whether a policy resource, with CloudFront's
// wildcards ('*' any run of characters, '?' one character), matches url.
func MatchResource(pattern, url string) bool { return pathpattern.Wildcard(pattern, url) }
