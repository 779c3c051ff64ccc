package cfimport

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// converter carries one import: the document, what it refers to, and what
// has been written so far.
type converter struct {
	opts      Options
	resources map[string]any            // a template's resources, for Ref and GetAtt
	custom    map[string]map[string]any // custom policies by id: {"CachePolicyConfig": ...}
	files     map[string][]byte
	errs      []string // input that cannot be converted at all
	groups    []string // trusted key groups named by behaviors
	name      string
	envNames  []string // ${ENV} placeholders written, for the header comment
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

// value renders a scalar; a CloudFormation intrinsic becomes an ${ENV}
// placeholder and a comment saying what it was.
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
		for k, inner := range x {
			b, _ := json.Marshal(inner)
			env := envName(k, inner)
			if !contains(c.envNames, env) {
				c.envNames = append(c.envNames, env)
			}
			return "${" + env + "}", fmt.Sprintf("was %s: %s in the template; set %s", k, b, env)
		}
	}
	b, _ := json.Marshal(v)
	return string(b), ""
}

var notWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func envName(fn string, v any) string {
	var parts []string
	switch x := v.(type) {
	case string:
		parts = []string{x}
	case []any:
		for _, p := range x {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
	}
	name := strings.Trim(notWord.ReplaceAllString(strings.Join(parts, "_"), "_"), "_")
	if name == "" {
		name = strings.TrimPrefix(fn, "Fn::")
	}
	return strings.ToUpper(name)
}

func boolOf(m map[string]any, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

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
