package cfimport

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/edgefront/edgefront/internal/config"
	"gopkg.in/yaml.v3"
)

func (c *converter) origin(om map[string]any) (*yaml.Node, []string) {
	var comments []string
	o := newMap().flow()
	domain, dcomment := c.str(om, "DomainName")
	if dcomment != "" {
		dcomment = " " + dcomment
	}
	path, _ := c.str(om, "OriginPath")
	host := hostOnly(domain)
	oac := om["OriginAccessControlId"] != nil && om["OriginAccessControlId"] != "" // the API writes "" for none
	s3 := obj(om, "S3OriginConfig") != nil || (oac && obj(om, "CustomOriginConfig") == nil)
	website := strings.Contains(host, ".s3-website")
	var bucketRes map[string]any // the template's AWS::S3::Bucket, when the domain names one
	if m, ok := om["DomainName"].(map[string]any); ok {
		if r := c.intrinsic(m); r.typ == "AWS::S3::Bucket" {
			bucketRes, _ = c.resources[r.name].(map[string]any)
			website = website || r.attr == "WebsiteURL"
			s3 = s3 || website
			bucket, isString := obj(bucketRes, "Properties")["BucketName"].(string)
			if !isString {
				env := strings.ToUpper(notWord.ReplaceAllString(r.name, "_")) + "_BUCKET"
				bucket = "${" + env + "}"
				dcomment = fmt.Sprintf(": set %s to the name of bucket %s (AWS::S3::Bucket); its domain name works too", env, r.name)
			} else {
				dcomment = ""
			}
			host = bucket
		}
	}
	if dcomment != "" {
		comments = append(comments, "DomainName"+dcomment)
	}
	if website || s3 {
		bucket, region, _ := config.SplitS3Domain(host)
		o.set("type", "s3")
		o.set("bucket", bucket)
		if region != "" {
			o.set("region", region)
		}
	}
	switch {
	case website:
		// A website endpoint is public by definition: read anonymously,
		// with the website's index and error documents emulated.
		o.setBool("anonymous")
		o.add("website", c.websiteOf(bucketRes, &comments))
	case s3:
		if t, ok := num(obj(om, "S3OriginConfig"), "OriginReadTimeout"); ok {
			o.set("read_timeout", strconv.Itoa(int(t)))
		}
		if oai, _ := c.str(obj(om, "S3OriginConfig"), "OriginAccessIdentity"); oai == "" && !oac {
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
		if v := append(items(co, "OriginSSLProtocols"), items(co, "OriginSslProtocols")...); v != nil {
			comments = append(comments, "OriginSslProtocols "+raw(v)+": edgefront uses TLS 1.2 or newer to origins")
		}
		if p, _ := c.str(co, "HTTPPort"); p != "" && p != "80" && scheme == "https" {
			comments = append(comments, "HTTPPort "+p+" is not used: CloudFront reached this origin over HTTPS ("+policy+")")
		}
		for _, s := range []string{"IpAddressType", "OriginMtlsConfig"} {
			if v, ok := co[s]; ok {
				comments = append(comments, fmt.Sprintf("not carried over: %s %s", s, raw(v)))
			}
		}
	}
	if path != "" {
		o.set("path", path)
	}
	if t, ok := num(om, "ConnectionTimeout"); ok {
		o.set("connect_timeout", strconv.Itoa(int(t)))
	}
	if hs := append(items(om, "CustomHeaders"), items(om, "OriginCustomHeaders")...); len(hs) > 0 { // the API's name, CloudFormation's
		h := newMap().flow()
		for _, x := range hs {
			xm, _ := x.(map[string]any)
			name, _ := c.str(xm, "HeaderName")
			value, _ := c.str(xm, "HeaderValue")
			h.set(name, value)
		}
		o.add("custom_headers", h.n)
	}
	for _, s := range []string{"OriginShield", "ConnectionAttempts", "VpcOriginConfig", "ResponseCompletionTimeout"} {
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

// websiteOf is the website block of an S3 website endpoint origin: the
// bucket's index and error documents when the template has them.
func (c *converter) websiteOf(bucket map[string]any, comments *[]string) *yaml.Node {
	w := newMap().flow()
	wc := obj(obj(bucket, "Properties"), "WebsiteConfiguration")
	index, _ := c.str(wc, "IndexDocument")
	if index == "" {
		index = "index.html"
		*comments = append(*comments, "an S3 website endpoint, public by definition: read anonymously, its website emulated over the REST API; index.html is assumed as its index document (set the bucket's), and its error document, if it has one, goes in website.error_document")
	} else {
		*comments = append(*comments, "an S3 website endpoint, public by definition: read anonymously, its website emulated over the REST API with the bucket's documents")
	}
	w.set("index_document", index)
	if e, _ := c.str(wc, "ErrorDocument"); e != "" {
		w.set("error_document", e)
	}
	return w.n
}
