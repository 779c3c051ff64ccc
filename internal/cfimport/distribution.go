package cfimport

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

func (c *converter) convert(dc map[string]any) *yaml.Node {
	root := newMap()
	dist := newMap()
	def := obj(dc, "DefaultCacheBehavior")
	vpp, _ := c.str(def, "ViewerProtocolPolicy")
	var aliases, aliasNotes []string
	for _, a := range items(dc, "Aliases") {
		s, n := c.value(a)
		aliases = append(aliases, s)
		if n != "" {
			aliasNotes = append(aliasNotes, "alias "+n)
		}
	}
	wild := false
	for _, a := range aliases {
		wild = wild || strings.HasPrefix(a, "*.")
	}
	vc := obj(dc, "ViewerCertificate")
	what := "CloudFront's default certificate (*.cloudfront.net)"
	for _, k := range []string{"ACMCertificateArn", "AcmCertificateArn", "IAMCertificateId", "IamCertificateId"} {
		if v, ok := vc[k]; ok && v != "" {
			what = "the certificate " + raw(v)
		}
	}
	// CloudFront serves HTTPS always; here an https listener is kept when
	// the policy needs one or the distribution had a certificate of its own.
	useTLS := (vpp != "" && vpp != "allow-all") || !strings.HasPrefix(what, "CloudFront's")
	listen := newMap().flow()
	listen.set("http", ":8080")
	if useTLS {
		listen.set("https", ":8443")
	}
	lk := root.add("listen", listen.n)
	note(lk, "CloudFront listens on 80 and 443")
	if useTLS {
		tls := newMap()
		k := root.add("tls", tls.n)
		note(k, "CloudFront served "+what+";")
		if vc != nil {
			b, _ := json.Marshal(vc)
			note(k, "its ViewerCertificate: "+string(b)+";")
		}
		if len(aliases) > 0 && !wild {
			tls.add("acme", newMap().flow().n)
			note(k, "edgefront gets certificates for the aliases with ACME (add an email), or use tls.certificates.")
		} else {
			cert := newMap().flow()
			cert.set("cert_file", "certs/cert.pem")
			cert.set("key_file", "certs/key.pem")
			tls.add("certificates", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{cert.n}})
			note(k, "put the certificate and key for the names you serve in these files (ACME needs aliases without wildcards);")
			note(k, "for a local run: openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -keyout certs/key.pem -out certs/cert.pem -days 365")
		}
		if v, _ := vc["MinimumProtocolVersion"].(string); v != "" {
			tls.set("minimum_protocol_version", v)
		}
	} else if vc != nil {
		note(lk, what+" is not carried over: add listen.https and tls to serve HTTPS.")
	}
	geo := c.geoRestriction(dc)
	if geo != nil {
		g := newMap().flow()
		g.set("database", "GeoLite2-Country.mmdb")
		k := root.add("geoip", g.n)
		note(k, "CloudFront locates viewers with MaxMind's data: geo_restriction needs a Country (or City) database,")
		note(k, "such as GeoLite2-Country.mmdb from https://dev.maxmind.com/geoip/geolite2-free-geolocation-data")
	}
	dists := &yaml.Node{Kind: yaml.SequenceNode}
	dists.Content = append(dists.Content, dist.n)
	root.add("distributions", dists)
	dist.set("name", c.name)
	if len(aliases) > 0 {
		k := dist.add("aliases", seq(aliases...))
		for _, n := range aliasNotes {
			note(k, n)
		}
		if wild {
			note(k, "wildcard aliases: serve HTTPS with tls.certificates (ACME here does not do wildcards)")
		}
	}
	if vpp != "" && vpp != "allow-all" {
		dist.set("viewer_protocol_policy", vpp)
	}
	if v, _ := c.str(dc, "DefaultRootObject"); v != "" {
		dist.set("default_root_object", v)
	}
	if v, _ := c.str(obj(dc, "CacheTagConfig"), "HeaderName"); v != "" {
		dist.set("cache_tag_header", v)
	}
	if geo != nil {
		dist.add("geo_restriction", geo.n)
	}
	c.viewerMTLS(dist, dc)
	c.connectionFunction(dist, dc)
	c.unsupported(dist, dc)
	if cm, _ := c.str(dc, "Comment"); cm != "" {
		note(dist.n.Content[0], "CloudFront comment: "+cm)
	}

	origins := newMap()
	dist.add("origins", origins.n)
	grpcOrigins := c.grpcOrigins(dc)
	for _, o := range items(dc, "Origins") {
		om, _ := o.(map[string]any)
		id, _ := c.str(om, "Id")
		n, comments := c.origin(om)
		if grpcOrigins[id] && scalarOf(n, "type") == "http" {
			mapping{n}.setBool("http2")
			comments = append(comments, "http2: a gRPC behavior (GrpcConfig) goes to this origin; CloudFront reaches it over HTTP/2")
		}
		k := origins.add(originName(id), n)
		for _, cm := range comments {
			note(k, cm)
		}
	}
	for _, g := range items(dc, "OriginGroups") {
		gm, _ := g.(map[string]any)
		id, _ := c.str(gm, "Id")
		members := items(gm, "Members") // items reads {Quantity, Items} and bare lists alike
		grp := newMap().flow()
		grp.set("type", "group")
		var names []string
		for _, m := range members {
			mid, _ := c.str(m.(map[string]any), "OriginId")
			names = append(names, originName(mid))
		}
		if len(names) == 2 {
			grp.set("primary", names[0])
			grp.set("secondary", names[1])
		}
		var codes []string
		for _, sc := range items(obj(gm, "FailoverCriteria"), "StatusCodes") {
			s, _ := c.value(sc)
			codes = append(codes, s)
		}
		if len(codes) > 0 {
			grp.add("failover_status_codes", seq(codes...))
		}
		if sc, _ := c.str(gm, "SelectionCriteria"); sc != "" && sc != "default" {
			grp.n.LineComment = "not carried over: SelectionCriteria " + sc + " (edgefront fails over on statuses and connection errors)"
		}
		origins.add(originName(id), grp.n)
	}

	var behaviors []*yaml.Node
	for _, b := range items(dc, "CacheBehaviors") {
		bm, _ := b.(map[string]any)
		behaviors = append(behaviors, c.behavior(bm, vpp, false))
	}
	if len(behaviors) > 0 {
		bs := &yaml.Node{Kind: yaml.SequenceNode, Content: behaviors}
		dist.add("behaviors", bs)
	}
	dist.add("default_behavior", c.behavior(def, vpp, true))

	var errs []*yaml.Node
	for _, e := range items(dc, "CustomErrorResponses") {
		em, _ := e.(map[string]any)
		er := newMap().flow()
		code, _ := c.str(em, "ErrorCode")
		er.set("error_code", code)
		if p, _ := c.str(em, "ResponsePagePath"); p != "" {
			er.set("response_page_path", p)
		}
		if rc, _ := c.str(em, "ResponseCode"); rc != "" {
			er.set("response_code", rc)
		}
		if ttl, _ := c.str(em, "ErrorCachingMinTTL"); ttl != "" {
			er.set("error_caching_min_ttl", ttl)
		}
		errs = append(errs, er.n)
	}
	if len(errs) > 0 {
		dist.add("custom_error_responses", &yaml.Node{Kind: yaml.SequenceNode, Content: errs})
	}
	// The distribution is whole: its staging copy is of all of it.
	if staging := c.continuousDeployment(dist, dc); staging != nil {
		dists.Content = append(dists.Content, staging)
	}
	if len(c.keyGroups) > 0 {
		// key_groups goes before distributions.
		n := len(root.n.Content)
		root.n.Content = append(root.n.Content[:n-2], append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "key_groups"}, c.keyGroupsNode()}, root.n.Content[n-2:]...)...)
	}
	if vars := placeholders(root.n, nil); len(vars) > 0 {
		root.n.HeadComment = "Set these placeholders in the environment (the comments beside them say what each holds): " + strings.Join(vars, ", ") + "."
	}
	return root.n
}

