package cfimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The three kinds of policy: the key of their config in the API and in a
// CloudFormation resource's Properties, and the resource type.
var policyKinds = []struct{ config, wrapper, list, resource string }{
	{"CachePolicyConfig", "CachePolicy", "CachePolicyList", "AWS::CloudFront::CachePolicy"},
	{"OriginRequestPolicyConfig", "OriginRequestPolicy", "OriginRequestPolicyList", "AWS::CloudFront::OriginRequestPolicy"},
	{"ResponseHeadersPolicyConfig", "ResponseHeadersPolicy", "ResponseHeadersPolicyList", "AWS::CloudFront::ResponseHeadersPolicy"},
	{"ContinuousDeploymentPolicyConfig", "ContinuousDeploymentPolicy", "ContinuousDeploymentPolicyList", "AWS::CloudFront::ContinuousDeploymentPolicy"},
}

// addPolicies reads custom policies from the JSON of get-...-policy or
// list-...-policies.
func (c *converter) addPolicies(data []byte) error {
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	found := 0
	add := func(wrapper string, p map[string]any) {
		id, _ := p["Id"].(string)
		for _, k := range policyKinds {
			if k.wrapper == wrapper {
				if cfg, ok := p[k.config].(map[string]any); ok && id != "" {
					c.custom[id] = map[string]any{k.config: cfg}
					found++
				}
			}
		}
	}
	for _, k := range policyKinds {
		if p, ok := doc[k.wrapper].(map[string]any); ok {
			add(k.wrapper, p)
		}
		for _, it := range items(doc, k.list) {
			if im, ok := it.(map[string]any); ok {
				if p, ok := im[k.wrapper].(map[string]any); ok {
					add(k.wrapper, p)
				}
			}
		}
	}
	if found == 0 {
		return errors.New("no cache, origin request, response headers or continuous deployment policy with an Id in it (use aws cloudfront get-cache-policy --id ID, or list-cache-policies --type custom)")
	}
	return nil
}

// policyConfig finds a custom policy's config: by id among the policy
// files, or the template resource a Ref or GetAtt names.
func (c *converter) policyConfig(v any, configKey string) (map[string]any, string) {
	switch x := v.(type) {
	case string:
		if p, ok := c.custom[x][configKey].(map[string]any); ok {
			return p, x
		}
	case map[string]any:
		name := refName(x)
		if r, ok := c.resources[name].(map[string]any); ok {
			props, _ := r["Properties"].(map[string]any)
			if p, ok := props[configKey].(map[string]any); ok {
				return p, name
			}
		}
	}
	return nil, ""
}

// refName is the resource a {"Ref": X} or {"Fn::GetAtt": [X, attr]} names.
func refName(m map[string]any) string {
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		if len(g) > 0 {
			s, _ := g[0].(string)
			return s
		}
	case string:
		n, _, _ := strings.Cut(g, ".")
		return n
	}
	return ""
}

// names reads a {Quantity, Items} or bare list of strings.
func (c *converter) names(m map[string]any, key string) []string {
	var out []string
	for _, v := range items(m, key) {
		s, _ := c.value(v)
		out = append(out, s)
	}
	return out
}

// selection reads CloudFront's {XBehavior: none|whitelist|all|allExcept|...,
// Xs: [...]}: edgefront's list ("none", "all" or names) and a comment when
// CloudFront's choice is wider than edgefront's.
func (c *converter) selection(cfg map[string]any, behaviorKey, listKey, what string) (string, string) {
	b, _ := c.str(cfg, behaviorKey)
	l := c.names(cfg, listKey)
	switch b {
	case "", "none":
		return "none", ""
	case "whitelist", "allExcept":
		if len(l) == 0 {
			return map[string]string{"whitelist": "none", "allExcept": "all"}[b], ""
		}
		list := strings.Join(l, ",")
		if behaviorKey == "HeaderBehavior" {
			list = strings.ToLower(list) // header names are case-insensitive; cookies and query strings are not
		}
		if b == "allExcept" {
			return allExcept + list, ""
		}
		return list, ""
	case "all", "allViewer":
		return "all", ""
	case "allViewerAndWhitelistCloudFront":
		return "all", fmt.Sprintf("%s: all viewer headers and CloudFront's %s; list those in forward.headers for edgefront to make them", what, strings.Join(l, ", "))
	}
	return "all", fmt.Sprintf("%s: %s %v taken as all", what, b, l)
}

