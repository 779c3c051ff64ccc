package cfimport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// A document with every field of a schema set, and the paths of its leaf
// fields (Origins.Items.CustomOriginConfig.HTTPPort), without the
// {Quantity, Items} wrappers' own fields.
type schemaDoc struct {
	doc    map[string]any
	leaves []string
}

// fill sets every field of the type t, as CloudFront's API writes it in
// JSON; omit names the paths to leave out (and what is under them), set
// the values to use at paths.
func fill(t reflect.Type, path string, omit map[string]bool, set map[string]any, leaves *[]string) any {
	if v, ok := set[path]; ok {
		*leaves = append(*leaves, path)
		return v
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := strings.TrimPrefix(path+"."+f.Name, ".")
			if omit[p] {
				continue
			}
			if f.Name == "Quantity" {
				continue // set from Items below
			}
			m[f.Name] = fill(f.Type, p, omit, set, leaves)
		}
		if _, ok := t.FieldByName("Quantity"); ok {
			l, _ := m["Items"].([]any)
			m["Quantity"] = len(l)
		}
		return m
	case reflect.Slice:
		return []any{fill(t.Elem(), path, omit, set, leaves)}
	case reflect.String:
		*leaves = append(*leaves, path)
		if vs := reflect.New(t).Elem().MethodByName("Values"); vs.IsValid() {
			if l := vs.Call(nil)[0]; l.Len() > 0 {
				return l.Index(l.Len() - 1).String() // an enum: its last value, rarely the default
			}
		}
		return "x-" + strings.ToLower(path[strings.LastIndex(path, ".")+1:])
	case reflect.Bool:
		*leaves = append(*leaves, path)
		return true
	case reflect.Int32, reflect.Int64, reflect.Int:
		*leaves = append(*leaves, path)
		return 7
	}
	*leaves = append(*leaves, path)
	return nil
}

// apiVariants are full DistributionConfigs, each with every field but
// the ones CloudFront does not take together with the ones it sets: the
// modern behaviors (policies) and the legacy ones (ForwardedValues and
// TTLs), a custom origin and an S3 one.
func apiVariants() []schemaDoc {
	managed := map[string]any{}
	for _, b := range []string{"DefaultCacheBehavior", "CacheBehaviors.Items"} {
		managed[b+".CachePolicyId"] = "658327ea-f89d-4fab-a63d-7e88639e58f6"
		managed[b+".OriginRequestPolicyId"] = "216adef6-5c7f-47e4-b989-5492eafa07d3"
		managed[b+".ResponseHeadersPolicyId"] = "60669652-455b-4ae9-85a4-c4c02393f86c"
		managed[b+".TargetOriginId"] = "x-id"
		managed[b+".ForwardedValues.Cookies.Forward"] = "whitelist"
	}
	managed["Restrictions.GeoRestriction.RestrictionType"] = "whitelist"
	managed["OriginGroups.Items.Id"] = "x-group"
	legacy := map[string]bool{}
	modern := map[string]bool{}
	for _, b := range []string{"DefaultCacheBehavior", "CacheBehaviors.Items"} {
		for _, f := range []string{"ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"} {
			modern[b+"."+f] = true
		}
		for _, f := range []string{"CachePolicyId", "OriginRequestPolicyId"} {
			legacy[b+"."+f] = true
		}
	}
	modern["Origins.Items.S3OriginConfig"] = true
	modern["Origins.Items.VpcOriginConfig"] = true
	modern["Origins.Items.OriginAccessControlId"] = true
	legacy["Origins.Items.CustomOriginConfig"] = true
	var out []schemaDoc
	for _, omit := range []map[string]bool{modern, legacy} {
		var d schemaDoc
		d.doc = fill(reflect.TypeOf(types.DistributionConfig{}), "", omit, managed, &d.leaves).(map[string]any)
		out = append(out, d)
	}
	return out
}