var envRef = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

// placeholders appends to seen the ${ENV} placeholders in n's values (not
// its comments), each once, in the order they appear.
func placeholders(n *yaml.Node, seen []string) []string {
	if n.Kind == yaml.ScalarNode {
		for _, v := range envRef.FindAllString(n.Value, -1) {
			if !contains(seen, v) {
				seen = append(seen, v)
			}
		}
	}
	for _, child := range n.Content {
		seen = placeholders(child, seen)
	}
	return seen
}

// originName makes an origin id a name: CloudFront ids may hold any
// character.
func originName(id string) string {
	n := strings.Trim(notWord.ReplaceAllString(id, "-"), "-")
	if n == "" {
		return "origin"
	}
	return n
}

// continuousDeployment carries ContinuousDeploymentPolicyId over as
// continuous_deployment, from the policy's JSON (--policy) or the
// template's resource, and returns the staging distribution to add: a
// copy of this one, as CloudFront's CopyDistribution makes it, to replace
// with the staging distribution's own import. nil without a policy.
func (c *converter) continuousDeployment(dist mapping, dc map[string]any) *yaml.Node {
	id, ok := dc["ContinuousDeploymentPolicyId"]
	if !ok || id == "" || id == nil {
		return nil
	}
	k := dist.n.Content[0]
	cfg, _ := c.policyConfig(id, "ContinuousDeploymentPolicyConfig")
	if cfg == nil {
		note(k, fmt.Sprintf("not carried over: ContinuousDeploymentPolicyId %s: pass the policy's JSON (aws cloudfront get-continuous-deployment-policy --id ID) with --policy", raw(id)))
		return nil
	}
	tc := obj(cfg, "TrafficConfig")
	header, weight := obj(tc, "SingleHeaderConfig"), obj(tc, "SingleWeightConfig")
	if tc == nil { // CloudFormation's legacy fields
		header, weight = obj(cfg, "SingleHeaderPolicyConfig"), obj(cfg, "SingleWeightPolicyConfig")
	}
	cd := newMap()
	cd.set("staging_distribution", "staging")
	switch {
	case header != nil:
		h := newMap().flow()
		name, _ := c.str(header, "Header")
		value, _ := c.str(header, "Value")
		h.set("header", name)
		h.set("value", value)
		cd.add("single_header", h.n)
	case weight != nil:
		w := newMap()
		v, _ := c.str(weight, "Weight")
		w.add("weight", &yaml.Node{Kind: yaml.ScalarNode, Value: v})
		if st := obj(weight, "SessionStickinessConfig"); st != nil {
			s := newMap().flow()
			idle, _ := c.str(st, "IdleTTL")
			maxTTL, _ := c.str(st, "MaximumTTL")
			s.add("idle_ttl", &yaml.Node{Kind: yaml.ScalarNode, Value: idle})
			s.add("maximum_ttl", &yaml.Node{Kind: yaml.ScalarNode, Value: maxTTL})
			w.add("session_stickiness", s.n)
		}
		cd.add("single_weight", w.n)
	default:
		note(k, "not carried over: continuous deployment policy without SingleHeaderConfig or SingleWeightConfig")
		return nil
	}
	ck := dist.add("continuous_deployment", cd.n)
	if en, ok := cfg["Enabled"]; ok && !truth(en) {
		note(ck, "CloudFront: the policy is disabled (Enabled false); edgefront applies it: remove continuous_deployment to turn it off")
	}
	if names := c.names(cfg, "StagingDistributionDnsNames"); len(names) > 0 {
		note(ck, "CloudFront's staging distribution: "+strings.Join(names, ", "))
	}
	// The staging copy: every key but the name, aliases and the policy.
	staging := newMap()
	for i := 0; i+1 < len(dist.n.Content); i += 2 {
		key, val := dist.n.Content[i], dist.n.Content[i+1]
		switch key.Value {
		case "name":
			sk := staging.set("name", "staging")
			note(sk, "a copy of "+scalarOf(dist.n, "name")+", as CloudFront's CopyDistribution makes a staging distribution:")
			note(sk, "replace it with the staging distribution's own (import it and rename it staging); it keeps no aliases")
		case "aliases", "continuous_deployment":
		default:
			staging.add(key.Value, val)
		}
	}
	return staging.n
}

