package edge

import (
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"

	"github.com/edgefront/edgefront/internal/config"
)

// The CloudFront-* request headers edgefront adds about the viewer, as
// CloudFront does, when a behavior names them in forward.headers or
// cache_key.headers. Each is a bit of viewerHeaders.
const (
	hdrAddress = 1 << iota
	hdrForwardedProto
	hdrHTTPVersion
	hdrTLS
	hdrHeaderCount
	hdrIsDesktop
	hdrIsMobile
	hdrIsTablet
	hdrIsSmartTV
	hdrIsIOS
	hdrIsAndroid
	hdrCountry
	hdrCountryName
	hdrRegion
	hdrRegionName
	hdrCity
	hdrPostalCode
	hdrTimeZone
	hdrLatitude
	hdrLongitude
	hdrMetroCode
	hdrASN
	hdrJA3
	hdrJA4
	hdrCertSerial
	hdrCertIssuer
	hdrCertSubject
	hdrCertPresent
	hdrCertSHA256
	hdrCertValidity // origin requests only: forward, not cache_key
	hdrCertPEM      // origin requests only, and never shown to functions
)

// hdrLocation are the headers a location database answers.
const hdrLocation = hdrCountry | hdrCountryName | hdrRegion | hdrRegionName | hdrCity | hdrPostalCode |
	hdrTimeZone | hdrLatitude | hdrLongitude | hdrMetroCode

// hdrCert are the viewer certificate's headers (viewer_mtls).
const hdrCert = hdrCertSerial | hdrCertIssuer | hdrCertSubject | hdrCertPresent | hdrCertSHA256 | hdrCertValidity | hdrCertPEM

const hdrDevice = hdrIsDesktop | hdrIsMobile | hdrIsTablet | hdrIsSmartTV | hdrIsIOS | hdrIsAndroid

var viewerHeaderBits = map[string]uint32{
	"Cloudfront-Viewer-Address":             hdrAddress,
	"Cloudfront-Forwarded-Proto":            hdrForwardedProto,
	"Cloudfront-Viewer-Http-Version":        hdrHTTPVersion,
	"Cloudfront-Viewer-Tls":                 hdrTLS,
	"Cloudfront-Viewer-Header-Count":        hdrHeaderCount,
	"Cloudfront-Is-Desktop-Viewer":          hdrIsDesktop,
	"Cloudfront-Is-Mobile-Viewer":           hdrIsMobile,
	"Cloudfront-Is-Tablet-Viewer":           hdrIsTablet,
	"Cloudfront-Is-Smarttv-Viewer":          hdrIsSmartTV,
	"Cloudfront-Is-Ios-Viewer":              hdrIsIOS,
	"Cloudfront-Is-Android-Viewer":          hdrIsAndroid,
	"Cloudfront-Viewer-Country":             hdrCountry,
	"Cloudfront-Viewer-Country-Name":        hdrCountryName,
	"Cloudfront-Viewer-Country-Region":      hdrRegion,
	"Cloudfront-Viewer-Country-Region-Name": hdrRegionName,
	"Cloudfront-Viewer-City":                hdrCity,
	"Cloudfront-Viewer-Postal-Code":         hdrPostalCode,
	"Cloudfront-Viewer-Time-Zone":           hdrTimeZone,
	"Cloudfront-Viewer-Latitude":            hdrLatitude,
	"Cloudfront-Viewer-Longitude":           hdrLongitude,
	"Cloudfront-Viewer-Metro-Code":          hdrMetroCode,
	"Cloudfront-Viewer-Asn":                 hdrASN,
	"Cloudfront-Viewer-Ja3-Fingerprint":     hdrJA3,
	"Cloudfront-Viewer-Ja4-Fingerprint":     hdrJA4,
	"Cloudfront-Viewer-Cert-Serial-Number":  hdrCertSerial,
	"Cloudfront-Viewer-Cert-Issuer":         hdrCertIssuer,
	"Cloudfront-Viewer-Cert-Subject":        hdrCertSubject,
	"Cloudfront-Viewer-Cert-Present":        hdrCertPresent,
	"Cloudfront-Viewer-Cert-Sha256":         hdrCertSHA256,
	"Cloudfront-Viewer-Cert-Validity":       hdrCertValidity,
	"Cloudfront-Viewer-Cert-Pem":            hdrCertPEM,
}

