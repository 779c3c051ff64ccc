package signedurl

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"Statement":[{"Resource":"https://a/*","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}`))
	f.Add([]byte(`{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":9},"DateGreaterThan":{"AWS:EpochTime":1},"IpAddress":{"AWS:SourceIp":"2001:db8::/32"}}}]}`))
	f.Add([]byte(`{"Statement":[]}`))
	f.Add([]byte(`{"Statement":[{"Condition":{"IpAddress":{"AWS:SourceIp":"1.2.3.4"}}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParsePolicy(raw)
		if err != nil {
			return
		}
		if !bytes.Contains(raw, []byte("DateLessThan")) {
			t.Fatal("a policy without DateLessThan was accepted")
		}
		if p.HasIP && !p.SourceIP.IsValid() {
			t.Fatal("invalid source IP accepted")
		}
	})
}

func FuzzDecodeBase64(f *testing.F) {
	f.Add("eyJTdGF0ZW1lbnQiOltdfQ__")
	f.Add("a-b~c_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase64(s)
		if err != nil {
			return
		}
		// What decodes re-encodes, in CloudFront's alphabet, to a string
		// that decodes to the same bytes.
		again, err := DecodeBase64(encodeCF(b))
		if err != nil || string(again) != string(b) {
			t.Fatalf("round trip of %q: %q %v", s, again, err)
		}
	})
}

// BenchmarkVerify measures what checking a signed URL costs per request:
// the first use of a signature (an RSA-2048 verification) and a repeated
// one (found in the cache of verified signatures).
func BenchmarkVerify(b *testing.B) {
	v, _ := verifier(b)
	signed := signedURL(b, "https://my-project.example.org/storage/report.csv")
	b.Run("first-use", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			v.mu.Lock()
			clear(v.cache)
			v.mu.Unlock()
			if err := v.Verify(request(b, signed, "")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		r := request(b, signed, "")
		for i := 0; i < b.N; i++ {
			if err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