// carried are the fields the import carries over, each with what its
// output then holds. Every other field of the schema must be named in a
// comment of the output.
var carried = map[string]string{
	"Aliases.Items":                                                "aliases: [x-",
	"DefaultRootObject":                                            "default_root_object: x-defaultrootobject",
	"CacheTagConfig.HeaderName":                                    "cache_tag_header: x-headername",
	"Restrictions.GeoRestriction.RestrictionType":                  "restriction_type: whitelist",
	"Restrictions.GeoRestriction.Items":                            "locations: [x-",
	"Restrictions.GeoRestriction.Locations":                        "locations: [x-",
	"DefaultCacheBehavior.GrpcConfig.Enabled":                      "grpc: true",
	"ConnectionFunctionAssociation.Id":                             "connection_function: functions/connection-x-id.js",
	"ViewerMtlsConfig.Mode":                                        "viewer_mtls:",
	"ViewerMtlsConfig.TrustStoreConfig.TrustStoreId":               "ca_file: truststore-x-truststoreid.pem",
	"ViewerMtlsConfig.TrustStoreConfig.AdvertiseTrustStoreCaNames": "trust_store: {ca_file: truststore-",
	"ViewerMtlsConfig.TrustStoreConfig.IgnoreCertificateExpiry":    "trust_store: {ca_file: truststore-",
	"Comment":                         "CloudFront comment: x-comment",
	"Enabled":                         "name: main",
	"CallerReference":                 "name: main",
	"HttpVersion":                     "", // checked below: a comment names it
	"Origins.Items.Id":                "x-id:",
	"Origins.Items.DomainName":        "x-domainname",
	"Origins.Items.OriginPath":        "path: x-originpath",
	"Origins.Items.ConnectionTimeout": "connect_timeout: 7",
	"Origins.Items.CustomHeaders.Items.HeaderName":                        "x-headername: x-headervalue",
	"Origins.Items.CustomHeaders.Items.HeaderValue":                       "x-headername: x-headervalue",
	"Origins.Items.CustomOriginConfig.HTTPPort":                           "",
	"Origins.Items.CustomOriginConfig.HTTPSPort":                          "x-domainname:7",
	"Origins.Items.CustomOriginConfig.OriginProtocolPolicy":               "https://x-domainname:7",
	"Origins.Items.CustomOriginConfig.OriginReadTimeout":                  "read_timeout: 7",
	"Origins.Items.S3OriginConfig.OriginReadTimeout":                      "read_timeout: 7",
	"Origins.Items.CustomOriginConfig.OriginKeepaliveTimeout":             "keepalive_timeout: 7",
	"Origins.Items.S3OriginConfig.OriginAccessIdentity":                   "signs with the AWS default credentials",
	"Origins.Items.OriginAccessControlId":                                 "signs with the AWS default credentials",
	"OriginGroups.Items.Id":                                               "x-group: {type: group",
	"IsIPV6Enabled":                                                       "listen: {http: \":8080\"",
	"OriginGroups.Items.Members.Items.OriginId":                           "type: group",
	"OriginGroups.Items.FailoverCriteria.StatusCodes.Items":               "failover_status_codes: [7]",
	"DefaultCacheBehavior.TargetOriginId":                                 "target_origin: x-id",
	"DefaultCacheBehavior.ViewerProtocolPolicy":                           "viewer_protocol_policy:",
	"DefaultCacheBehavior.AllowedMethods.Items":                           "allowed_methods:",
	"DefaultCacheBehavior.Compress":                                       "compress: true",
	"DefaultCacheBehavior.CachePolicyId":                                  "cache policy CachingOptimized",
	"DefaultCacheBehavior.OriginRequestPolicyId":                          "origin request policy AllViewer",
	"DefaultCacheBehavior.ResponseHeadersPolicyId":                        "policy: SimpleCORS",
	"DefaultCacheBehavior.TrustedKeyGroups.Enabled":                       "trusted_key_groups:",
	"DefaultCacheBehavior.TrustedKeyGroups.Items":                         "trusted_key_groups:",
	"DefaultCacheBehavior.TrustedSigners.Enabled":                         "trusted-signers",
	"DefaultCacheBehavior.TrustedSigners.Items":                           "trusted-signers",
	"DefaultCacheBehavior.MinTTL":                                         "min_ttl: 7",
	"DefaultCacheBehavior.DefaultTTL":                                     "default_ttl: 7",
	"DefaultCacheBehavior.MaxTTL":                                         "max_ttl: 7",
	"DefaultCacheBehavior.ForwardedValues.QueryString":                    "query_strings: [x-",
	"DefaultCacheBehavior.ForwardedValues.QueryStringCacheKeys.Items":     "query_strings: [x-",
	"DefaultCacheBehavior.ForwardedValues.Cookies.Forward":                "cookies: [x-",
	"DefaultCacheBehavior.ForwardedValues.Cookies.WhitelistedNames.Items": "cookies: [x-",
	"DefaultCacheBehavior.ForwardedValues.Headers.Items":                  "headers: [x-",
	"DefaultCacheBehavior.FunctionAssociations.Items.EventType":           "",
	"DefaultCacheBehavior.FunctionAssociations.Items.FunctionARN":         "",
	"CustomErrorResponses.Items.ErrorCode":                                "error_code: 7",
	"CustomErrorResponses.Items.ResponsePagePath":                         "response_page_path: x-responsepagepath",
	"CustomErrorResponses.Items.ResponseCode":                             "response_code: ",
	"CustomErrorResponses.Items.ErrorCachingMinTTL":                       "error_caching_min_ttl: 7",
	"ViewerCertificate.ACMCertificateArn":                                 "x-acmcertificatearn",
	"ViewerCertificate.IAMCertificateId":                                  "x-iamcertificateid",
	"ViewerCertificate.MinimumProtocolVersion":                            "minimum_protocol_version:",
}

