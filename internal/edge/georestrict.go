package edge

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/edgefront/edgefront/internal/config"
)

// geoRule is a distribution's geo restriction: the countries it serves
// (allow) or refuses, by the country of the viewer's address in the geoip
// database.
type geoRule struct {
	allow     bool
	countries []string // ISO 3166-1 alpha-2, upper case
}

func compileGeoRule(g *config.GeoRestriction) *geoRule {
	if g == nil || g.RestrictionType == "none" || g.RestrictionType == "" {
		return nil
	}
	return &geoRule{allow: g.RestrictionType == "whitelist", countries: g.Locations}
}

// refuses reports whether the rule refuses a viewer at addr, and the
// country it found. As CloudFront, a viewer whose country is not known is
// served.
func (g *geoRule) refuses(db *geoDB, addr netip.Addr) (bool, string) {
	if g == nil || db == nil || db.location == nil || !addr.IsValid() {
		return false, ""
	}
	var loc location
	if err := db.location.Lookup(addr).Decode(&loc); err != nil || loc.Country.ISOCode == "" {
		return false, ""
	}
	in := slices.Contains(g.countries, loc.Country.ISOCode)
	return in != g.allow, loc.Country.ISOCode
}

// describe is the rule for explain.
func (g *geoRule) describe() string {
	if g == nil {
		return "none"
	}
	verb := "only viewers in"
	if !g.allow {
		verb = "every viewer but those in"
	}
	return verb + " " + strings.Join(g.countries, ", ") + " (by geoip.database; others get 403, custom error responses apply; a viewer whose country is not known is served)"
}
