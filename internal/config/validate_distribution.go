package config

import (
	"crypto/x509"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

func (v *validator) distribution(at string, d *Distribution) {
	if d.ViewerProtocolPolicy == "" {
		d.ViewerProtocolPolicy = "allow-all"
	}
	if !contains(policies, d.ViewerProtocolPolicy) {
		v.add(at+".viewer_protocol_policy", "viewer_protocol_policy %q is not one of %s", d.ViewerProtocolPolicy, strings.Join(policies, ", "))
	} else if d.ViewerProtocolPolicy != "allow-all" && v.c.Listen.HTTPS == "" {
		v.add(at+".viewer_protocol_policy", "viewer_protocol_policy %s needs an https listener (listen.https)", d.ViewerProtocolPolicy)
	}
	d.DefaultRootObject = strings.TrimPrefix(d.DefaultRootObject, "/")
	if h := d.CacheTagHeader; h != "" && !ValidFieldName(h) {
		v.add(at+".cache_tag_header", "cache_tag_header %q is not a header name (S3 object metadata arrives as x-amz-meta-NAME)", h)
	}
	v.geoRestriction(at+".geo_restriction", d.GeoRestriction)
	v.viewerMTLS(at+".viewer_mtls", d.ViewerMTLS)
	v.connectionFunction(at+".connection_function", d)
	if rl := d.RateLimit; rl != nil {
		if rl.RequestsPerSecond <= 0 {
			v.add(at+".rate_limit", "rate_limit needs requests_per_second above 0")
		}
		if rl.MaxClients < 0 {
			v.add(at+".rate_limit.max_clients", "max_clients must be 0 (the default) or more")
		}
		if rl.Burst < 0 {
			v.add(at+".rate_limit.burst", "burst must be 0 or more")
		}
		if rl.Burst == 0 {
			rl.Burst = max(1, int(math.Ceil(rl.RequestsPerSecond)))
		}
		if rl.By == "" {
			rl.By = "client_ip"
		}
		if rl.By != "client_ip" {
			v.add(at+".rate_limit.by", "rate_limit by %q: only client_ip is supported", rl.By)
		}
	}
	if len(d.Origins) == 0 {
		v.add(at, "distribution %q has no origins", d.Name)
	}
	names := make([]string, 0, len(d.Origins))
	for name := range d.Origins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o := d.Origins[name]
		v.origin(at+".origins."+name, name, &o)
		if o.Type == "group" {
			v.group(at+".origins."+name, name, &o, d.Origins)
		}
		d.Origins[name] = o
	}
	// edge.Compile compiles the patterns, and finds those that can never
	// match.
	for i := range d.Behaviors {
		bp := fmt.Sprintf("%s.behaviors[%d]", at, i)
		b := &d.Behaviors[i]
		if b.PathPattern == "" {
			v.add(bp, "a behavior needs a path_pattern (the default_behavior has none)")
		} else {
			if b.StripPrefix != "" {
				lit := "/" + strings.TrimPrefix(b.PathPattern, "/")
				if k := strings.IndexAny(lit, "*?"); k >= 0 {
					lit = lit[:k]
				}
				if !strings.HasPrefix(lit, b.StripPrefix) {
					v.add(bp+".strip_prefix", "strip_prefix %q does not begin every path that %q matches", b.StripPrefix, b.PathPattern)
				}
			}
		}
		v.behavior(bp, d, b)
	}
	if d.DefaultBehavior == nil {
		v.add(at, "distribution %q has no default_behavior", d.Name)
	} else {
		if d.DefaultBehavior.PathPattern != "" {
			v.add(at+".default_behavior.path_pattern", "the default_behavior matches every path and takes no path_pattern")
		}
		v.behavior(at+".default_behavior", d, d.DefaultBehavior)
	}
	v.errorResponses(at+".custom_error_responses", d.CustomErrorResponses, false)
}

