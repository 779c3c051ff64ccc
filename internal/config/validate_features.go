package config

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// functions checks a behavior's functions' references and resolves their
// files; edge.Compile reads and compiles them.
func (v *validator) functions(at string, fn *Functions) {
	for _, file := range []*string{&fn.ViewerRequest, &fn.ViewerResponse} {
		if *file != "" {
			*file = v.file(*file)
		}
	}
	if fn.KeyValueStore != "" {
		if _, ok := v.c.KeyValueStores[fn.KeyValueStore]; !ok {
			v.add(at+".key_value_store", "key value store %q is not in key_value_stores%s", fn.KeyValueStore, didYouMean(fn.KeyValueStore, slices.Sorted(maps.Keys(v.c.KeyValueStores))))
		}
	}
}

// keyValueStores resolves the stores' files; edge.Compile reads them.
func (v *validator) keyValueStores() {
	for name, s := range v.c.KeyValueStores {
		if s.File == "" {
			v.add("key_value_stores."+name, "key value store %q needs a file", name)
		}
		s.File = v.file(s.File)
		v.c.KeyValueStores[name] = s
	}
}

// geoIP resolves the databases' files; edge.Compile opens them.
func (v *validator) geoIP() {
	g := v.c.GeoIP
	if g == nil {
		return
	}
	for _, f := range []struct {
		at   string
		file *string
	}{{"geoip.database", &g.Database}, {"geoip.asn_database", &g.ASNDatabase}} {
		if *f.file == "" {
			continue
		}
		*f.file = v.file(*f.file)
	}
	if g.Database == "" && g.ASNDatabase == "" {
		v.add("geoip", "geoip names no database (database, asn_database)")
	}
}

// ManagedResponseHeadersPolicies are CloudFront's managed response headers
// policies: id by name.
var ManagedResponseHeadersPolicies = map[string]string{
	"SimpleCORS":                                    "60669652-455b-4ae9-85a4-c4c02393f86c",
	"CORS-With-Preflight":                           "5cc3b908-e619-4b99-88e5-2cf7f45965bd",
	"SecurityHeadersPolicy":                         "67f7725c-6f97-4210-82d7-5512b31e9d03",
	"CORS-and-SecurityHeadersPolicy":                "e61eb60c-9c35-4d20-a928-2b84e02af89c",
	"CORS-with-preflight-and-SecurityHeadersPolicy": "eaab4381-ed33-4a86-88ca-d9558dc6cd63",
}

// ManagedPolicyName returns the name of a managed response headers policy
// given by name or id.
func ManagedPolicyName(s string) (string, bool) {
	for name, id := range ManagedResponseHeadersPolicies {
		if strings.EqualFold(s, name) || s == id {
			return name, true
		}
	}
	return "", false
}

// unremovable are the fields a response headers policy may not remove, as
// CloudFront.
var unremovable = []string{"Connection", "Content-Encoding", "Content-Length", "Expect", "Host", "Keep-Alive",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Trailer", "Transfer-Encoding", "Upgrade", "Via", "Warning",
	"X-Accel-Buffering", "X-Accel-Charset", "X-Accel-Limit-Rate", "X-Accel-Redirect", "X-Cache", "X-Edge-Request-Id"}

func (v *validator) responseHeaders(at string, rh *ResponseHeaders) {
	if rh.Policy != "" {
		name, ok := ManagedPolicyName(rh.Policy)
		if !ok {
			names := make([]string, 0, len(ManagedResponseHeadersPolicies))
			for n := range ManagedResponseHeadersPolicies {
				names = append(names, n)
			}
			sort.Strings(names)
			v.add(at+".policy", "%q is not a managed response headers policy: one of %s, or write a custom one", rh.Policy, strings.Join(names, ", "))
		}
		rh.Policy = name
		if rh.CORS != nil || rh.Security != nil || rh.Custom != nil || rh.Remove != nil || rh.ServerTiming != nil {
			v.add(at+".policy", "a managed policy cannot be combined with custom settings: write the whole policy instead")
		}
	}
	if c := rh.CORS; c != nil {
		for i, m := range c.AllowMethods {
			c.AllowMethods[i] = strings.ToUpper(m)
			if c.AllowMethods[i] != "ALL" && !contains(KnownMethods, c.AllowMethods[i]) {
				v.add(fmt.Sprintf("%s.cors.allow_methods[%d]", at, i), "method %q is not one of %s, or ALL", m, strings.Join(KnownMethods, ", "))
			}
		}
		if c.AllowCredentials && contains(c.AllowOrigins, "*") {
			v.add(at+".cors", "allow_credentials cannot go with allow_origins \"*\" (browsers refuse it)")
		}
	}
	if s := rh.Security; s != nil && s.FrameOptions != nil {
		if f := strings.ToUpper(s.FrameOptions.Value); f != "DENY" && f != "SAMEORIGIN" {
			v.add(at+".security.frame_options", "frame_options %q is not DENY or SAMEORIGIN", s.FrameOptions.Value)
		}
	}
	for i, h := range rh.Custom {
		if !ValidFieldName(h.Header) {
			v.add(fmt.Sprintf("%s.custom[%d]", at, i), "header %q is not a valid field name", h.Header)
		}
	}
	for i, h := range rh.Remove {
		if !ValidFieldName(h) {
			v.add(fmt.Sprintf("%s.remove[%d]", at, i), "header %q is not a valid field name", h)
		} else if contains(unremovable, http.CanonicalHeaderKey(h)) {
			v.add(fmt.Sprintf("%s.remove[%d]", at, i), "%s cannot be removed, as on CloudFront", h)
		}
	}
	if st := rh.ServerTiming; st != nil && (st.SamplingRate < 0 || st.SamplingRate > 100) {
		v.add(at+".server_timing.sampling_rate", "sampling_rate is a percentage, 0 to 100")
	}
}
