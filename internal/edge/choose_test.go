package edge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A viewer-request function chooses the origin with the cloudfront
// module's helpers; each is mapped to the distribution's own origins.
func TestFunctionChoosesTheOrigin(t *testing.T) {
	answer := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/fail") && name == "eu" {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprintf(w, "%s %s x-tenant=%s", name, r.URL.Path, r.Header.Get("X-Tenant"))
		}
	}
	us, _ := upstream(t, answer("us"))
	eu, _ := upstream(t, answer("eu"))
	euHost := strings.TrimPrefix(eu.URL, "http://")
	e := edgeFor(t, fmt.Sprintf(`
limits: {function_time: 1s}
distributions:
  - name: main
    origins:
      us: {type: http, url: %q}
      eu: {type: http, url: %q, path: /eu-base}
    default_behavior: {target_origin: us, functions: {viewer_request: choose.js}}
`, us.URL, eu.URL), map[string]string{"choose.js": `import cf from 'cloudfront';
function handler(event) {
    const q = event.request.querystring;
    if (q.by && q.by.value === 'id') {
        cf.selectRequestOriginById('eu');
    } else if (q.by && q.by.value === 'domain') {
        cf.updateRequestOrigin({domainName: '` + euHost + `', originPath: '/tenants',
            customHeaders: {'x-tenant': 'acme'}, timeouts: {readTimeout: 5}});
    } else if (q.by && q.by.value === 'group') {
        cf.createRequestOriginGroup({originIds: ['eu', 'us'], failoverCriteria: {statusCodes: [503]}});
    } else if (q.by && q.by.value === 'nowhere') {
        cf.updateRequestOrigin({domainName: 'attacker.example'});
    } else if (q.by && q.by.value === 'missing') {
        cf.selectRequestOriginById('nope');
    }
    return event.request;
}`})
	for query, want := range map[string]string{
		"":           "us /a x-tenant=",
		"?by=id":     "eu /eu-base/a x-tenant=",
		"?by=domain": "eu /tenants/a x-tenant=acme",
	} {
		if r := get(t, e.URL+"/a"+query); r.StatusCode != 200 || r.body != want {
			t.Errorf("%q: %d %q, want %q", query, r.StatusCode, r.body, want)
		}
	}
	// The group fails over from eu to us on the status the function named.
	if r := get(t, e.URL+"/fail?by=group"); r.StatusCode != 200 || r.body != "us /fail x-tenant=" {
		t.Errorf("group: %d %q", r.StatusCode, r.body)
	}
	// A domain that is none of the distribution's origins, or an unknown
	// id, is the function's failure: 503, nothing sent anywhere.
	for _, q := range []string{"?by=nowhere", "?by=missing"} {
		if r := get(t, e.URL+"/a"+q); r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %d %q", q, r.StatusCode, r.body)
		}
	}
}

// cf.updateRequestOrigin names S3 origins as CloudFront does: the bucket's
// REST or website endpoint in its region.
func TestOriginAtS3Domain(t *testing.T) {
	_, rt := edgeWithClock(t, `
distributions:
  - name: main
    origins:
      eu: {type: s3, bucket: demo-eu, region: eu-central-1, endpoint: "http://127.0.0.1:1", anonymous: true}
      app: {type: http, url: "http://app.internal:8080"}
    default_behavior: {target_origin: app}
`, nil, nil)
	d := rt.dists[0]
	for domain, want := range map[string]string{
		"demo-eu.s3.eu-central-1.amazonaws.com":         "eu",
		"demo-eu.s3-website.eu-central-1.amazonaws.com": "eu",
		"app.internal:8080":                             "app",
		"app.internal":                                  "app",
		"demo-eu.s3.us-east-1.amazonaws.com":            "",
		"evil.example":                                  "",
	} {
		if got, _ := d.originAt(domain); got != want {
			t.Errorf("%s: %q, want %q", domain, got, want)
		}
	}
}
