package edge

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ClientHello is what a TLS viewer's handshake said of its client, as the
// JA3 and JA4 fingerprints of the CloudFront-Viewer-JA3-Fingerprint and
// CloudFront-Viewer-JA4-Fingerprint headers.
type ClientHello struct {
	JA3, JA4 string
}

type clientHelloKey struct{}

// WithClientHello gives the requests of a connection its handshake's
// fingerprints, filled in when the handshake happens.
func WithClientHello(ctx context.Context, h *ClientHello) context.Context {
	return context.WithValue(ctx, clientHelloKey{}, h)
}

func clientHelloOf(ctx context.Context) *ClientHello {
	h, _ := ctx.Value(clientHelloKey{}).(*ClientHello)
	return h
}

// Set computes the fingerprints of a ClientHello.
func (h *ClientHello) Set(info *tls.ClientHelloInfo) {
	h.JA3, h.JA4 = ja3(info), ja4(info, "t")
}

// isGREASE tells RFC 8701's reserved values, which fingerprints leave out.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

func withoutGREASE[T ~uint16 | ~uint8](vs []T) []T {
	out := make([]T, 0, len(vs))
	for _, v := range vs {
		if !isGREASE(uint16(v)) {
			out = append(out, v)
		}
	}
	return out
}

func joinNumbers[T ~uint16 | ~uint8](vs []T, sep string, format func(uint16) string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = format(uint16(v))
	}
	return strings.Join(parts, sep)
}

func decimal(v uint16) string { return strconv.Itoa(int(v)) }
func hex4(v uint16) string    { return fmt.Sprintf("%04x", v) }

const extSupportedVersions = 43

// ja3 is Salesforce's JA3: the MD5 of
// version,ciphers,extensions,curves,point formats.
func ja3(h *tls.ClientHelloInfo) string {
	// The ClientHello's own version field: 0x0303 from any client that
	// offers versions in an extension, as TLS 1.3 clients do.
	version := uint16(tls.VersionTLS12)
	if !slices.Contains(h.Extensions, extSupportedVersions) && len(h.SupportedVersions) > 0 {
		version = slices.Max(h.SupportedVersions)
	}
	s := strings.Join([]string{
		decimal(version),
		joinNumbers(withoutGREASE(h.CipherSuites), "-", decimal),
		joinNumbers(withoutGREASE(h.Extensions), "-", decimal),
		joinNumbers(withoutGREASE(h.SupportedCurves), "-", decimal),
		joinNumbers(h.SupportedPoints, "-", decimal),
	}, ",")
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ja4 is FoxIO's JA4: protocol, TLS version, SNI, counts and ALPN, then
// hashes of the sorted ciphers and of the sorted extensions with the
// signature algorithms.
func ja4(h *tls.ClientHelloInfo, protocol string) string {
	versions := withoutGREASE(h.SupportedVersions)
	version := "00"
	if len(versions) > 0 {
		version = map[uint16]string{tls.VersionTLS13: "13", tls.VersionTLS12: "12", tls.VersionTLS11: "11",
			tls.VersionTLS10: "10", 0x0300: "s3"}[slices.Max(versions)]
	}
	sni := "i"
	if h.ServerName != "" {
		sni = "d"
	}
	ciphers := withoutGREASE(h.CipherSuites)
	exts := withoutGREASE(h.Extensions)
	alpn := "00"
	if len(h.SupportedProtos) > 0 && h.SupportedProtos[0] != "" {
		p := h.SupportedProtos[0]
		alpn = string(p[0]) + string(p[len(p)-1])
	}
	a := fmt.Sprintf("%s%s%s%02d%02d%s", protocol, version, sni, min(len(ciphers), 99), min(len(exts), 99), alpn)

	sortedCiphers := slices.Clone(ciphers)
	slices.Sort(sortedCiphers)
	var rest []uint16
	for _, e := range exts {
		if e != 0x0000 && e != 0x0010 { // SNI and ALPN are in the first part
			rest = append(rest, e)
		}
	}
	slices.Sort(rest)
	c := joinNumbers(rest, ",", hex4)
	if algs := withoutGREASE(h.SignatureSchemes); len(algs) > 0 {
		c += "_" + joinNumbers(algs, ",", hex4)
	}
	return a + "_" + hash12(joinNumbers(sortedCiphers, ",", hex4)) + "_" + hash12(c)
}

func hash12(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}