func init() {
	// A cache behavior has the default behavior's fields, and a path.
	for k, v := range carried {
		if rest, ok := strings.CutPrefix(k, "DefaultCacheBehavior."); ok {
			carried["CacheBehaviors.Items."+rest] = v
		}
	}
	carried["CacheBehaviors.Items.PathPattern"] = "path_pattern: x-pathpattern"
	// The API's names and CloudFormation's, one key.
	for k, v := range carried {
		delete(carried, k)
		carried[normalPath(k)] = v
	}
}

// normalPath is a field's path as both schemas can name it: without the
// API's {Quantity, Items} wrappers, in lower case (the API's ACM and SSL
// are CloudFormation's Acm and Ssl), with CloudFormation's other names
// for the same fields.
func normalPath(p string) string {
	parts := strings.Split(strings.ToLower(strings.ReplaceAll(p, ".Items", "")), ".")
	for i, s := range parts {
		if r, ok := map[string]string{"ipv6enabled": "isipv6enabled", "origincustomheaders": "customheaders"}[s]; ok {
			parts[i] = r
		}
	}
	return strings.Join(parts, ".")
}

// leavesOf lists the paths of a JSON document's scalars.
func leavesOf(v any, path string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k != "Quantity" {
				leavesOf(e, strings.TrimPrefix(path+"."+k, "."), out)
			}
		}
	case []any:
		for _, e := range x {
			leavesOf(e, path, out)
		}
	default:
		*out = append(*out, path)
	}
}

// cfnVariants are the two distributions of testdata/cdk-full.template.json
// (made by testdata/cdk/full.js from aws-cdk-lib's own type information),
// each with every property of AWS::CloudFront::Distribution but those
// CloudFront does not take together.
func cfnVariants(t *testing.T) []schemaDoc {
	b, err := os.ReadFile("testdata/cdk-full.template.json")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Properties struct{ DistributionConfig map[string]any }
		}
	}
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	var out []schemaDoc
	for _, name := range []string{"Modern", "Legacy"} {
		d := schemaDoc{doc: tmpl.Resources[name].Properties.DistributionConfig}
		leavesOf(d.doc, "", &d.leaves)
		out = append(out, d)
	}
	return out
}

// Every property of CloudFormation's AWS::CloudFront::Distribution, as
// aws-cdk-lib lists them, is either carried over or named in a comment.
func TestEveryDistributionPropertyIsCarriedOrCommented(t *testing.T) {
	checkSchema(t, cfnVariants(t))
}

var word = regexp.MustCompile(`[A-Za-z0-9]+`)

// Every field of CloudFront's DistributionConfig, as the AWS SDK's types
// have it, is either carried over or named in a comment of the output.
func TestEveryDistributionConfigFieldIsCarriedOrCommented(t *testing.T) {
	checkSchema(t, apiVariants())
}

func checkSchema(t *testing.T, variants []schemaDoc) {
	handled := map[string]bool{}
	all := map[string]bool{}
	for i, v := range variants {
		in, _ := json.Marshal(map[string]any{"DistributionConfig": v.doc})
		t.Chdir(t.TempDir())
		res, err := Convert(in, Options{FunctionsDir: "functions"})
		if err != nil {
			t.Fatalf("variant %d: %v\n%s", i, err, in)
		}
		out := string(res.Config)
		comments := map[string]bool{}
		for _, line := range strings.Split(out, "\n") {
			if _, c, ok := strings.Cut(line, "#"); ok {
				for _, w := range word.FindAllString(c, -1) {
					comments[strings.ToLower(w)] = true
				}
			}
		}
		for _, leaf := range v.leaves {
			all[leaf] = true
			field := leaf[strings.LastIndex(leaf, ".")+1:]
			if field == "Items" {
				field = leaf[:strings.LastIndex(leaf, ".")]
				field = field[strings.LastIndex(field, ".")+1:]
			}
			want, isCarried := carried[normalPath(leaf)]
			switch {
			case isCarried && want != "" && strings.Contains(out, want):
				handled[leaf] = true
			case comments[strings.ToLower(field)]:
				handled[leaf] = true
			}
		}
		if *update {
			os.WriteFile(filepath.Join(os.TempDir(), "schema-variant.yaml"), res.Config, 0o644)
		}
	}
	var missing []string
	for leaf := range all {
		if !handled[leaf] {
			missing = append(missing, leaf)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d fields are neither carried over nor named in a comment:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
