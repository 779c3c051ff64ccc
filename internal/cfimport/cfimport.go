// Package cfimport turns a CloudFront distribution as AWS describes it (the
// JSON of `aws cloudfront get-distribution-config`, with or without its
// ETag wrapper, a bare DistributionConfig, or a CloudFormation template's
// AWS::CloudFront::Distribution resource, JSON or YAML) into an edgefront
// config. What cannot be carried over is written as a YAML comment beside
// the nearest line; nothing is dropped silently.
package cfimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options are the import's inputs beside the distribution.
type Options struct {
	// Resource picks a distribution in a template that holds several.
	Resource string
	// Policies are custom policies, each the JSON of aws cloudfront
	// get-cache-policy, get-origin-request-policy,
	// get-response-headers-policy or their list-... --type custom forms.
	Policies [][]byte
	// FunctionsDir is where the code of the distribution's CloudFront
	// Functions is (NAME.js), and where a template's inline code is
	// written. Empty: function associations stay comments.
	FunctionsDir string
}

// Result is an import: the config, and files to write beside it (the
// inline code of a template's functions), by path.
type Result struct {
	Config []byte
	Files  map[string][]byte
}

// Convert reads a distribution and returns the edgefront config.
func Convert(data []byte, opts Options) (*Result, error) {
	doc, err := parse(data)
	if err != nil {
		return nil, err
	}
	dc, name, err := distributionConfig(doc, opts.Resource)
	if err != nil {
		return nil, err
	}
	c := &converter{name: name, opts: opts, files: map[string][]byte{}, custom: map[string]map[string]any{}}
	if m, ok := doc.(map[string]any); ok {
		c.resources, _ = m["Resources"].(map[string]any)
	}
	for i, p := range opts.Policies {
		if err := c.addPolicies(p); err != nil {
			return nil, fmt.Errorf("policy file %d: %w", i+1, err)
		}
	}
	root := c.convert(dc)
	if len(c.errs) > 0 {
		return nil, errors.New(strings.Join(c.errs, "; "))
	}
	var buf bytes.Buffer
	buf.WriteString("# Imported from a CloudFront distribution by edgefront import cloudfront.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return &Result{Config: buf.Bytes(), Files: c.files}, nil
}

// parse reads JSON, or YAML with CloudFormation's short tags (!Ref,
// !GetAtt, !Sub, ...) turned into their long forms.
func parse(data []byte) (any, error) {
	var v any
	if json.Valid(data) {
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("the file is neither JSON nor YAML: %w", err)
	}
	if len(n.Content) == 0 {
		return nil, errors.New("the file is empty")
	}
	nr := &nodeReader{open: map[*yaml.Node]bool{}}
	v = nr.read(n.Content[0])
	if nr.err != nil {
		return nil, nr.err
	}
	return v, nil
}

// maxValues bounds what a file may expand to through YAML aliases.
const maxValues = 1 << 20

// nodeReader turns YAML nodes into the values JSON would give, refusing
// aliases that refer to themselves and expansions past maxValues.
type nodeReader struct {
	open   map[*yaml.Node]bool // the nodes being read, outermost first
	values int
	err    error
}

func (nr *nodeReader) read(n *yaml.Node) any {
	if nr.err != nil {
		return nil
	}
	if nr.values++; nr.values > maxValues {
		nr.err = fmt.Errorf("the file expands to more than %d values through YAML aliases", maxValues)
		return nil
	}
	if nr.open[n] {
		nr.err = errors.New("a YAML alias refers to the node that holds it")
		return nil
	}
	nr.open[n] = true
	defer delete(nr.open, n)
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nr.read(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = nr.read(c)
		}
		v = l
	case yaml.AliasNode:
		return nr.read(n.Alias)
	default:
		var s any
		n.Decode(&s)
		v = s
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		if name == "GetAtt" && n.Kind == yaml.ScalarNode {
			parts := strings.SplitN(n.Value, ".", 2)
			v = []any{parts[0], parts[len(parts)-1]}
		}
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		return map[string]any{name: v}
	}
	return v
}

