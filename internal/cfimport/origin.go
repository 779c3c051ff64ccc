package cfimport

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

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
