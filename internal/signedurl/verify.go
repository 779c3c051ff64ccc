package signedurl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // SHA-1, CloudFront's default policy hash
	_ "crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Names of the signing parameters in query strings and cookies.
const (
	QueryExpires   = "Expires"
	QueryPolicy    = "Policy"
	QuerySignature = "Signature"
	QueryKeyPairID = "Key-Pair-Id"
	CookieExpires  = "CloudFront-Expires"
	CookiePolicy   = "CloudFront-Policy"
	CookieSig      = "CloudFront-Signature"
	CookieKeyPair  = "CloudFront-Key-Pair-Id"
	// QueryHashAlgorithm and CookieHashAlgorithm say SHA256 when the
	// policy was hashed with SHA-256 instead of SHA-1.
	QueryHashAlgorithm  = "Hash-Algorithm"
	CookieHashAlgorithm = "CloudFront-Hash-Algorithm"
)

// Why a request was refused; the messages are CloudFront's where it has one.
var (
	ErrMissingKeyPairID = errors.New("missing Key-Pair-Id query parameter or cookie value")
	ErrUnknownKey       = errors.New("unknown Key-Pair-Id: the key is not in a trusted key group")
	ErrMissingSignature = errors.New("missing Signature query parameter or cookie value")
	ErrMissingPolicy    = errors.New("missing Expires or Policy query parameter or cookie value")
	ErrMalformed        = errors.New("malformed signature or policy")
	ErrHashAlgorithm    = errors.New("unsupported Hash-Algorithm: SHA1 or SHA256 is wanted")
	ErrBadSignature     = errors.New("invalid signature")
	ErrExpired          = errors.New("access denied: the signature has expired")
	ErrNotYetValid      = errors.New("access denied: the signature is not valid yet")
	ErrWrongIP          = errors.New("access denied: the policy does not allow this IP address")
	ErrWrongResource    = errors.New("access denied: the policy does not cover this URL")
)

// Verifier checks signed requests against a set of trusted public keys.
// It caches verified signatures until they expire, so that a URL used many
// times costs one verification.
type Verifier struct {
	keys map[string]crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]time.Time // verified signature → when to forget it
}

// MaxCached bounds the verified-signature cache.
const MaxCached = 1 << 16

// NewVerifier trusts keys (RSA or ECDSA, as LoadPublicKey returns them),
// by key pair id. now may be nil for time.Now.
func NewVerifier(keys map[string]crypto.PublicKey, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: keys, now: now, cache: map[string]time.Time{}}
}

// params are the signing values of one request, from its query string or
// its cookies.
type params struct {
	expires, policy, signature, keyPairID, hash string
	cookie                                      bool
}

// Verify checks the signed URL, or else the signed cookies, of r, with
// the connection's address as the client's. It returns nil when the
// request may go on.
func (v *Verifier) Verify(r *http.Request) error {
	ip, _ := clientIP(r)
	return v.VerifyFrom(r, ip)
}

// VerifyFrom is Verify for a request from client, the address an IP
// condition is checked against.
func (v *Verifier) VerifyFrom(r *http.Request, client netip.Addr) error {
	p, ok := fromQuery(r.URL.RawQuery)
	if !ok {
		p = fromCookies(r)
	}
	if p.keyPairID == "" {
		return ErrMissingKeyPairID
	}
	key := v.keys[p.keyPairID]
	if key == nil {
		return ErrUnknownKey
	}
	if p.signature == "" {
		return ErrMissingSignature
	}
	resource := ResourceURL(r)
	var pol *Policy
	var signed []byte
	switch {
	case p.policy != "":
		raw, err := DecodeBase64(p.policy)
		if err != nil {
			return ErrMalformed
		}
		if pol, err = ParsePolicy(raw); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		signed = raw
	case p.expires != "":
		exp, err := strconv.ParseInt(p.expires, 10, 64)
		if err != nil {
			return ErrMalformed
		}
		signed = CannedPolicy(resource, exp)
		pol = &Policy{Resource: resource, HasRes: true, Expires: time.Unix(exp, 0)}
	default:
		return ErrMissingPolicy
	}
	if err := v.checkSignature(key, p, signed, pol.Expires); err != nil {
		return err
	}
	now := v.now()
	if !now.Before(pol.Expires) {
		return ErrExpired
	}
	if !pol.Starts.IsZero() && now.Before(pol.Starts) {
		return ErrNotYetValid
	}
	if pol.HasIP {
		if !client.IsValid() || !pol.SourceIP.Contains(client.Unmap()) {
			return ErrWrongIP
		}
	}
	if pol.HasRes && !MatchResource(pol.Resource, resource) {
		return ErrWrongResource
	}
	if !pol.HasRes && p.cookie {
		return ErrWrongResource // a cookie's policy must name its resource
	}
	return nil
}