// distributionConfig finds the DistributionConfig in whatever shape the
// file has, and the name to give the distribution.
func distributionConfig(doc any, resource string) (map[string]any, string, error) {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, "", errors.New("the file is not a CloudFront distribution: it is not a JSON or YAML object")
	}
	if dc, ok := m["DistributionConfig"].(map[string]any); ok {
		return dc, "main", nil // get-distribution-config, with or without ETag
	}
	if d, ok := m["Distribution"].(map[string]any); ok { // get-distribution
		if dc, ok := d["DistributionConfig"].(map[string]any); ok {
			return dc, "main", nil
		}
	}
	if _, ok := m["Origins"]; ok {
		if _, ok := m["DefaultCacheBehavior"]; ok {
			return m, "main", nil
		}
	}
	if res, ok := m["Resources"].(map[string]any); ok {
		var names []string
		for n, r := range res {
			if rm, ok := r.(map[string]any); ok && rm["Type"] == "AWS::CloudFront::Distribution" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		switch {
		case len(names) == 0:
			return nil, "", errors.New("the template has no AWS::CloudFront::Distribution resource")
		case resource != "":
			if !contains(names, resource) {
				return nil, "", fmt.Errorf("the template has no distribution %q: it has %s", resource, strings.Join(names, ", "))
			}
			names = []string{resource}
		case len(names) > 1:
			return nil, "", fmt.Errorf("the template has %d distributions (%s): pick one with --resource NAME", len(names), strings.Join(names, ", "))
		}
		props, _ := res[names[0]].(map[string]any)["Properties"].(map[string]any)
		dc, ok := props["DistributionConfig"].(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("resource %s has no Properties.DistributionConfig", names[0])
		}
		return dc, strings.ToLower(names[0]), nil
	}
	return nil, "", errors.New("the file is not a CloudFront distribution: no DistributionConfig, no Origins and DefaultCacheBehavior, no CloudFormation Resources")
}

type converter struct {
	opts      Options
	resources map[string]any            // a template's resources, for Ref and GetAtt
	custom    map[string]map[string]any // custom policies by id: {"CachePolicyConfig": ...}
	files     map[string][]byte
	errs      []string // input that cannot be converted at all
	groups    []string // trusted key groups named by behaviors
	name      string
	envNames  []string // ${ENV} placeholders written, for the header comment
}

// Helpers over the decoded document: CloudFront's API wraps lists in
// {Quantity, Items}; CloudFormation writes them bare.

func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func items(m map[string]any, key string) []any {
	switch v := m[key].(type) {
	case []any:
		return v
	case map[string]any:
		if l, ok := v["Items"].([]any); ok {
			return l
		}
	}
	return nil
}

func (c *converter) str(m map[string]any, key string) (string, string) {
	return c.value(m[key])
}

// value renders a scalar; a CloudFormation intrinsic becomes an ${ENV}
// placeholder and a comment saying what it was.
func (c *converter) value(v any) (string, string) {
	switch x := v.(type) {
	case nil:
		return "", ""
	case string:
		return x, ""
	case bool:
		return strconv.FormatBool(x), ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), ""
	case int:
		return strconv.Itoa(x), ""
	case map[string]any:
		for k, inner := range x {
			b, _ := json.Marshal(inner)
			env := envName(k, inner)
			if !contains(c.envNames, env) {
				c.envNames = append(c.envNames, env)
			}
			return "${" + env + "}", fmt.Sprintf("was %s: %s in the template; set %s", k, b, env)
		}
	}
	b, _ := json.Marshal(v)
	return string(b), ""
}

var notWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func envName(fn string, v any) string {
	var parts []string
	switch x := v.(type) {
	case string:
		parts = []string{x}
	case []any:
		for _, p := range x {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
	}
	name := strings.Trim(notWord.ReplaceAllString(strings.Join(parts, "_"), "_"), "_")
	if name == "" {
		name = strings.TrimPrefix(fn, "Fn::")
	}
	return strings.ToUpper(name)
}

func boolOf(m map[string]any, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func num(m map[string]any, key string) (float64, bool) {
	switch v := m[key].(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// YAML building.

type mapping struct{ n *yaml.Node }

func newMap() mapping { return mapping{&yaml.Node{Kind: yaml.MappingNode}} }

func (m mapping) flow() mapping { m.n.Style = yaml.FlowStyle; return m }

func (m mapping) add(key string, v *yaml.Node) *yaml.Node {
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: key}
	m.n.Content = append(m.n.Content, k, v)
	return k
}

func (m mapping) set(key, value string) *yaml.Node {
	return m.add(key, scalar(value))
}

func (m mapping) setComment(key, value, comment string) {
	k := m.set(key, value)
	note(k, comment)
}

func (m mapping) setBool(key string) *yaml.Node { return m.setBoolTo(key, true) }

func (m mapping) setBoolTo(key string, b bool) *yaml.Node {
	return m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)})
}