// viewerMTLS carries ViewerMtlsConfig over as viewer_mtls. CloudFront's
// trust store lives in the account (TrustStoreId): its CA bundle is put in
// a file named for it, which the comment says how to fill.
func (c *converter) viewerMTLS(dist mapping, dc map[string]any) {
	vm := obj(dc, "ViewerMtlsConfig")
	if vm == nil {
		return
	}
	mode, _ := c.str(vm, "Mode")
	m := newMap()
	m.set("mode", mode)
	k := dist.add("viewer_mtls", m.n)
	ts := obj(vm, "TrustStoreConfig")
	if ts == nil {
		return
	}
	id, _ := c.str(ts, "TrustStoreId")
	store := newMap().flow()
	file := "truststore-" + sanitize(id) + ".pem"
	store.set("ca_file", file)
	if boolOf(ts, "AdvertiseTrustStoreCaNames") {
		store.setBool("advertise_ca_names")
	}
	if boolOf(ts, "IgnoreCertificateExpiry") {
		store.setBool("ignore_certificate_expiry")
	}
	m.add("trust_store", store.n)
	note(k, "CloudFront's trust store "+id+": put its CA bundle (the PEM it was made from, in S3) in "+file+";")
	note(k, "add crl_file: FILE to honour a revocation list")
}