// viewerHeaders says which CloudFront-* headers a behavior asks for.
func viewerHeaders(fwd *config.Forward, key *config.CacheKey) uint32 {
	var bits uint32
	var names []string
	if fwd != nil {
		names = append(names, fwd.Headers.Items...)
	}
	if key != nil {
		names = append(names, key.Headers.Items...)
	}
	for _, n := range names {
		bits |= viewerHeaderBits[http.CanonicalHeaderKey(n)]
	}
	return bits
}

// isViewerHeader says whether a field is one edgefront makes: a viewer
// does not get to send one of its own.
func isViewerHeader(name string) bool {
	return strings.HasPrefix(name, "Cloudfront-") && viewerHeaderBits[name] != 0
}

// dropViewerHeaders removes the CloudFront-* headers a viewer sent. A
// trusted proxy's are kept: it may be CloudFront itself.
func (d *Distribution) dropViewerHeaders(r *http.Request, ex *exchange) {
	if ex.viaProxy {
		return
	}
	for name := range r.Header {
		if isViewerHeader(name) {
			delete(r.Header, name)
		}
	}
}

// geoDB holds the MaxMind databases of the config's geoip.
type geoDB struct {
	location, asn *maxminddb.Reader
}

// openGeo reads the databases into memory: a Reader over a mapped file
// could not be closed while a request of an old config still reads it.
func openGeo(g *config.GeoIP, probs *problems) *geoDB {
	if g == nil {
		return nil
	}
	db := &geoDB{}
	read := func(at, file string) *maxminddb.Reader {
		if file == "" {
			return nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			probs.add(at, err)
			return nil
		}
		r, err := maxminddb.OpenBytes(b)
		if err != nil {
			probs.addf(at, "%s is not a MaxMind database: %v", file, err)
		}
		return r
	}
	db.location = read("geoip.database", g.Database)
	db.asn = read("geoip.asn_database", g.ASNDatabase)
	return db
}

type names struct {
	En string `maxminddb:"en"`
}

// location is what a Country or City database holds of an address.
type location struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Postal struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"postal"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
		TimeZone  string   `maxminddb:"time_zone"`
		MetroCode uint     `maxminddb:"metro_code"`
	} `maxminddb:"location"`
}

