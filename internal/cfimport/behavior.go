package cfimport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// behavior converts a cache behavior.
func (c *converter) behavior(bm map[string]any, distVPP string, isDefault bool) *yaml.Node {
	b := newMap()
	var first *yaml.Node
	if !isDefault {
		p, _ := c.str(bm, "PathPattern")
		first = b.set("path_pattern", p)
	}
	target, _ := c.str(bm, "TargetOriginId")
	k := b.set("target_origin", originName(target))
	if first == nil {
		first = k
	}
	if vpp, _ := c.str(bm, "ViewerProtocolPolicy"); vpp != "" && vpp != distVPP {
		note(first, "ViewerProtocolPolicy "+vpp+" on this behavior: edgefront has one per distribution ("+distVPP+")")
	}
	if ms := items(bm, "AllowedMethods"); len(ms) > 0 && len(ms) != 2 {
		var l []string
		for _, m := range ms {
			s, _ := c.value(m)
			l = append(l, s)
		}
		b.add("allowed_methods", seq(l...))
	}
	if boolOf(bm, "Compress") {
		b.setBool("compress")
	}
	if boolOf(obj(bm, "GrpcConfig"), "Enabled") {
		b.setBool("grpc") // its origin gets http2: true
	}
	// The API's {Enabled, Quantity, Items}, or CloudFormation's bare list.
	var groups []string
	if enabled(bm, "TrustedKeyGroups") {
		for _, g := range items(bm, "TrustedKeyGroups") {
			groups = append(groups, c.trustedKeyGroup(g))
		}
	}
	if ts := c.names(bm, "TrustedSigners"); len(ts) > 0 && enabled(bm, "TrustedSigners") {
		groups = append(groups, c.trustedSigners(ts))
	}
	if len(groups) > 0 {
		b.add("trusted_key_groups", seq(groups...))
	}
	switch {
	case bm["CachePolicyId"] != nil:
		cfg, _ := c.policyConfig(bm["CachePolicyId"], "CachePolicyConfig")
		id, _ := bm["CachePolicyId"].(string)
		p, ok := managedCachePolicies[id]
		var notes []string
		if cfg != nil {
			p, notes = c.customCachePolicy(cfg)
			ok = true
		}
		if !ok {
			c.errs = append(c.errs, fmt.Sprintf("cache policy %s is neither one of CloudFront's managed cache policies nor a custom policy in the template or a --policy file", policyRef(bm["CachePolicyId"])))
			break
		}
		k := b.set("min_ttl", strconv.FormatInt(p.min, 10))
		k.HeadComment = "cache policy " + p.name
		for _, n := range notes {
			note(k, n)
		}
		b.set("default_ttl", strconv.FormatInt(p.def, 10))
		b.set("max_ttl", strconv.FormatInt(p.max, 10))
		// CloudFront sends the origin what the cache key holds, and what
		// the origin request policy adds to it.
		fwd := originRequestPolicy{headers: orNone(p.headers), cookies: p.cookies, query: p.query}
		why := "what CloudFront sends the origin: the cache key's values (no origin request policy)"
		var fwdNotes []string
		if v := bm["OriginRequestPolicyId"]; v != nil {
			oid, _ := v.(string)
			o, ok := managedOriginRequestPolicies[oid]
			if cfg, _ := c.policyConfig(v, "OriginRequestPolicyConfig"); cfg != nil {
				o, fwdNotes = c.customOriginRequestPolicy(cfg)
				ok = true
			}
			if !ok {
				c.errs = append(c.errs, fmt.Sprintf("origin request policy %s is neither one of CloudFront's managed origin request policies nor a custom policy in the template or a --policy file", policyRef(v)))
				break
			}
			fwd = originRequestPolicy{headers: union(fwd.headers, o.headers), cookies: union(fwd.cookies, o.cookies), query: union(fwd.query, o.query)}
			why = "what CloudFront sends the origin: the cache key's values and origin request policy " + o.name + "'s"
		}
		fw := newMap().flow()
		fw.add("headers", listNode(fwd.headers))
		fw.add("cookies", listNode(fwd.cookies))
		fw.add("query_strings", listNode(fwd.query))
		fk := b.add("forward", fw.n)
		note(fk, why)
		for _, n := range fwdNotes {
			note(fk, n)
		}
		key := newMap().flow()
		key.add("headers", listNode(orNone(p.headers)))
		key.add("cookies", listNode(p.cookies))
		key.add("query_strings", listNode(p.query))
		b.add("cache_key", key.n)
	default:
		c.legacy(b, bm)
	}
	if v := bm["ResponseHeadersPolicyId"]; v != nil {
		rid, _ := v.(string)
		if cfg, _ := c.policyConfig(v, "ResponseHeadersPolicyConfig"); cfg != nil {
			b.add("response_headers", c.customResponseHeaders(cfg))
		} else if name, ok := managedResponseHeadersPolicies[rid]; ok {
			rh := newMap().flow()
			rh.set("policy", name)
			b.add("response_headers", rh.n)
		} else {
			c.errs = append(c.errs, fmt.Sprintf("response headers policy %s is neither one of CloudFront's managed response headers policies nor a custom policy in the template or a --policy file", policyRef(v)))
		}
	}
	c.functions(b, first, bm)
	if v, ok := bm["FieldLevelEncryptionId"]; ok {
		if s, _ := c.value(v); s != "" {
			note(first, "not carried over: FieldLevelEncryptionId (field-level encryption) "+s)
		}
	}
	if boolOf(bm, "SmoothStreaming") {
		note(first, "not carried over: SmoothStreaming (Microsoft Smooth Streaming)")
	}
	if v, ok := bm["RealtimeLogConfigArn"]; ok {
		s, _ := c.value(v)
		note(first, "not carried over: RealtimeLogConfigArn (real-time logs to Kinesis) "+s+"; access_log with format json writes a line per request")
	}
	cm := c.names(obj(bm, "AllowedMethods"), "CachedMethods") // the API's place
	if len(cm) == 0 {
		cm = c.names(bm, "CachedMethods") // CloudFormation's
	}
	if len(cm) > 0 {
		if extra := slices.DeleteFunc(slices.Clone(cm), func(m string) bool { return m == "GET" || m == "HEAD" }); len(extra) > 0 {
			note(first, "CachedMethods "+strings.Join(cm, ", ")+": edgefront caches GET and HEAD answers only; "+strings.Join(extra, ", ")+" requests always go to the origin")
		}
	}
	return b.n
}

