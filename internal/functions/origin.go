package functions

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// OriginChange is what a viewer-request function asked of the request's
// origin through the cloudfront module.
type OriginChange struct {
	// ID is an origin of the distribution, by cf.selectRequestOriginById.
	ID string
	// DomainName names the origin by cf.updateRequestOrigin; the other
	// fields below change it for this request.
	DomainName     string
	OriginPath     *string
	CustomHeaders  http.Header
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	// Group holds a primary and a secondary origin id, by
	// cf.createRequestOriginGroup, with the statuses that fail over.
	Group               []string
	FailoverStatusCodes []int
}

// readOriginChange reads cf.updateRequestOrigin's argument.
func readOriginChange(p *goja.Object) (*OriginChange, error) {
	c := &OriginChange{}
	str := func(o *goja.Object, k string) (string, bool) {
		v := o.Get(k)
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			return "", false
		}
		return v.String(), true
	}
	seconds := func(o *goja.Object, k string) (time.Duration, error) {
		v := o.Get(k)
		if v == nil || goja.IsUndefined(v) {
			return 0, nil
		}
		n := v.ToFloat()
		if n < 1 || n > 120 {
			return 0, fmt.Errorf("timeouts.%s must be 1 to 120 seconds", k)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	c.DomainName, _ = str(p, "domainName")
	if path, ok := str(p, "originPath"); ok {
		if path != "" && (!strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/")) {
			return nil, fmt.Errorf("originPath %q must start with / and not end with one", path)
		}
		c.OriginPath = &path
	}
	if ch, ok := p.Get("customHeaders").(*goja.Object); ok {
		c.CustomHeaders = http.Header{}
		for _, k := range ch.Keys() {
			c.CustomHeaders[http.CanonicalHeaderKey(k)] = []string{ch.Get(k).String()}
		}
		if err := applyFields(http.Header{}, headerFields(c.CustomHeaders, "", "")); err != nil {
			return nil, err
		}
	}
	if t, ok := p.Get("timeouts").(*goja.Object); ok {
		var err error
		if c.ReadTimeout, err = seconds(t, "readTimeout"); err != nil {
			return nil, err
		}
		if c.ConnectTimeout, err = seconds(t, "connectionTimeout"); err != nil {
			return nil, err
		}
	}
	if c.DomainName == "" && c.OriginPath == nil && c.CustomHeaders == nil && c.ReadTimeout == 0 && c.ConnectTimeout == 0 {
		return nil, fmt.Errorf("cf.updateRequestOrigin was given nothing to change")
	}
	return c, nil
}

// String says what the function chose, for `edgefront function test`.
func (c *OriginChange) String() string {
	var parts []string
	switch {
	case len(c.Group) > 0:
		parts = append(parts, fmt.Sprintf("group of %s and %s failing over on %v", c.Group[0], c.Group[1], c.FailoverStatusCodes))
	case c.ID != "":
		parts = append(parts, "origin "+c.ID)
	case c.DomainName != "":
		parts = append(parts, "domain "+c.DomainName)
	}
	if c.OriginPath != nil {
		parts = append(parts, fmt.Sprintf("path %q", *c.OriginPath))
	}
	for k, v := range c.CustomHeaders {
		parts = append(parts, k+": "+v[0])
	}
	if c.ReadTimeout > 0 {
		parts = append(parts, fmt.Sprintf("read timeout %v", c.ReadTimeout))
	}
	return strings.Join(parts, ", ")
}