// customCachePolicy reads a CachePolicyConfig.
func (c *converter) customCachePolicy(cfg map[string]any) (cachePolicy, []string) {
	name, _ := c.str(cfg, "Name")
	p := cachePolicy{name: name + " (custom)", def: 86400, max: 31536000}
	if v, ok := num(cfg, "MinTTL"); ok {
		p.min = int64(v)
	}
	if v, ok := num(cfg, "DefaultTTL"); ok {
		p.def = int64(v)
	}
	if v, ok := num(cfg, "MaxTTL"); ok {
		p.max = int64(v)
	}
	params := obj(cfg, "ParametersInCacheKeyAndForwardedToOrigin")
	var notes []string
	p.headers, p.cookies, p.query, notes = c.lists(params, "cache key")
	if p.headers == "none" {
		p.headers = ""
	}
	return p, notes
}

// customOriginRequestPolicy reads an OriginRequestPolicyConfig.
func (c *converter) customOriginRequestPolicy(cfg map[string]any) (originRequestPolicy, []string) {
	name, _ := c.str(cfg, "Name")
	p := originRequestPolicy{name: name + " (custom)"}
	var notes []string
	p.headers, p.cookies, p.query, notes = c.lists(cfg, "forwarded")
	return p, notes
}

// lists reads a policy's HeadersConfig, CookiesConfig and
// QueryStringsConfig.
func (c *converter) lists(cfg map[string]any, what string) (headers, cookies, query string, notes []string) {
	var n string
	headers, n = c.selection(obj(cfg, "HeadersConfig"), "HeaderBehavior", "Headers", what+" headers")
	notes = appendNote(notes, n)
	cookies, n = c.selection(obj(cfg, "CookiesConfig"), "CookieBehavior", "Cookies", what+" cookies")
	notes = appendNote(notes, n)
	query, n = c.selection(obj(cfg, "QueryStringsConfig"), "QueryStringBehavior", "QueryStrings", what+" query strings")
	return headers, cookies, query, appendNote(notes, n)
}

func appendNote(notes []string, n string) []string {
	if n != "" {
		notes = append(notes, n)
	}
	return notes
}

// customResponseHeaders reads a ResponseHeadersPolicyConfig into a
// response_headers block.
func (c *converter) customResponseHeaders(cfg map[string]any) *yaml.Node {
	rh := newMap()
	if name, _ := c.str(cfg, "Name"); name != "" {
		rh.n.HeadComment = "custom response headers policy " + name
	}
	if cors := obj(cfg, "CorsConfig"); cors != nil {
		m := newMap()
		for _, l := range []struct{ cf, ef string }{
			{"AccessControlAllowOrigins", "allow_origins"}, {"AccessControlAllowHeaders", "allow_headers"},
			{"AccessControlAllowMethods", "allow_methods"}, {"AccessControlExposeHeaders", "expose_headers"},
		} {
			if v := c.names(obj(cors, l.cf), "Items"); len(v) > 0 {
				m.add(l.ef, seq(v...))
			}
		}
		if boolOf(cors, "AccessControlAllowCredentials") {
			m.setBool("allow_credentials")
		}
		if v, ok := num(cors, "AccessControlMaxAgeSec"); ok {
			m.set("max_age", strconv.FormatInt(int64(v), 10))
		}
		if boolOf(cors, "OriginOverride") {
			m.setBool("origin_override")
		}
		rh.add("cors", m.n)
	}
	if sec := obj(cfg, "SecurityHeadersConfig"); sec != nil {
		m := newMap()
		setting := func(key string, o map[string]any, value string) {
			if o == nil || value == "" {
				return
			}
			s := newMap().flow()
			s.set("value", value)
			s.setBoolTo("override", boolOf(o, "Override"))
			m.add(key, s.n)
		}
		if h := obj(sec, "StrictTransportSecurity"); h != nil {
			age, _ := num(h, "AccessControlMaxAgeSec")
			v := "max-age=" + strconv.FormatInt(int64(age), 10)
			if boolOf(h, "IncludeSubdomains") {
				v += "; includeSubDomains"
			}
			if boolOf(h, "Preload") {
				v += "; preload"
			}
			setting("strict_transport_security", h, v)
		}
		if h := obj(sec, "ContentSecurityPolicy"); h != nil {
			v, _ := c.str(h, "ContentSecurityPolicy")
			setting("content_security_policy", h, v)
		}
		if h := obj(sec, "ContentTypeOptions"); h != nil {
			setting("content_type_options", h, "nosniff")
		}
		if h := obj(sec, "FrameOptions"); h != nil {
			v, _ := c.str(h, "FrameOption")
			setting("frame_options", h, v)
		}
		if h := obj(sec, "ReferrerPolicy"); h != nil {
			v, _ := c.str(h, "ReferrerPolicy")
			setting("referrer_policy", h, v)
		}
		if h := obj(sec, "XSSProtection"); h != nil {
			v := "0"
			if boolOf(h, "Protection") {
				v = "1"
				if boolOf(h, "ModeBlock") {
					v += "; mode=block"
				} else if u, _ := c.str(h, "ReportUri"); u != "" {
					v += "; report=" + u
				}
			}
			setting("xss_protection", h, v)
		}
		rh.add("security", m.n)
	}
	if hs := items(obj(cfg, "CustomHeadersConfig"), "Items"); len(hs) > 0 {
		l := &yaml.Node{Kind: yaml.SequenceNode}
		for _, h := range hs {
			hm, _ := h.(map[string]any)
			e := newMap().flow()
			name, _ := c.str(hm, "Header")
			value, _ := c.str(hm, "Value")
			e.set("header", name)
			e.set("value", value)
			e.setBoolTo("override", boolOf(hm, "Override"))
			l.Content = append(l.Content, e.n)
		}
		rh.add("custom", l)
	}
	if hs := items(obj(cfg, "RemoveHeadersConfig"), "Items"); len(hs) > 0 {
		var names []string
		for _, h := range hs {
			hm, _ := h.(map[string]any)
			name, _ := c.str(hm, "Header")
			names = append(names, name)
		}
		rh.add("remove", seq(names...))
	}
	if st := obj(cfg, "ServerTimingHeadersConfig"); st != nil && boolOf(st, "Enabled") {
		m := newMap().flow()
		m.setBool("enabled")
		rate, _ := num(st, "SamplingRate")
		m.set("sampling_rate", strconv.FormatFloat(rate, 'f', -1, 64))
		rh.add("server_timing", m.n)
	}
	return rh.n
}