// enabled reports whether a {Enabled, Quantity, Items} setting is on; a
// bare list (CloudFormation's) is.
func enabled(m map[string]any, key string) bool {
	o := obj(m, key)
	return o == nil || boolOf(o, "Enabled")
}

// policyRef names a policy id or the resource a Ref names, for messages.
func policyRef(v any) string {
	if m, ok := v.(map[string]any); ok {
		return refName(m)
	}
	return raw(v)
}

// union is what two of CloudFront's selections ("none", "all", a comma
// list, or "all-except:" and a comma list) take together.
func union(a, b string) string {
	a, b = orNone(a), orNone(b)
	switch {
	case a == "all" || b == "all":
		return "all"
	case a == "none":
		return b
	case b == "none":
		return a
	}
	ea, aExcept := strings.CutPrefix(a, allExcept)
	eb, bExcept := strings.CutPrefix(b, allExcept)
	var out []string
	switch {
	case aExcept && bExcept: // all but what both leave out
		for _, n := range strings.Split(ea, ",") {
			if slices.Contains(strings.Split(eb, ","), n) {
				out = append(out, n)
			}
		}
	case aExcept || bExcept: // all but what the other does not list
		except, list := ea, b
		if bExcept {
			except, list = eb, a
		}
		for _, n := range strings.Split(except, ",") {
			if !slices.Contains(strings.Split(list, ","), n) {
				out = append(out, n)
			}
		}
	default:
		out = strings.Split(a, ",")
		for _, n := range strings.Split(b, ",") {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return strings.Join(out, ",")
	}
	if len(out) == 0 {
		return "all"
	}
	return allExcept + strings.Join(out, ",")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// legacy converts ForwardedValues and the behavior's TTLs: in the legacy
// settings what is forwarded is also the cache key.
func (c *converter) legacy(b mapping, bm map[string]any) {
	for _, t := range []struct{ cf, ef string }{{"MinTTL", "min_ttl"}, {"DefaultTTL", "default_ttl"}, {"MaxTTL", "max_ttl"}} {
		if v, ok := num(bm, t.cf); ok {
			b.set(t.ef, strconv.FormatInt(int64(v), 10))
		}
	}
	fv := obj(bm, "ForwardedValues")
	if fv == nil {
		return
	}
	query := "none"
	if boolOf(fv, "QueryString") {
		query = "all"
		var keys []string
		for _, k := range items(fv, "QueryStringCacheKeys") {
			s, _ := c.value(k)
			keys = append(keys, s)
		}
		if len(keys) > 0 {
			query = strings.Join(keys, ",")
		}
	}
	cookies := "none"
	ck := obj(fv, "Cookies")
	switch fwd, _ := c.str(ck, "Forward"); fwd {
	case "all":
		cookies = "all"
	case "whitelist":
		var names []string
		for _, n := range items(ck, "WhitelistedNames") {
			s, _ := c.value(n)
			names = append(names, s)
		}
		cookies = strings.Join(names, ",")
	}
	var headers []string
	for _, h := range items(fv, "Headers") {
		s, _ := c.value(h)
		headers = append(headers, strings.ToLower(s))
	}
	hs := "none"
	if contains(headers, "*") {
		hs = "all"
	} else if len(headers) > 0 {
		hs = strings.Join(headers, ",")
	}
	fw := newMap().flow()
	fw.add("headers", listNode(hs))
	fw.add("cookies", listNode(orNone(cookies)))
	fw.add("query_strings", listNode(query))
	k := b.add("forward", fw.n)
	note(k, "legacy ForwardedValues: what is forwarded is also the cache key")
	key := newMap().flow()
	keyHeaders := hs
	if hs == "all" {
		keyHeaders = "none" // every header forwarded: CloudFront caches nothing; edgefront keys on none and honours Vary
		note(k, "all headers forwarded: CloudFront does not cache such a behavior; edgefront keys on the URL and the origin's Vary")
	}
	key.add("headers", listNode(keyHeaders))
	key.add("cookies", listNode(orNone(cookies)))
	key.add("query_strings", listNode(query))
	b.add("cache_key", key.n)
}