func scalar(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if v == "" || strings.ContainsAny(v, ":#{}[],&*!|>'\"%@`") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "*") || v == "true" || v == "false" {
		n.Style = yaml.DoubleQuotedStyle
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil && !isInt(v) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func isInt(s string) bool { _, err := strconv.Atoi(s); return err == nil }

func seq(vals ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vals {
		n.Content = append(n.Content, scalar(v))
	}
	return n
}

// raw renders a value for a comment, intrinsic or not.
func raw(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// note adds a comment above key k of m (the nearest line).
func note(k *yaml.Node, text string) {
	if k.HeadComment != "" {
		k.HeadComment += "\n"
	}
	k.HeadComment += text
}

// hostOnly is an origin domain name without a port.
func hostOnly(domain string) string {
	if u, err := url.Parse("//" + domain); err == nil {
		return u.Hostname()
	}
	return domain
}

// Managed cache policies: TTLs and cache key, by id.
type cachePolicy struct {
	name             string
	min, def, max    int64
	headers, cookies string // "none", "all", or a comma list
	query            string
}

var managedCachePolicies = map[string]cachePolicy{
	"658327ea-f89d-4fab-a63d-7e88639e58f6": {"CachingOptimized", 1, 86400, 31536000, "", "none", "none"},
	"4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {"CachingDisabled", 0, 0, 0, "", "none", "none"},
	"b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {"CachingOptimizedForUncompressedObjects", 1, 86400, 31536000, "", "none", "none"},
	"08627262-05a9-4f76-9ded-b50ca2e3a84f": {"Elemental-MediaPackage", 0, 86400, 31536000, "origin", "none", "aws.manifestfilter,start,end,m"},
	"2e54312d-136d-493c-8eb9-b001f22f67d2": {"Amplify", 2, 2, 31536000, "authorization,cloudfront-viewer-country,host", "all", "all"},
	"83da9c7e-98b4-4e11-a168-04f0df8e2c65": {"UseOriginCacheControlHeaders", 0, 0, 31536000, "host,origin,x-http-method-override,x-http-method,x-method-override", "all", "none"},
	"4cc15a8a-d715-48a4-82b8-cc0b614638fe": {"UseOriginCacheControlHeaders-QueryStrings", 0, 0, 31536000, "host,origin,x-http-method-override,x-http-method,x-method-override", "all", "all"},
}

// Managed origin request policies: what is forwarded, by id. headers
// "all-but-host" is edgefront's default (no forward block).
type originRequestPolicy struct {
	name                    string
	headers, cookies, query string
}

var managedOriginRequestPolicies = map[string]originRequestPolicy{
	"216adef6-5c7f-47e4-b989-5492eafa07d3": {"AllViewer", "all", "all", "all"},
	"b689b0a8-53d0-40ab-baf2-68738e2966ac": {"AllViewerExceptHostHeader", "all-but-host", "all", "all"},
	"33f36d7e-f396-46d9-90e0-52428a34d9dc": {"AllViewerAndCloudFrontHeaders-2022-06", "all", "all", "all"},
	"88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": {"CORS-S3Origin", "origin,access-control-request-headers,access-control-request-method", "none", "none"},
	"59781a5b-3903-41f3-afcb-af62929ccde1": {"CORS-CustomOrigin", "origin", "none", "none"},
	"acba4595-bd28-49b6-b8f7-83a9b5c3be3d": {"UserAgentRefererHeaders", "user-agent,referer", "none", "none"},
}

var managedResponseHeadersPolicies = map[string]string{
	"60669652-455b-4ae9-85a4-c4c02393f86c": "SimpleCORS",
	"5cc3b908-e619-4b99-88e5-2cf7f45965bd": "CORS-With-Preflight",
	"67f7725c-6f97-4210-82d7-5512b31e9d03": "SecurityHeadersPolicy",
	"e61eb60c-9c35-4d20-a928-2b84e02af89c": "CORS-and-SecurityHeadersPolicy",
	"eaab4381-ed33-4a86-88ca-d9558dc6cd63": "CORS-with-preflight-and-SecurityHeadersPolicy",
}

func listNode(s string) *yaml.Node {
	if s == "all" || s == "none" {
		return scalar(s)
	}
	return seq(strings.Split(s, ",")...)
}

func (c *converter) convert(dc map[string]any) *yaml.Node {
	root := newMap()
	dist := newMap()
	def := obj(dc, "DefaultCacheBehavior")
	vpp, _ := c.str(def, "ViewerProtocolPolicy")
	var aliases []string
	for _, a := range items(dc, "Aliases") {
		s, _ := c.value(a)
		aliases = append(aliases, s)
	}
	wild := false
	for _, a := range aliases {
		wild = wild || strings.HasPrefix(a, "*.")
	}
	useTLS := vpp != "" && vpp != "allow-all" && len(aliases) > 0 && !wild
	listen := newMap().flow()
	listen.set("http", ":8080")
	if useTLS {
		listen.set("https", ":8443")
	}
	lk := root.add("listen", listen.n)
	note(lk, "CloudFront listens on 80 and 443")
	if vc := obj(dc, "ViewerCertificate"); vc != nil || useTLS {
		what := "CloudFront's default certificate"
		for _, k := range []string{"ACMCertificateArn", "AcmCertificateArn", "IAMCertificateId", "IamCertificateId"} {
			if v, ok := vc[k]; ok && v != "" {
				what = "the certificate " + raw(v)
			}
		}
		if useTLS {
			tls := newMap()
			acme := newMap().flow()
			tls.add("acme", acme.n)
			if v, _ := vc["MinimumProtocolVersion"].(string); v != "" {
				tls.set("minimum_protocol_version", v)
			}
			k := root.add("tls", tls.n)
			note(k, "CloudFront served "+what+";")
			note(k, "edgefront gets certificates for the aliases with ACME (add an email), or use tls.certificates.")
		} else {
			note(lk, what+" is not carried over: add listen.https and tls to serve HTTPS.")
		}
	}
	keyGroups := newMap()
	dists := &yaml.Node{Kind: yaml.SequenceNode}
	dists.Content = append(dists.Content, dist.n)
	root.add("distributions", dists)

	dist.set("name", c.name)
	if len(aliases) > 0 {
		k := dist.add("aliases", seq(aliases...))
		if wild && vpp != "allow-all" {
			note(k, "wildcard aliases: serve HTTPS with tls.certificates (ACME here does not do wildcards)")
		}
	}
	if vpp != "" {
		if useTLS {
			dist.set("viewer_protocol_policy", vpp)
		} else if vpp != "allow-all" {
			dist.setComment("viewer_protocol_policy", "allow-all", "CloudFront: "+vpp+"; needs an https listener here")
		}
	}
	if v, _ := c.str(dc, "DefaultRootObject"); v != "" {
		dist.set("default_root_object", v)
	}
	c.unsupported(dist, dc)
	if cm, _ := c.str(dc, "Comment"); cm != "" {
		note(dist.n.Content[0], "CloudFront comment: "+cm)
	}

	origins := newMap()
	dist.add("origins", origins.n)
	for _, o := range items(dc, "Origins") {
		om, _ := o.(map[string]any)
		id, _ := c.str(om, "Id")
		n, comments := c.origin(om)
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
	if len(c.groups) > 0 {
		sort.Strings(c.groups)
		for _, g := range c.groups {
			signer := newMap().flow()
			signer.set("id", "PUBLIC_KEY_ID")
			signer.set("public_key_file", "keys/"+g+".pem")
			k := keyGroups.add(g, &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{signer.n}})
			note(k, "CloudFront key group "+g+": one entry per public key of the group, by its id (K...), with its PEM file")
		}
		// key_groups goes before distributions.
		n := len(root.n.Content)
		root.n.Content = append(root.n.Content[:n-2], append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "key_groups"}, keyGroups.n}, root.n.Content[n-2:]...)...)
	}
	if len(c.envNames) > 0 {
		root.n.HeadComment = "Values that come from the template are ${ENV} placeholders: set " + strings.Join(c.envNames, ", ") + "."
	}
	return root.n
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

