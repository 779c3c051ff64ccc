package config

import (
	"fmt"
	"strings"
)

// GeoRestriction is CloudFront's Restrictions.GeoRestriction: the viewers
// a distribution serves by the country of their address.
type GeoRestriction struct {
	// RestrictionType is whitelist (only those countries), blacklist (all
	// but those) or none.
	RestrictionType string `yaml:"restriction_type"`
	// Locations are ISO 3166-1 alpha-2 country codes.
	Locations []string `yaml:"locations"`
}

// isoCountries are the ISO 3166-1 alpha-2 codes CloudFront takes.
const isoCountries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// IsCountryCode reports whether code is an ISO 3166-1 alpha-2 code.
func IsCountryCode(code string) bool {
	return len(code) == 2 && strings.Contains(" "+isoCountries+" ", " "+code+" ")
}

// geoRestriction checks a distribution's geo_restriction: its type, its
// codes, and the database that locates viewers.
func (v *validator) geoRestriction(at string, g *GeoRestriction) {
	if g == nil {
		return
	}
	switch g.RestrictionType {
	case "whitelist", "blacklist":
		if len(g.Locations) == 0 {
			v.add(at+".locations", "a %s needs locations: ISO 3166-1 country codes such as [GB, US]", g.RestrictionType)
		}
	case "none":
		if len(g.Locations) > 0 {
			v.add(at+".locations", "restriction_type none takes no locations")
		}
	default:
		v.add(at+".restriction_type", "restriction_type %q is not whitelist, blacklist or none", g.RestrictionType)
	}
	for i, code := range g.Locations {
		up := strings.ToUpper(code)
		if !IsCountryCode(up) {
			v.add(fmt.Sprintf("%s.locations[%d]", at, i), "%q is not an ISO 3166-1 country code (two letters, such as GB or US)", code)
			continue
		}
		g.Locations[i] = up
	}
	if g.RestrictionType != "none" && (v.c.GeoIP == nil || v.c.GeoIP.Database == "") {
		v.add(at, "geo_restriction locates viewers with a MaxMind Country or City database: set geoip.database")
	}
}
