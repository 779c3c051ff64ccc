package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGeoRestrictionSettings(t *testing.T) {
	const geoip = "geoip: {database: countries.mmdb}\n"
	for _, c := range []struct{ yaml, want string }{
		{geoip + dist("{restriction_type: whitelist, locations: [GB, us]}"), ""},
		{geoip + dist("{restriction_type: blacklist, locations: [KP]}"), ""},
		{dist("{restriction_type: none}"), ""},
		{dist("{restriction_type: whitelist, locations: [GB]}"), `:1: geo_restriction locates viewers with a MaxMind Country or City database: set geoip.database`},
		{geoip + dist("{restriction_type: allowlist, locations: [GB]}"), `:2: restriction_type "allowlist" is not whitelist, blacklist or none`},
		{geoip + dist("{restriction_type: whitelist, locations: [GB, UK]}"), `:2: "UK" is not an ISO 3166-1 country code`},
		{geoip + dist("{restriction_type: whitelist}"), `:2: a whitelist needs locations`},
		{geoip + dist("{restriction_type: none, locations: [GB]}"), `:2: restriction_type none takes no locations`},
	} {
		p := write(t, c.yaml)
		os.WriteFile(filepath.Join(filepath.Dir(p), "countries.mmdb"), []byte("x"), 0o644)
		if cfg := loadsAs(t, p, c.yaml, c.want); cfg != nil && strings.Contains(c.yaml, " us]") && cfg.Distributions[0].GeoRestriction.Locations[1] != "US" {
			t.Errorf("codes are not upper-cased: %v", cfg.Distributions[0].GeoRestriction.Locations)
		}
	}
}

func dist(geo string) string {
	return "distributions: [{name: main, geo_restriction: " + geo + ", origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}}]\n"
}