// unsupported comments on distribution settings edgefront does not carry.
func (c *converter) unsupported(dist mapping, dc map[string]any) {
	k := dist.n.Content[0]
	for _, s := range []struct{ key, what string }{
		{"PriceClass", "price class"}, {"WebACLId", "AWS WAF web ACL"}, {"Logging", "standard logging to S3 (use access_log)"},
		{"HttpVersion", "HTTP version (edgefront serves HTTP/1.1 and HTTP/2, HTTP/3 with listen.http3)"},
		{"IsIPV6Enabled", "IPv6 (edgefront listens where listen says)"}, {"Restrictions", "geographic restrictions"},
		{"ContinuousDeploymentPolicyId", "continuous deployment"}, {"Staging", "staging distribution"},
		{"Enabled", "a disabled distribution"},
	} {
		v, ok := dc[s.key]
		if !ok || v == "" || v == nil || (s.key == "Enabled" && v == true) || (s.key == "IsIPV6Enabled" && v == true) {
			continue
		}
		if m, isMap := v.(map[string]any); isMap && s.key == "Logging" && !boolOf(m, "Enabled") {
			continue
		}
		if s.key == "Restrictions" {
			if t, _ := c.str(obj(obj(dc, "Restrictions"), "GeoRestriction"), "RestrictionType"); t == "" || t == "none" {
				continue
			}
		}
		b, _ := json.Marshal(v)
		note(k, fmt.Sprintf("not carried over: %s %s: %s", s.key, s.what, b))
	}
}

