package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// validate checks what decoding cannot: references, ranges, files, and
// behaviors that could never match. It fills in defaults as it goes.
func (c *Config) validate() Problems {
	v := &validator{c: c}
	if c.Listen.HTTP == "" && c.Listen.HTTPS == "" {
		c.Listen.HTTP = ":8080"
	}
	v.addr("listen.http", c.Listen.HTTP)
	v.addr("listen.https", c.Listen.HTTPS)
	if c.Listen.HTTP3 && c.Listen.HTTPS == "" {
		v.add("listen.http3", "http3 is served on the HTTPS port: it needs listen.https")
	}
	v.tls()
	v.admin()
	v.keyValueStores()
	v.geoIP()
	v.cache()
	v.serving()
	v.keyGroups()
	v.cluster()
	if len(c.Distributions) == 0 {
		v.add("distributions", "at least one distribution is needed")
	}
	names := map[string]string{}
	hosts := map[string]string{}
	catchAll := ""
	staging := c.StagingDistributions()
	for i := range c.Distributions {
		d := &c.Distributions[i]
		at := fmt.Sprintf("distributions[%d]", i)
		if d.Name == "" {
			d.Name = fmt.Sprintf("distribution%d", i+1)
		}
		if prev, dup := names[d.Name]; dup {
			v.add(at+".name", "distribution name %q is already used at line %d", d.Name, c.Line(prev))
		}
		names[d.Name] = at + ".name"
		v.continuousDeployment(at+".continuous_deployment", d, staging)
		if _, isStaging := staging[d.Name]; len(d.Aliases) == 0 && !isStaging {
			if catchAll != "" {
				v.add(at, "distribution %q has no aliases, and neither has %q: only one distribution can take the Host names no other claims", d.Name, catchAll)
			}
			catchAll = d.Name
		}
		for j, a := range d.Aliases {
			ap := fmt.Sprintf("%s.aliases[%d]", at, j)
			h := strings.ToLower(a)
			if !validHost(h) {
				v.add(ap, "alias %q is not a host name (a leading *. wildcard is allowed)", a)
			}
			if prev, dup := hosts[h]; dup {
				v.add(ap, "alias %q is already used at line %d", a, c.Line(prev))
			}
			hosts[h] = ap
		}
		v.distribution(at, d)
	}
	return v.probs
}

type validator struct {
	c     *Config
	probs Problems
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{v.c.File, v.c.Line(path), oneLine(fmt.Sprintf(format, args...))})
}

// file resolves a path in the config against the config's directory.
func (v *validator) file(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(v.c.File), name)
}

func (v *validator) addr(path, addr string) {
	if addr == "" {
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		v.add(path, "%q is not a listen address such as :8080 or 127.0.0.1:8080", addr)
	}
}

// admin checks the admin listener: a token is needed unless it listens on

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func validHost(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ValidFieldName reports whether s is an HTTP field name (a token).
func ValidFieldName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) < 0
}
