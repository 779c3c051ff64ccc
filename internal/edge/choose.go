package edge

import (
	"fmt"
	"net/http"
	"slices"
	"sort"

	"github.com/edgefront/edgefront/internal/functions"
	"github.com/edgefront/edgefront/internal/origin"
)

// chosenOrigin is the origin a viewer-request function chose for one
// request with cf.selectRequestOriginById, cf.updateRequestOrigin or
// cf.createRequestOriginGroup.
type chosenOrigin struct {
	name      string
	origin    origin.Origin
	transport http.RoundTripper
}

// failoverStatuses are the statuses CloudFront lets an origin group fail
// over on.
var failoverStatuses = []int{400, 403, 404, 416, 500, 502, 503, 504}

// chooseOrigin maps what the function asked to the distribution's origins:
// edgefront sends requests only to origins its config names, so a domain
// name must be one of theirs.
func (b *Behavior) chooseOrigin(ex *exchange, c *functions.OriginChange) error {
	d := b.dist
	name, o := b.originName, b.origin
	switch {
	case len(c.Group) > 0:
		p, ok1 := d.origins[c.Group[0]]
		s, ok2 := d.origins[c.Group[1]]
		if !ok1 || !ok2 {
			return fmt.Errorf("cf.createRequestOriginGroup: the distribution has no origin %q", c.Group[map[bool]int{true: 1, false: 0}[ok1]])
		}
		statuses := c.FailoverStatusCodes
		for _, s := range statuses {
			if !slices.Contains(failoverStatuses, s) {
				return fmt.Errorf("cf.createRequestOriginGroup: %d is not a status CloudFront fails over on (%v)", s, failoverStatuses)
			}
		}
		if len(statuses) == 0 {
			statuses = []int{500, 502, 503, 504}
		}
		name = c.Group[0] + "+" + c.Group[1]
		o = &origin.Group{Primary: p.Origin, Secondary: s.Origin, PrimaryName: c.Group[0], SecondaryName: c.Group[1],
			Statuses: statuses, OnFailover: d.onFailover(name, c.Group[0], c.Group[1])}
	case c.ID != "":
		n, ok := d.origins[c.ID]
		if !ok {
			return fmt.Errorf("cf.selectRequestOriginById: the distribution has no origin %q", c.ID)
		}
		name, o = c.ID, n.Origin
	case c.DomainName != "":
		var ok bool
		if name, ok = d.originAt(c.DomainName); !ok {
			return fmt.Errorf("cf.updateRequestOrigin: no origin of the distribution is at %s (requests go only to the origins the config names)", c.DomainName)
		}
		o = d.origins[name].Origin
	}
	if c.OriginPath != nil {
		o2, ok := origin.WithPath(o, *c.OriginPath)
		if !ok {
			return fmt.Errorf("cf.updateRequestOrigin: origin %q has no path to change", name)
		}
		o = o2
	}
	if c.CustomHeaders != nil {
		o = origin.WithHeaders(o, c.CustomHeaders)
	}
	if c.ReadTimeout > 0 {
		o = origin.WithResponseTimeout(o, c.ReadTimeout)
	}
	var t http.RoundTripper = o
	if m := d.metrics(); m != nil {
		t = m.transport(o, d.Name, name)
	}
	ex.origin = &chosenOrigin{name: name, origin: o, transport: t}
	return nil
}

// originAt is the origin whose domain name is host.
func (d *Distribution) originAt(host string) (string, bool) {
	name, ok := d.originDomains[host]
	return name, ok
}

// originDomains maps the names functions may call origins by to the
// origins: the first by name wins when two share one.
func originDomains(origins map[string]namedOrigin) map[string]string {
	names := make([]string, 0, len(origins))
	for n := range origins {
		names = append(names, n)
	}
	sort.Strings(names)
	m := map[string]string{}
	for _, n := range names {
		if ds, ok := origins[n].Origin.(interface{ Domains() []string }); ok {
			for _, domain := range ds.Domains() {
				if _, taken := m[domain]; !taken {
					m[domain] = n
				}
			}
		}
	}
	return m
}

func (d *Distribution) metrics() *Metrics {
	if d.rt.obs == nil {
		return nil
	}
	return d.rt.obs.Metrics
}

// onFailover logs and counts a group's failover.
func (d *Distribution) onFailover(group, primary, secondary string) func(*http.Request, int, error) {
	m, log := d.metrics(), d.log
	return func(r *http.Request, status int, err error) {
		log.Warn("origin group failed over", "distribution", d.Name, "group", group, "primary", primary,
			"secondary", secondary, "url", r.URL.Path, "status", status, "err", err)
		if m != nil {
			m.failover(d.Name, group)
		}
	}
}

// originTransport sends an origin request through the origin a function
// chose for it, else through the behavior's own.
type originTransport struct{ def http.RoundTripper }

func (t originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ex := exchangeOf(r)
	if resp := ex.answered; resp != nil {
		ex.answered = nil // received by the raw pass, which left it to the proxy
		resp.Request = r
		return resp, nil
	}
	if ex.origin != nil {
		return ex.origin.transport.RoundTrip(r)
	}
	return t.def.RoundTrip(r)
}
