// Package geotest writes MaxMind databases for tests, with MaxMind's own
// writer, so that the geoip settings are tested against real .mmdb files.
package geotest

import (
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Write writes a database of type dbType ("GeoIP2-City", "GeoLite2-ASN",
// ...) holding data for each network; reserved networks (loopback, the
// documentation ranges) are allowed.
func Write(t testing.TB, path, dbType string, data map[string]mmdbtype.Map) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 28, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, m := range data {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(n, m); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

// Countries writes a Country database: an ISO country code per network.
func Countries(t testing.TB, path string, codes map[string]string) {
	data := map[string]mmdbtype.Map{}
	for cidr, code := range codes {
		data[cidr] = mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
	}
	Write(t, path, "GeoIP2-Country", data)
}