func (v *validator) origin(at, name string, o *Origin) {
	switch o.Type {
	case "edgefront":
		if v.c.Cluster == nil || v.c.Cluster.TokenFile == "" {
			v.add(at, "origin %q is another edgefront: it knows this one by the cluster's token; set cluster.token_file (the same file on both)", name)
		}
		if u, err := url.Parse(o.URL); err == nil && u.Path != "" && u.Path != "/" {
			v.add(at+".url", "origin %q: an edgefront origin is asked for the viewer's paths; its url takes no path", name)
		}
		fallthrough
	case "http":
		u, err := url.Parse(o.URL)
		switch {
		case o.URL == "":
			v.add(at, "origin %q needs a url", name)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.add(at+".url", "origin %q: url %q is not an http:// or https:// URL", name, o.URL)
		case u.RawQuery != "" || u.Fragment != "":
			v.add(at+".url", "origin %q: url %q may not have a query or fragment", name, o.URL)
		}
		if o.CAFile != "" {
			o.CAFile = v.file(o.CAFile)
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				v.add(at+".ca_file", "origin %q: %v", name, err)
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				v.add(at+".ca_file", "origin %q: %s holds no PEM certificate", name, o.CAFile)
			}
		}
		if o.Root != "" {
			v.add(at+".root", "origin %q: root is for dir origins", name)
		}
	case "dir":
		if o.Root == "" {
			v.add(at, "origin %q needs a root directory", name)
			break
		}
		o.Root = v.file(o.Root)
		if fi, err := os.Stat(o.Root); err != nil || !fi.IsDir() {
			v.add(at+".root", "origin %q: root %s is not a directory", name, o.Root)
		}
		if o.URL != "" {
			v.add(at+".url", "origin %q: url is for http origins", name)
		}
	case "s3":
		v.s3(at, name, o)
	case "group":
		// Checked with the distribution's other origins (groupOrigins).
	case "":
		v.add(at, "origin %q needs a type (http, s3, dir, group or edgefront)", name)
	default:
		v.add(at+".type", "origin %q: type %q is not http, s3, dir, group or edgefront", name, o.Type)
	}
	if o.HTTP2 && o.Type != "http" && o.Type != "edgefront" {
		v.add(at+".http2", "origin %q: http2 is for http origins", name)
	}
	if o.Type != "group" && (o.Primary != "" || o.Secondary != "" || o.FailoverStatusCodes != nil) {
		v.add(at, "origin %q: primary, secondary and failover_status_codes are for group origins", name)
	}
	if o.Type != "s3" {
		for key, set := range map[string]bool{"bucket": o.Bucket != "", "region": o.Region != "", "endpoint": o.Endpoint != "",
			"website": o.Website != nil, "anonymous": o.Anonymous, "access_key_id": o.AccessKeyID != "", "secret_access_key": o.SecretAccessKey != ""} {
			if set {
				v.add(at+"."+key, "origin %q: %s is for s3 origins", name, key)
			}
		}
	}
	if o.Path != "" && (!strings.HasPrefix(o.Path, "/") || strings.HasSuffix(o.Path, "/")) {
		v.add(at+".path", "origin %q: path %q must begin with / and not end with one", name, o.Path)
	}
	for h := range o.CustomHeaders {
		if !ValidFieldName(h) {
			v.add(at+".custom_headers."+h, "origin %q: %q is not a header name", name, h)
		}
	}
	if o.MaxIdleConns < 0 {
		v.add(at+".max_idle_conns", "max_idle_conns cannot be negative")
	}
}

// FailoverStatuses are the statuses an origin group may fail over on, as
// CloudFront allows.
var FailoverStatuses = []int{400, 403, 404, 416, 500, 502, 503, 504}

func (v *validator) group(at, name string, o *Origin, origins map[string]Origin) {
	for _, m := range []struct{ key, member string }{{"primary", o.Primary}, {"secondary", o.Secondary}} {
		mo, ok := origins[m.member]
		switch {
		case m.member == "":
			v.add(at, "origin group %q needs a %s origin", name, m.key)
		case !ok:
			v.add(at+"."+m.key, "origin group %q: %s %q is not an origin of the distribution%s", name, m.key, m.member, didYouMean(m.member, slices.Sorted(maps.Keys(origins))))
		case mo.Type == "group":
			v.add(at+"."+m.key, "origin group %q: %s %q is a group itself", name, m.key, m.member)
		}
	}
	if o.Primary != "" && o.Primary == o.Secondary {
		v.add(at+".secondary", "origin group %q: primary and secondary are the same origin", name)
	}
	if len(o.FailoverStatusCodes) == 0 {
		o.FailoverStatusCodes = []int{500, 502, 503, 504}
	}
	for i, c := range o.FailoverStatusCodes {
		if !slices.Contains(FailoverStatuses, c) {
			v.add(fmt.Sprintf("%s.failover_status_codes[%d]", at, i), "origin group %q: %d is not a status CloudFront fails over on (400, 403, 404, 416, 500, 502, 503, 504)", name, c)
		}
	}
	for key, set := range map[string]bool{"url": o.URL != "", "root": o.Root != "", "path": o.Path != "", "custom_headers": o.CustomHeaders != nil} {
		if set {
			v.add(at+"."+key, "origin group %q: %s belongs on its member origins", name, key)
		}
	}
}

// s3Domain is an S3 REST or website endpoint's host name: the bucket and
// the region.
var s3Domain = regexp.MustCompile(`^(.+?)\.s3(?:[.-]website)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$`)