// origin converts one origin; it returns the comments for what it leaves.
func (c *converter) origin(om map[string]any) (*yaml.Node, []string) {
	var comments []string
	o := newMap().flow()
	domain, dcomment := c.str(om, "DomainName")
	if dcomment != "" {
		if obj(om, "S3OriginConfig") != nil || om["OriginAccessControlId"] != nil {
			dcomment = strings.Replace(dcomment, "; set ", "; set to the bucket's name: ", 1)
		}
		comments = append(comments, "DomainName "+dcomment)
	}
	path, _ := c.str(om, "OriginPath")
	host := hostOnly(domain)
	s3 := obj(om, "S3OriginConfig") != nil || (om["OriginAccessControlId"] != nil && obj(om, "CustomOriginConfig") == nil)
	website := strings.Contains(host, ".s3-website")
	if website || s3 {
		bucket, region := s3Bucket(host)
		o.set("type", "s3")
		o.set("bucket", bucket)
		if region != "" {
			o.set("region", region)
		}
	}
	switch {
	case website:
		o.add("website", newMap().flow().n)
		comments = append(comments, "an S3 website endpoint: served from the bucket's REST API with website emulation; add website.index_document")
	case s3:
		if oai, _ := c.str(obj(om, "S3OriginConfig"), "OriginAccessIdentity"); oai == "" && om["OriginAccessControlId"] == nil {
			o.setBool("anonymous")
		} else {
			comments = append(comments, "CloudFront reached this bucket with an origin access identity or control: edgefront signs with the AWS default credentials")
		}
	default:
		co := obj(om, "CustomOriginConfig")
		policy, _ := c.str(co, "OriginProtocolPolicy")
		scheme, port := "https", "443"
		if p, _ := c.str(co, "HTTPSPort"); p != "" {
			port = p
		}
		if policy == "http-only" {
			scheme, port = "http", "80"
			if p, _ := c.str(co, "HTTPPort"); p != "" {
				port = p
			}
		} else if policy == "match-viewer" {
			comments = append(comments, "OriginProtocolPolicy match-viewer: edgefront always uses HTTPS to this origin")
		}
		u := scheme + "://" + domain
		if (scheme == "https" && port != "443") || (scheme == "http" && port != "80") {
			u += ":" + port
		}
		o.set("type", "http")
		o.set("url", u)
		if t, ok := num(co, "OriginReadTimeout"); ok {
			o.set("read_timeout", strconv.Itoa(int(t)))
		}
		if t, ok := num(co, "OriginKeepaliveTimeout"); ok {
			o.set("keepalive_timeout", strconv.Itoa(int(t)))
		}
		if v := items(co, "OriginSSLProtocols"); v != nil {
			comments = append(comments, "OriginSSLProtocols: edgefront uses TLS 1.2 or newer to origins")
		}
	}
	if path != "" {
		o.set("path", path)
	}
	if t, ok := num(om, "ConnectionTimeout"); ok {
		o.set("connect_timeout", strconv.Itoa(int(t)))
	}
	if hs := items(om, "CustomHeaders"); len(hs) > 0 {
		h := newMap().flow()
		for _, x := range hs {
			xm, _ := x.(map[string]any)
			name, _ := c.str(xm, "HeaderName")
			value, _ := c.str(xm, "HeaderValue")
			h.set(name, value)
		}
		o.add("custom_headers", h.n)
	}
	for _, s := range []string{"OriginShield", "ConnectionAttempts", "VpcOriginConfig"} {
		if v, ok := om[s]; ok {
			if m, isMap := v.(map[string]any); s == "OriginShield" && isMap && !boolOf(m, "Enabled") {
				continue
			}
			if s == "ConnectionAttempts" {
				if n, _ := num(om, s); n == 3 {
					continue
				}
			}
			b, _ := json.Marshal(v)
			comments = append(comments, fmt.Sprintf("not carried over: %s %s", s, b))
		}
	}
	return o.n, comments
}

