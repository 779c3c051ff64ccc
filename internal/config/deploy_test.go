package config

import (
	"testing"
)

func TestContinuousDeploymentSettings(t *testing.T) {
	o := `origins: {o: {type: http, url: "http://127.0.0.1:1"}}, default_behavior: {target_origin: o}`
	cfg := func(policy, staging string) string {
		return "distributions:\n  - {name: main, aliases: [www.example.org], continuous_deployment: " + policy + ", " + o + "}\n" +
			"  - {name: stage" + staging + ", " + o + "}\n"
	}
	for _, c := range []struct{ yaml, want string }{
		{cfg("{staging_distribution: stage, single_header: {header: aws-cf-cd-test, value: v}}", ""), ""},
		{cfg("{staging_distribution: stage, single_weight: {weight: 0.15, session_stickiness: {idle_ttl: 300, maximum_ttl: 3600}}}", ""), ""},
		{cfg("{staging_distribution: stage, single_header: {header: x-canary, value: v}}", ""), `:2: header "x-canary" must be a header name that starts with aws-cf-cd-`},
		{cfg("{staging_distribution: stage, single_weight: {weight: 0.5}}", ""), `:2: weight 0.5 is not between 0 and 0.15`},
		{cfg("{staging_distribution: stage, single_weight: {weight: 0.1, session_stickiness: {idle_ttl: 60, maximum_ttl: 600}}}", ""), `:2: idle_ttl 60 is not 300 to 3600 seconds`},
		{cfg("{staging_distribution: stage, single_weight: {weight: 0.1, session_stickiness: {idle_ttl: 900, maximum_ttl: 600}}}", ""), `:2: idle_ttl 900 is more than maximum_ttl 600`},
		{cfg("{staging_distribution: nope, single_header: {header: aws-cf-cd-t, value: v}}", ""), `:2: there is no distribution "nope"`},
		{cfg("{staging_distribution: stage, single_header: {header: aws-cf-cd-t, value: v}}", ", aliases: [s.example.org]"), `:2: staging distribution "stage" has aliases`},
		{cfg("{staging_distribution: stage}", ""), `:2: continuous_deployment takes one of single_header and single_weight`},
		{cfg("{staging_distribution: main, single_header: {header: aws-cf-cd-t, value: v}}", ""), `:2: a distribution cannot be its own staging distribution`},
		// A staging distribution without aliases is not the catch-all:
		// another distribution without aliases may be.
		{cfg("{staging_distribution: stage, single_header: {header: aws-cf-cd-t, value: v}}", "") + "  - {name: other, " + o + "}\n", ""},
	} {
		p := write(t, c.yaml)
		loadsAs(t, p, c.yaml, c.want)
	}
}