func (v *Verifier) checkSignature(key crypto.PublicKey, p params, signed []byte, expires time.Time) error {
	cacheKey := p.keyPairID + "\x00" + p.hash + "\x00" + p.signature + "\x00" + string(signed)
	v.mu.Lock()
	_, hit := v.cache[cacheKey]
	v.mu.Unlock()
	if hit {
		return nil
	}
	sig, err := DecodeBase64(p.signature)
	if err != nil {
		return ErrMalformed
	}
	if err := verifySignature(key, p.hash, signed, sig); err != nil {
		return err
	}
	v.mu.Lock()
	if len(v.cache) >= MaxCached {
		v.evict()
	}
	v.cache[cacheKey] = expires
	v.mu.Unlock()
	return nil
}

// verifySignature checks sig over signed, hashed as CloudFront's
// Hash-Algorithm says (SHA-1 when absent): RSA signatures are PKCS #1
// v1.5, ECDSA signatures ASN.1 DER, as AWS's signers make them.
func verifySignature(key crypto.PublicKey, hash string, signed, sig []byte) error {
	var h crypto.Hash
	switch hash {
	case "", "SHA1":
		h = crypto.SHA1
	case "SHA256":
		h = crypto.SHA256
	default:
		return ErrHashAlgorithm
	}
	d := h.New()
	d.Write(signed)
	sum := d.Sum(nil)
	ok := false
	switch k := key.(type) {
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, h, sum, sig) == nil
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, sum, sig)
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// evict drops expired entries, or an arbitrary eighth when none has.
func (v *Verifier) evict() {
	now := v.now()
	n := 0
	for k, exp := range v.cache {
		if !now.Before(exp) {
			delete(v.cache, k)
			n++
		}
	}
	if n > 0 {
		return
	}
	for k := range v.cache {
		delete(v.cache, k)
		if n++; n >= MaxCached/8 {
			return
		}
	}
}

func clientIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// fromQuery finds the signing parameters in a raw query string.
func fromQuery(raw string) (params, bool) {
	var p params
	found := false
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case QueryExpires:
			p.expires = unescape(val)
		case QueryPolicy:
			p.policy = unescape(val)
		case QuerySignature:
			p.signature, found = unescape(val), true
		case QueryKeyPairID:
			p.keyPairID = unescape(val)
		case QueryHashAlgorithm:
			p.hash = unescape(val)
		}
	}
	return p, found
}

func fromCookies(r *http.Request) params {
	p := params{cookie: true}
	for _, c := range r.Cookies() {
		switch c.Name {
		case CookieExpires:
			p.expires = c.Value
		case CookiePolicy:
			p.policy = c.Value
		case CookieSig:
			p.signature = c.Value
		case CookieKeyPair:
			p.keyPairID = c.Value
		case CookieHashAlgorithm:
			p.hash = c.Value
		}
	}
	return p
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// ResourceURL is the URL a policy is compared with: the viewer's scheme,
// Host and path, and its query string less the signing parameters, in the
// order the viewer sent them.
func ResourceURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.URL.EscapedPath()
	if strings.HasPrefix(r.RequestURI, "/") {
		path, _, _ = strings.Cut(r.RequestURI, "?") // as the viewer wrote it
	}
	u := scheme + "://" + r.Host + path
	if q := StripQuery(r.URL.RawQuery); q != "" {
		u += "?" + q
	}
	return u
}

// StripQuery removes the signing parameters from a raw query string.
func StripQuery(raw string) string {
	if !strings.Contains(raw, "Signature=") && !strings.Contains(raw, "Key-Pair-Id=") && !strings.Contains(raw, "Expires=") && !strings.Contains(raw, "Policy=") && !strings.Contains(raw, "Hash-Algorithm=") {
		return raw
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, kv := range parts {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case QueryExpires, QueryPolicy, QuerySignature, QueryKeyPairID, QueryHashAlgorithm:
			continue
		}
		kept = append(kept, kv)
	}
	return strings.Join(kept, "&")
}

// IsSigningCookie reports whether a cookie of that name is one of
// CloudFront's signing cookies.
func IsSigningCookie(name string) bool {
	switch name {
	case CookieExpires, CookiePolicy, CookieSig, CookieKeyPair, CookieHashAlgorithm:
		return true
	}
	return false
}

// StripCookies removes the signing cookies from a request's Cookie header.
func StripCookies(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, c := range strings.Split(line, ";") {
			c = strings.TrimSpace(c)
			name, _, _ := strings.Cut(c, "=")
			if name == "" || IsSigningCookie(name) {
				continue
			}
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h.Set("Cookie", strings.Join(kept, "; "))
}
