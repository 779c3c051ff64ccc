package config

import (
	"fmt"
	"strings"
)

// ContinuousDeployment sends some of a distribution's viewers to its
// staging distribution, as CloudFront's continuous deployment policy:
// those whose request has a header (SingleHeader), or a share of them
// (SingleWeight).
type ContinuousDeployment struct {
	// StagingDistribution names the distribution that serves them. It has
	// no aliases: viewers reach it only through this one.
	StagingDistribution string        `yaml:"staging_distribution"`
	SingleHeader        *SingleHeader `yaml:"single_header"`
	SingleWeight        *SingleWeight `yaml:"single_weight"`
}

// SingleHeader routes requests that carry a header with a value.
type SingleHeader struct {
	Header string `yaml:"header"` // aws-cf-cd-NAME
	Value  string `yaml:"value"`
}

// SingleWeight routes a share of requests, sticky by a cookie when
// SessionStickiness is set.
type SingleWeight struct {
	Weight            float64            `yaml:"weight"` // 0 to 0.15
	SessionStickiness *SessionStickiness `yaml:"session_stickiness"`
}

// SessionStickiness keeps a viewer on the distribution it was sent to:
// for IdleTTL seconds after its last request, at most MaximumTTL seconds.
type SessionStickiness struct {
	IdleTTL    int `yaml:"idle_ttl"`
	MaximumTTL int `yaml:"maximum_ttl"`
}

// StagingDistributions are the names of the distributions a continuous
// deployment policy names as staging.
func (c *Config) StagingDistributions() map[string]string {
	out := map[string]string{}
	for _, d := range c.Distributions {
		if cd := d.ContinuousDeployment; cd != nil && cd.StagingDistribution != "" {
			out[cd.StagingDistribution] = d.Name
		}
	}
	return out
}

// continuousDeployment checks a distribution's continuous_deployment with
// CloudFront's rules.
func (v *validator) continuousDeployment(at string, d *Distribution, staging map[string]string) {
	cd := d.ContinuousDeployment
	if cd == nil {
		return
	}
	var target *Distribution
	for i := range v.c.Distributions {
		if v.c.Distributions[i].Name == cd.StagingDistribution {
			target = &v.c.Distributions[i]
		}
	}
	switch {
	case cd.StagingDistribution == "":
		v.add(at, "continuous_deployment needs staging_distribution: the distribution some viewers are sent to")
	case cd.StagingDistribution == d.Name:
		v.add(at+".staging_distribution", "a distribution cannot be its own staging distribution")
	case target == nil:
		v.add(at+".staging_distribution", "there is no distribution %q", cd.StagingDistribution)
	case len(target.Aliases) > 0:
		v.add(at+".staging_distribution", "staging distribution %q has aliases: as on CloudFront, viewers reach it only through %q, so it has none", cd.StagingDistribution, d.Name)
	case target.ContinuousDeployment != nil:
		v.add(at+".staging_distribution", "staging distribution %q has a continuous_deployment of its own", cd.StagingDistribution)
	}
	if primary, ok := staging[d.Name]; ok {
		v.add(at, "distribution %q is the staging distribution of %q: it cannot have a staging distribution too", d.Name, primary)
	}
	switch {
	case (cd.SingleHeader == nil) == (cd.SingleWeight == nil):
		v.add(at, "continuous_deployment takes one of single_header and single_weight")
	case cd.SingleHeader != nil:
		h := cd.SingleHeader
		if !strings.HasPrefix(strings.ToLower(h.Header), "aws-cf-cd-") || !ValidFieldName(h.Header) {
			v.add(at+".single_header.header", "header %q must be a header name that starts with aws-cf-cd-, as CloudFront asks", h.Header)
		}
		if h.Value == "" {
			v.add(at+".single_header.value", "single_header needs a value")
		}
	case cd.SingleWeight != nil:
		w := cd.SingleWeight
		if w.Weight < 0 || w.Weight > 0.15 {
			v.add(at+".single_weight.weight", "weight %v is not between 0 and 0.15 (CloudFront sends at most 15%% of viewers to staging)", w.Weight)
		}
		if s := w.SessionStickiness; s != nil {
			for _, t := range []struct {
				name string
				v    int
			}{{"idle_ttl", s.IdleTTL}, {"maximum_ttl", s.MaximumTTL}} {
				if t.v < 300 || t.v > 3600 {
					v.add(fmt.Sprintf("%s.single_weight.session_stickiness.%s", at, t.name), "%s %d is not 300 to 3600 seconds", t.name, t.v)
				}
			}
			if s.IdleTTL > s.MaximumTTL {
				v.add(at+".single_weight.session_stickiness", "idle_ttl %d is more than maximum_ttl %d", s.IdleTTL, s.MaximumTTL)
			}
		}
	}
}
