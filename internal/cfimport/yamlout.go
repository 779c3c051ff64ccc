package cfimport

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// YAML building.

type mapping struct{ n *yaml.Node }

func newMap() mapping { return mapping{&yaml.Node{Kind: yaml.MappingNode}} }

func (m mapping) flow() mapping { m.n.Style = yaml.FlowStyle; return m }

func (m mapping) add(key string, v *yaml.Node) *yaml.Node {
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: key}
	m.n.Content = append(m.n.Content, k, v)
	return k
}

func (m mapping) set(key, value string) *yaml.Node {
	return m.add(key, scalar(value))
}

func (m mapping) setBool(key string) *yaml.Node { return m.setBoolTo(key, true) }

func (m mapping) setBoolTo(key string, b bool) *yaml.Node {
	return m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)})
}

func scalar(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if v == "" || strings.ContainsAny(v, ":#{}[],&*!|>'\"%@`") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "*") || v == "true" || v == "false" {
		n.Style = yaml.DoubleQuotedStyle
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil && !isInt(v) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func isInt(s string) bool { _, err := strconv.Atoi(s); return err == nil }

func seq(vals ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vals {
		n.Content = append(n.Content, scalar(v))
	}
	return n
}

// raw renders a value for a comment, intrinsic or not.
func raw(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// note adds a comment above key k of m (the nearest line).
func note(k *yaml.Node, text string) {
	if k.HeadComment != "" {
		k.HeadComment += "\n"
	}
	k.HeadComment += text
}

// hostOnly is an origin domain name without a port.
func hostOnly(domain string) string {
	if u, err := url.Parse("//" + domain); err == nil {
		return u.Hostname()
	}
	return domain
}