// SplitS3Domain reads the bucket and region of an S3 endpoint host name,
// as CloudFront's templates give it (bucket.s3.region.amazonaws.com,
// website endpoints too). ok is false, and bucket the name itself, for
// anything else.
func SplitS3Domain(host string) (bucket, region string, ok bool) {
	m := s3Domain.FindStringSubmatch(host)
	if m == nil {
		return host, "", false
	}
	if region = m[2]; region == "external-1" {
		region = ""
	}
	return m[1], region, true
}

func (v *validator) s3(at, name string, o *Origin) {
	if o.Bucket == "" {
		v.add(at, "origin %q needs a bucket", name)
	}
	// A bucket given as its domain name, as templates give it.
	if b, region, ok := SplitS3Domain(o.Bucket); ok {
		o.Bucket = b
		if o.Region == "" {
			o.Region = region
		}
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			v.add(at+".endpoint", "origin %q: endpoint %q is not an http:// or https:// URL without a path", name, o.Endpoint)
		}
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		v.add(at, "origin %q: access_key_id and secret_access_key go together", name)
	}
	if o.Anonymous && (o.AccessKeyID != "" || o.Credentials != "") {
		v.add(at+".anonymous", "origin %q: an anonymous origin takes no credentials", name)
	}
	switch {
	case o.Credentials != "" && o.Credentials != "instance":
		v.add(at+".credentials", "origin %q: credentials %q is not instance (the EC2 instance role); leave it out for the environment and shared files", name, o.Credentials)
	case o.Credentials != "" && o.AccessKeyID != "":
		v.add(at+".credentials", "origin %q: credentials: instance and access_key_id cannot be used together", name)
	}
	if o.URL != "" || o.Root != "" {
		v.add(at, "origin %q: url and root are not for s3 origins (use bucket and endpoint)", name)
	}
	if w := o.Website; w != nil {
		if w.IndexDocument == "" {
			v.add(at+".website", "origin %q: website needs an index_document", name)
		} else if strings.Contains(w.IndexDocument, "/") {
			v.add(at+".website.index_document", "origin %q: index_document is a file name without /", name)
		}
		for i, r := range w.RoutingRules {
			rp := fmt.Sprintf("%s.website.routing_rules[%d]", at, i)
			if r.Redirect.ReplaceKeyPrefixWith != "" && r.Redirect.ReplaceKeyWith != "" {
				v.add(rp+".redirect", "a redirect takes replace_key_prefix_with or replace_key_with, not both")
			}
			if c := r.Redirect.HTTPRedirectCode; c != 0 && (c < 300 || c > 399) {
				v.add(rp+".redirect.http_redirect_code", "http_redirect_code %d is not a 3xx status", c)
			}
			if p := r.Redirect.Protocol; p != "" && p != "http" && p != "https" {
				v.add(rp+".redirect.protocol", "protocol %q is not http or https", p)
			}
			if c := r.Condition.HTTPErrorCodeReturnedEquals; c != 0 && (c < 400 || c > 599) {
				v.add(rp+".condition.http_error_code_returned_equals", "http_error_code_returned_equals %d is not a 4xx or 5xx status", c)
			}
		}
	}
}

