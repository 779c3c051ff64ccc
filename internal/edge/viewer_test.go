package edge

import (
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/edgefront/edgefront/internal/geotest"
)

func enNames(en string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(en)} }

// The CloudFront-* viewer headers a behavior names are made by the edge,
// location from a MaxMind database; a viewer cannot send its own.
func TestViewerHeaders(t *testing.T) {
	dir := t.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	geotest.Write(t, city, "GeoIP2-City", map[string]mmdbtype.Map{"127.0.0.0/8": {
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String("DE"), "names": enNames("Germany")},
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("BE"), "names": enNames("Land Berlin")}},
		"city":         mmdbtype.Map{"names": enNames("Berlin")},
		"postal":       mmdbtype.Map{"code": mmdbtype.String("10115")},
		"location": mmdbtype.Map{"latitude": mmdbtype.Float64(52.5244), "longitude": mmdbtype.Float64(13.4105),
			"time_zone": mmdbtype.String("Europe/Berlin")},
	}})
	geotest.Write(t, asn, "GeoLite2-ASN", map[string]mmdbtype.Map{"127.0.0.0/8": {"autonomous_system_number": mmdbtype.Uint32(64500)}})

	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var lines []string
		for k, v := range r.Header {
			if strings.HasPrefix(k, "Cloudfront-") {
				lines = append(lines, k+"="+v[0])
			}
		}
		sort.Strings(lines)
		fmt.Fprint(w, strings.Join(lines, "\n"))
	})
	e := edgeFor(t, fmt.Sprintf(`
limits: {function_time: 1s}
geoip: {database: %q, asn_database: %q}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors:
      - path_pattern: "/geo/*"
        target_origin: o
        forward:
          headers: [CloudFront-Viewer-Country, CloudFront-Viewer-Country-Name, CloudFront-Viewer-Country-Region,
            CloudFront-Viewer-Country-Region-Name, CloudFront-Viewer-City, CloudFront-Viewer-Postal-Code,
            CloudFront-Viewer-Time-Zone, CloudFront-Viewer-Latitude, CloudFront-Viewer-Longitude, CloudFront-Viewer-ASN,
            CloudFront-Viewer-Metro-Code, CloudFront-Forwarded-Proto, CloudFront-Viewer-Http-Version,
            CloudFront-Is-Mobile-Viewer, CloudFront-Is-Desktop-Viewer, CloudFront-Is-Tablet-Viewer, CloudFront-Is-IOS-Viewer]
      - path_pattern: "/fn/*"
        target_origin: o
        cache_key: {headers: [cloudfront-viewer-country]}
        functions: {viewer_request: country.js}
    default_behavior: {target_origin: o}
`, city, asn, o.URL), map[string]string{"country.js": `function handler(event) {
    var headers = event.request.headers;
    if (headers['cloudfront-viewer-country'] && headers['cloudfront-viewer-country'].value === 'DE') {
        return {statusCode: 302, statusDescription: 'Found', headers: {location: {value: '/de' + event.request.uri}}};
    }
    return event.request;
}`})
	r := do(t, "GET", e.URL+"/geo/x", map[string]string{"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
		"CloudFront-Viewer-Country": "US", "CloudFront-Viewer-ASN": "1"})
	wantLines := []string{
		"Cloudfront-Forwarded-Proto=http", "Cloudfront-Is-Desktop-Viewer=false", "Cloudfront-Is-Ios-Viewer=true",
		"Cloudfront-Is-Mobile-Viewer=true", "Cloudfront-Is-Tablet-Viewer=false", "Cloudfront-Viewer-Asn=64500",
		"Cloudfront-Viewer-City=Berlin", "Cloudfront-Viewer-Country=DE", "Cloudfront-Viewer-Country-Name=Germany",
		"Cloudfront-Viewer-Country-Region=BE", "Cloudfront-Viewer-Country-Region-Name=Land Berlin",
		"Cloudfront-Viewer-Http-Version=1.1", "Cloudfront-Viewer-Latitude=52.52440", "Cloudfront-Viewer-Longitude=13.41050",
		"Cloudfront-Viewer-Postal-Code=10115", "Cloudfront-Viewer-Time-Zone=Europe/Berlin"}
	sort.Strings(wantLines)
	want := strings.Join(wantLines, "\n")
	if r.body != want {
		t.Errorf("origin saw\n%s\nwant\n%s", r.body, want)
	}
	// A behavior that names none gets none, and the viewer's own are gone.
	if r := do(t, "GET", e.URL+"/other", map[string]string{"CloudFront-Viewer-Country": "US"}); r.body != "" {
		t.Errorf("a behavior that asks for none: %q", r.body)
	}
	// A function sees the country.
	if r := do(t, "GET", e.URL+"/fn/page", nil); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/de/fn/page" {
		t.Errorf("function on the country: %d %v", r.StatusCode, r.Header)
	}
}

func TestDeviceOf(t *testing.T) {
	for ua, want := range map[string]device{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36":                   {desktop: true},
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36":   {mobile: true, android: true},
		"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/120.0 Safari/537.36":          {tablet: true, android: true},
		"Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148":                {tablet: true, iOS: true},
		"Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 SamsungBrowser/4.0 TV Safari/537.36": {smartTV: true},
		"curl/8.5.0": {desktop: true},
	} {
		if got := deviceOf(ua); got != want {
			t.Errorf("%s: %+v, want %+v", ua, got, want)
		}
	}
}

// JA4 of Chrome's ClientHello, as FoxIO publishes it
// (t13d1516h2_8daaf6152771_e5627efa2ab1), GREASE values and all; JA3 as
// Salesforce defines its string.
func TestFingerprints(t *testing.T) {
	chrome := &tls.ClientHelloInfo{
		CipherSuites: []uint16{0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x1a1a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d,
			0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0015, 0x3a3a},
		SupportedVersions: []uint16{0x7a7a, tls.VersionTLS13, tls.VersionTLS12},
		ServerName:        "example.com",
		SupportedProtos:   []string{"h2", "http/1.1"},
		SignatureSchemes:  []tls.SignatureScheme{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		SupportedCurves:   []tls.CurveID{0x4a4a, tls.X25519, tls.CurveP256, tls.CurveP384},
		SupportedPoints:   []uint8{0},
	}
	var h ClientHello
	h.Set(chrome)
	if h.JA4 != "t13d1516h2_8daaf6152771_e5627efa2ab1" {
		t.Errorf("JA4 %s", h.JA4)
	}
	ja3 := "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53," +
		"0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513-21,29-23-24,0"
	if sum := md5.Sum([]byte(ja3)); h.JA3 != hex.EncodeToString(sum[:]) {
		t.Errorf("JA3 %s, want the MD5 of %s", h.JA3, ja3)
	}
	// A TLS 1.2 client without SNI nor ALPN.
	h.Set(&tls.ClientHelloInfo{CipherSuites: []uint16{0xc02f}, Extensions: []uint16{0x000d}, SupportedVersions: []uint16{tls.VersionTLS12}})
	if !strings.HasPrefix(h.JA4, "t12i010100_") {
		t.Errorf("TLS 1.2 JA4 %s", h.JA4)
	}
}