// functions carries a behavior's CloudFront Functions associations over
// when their code is at hand: a template's inline code, written into
// FunctionsDir, or FunctionsDir/NAME.js for a function named by its ARN.
// Otherwise, and for Lambda@Edge, the association is a comment.
func (c *converter) functions(b mapping, first *yaml.Node, bm map[string]any) {
	fns := newMap().flow()
	for _, f := range items(bm, "FunctionAssociations") {
		fm, _ := f.(map[string]any)
		event, _ := c.str(fm, "EventType")
		key := map[string]string{"viewer-request": "viewer_request", "viewer-response": "viewer_response"}[event]
		name, code, kvs, runtime := c.function(fm["FunctionARN"])
		switch {
		case key == "":
			note(first, fmt.Sprintf("not carried over: FunctionAssociations %s: CloudFront Functions run on viewer-request and viewer-response", raw(fm)))
		case name == "":
			note(first, fmt.Sprintf("not carried over: FunctionAssociations %s: the function's name is not in its FunctionARN", raw(fm)))
		case c.opts.FunctionsDir == "":
			note(first, fmt.Sprintf("not carried over: CloudFront Function %s on %s; import with --functions DIR to use its code (aws cloudfront get-function --name %s DIR/%s.js)", name, event, name, name))
		default:
			file := path.Join(c.opts.FunctionsDir, name+".js")
			if code != "" {
				c.files[file] = []byte(code)
			} else if !c.haveFile(file) {
				note(first, fmt.Sprintf("not carried over: CloudFront Function %s on %s: %s is missing (aws cloudfront get-function --name %s %s)", name, event, file, name, file))
				continue
			}
			fns.set(key, file)
			if runtime != "" && runtime != "cloudfront-js-2.0" {
				note(first, "function "+name+" was written for runtime "+runtime+": edgefront runs functions on runtime 2.0, which runs 1.0 code (test it with edgefront function test)")
			}
			for _, k := range kvs {
				note(first, "function "+name+" reads key value store "+k+": export it as JSON and name it in key_value_stores and functions.key_value_store")
			}
		}
	}
	if len(fns.n.Content) > 0 {
		b.add("functions", fns.n)
	}
	for _, f := range items(bm, "LambdaFunctionAssociations") {
		fm, _ := f.(map[string]any)
		note(first, fmt.Sprintf("not carried over: Lambda@Edge (LambdaFunctionAssociations) %s: edgefront runs CloudFront Functions, not Lambda", raw(fm)))
	}
}

func (c *converter) haveFile(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// function names a function from its ARN, or the template resource a
// GetAtt names with its inline code and key value stores.
func (c *converter) function(arn any) (name, code string, kvs []string, runtime string) {
	switch x := arn.(type) {
	case string:
		if i := strings.LastIndex(x, ":function/"); i >= 0 {
			return x[i+len(":function/"):], "", nil, ""
		}
	case map[string]any:
		r, _ := c.resources[refName(x)].(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		if props == nil {
			return "", "", nil, ""
		}
		runtime, _ = c.str(obj(props, "FunctionConfig"), "Runtime")
		name, _ = c.str(props, "Name")
		code, _ = props["FunctionCode"].(string)
		for _, a := range items(obj(props, "FunctionConfig"), "KeyValueStoreAssociations") {
			am, _ := a.(map[string]any)
			kvs = append(kvs, raw(am["KeyValueStoreARN"]))
		}
		if name == "" {
			name = strings.ToLower(refName(x))
		}
	}
	return name, code, kvs, runtime
}
