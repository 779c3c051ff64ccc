package cfimport

import (
	"strings"

	"gopkg.in/yaml.v3"
)

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

// Managed origin request policies: what is forwarded, by id.
type originRequestPolicy struct {
	name                    string
	headers, cookies, query string
}

var managedOriginRequestPolicies = map[string]originRequestPolicy{
	"216adef6-5c7f-47e4-b989-5492eafa07d3": {"AllViewer", "all", "all", "all"},
	"b689b0a8-53d0-40ab-baf2-68738e2966ac": {"AllViewerExceptHostHeader", allExcept + "host", "all", "all"},
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

// allExcept starts a selection of all names but those that follow
// (CloudFront's allExcept).
const allExcept = "all-except:"

func listNode(s string) *yaml.Node {
	if s == "all" || s == "none" {
		return scalar(s)
	}
	if names, ok := strings.CutPrefix(s, allExcept); ok {
		m := newMap().flow()
		m.add("all_except", seq(strings.Split(names, ",")...))
		return m.n
	}
	return seq(strings.Split(s, ",")...)
}