var s3Host = regexp.MustCompile(`^(.+?)\.s3(?:[.-]website)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$`)

// s3Bucket reads the bucket and region of an S3 endpoint host name.
func s3Bucket(host string) (bucket, region string) {
	m := s3Host.FindStringSubmatch(host)
	if m == nil {
		return host, ""
	}
	region = m[2]
	if region == "external-1" || region == "" {
		region = ""
	}
	return m[1], region
}

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
	// The API's {Enabled, Quantity, Items}, or CloudFormation's bare list.
	enabled := obj(bm, "TrustedKeyGroups") == nil || boolOf(obj(bm, "TrustedKeyGroups"), "Enabled")
	if tg := items(bm, "TrustedKeyGroups"); len(tg) > 0 && enabled {
		var l []string
		for _, g := range tg {
			s, _ := c.value(g)
			l = append(l, originName(s))
		}
		b.add("trusted_key_groups", seq(l...))
		for _, g := range l {
			if !contains(c.groups, g) {
				c.groups = append(c.groups, g)
			}
		}
	}
	if ts := items(bm, "TrustedSigners"); len(ts) > 0 {
		note(first, "TrustedSigners (CloudFront key pairs of the root account) are not carried over: use key groups")
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
		if ok {
			k := b.set("min_ttl", strconv.FormatInt(p.min, 10))
			k.HeadComment = "cache policy " + p.name
			for _, n := range notes {
				note(k, n)
			}
			b.set("default_ttl", strconv.FormatInt(p.def, 10))
			b.set("max_ttl", strconv.FormatInt(p.max, 10))
			key := newMap().flow()
			key.add("headers", listNode(orNone(p.headers)))
			key.add("cookies", listNode(p.cookies))
			key.add("query_strings", listNode(p.query))
			b.add("cache_key", key.n)
		} else {
			c.errs = append(c.errs, fmt.Sprintf("cache policy %s is neither one of CloudFront's managed cache policies nor a custom policy in the template or a --policy file", policyRef(bm["CachePolicyId"])))
		}
		if v := bm["OriginRequestPolicyId"]; v != nil {
			oid, _ := v.(string)
			p, ok := managedOriginRequestPolicies[oid]
			var notes []string
			if cfg, _ := c.policyConfig(v, "OriginRequestPolicyConfig"); cfg != nil {
				p, notes = c.customOriginRequestPolicy(cfg)
				ok = true
			}
			if ok {
				if p.headers != "all-but-host" {
					fw := newMap().flow()
					fw.add("headers", listNode(p.headers))
					fw.add("cookies", listNode(p.cookies))
					fw.add("query_strings", listNode(p.query))
					k := b.add("forward", fw.n)
					note(k, "origin request policy "+p.name)
					for _, n := range notes {
						note(k, n)
					}
				} else {
					note(first, "origin request policy "+p.name+": edgefront forwards everything but Host by default")
				}
			} else {
				c.errs = append(c.errs, fmt.Sprintf("origin request policy %s is neither one of CloudFront's managed origin request policies nor a custom policy in the template or a --policy file", policyRef(v)))
			}
		}
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
			note(first, "not carried over: field-level encryption "+s)
		}
	}
	if boolOf(bm, "SmoothStreaming") {
		note(first, "not carried over: smooth streaming")
	}
	if v, ok := bm["RealtimeLogConfigArn"]; ok {
		s, _ := c.value(v)
		note(first, "not carried over: real-time logs "+s)
	}
	return b.n
}

// policyRef names a policy id or the resource a Ref names, for messages.
func policyRef(v any) string {
	if m, ok := v.(map[string]any); ok {
		return refName(m)
	}
	return raw(v)
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