// connectionFunction carries ConnectionFunctionAssociation over as
// connection_function: a file named for the function, for its code,
// which the distribution's config does not hold; validate asks for it.
func (c *converter) connectionFunction(dist mapping, dc map[string]any) {
	id, _ := c.str(obj(dc, "ConnectionFunctionAssociation"), "Id")
	if id == "" {
		return
	}
	dir := c.opts.FunctionsDir
	if dir == "" {
		dir = "functions"
	}
	file := path.Join(dir, "connection-"+sanitize(id)+".js")
	k := dist.set("connection_function", file)
	note(k, "CloudFront's connection function "+id+": put its code in "+file+" (aws cloudfront get-connection-function gives it)")
}

// sanitize keeps the letters, digits, '-' and '_' of s, for a file name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
}

// grpcOrigins are the ids of the origins a gRPC behavior (GrpcConfig
// enabled) goes to, a group's members included.
func (c *converter) grpcOrigins(dc map[string]any) map[string]bool {
	out := map[string]bool{}
	bs := append([]any{dc["DefaultCacheBehavior"]}, items(dc, "CacheBehaviors")...)
	for _, b := range bs {
		bm, _ := b.(map[string]any)
		if bm == nil || !boolOf(obj(bm, "GrpcConfig"), "Enabled") {
			continue
		}
		id, _ := c.str(bm, "TargetOriginId")
		out[id] = true
		for _, g := range items(dc, "OriginGroups") {
			gm, _ := g.(map[string]any)
			if gid, _ := c.str(gm, "Id"); gid == id {
				for _, m := range items(gm, "Members") {
					mid, _ := c.str(m.(map[string]any), "OriginId")
					out[mid] = true
				}
			}
		}
	}
	return out
}

// scalarOf is the value of key in a mapping node; "" when absent.
func scalarOf(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// geoRestriction is the distribution's Restrictions.GeoRestriction as
// geo_restriction (the API lists its codes in Items, CloudFormation in
// Locations); nil for none.
func (c *converter) geoRestriction(dc map[string]any) *mapping {
	geo := obj(obj(dc, "Restrictions"), "GeoRestriction")
	t, _ := c.str(geo, "RestrictionType")
	if t != "whitelist" && t != "blacklist" {
		return nil
	}
	var codes []string
	for _, it := range append(items(geo, "Items"), items(geo, "Locations")...) {
		if v, _ := c.value(it); v != "" {
			codes = append(codes, v)
		}
	}
	m := newMap().flow()
	m.set("restriction_type", t)
	m.add("locations", seq(codes...))
	return &m
}

// unsupported comments on distribution settings edgefront does not carry.
func (c *converter) unsupported(dist mapping, dc map[string]any) {
	k := dist.n.Content[0]
	for _, s := range []struct{ key, what string }{
		{"PriceClass", "price class"}, {"WebACLId", "AWS WAF web ACL"},
		{"HttpVersion", "HTTP version (edgefront serves HTTP/1.1 and HTTP/2, HTTP/3 with listen.http3)"},
		{"IsIPV6Enabled", "IPv6 off (edgefront listens where listen says)"}, {"IPV6Enabled", "IPv6 off (edgefront listens where listen says)"},
		{"Staging", "staging distribution"},
		{"AnycastIpListId", "anycast static IP list"}, {"ConnectionMode", "connection mode (multi-tenant distributions)"},
		{"TenantConfig", "multi-tenant parameters"},
		{"CNAMEs", "(CloudFormation's legacy name for Aliases)"}, {"CustomOrigin", "(CloudFormation's legacy origin: use Origins)"},
		{"S3Origin", "(CloudFormation's legacy origin: use Origins)"},
	} {
		v, ok := dc[s.key]
		if !ok || v == "" || v == nil {
			continue
		}
		switch s.key {
		case "IsIPV6Enabled", "IPV6Enabled", "Staging":
			if on := truth(v); on == (s.key != "Staging") {
				continue
			}
		case "ConnectionMode":
			if v == "direct" {
				continue
			}
		}
		b, _ := json.Marshal(v)
		note(k, fmt.Sprintf("not carried over: %s %s: %s", s.key, s.what, b))
	}
	if v, ok := dc["Enabled"]; ok && !truth(v) {
		note(k, "CloudFront: Enabled is false (the distribution serves nothing); edgefront serves it")
	}
	if lg := obj(dc, "Logging"); lg != nil && (truth(lg["Enabled"]) || lg["Enabled"] == nil && lg["Bucket"] != nil) {
		b, _ := json.Marshal(lg)
		note(k, "not carried over: Logging (standard logs to the bucket) "+string(b)+";")
		note(k, "edgefront writes the same standard log format where access_log says: access_log: {path: access.log, format: cloudfront}")
	}
}

// truth reads a boolean as CloudFront's JSON (true) or a template
// ('true', as AWS's own snippets write it) gives it.
func truth(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// origin converts one origin; it returns the comments for what it leaves.
