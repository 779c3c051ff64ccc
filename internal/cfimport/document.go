package cfimport

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// converter carries one import: the document, what it refers to, and what
// has been written so far.
type converter struct {
	opts           Options
	resources      map[string]any            // a template's resources, for Ref and GetAtt
	parameters     map[string]any            // a template's parameters, for their defaults
	custom         map[string]map[string]any // custom policies by id: {"CachePolicyConfig": ...}
	files          map[string][]byte
	errs           []string             // input that cannot be converted at all
	keyGroups      map[string]*keyGroup // trusted key groups named by behaviors
	signerAccounts []string             // the accounts of every behavior's legacy TrustedSigners
	name           string
}

// Helpers over the decoded document: CloudFront's API wraps lists in
// {Quantity, Items}; CloudFormation writes them bare.

func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func items(m map[string]any, key string) []any {
	switch v := m[key].(type) {
	case []any:
		return v
	case map[string]any:
		if l, ok := v["Items"].([]any); ok {
			return l
		}
	}
	return nil
}

func (c *converter) str(m map[string]any, key string) (string, string) {
	return c.value(m[key])
}

// value renders a scalar. A CloudFormation intrinsic becomes the default
// of the parameter it names, or an ${ENV} placeholder named for the
// resource and attribute it reads, with a comment saying what to set.
func (c *converter) value(v any) (string, string) {
	switch x := v.(type) {
	case nil:
		return "", ""
	case string:
		return x, ""
	case bool:
		return strconv.FormatBool(x), ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), ""
	case int:
		return strconv.Itoa(x), ""
	case map[string]any:
		b, _ := json.Marshal(x)
		ref := c.intrinsic(x)
		if ref.hasDefault {
			return ref.def, fmt.Sprintf("was %s in the template: parameter %s's default", b, ref.name)
		}
		return "${" + ref.env + "}", fmt.Sprintf("was %s in the template: set %s to %s", b, ref.env, ref.what)
	}
	b, _ := json.Marshal(v)
	return string(b), ""
}

// ref is what an intrinsic reads: a resource's attribute, its Ref, or a
// parameter.
type ref struct {
	name, attr, typ string
	env, what       string
	def             string
	hasDefault      bool
	whole           bool // the intrinsic is the Ref or GetAtt itself, not a part of it
}

// intrinsic finds the Ref or GetAtt an intrinsic reads, innermost first
// through Fn::Select, Fn::Split, Fn::Join and the like.
func (c *converter) intrinsic(m map[string]any) ref {
	var r ref
	var find func(v any, depth int) bool
	find = func(v any, depth int) bool {
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["Ref"].(string); ok {
				r.name, r.whole = name, depth == 0
				return true
			}
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				r.name, _ = ga[0].(string)
				r.attr, _ = ga[1].(string)
				r.whole = depth == 0
				return true
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if find(x[k], depth+1) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if find(e, depth+1) {
					return true
				}
			}
		}
		return false
	}
	if !find(m, 0) {
		for k := range m {
			r.env = strings.ToUpper(strings.TrimPrefix(k, "Fn::"))
			r.what = "what " + k + " makes"
		}
		return r
	}
	r.env = strings.Trim(notWord.ReplaceAllString(strings.ToUpper(r.name+"_"+r.attr), "_"), "_")
	if p, ok := c.parameters[r.name].(map[string]any); ok {
		if d, ok := p["Default"]; ok && r.whole {
			r.def, r.hasDefault = raw(d), true
		}
		r.what = "the value of parameter " + r.name
		return r
	}
	res, _ := c.resources[r.name].(map[string]any)
	r.typ, _ = res["Type"].(string)
	switch {
	case strings.HasPrefix(r.name, "AWS::"):
		r.what = "the value of " + r.name
	case r.attr == "":
		r.what = "the Ref of " + r.name + " (" + r.typ + ")"
	default:
		r.what = "the " + r.attr + " of " + r.name + " (" + r.typ + ")"
	}
	if !r.whole {
		r.what = "what " + raw(m) + " makes of " + r.what
	}
	return r
}

var notWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func boolOf(m map[string]any, key string) bool { return truth(m[key]) }

func num(m map[string]any, key string) (float64, bool) {
	switch v := m[key].(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