func (v *validator) behavior(at string, d *Distribution, b *Behavior) {
	if rh := b.ResponseHeaders; rh != nil {
		v.responseHeaders(at+".response_headers", rh)
	}
	if fn := b.Functions; fn != nil {
		v.functions(at+".functions", fn)
	}
	if b.TargetOrigin == "" {
		v.add(at, "behavior needs a target_origin")
	} else if _, ok := d.Origins[b.TargetOrigin]; !ok {
		v.add(at+".target_origin", "target_origin %q is not an origin of distribution %q%s", b.TargetOrigin, d.Name, didYouMean(b.TargetOrigin, slices.Sorted(maps.Keys(d.Origins))))
	}
	if len(b.AllowedMethods) == 0 {
		b.AllowedMethods = []string{"GET", "HEAD"}
	}
	for i, m := range b.AllowedMethods {
		b.AllowedMethods[i] = strings.ToUpper(m)
		if !contains(KnownMethods, b.AllowedMethods[i]) {
			v.add(fmt.Sprintf("%s.allowed_methods[%d]", at, i), "method %q is not one of %s", m, strings.Join(KnownMethods, ", "))
		}
	}
	min, def, max := b.TTLs()
	if min > def {
		v.add(at+".min_ttl", "min_ttl (%d) is greater than default_ttl (%d)", min, def)
	}
	if def > max {
		v.add(at+".max_ttl", "default_ttl (%d) is greater than max_ttl (%d)", def, max)
	}
	if b.StripPrefix != "" && (!strings.HasPrefix(b.StripPrefix, "/") || b.StripPrefix == "/") {
		v.add(at+".strip_prefix", "strip_prefix %q must begin with / and be more than /", b.StripPrefix)
	}
	if f := b.Forward; f != nil {
		for i, h := range f.Headers.Items {
			if !ValidFieldName(h) {
				v.add(fmt.Sprintf("%s.forward.headers[%d]", at, i), "%q is not a header name", h)
			}
		}
	}
	if k := b.CacheKey; k != nil {
		for i, h := range k.Headers.Items {
			if strings.EqualFold(h, "CloudFront-Viewer-Cert-Validity") || strings.EqualFold(h, "CloudFront-Viewer-Cert-Pem") {
				v.add(fmt.Sprintf("%s.cache_key.headers[%d]", at, i), "%s is for origin requests only, as on CloudFront: name it in forward, not cache_key", h)
			}
		}
	}
	if k := b.CacheKey; k != nil && k.Headers.Mode == "all_except" {
		v.add(at+".cache_key.headers", "cache_key.headers takes none or a list of names, as a CloudFront cache policy")
	}
	v.errorResponses(at+".error_responses", b.ErrorResponses, true)
	if b.GRPC {
		v.grpc(at, d, b)
	}
	for i, g := range b.TrustedKeyGroups {
		if _, ok := v.c.KeyGroups[g]; !ok {
			v.add(fmt.Sprintf("%s.trusted_key_groups[%d]", at, i), "trusted key group %q is not in key_groups%s", g, didYouMean(g, slices.Sorted(maps.Keys(v.c.KeyGroups))))
		}
	}
}

// grpc checks a gRPC behavior: calls arrive over HTTP/2 (the https
// listener), are POSTs, and go to an origin reached over HTTP/2.
func (v *validator) grpc(at string, d *Distribution, b *Behavior) {
	if v.c.Listen.HTTPS == "" {
		v.add(at+".grpc", "gRPC clients call over HTTP/2, which the edge serves on its https listener: set listen.https")
	}
	if !contains(b.AllowedMethods, "POST") {
		v.add(at+".allowed_methods", "a grpc behavior needs POST among its allowed_methods (CloudFront's gRPC behaviors allow all seven)")
	}
	o, ok := d.Origins[b.TargetOrigin]
	if !ok {
		return
	}
	members := []string{b.TargetOrigin}
	if o.Type == "group" {
		members = []string{o.Primary, o.Secondary}
	}
	for _, name := range members {
		if m := d.Origins[name]; m.Type == "http" && !m.HTTP2 {
			v.add(at+".grpc", "origin %q of a grpc behavior needs http2: true (gRPC servers speak HTTP/2: h2c for http://, h2 for https://)", name)
		} else if m.Type != "http" && m.Type != "" {
			v.add(at+".grpc", "origin %q of a grpc behavior is %s: gRPC goes to an http origin with http2: true", name, m.Type)
		}
	}
}

func (v *validator) errorResponses(at string, rules []ErrorResponse, perBehavior bool) {
	for i := range rules {
		r := &rules[i]
		rp := fmt.Sprintf("%s[%d]", at, i)
		if r.ErrorCode < 400 || r.ErrorCode > 599 {
			v.add(rp+".error_code", "error_code %d is not a 4xx or 5xx status", r.ErrorCode)
		}
		if r.ResponsePagePath != "" && !strings.HasPrefix(r.ResponsePagePath, "/") {
			v.add(rp+".response_page_path", "response_page_path %q must begin with /", r.ResponsePagePath)
		}
		if r.ResponseCode != 0 && (r.ResponseCode < 200 || r.ResponseCode > 599) {
			v.add(rp+".response_code", "response_code %d is not an HTTP status", r.ResponseCode)
		}
		if r.ResponseCode != 0 && r.ResponsePagePath == "" {
			v.add(rp+".response_code", "response_code needs a response_page_path")
		}
		if r.WhenAccept != "" {
			if !perBehavior {
				v.add(rp+".when_accept", "when_accept is for a behavior's error_responses")
			} else if mt, _, err := mime.ParseMediaType(r.WhenAccept); err != nil || !strings.Contains(mt, "/") {
				v.add(rp+".when_accept", "when_accept %q is not a media type such as text/html", r.WhenAccept)
			}
		}
		for j := 0; j < i; j++ {
			if rules[j].ErrorCode == r.ErrorCode && rules[j].WhenAccept == r.WhenAccept {
				v.add(rp+".error_code", "error_code %d already has a rule at line %d", r.ErrorCode, v.c.Line(fmt.Sprintf("%s[%d]", at, j)))
			}
		}
	}
}