// addViewerHeaders sets the CloudFront-* headers the behavior asks for.
// A header whose value is not known (no database, an address the database
// does not hold) is left out, as CloudFront leaves it out.
func (b *Behavior) addViewerHeaders(r *http.Request, ex *exchange) {
	bits, h := b.viewerHeaders, r.Header
	set := func(bit uint32, name, value string) {
		if bits&bit != 0 && value != "" {
			h[name] = []string{value}
		}
	}
	if bits&hdrAddress != 0 && ex.client.IsValid() {
		// The source port is known when the viewer is the peer, not when
		// a trusted proxy named it.
		addr := ex.client.String()
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && ap.Addr().Unmap() == ex.client {
			addr = netip.AddrPortFrom(ex.client, ap.Port()).String()
		}
		set(hdrAddress, "Cloudfront-Viewer-Address", addr)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
		set(hdrTLS, "Cloudfront-Viewer-Tls", tlsVersionName(r.TLS.Version)+":"+cipherName(r.TLS.CipherSuite)+":"+
			map[bool]string{true: "sessionResumed", false: "fullHandshake"}[r.TLS.DidResume])
	}
	if bits&(hdrJA3|hdrJA4) != 0 {
		if hello := clientHelloOf(r.Context()); hello != nil {
			set(hdrJA3, "Cloudfront-Viewer-Ja3-Fingerprint", hello.JA3)
			set(hdrJA4, "Cloudfront-Viewer-Ja4-Fingerprint", hello.JA4)
		}
	}
	if bits&hdrCert != 0 && b.dist.mtls != nil {
		// Pem is the origin request's only: see rewriteFor.
		for bit, kv := range viewerCertHeaders(r.TLS, bits&^hdrCertPEM) {
			set(bit, kv[0], kv[1])
		}
	}
	set(hdrForwardedProto, "Cloudfront-Forwarded-Proto", proto)
	set(hdrHTTPVersion, "Cloudfront-Viewer-Http-Version", strconv.Itoa(r.ProtoMajor)+"."+strconv.Itoa(r.ProtoMinor))
	set(hdrHeaderCount, "Cloudfront-Viewer-Header-Count", strconv.Itoa(headerCount(r)))
	if bits&hdrDevice != 0 {
		dev := deviceOf(r.Header.Get("User-Agent"))
		for _, d := range []struct {
			bit  uint32
			name string
			is   bool
		}{{hdrIsDesktop, "Cloudfront-Is-Desktop-Viewer", dev.desktop}, {hdrIsMobile, "Cloudfront-Is-Mobile-Viewer", dev.mobile},
			{hdrIsTablet, "Cloudfront-Is-Tablet-Viewer", dev.tablet}, {hdrIsSmartTV, "Cloudfront-Is-Smarttv-Viewer", dev.smartTV},
			{hdrIsIOS, "Cloudfront-Is-Ios-Viewer", dev.iOS}, {hdrIsAndroid, "Cloudfront-Is-Android-Viewer", dev.android}} {
			set(d.bit, d.name, strconv.FormatBool(d.is))
		}
	}
	geo := b.dist.rt.geo
	if geo == nil || !ex.client.IsValid() {
		return
	}
	if bits&hdrLocation != 0 && geo.location != nil {
		var loc location
		if err := geo.location.Lookup(ex.client).Decode(&loc); err == nil {
			set(hdrCountry, "Cloudfront-Viewer-Country", loc.Country.ISOCode)
			set(hdrCountryName, "Cloudfront-Viewer-Country-Name", loc.Country.Names.En)
			if len(loc.Subdivisions) > 0 {
				set(hdrRegion, "Cloudfront-Viewer-Country-Region", loc.Subdivisions[0].ISOCode)
				set(hdrRegionName, "Cloudfront-Viewer-Country-Region-Name", loc.Subdivisions[0].Names.En)
			}
			set(hdrCity, "Cloudfront-Viewer-City", loc.City.Names.En)
			set(hdrPostalCode, "Cloudfront-Viewer-Postal-Code", loc.Postal.Code)
			set(hdrTimeZone, "Cloudfront-Viewer-Time-Zone", loc.Location.TimeZone)
			if l := loc.Location.Latitude; l != nil {
				set(hdrLatitude, "Cloudfront-Viewer-Latitude", strconv.FormatFloat(*l, 'f', 5, 64))
			}
			if l := loc.Location.Longitude; l != nil {
				set(hdrLongitude, "Cloudfront-Viewer-Longitude", strconv.FormatFloat(*l, 'f', 5, 64))
			}
			if loc.Location.MetroCode != 0 {
				set(hdrMetroCode, "Cloudfront-Viewer-Metro-Code", strconv.FormatUint(uint64(loc.Location.MetroCode), 10))
			}
		}
	}
	if bits&hdrASN != 0 && geo.asn != nil {
		var as struct {
			Number uint `maxminddb:"autonomous_system_number"`
		}
		if err := geo.asn.Lookup(ex.client).Decode(&as); err == nil && as.Number != 0 {
			set(hdrASN, "Cloudfront-Viewer-Asn", strconv.FormatUint(uint64(as.Number), 10))
		}
	}
}

// headerCount is the number of header lines the viewer sent.
func headerCount(r *http.Request) int {
	n := 0
	if r.Host != "" {
		n++
	}
	for _, vs := range r.Header {
		n += len(vs)
	}
	return n
}

type device struct{ desktop, mobile, tablet, smartTV, iOS, android bool }

// deviceOf tells the kind of device from its User-Agent, as CloudFront's
// CloudFront-Is-*-Viewer headers do: a viewer is one of desktop, mobile,
// tablet and smart TV.
func deviceOf(ua string) device {
	var d device
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	d.iOS = has("iPhone", "iPad", "iPod")
	d.android = has("Android")
	switch {
	case has("SmartTV", "SMART-TV", "Smart-TV", "GoogleTV", "AppleTV", "Apple TV", "HbbTV", "Roku", "BRAVIA", "Web0S", "webOS.TV", "Tizen TV", "CrKey"):
		d.smartTV = true
	case has("iPad", "Tablet", "Kindle", "Silk/", "PlayBook") || d.android && !has("Mobile"):
		d.tablet = true
	case has("Mobi", "iPhone", "iPod", "Windows Phone", "BlackBerry", "Opera Mini"):
		d.mobile = true
	default:
		d.desktop = true
	}
	return d
}
