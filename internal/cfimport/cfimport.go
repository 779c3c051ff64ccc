// Package cfimport turns a CloudFront distribution as AWS describes it (the
// JSON of `aws cloudfront get-distribution-config`, with or without its
// ETag wrapper, a bare DistributionConfig, or a CloudFormation template's
// AWS::CloudFront::Distribution resource, JSON or YAML) into an edgefront
// config. What cannot be carried over is written as a YAML comment beside
// the nearest line; nothing is dropped silently.
package cfimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options are the import's inputs beside the distribution.
type Options struct {
	// Resource picks a distribution in a template that holds several.
	Resource string
	// Policies are custom policies, each the JSON of aws cloudfront
	// get-cache-policy, get-origin-request-policy,
	// get-response-headers-policy or their list-... --type custom forms.
	Policies [][]byte
	// FunctionsDir is where the code of the distribution's CloudFront
	// Functions is (NAME.js), and where a template's inline code is
	// written. Empty: function associations stay comments.
	FunctionsDir string
	// KeysDir is where the public keys of a template's key groups are
	// written, and where key files of other key groups are expected
	// (keys/ when empty).
	KeysDir string
}

// Result is an import: the config, and files to write beside it (the
// inline code of a template's functions), by path.
type Result struct {
	Config []byte
	Files  map[string][]byte
}

// Convert reads a distribution and returns the edgefront config.
func Convert(data []byte, opts Options) (*Result, error) {
	doc, err := parse(data)
	if err != nil {
		return nil, err
	}
	dc, name, err := distributionConfig(doc, opts.Resource)
	if err != nil {
		return nil, err
	}
	c := &converter{name: name, opts: opts, files: map[string][]byte{}, custom: map[string]map[string]any{}}
	if m, ok := doc.(map[string]any); ok {
		c.resources, _ = m["Resources"].(map[string]any)
		c.parameters, _ = m["Parameters"].(map[string]any)
	}
	for i, p := range opts.Policies {
		if err := c.addPolicies(p); err != nil {
			return nil, fmt.Errorf("policy file %d: %w", i+1, err)
		}
	}
	root := c.convert(dc)
	if len(c.errs) > 0 {
		return nil, errors.New(strings.Join(c.errs, "; "))
	}
	var buf bytes.Buffer
	buf.WriteString("# Imported from a CloudFront distribution by edgefront import cloudfront.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return &Result{Config: buf.Bytes(), Files: c.files}, nil
}

// parse reads JSON, or YAML with CloudFormation's short tags (!Ref,
// !GetAtt, !Sub, ...) turned into their long forms.
func parse(data []byte) (any, error) {
	var v any
	if json.Valid(data) {
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("the file is neither JSON nor YAML: %w", err)
	}
	if len(n.Content) == 0 {
		return nil, errors.New("the file is empty")
	}
	nr := &nodeReader{open: map[*yaml.Node]bool{}}
	v = nr.read(n.Content[0])
	if nr.err != nil {
		return nil, nr.err
	}
	return v, nil
}

// maxValues bounds what a file may expand to through YAML aliases.
const maxValues = 1 << 20

// nodeReader turns YAML nodes into the values JSON would give, refusing
// aliases that refer to themselves and expansions past maxValues.
type nodeReader struct {
	open   map[*yaml.Node]bool // the nodes being read, outermost first
	values int
	err    error
}

func (nr *nodeReader) read(n *yaml.Node) any {
	if nr.err != nil {
		return nil
	}
	if nr.values++; nr.values > maxValues {
		nr.err = fmt.Errorf("the file expands to more than %d values through YAML aliases", maxValues)
		return nil
	}
	if nr.open[n] {
		nr.err = errors.New("a YAML alias refers to the node that holds it")
		return nil
	}
	nr.open[n] = true
	defer delete(nr.open, n)
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nr.read(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = nr.read(c)
		}
		v = l
	case yaml.AliasNode:
		return nr.read(n.Alias)
	default:
		var s any
		n.Decode(&s)
		v = s
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		if name == "GetAtt" && n.Kind == yaml.ScalarNode {
			parts := strings.SplitN(n.Value, ".", 2)
			v = []any{parts[0], parts[len(parts)-1]}
		}
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		return map[string]any{name: v}
	}
	return v
}

// distributionConfig finds the DistributionConfig in whatever shape the
// file has, and the name to give the distribution.
func distributionConfig(doc any, resource string) (map[string]any, string, error) {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, "", errors.New("the file is not a CloudFront distribution: it is not a JSON or YAML object")
	}
	if dc, ok := m["DistributionConfig"].(map[string]any); ok {
		return dc, "main", nil // get-distribution-config, with or without ETag
	}
	if d, ok := m["Distribution"].(map[string]any); ok { // get-distribution
		if dc, ok := d["DistributionConfig"].(map[string]any); ok {
			return dc, "main", nil
		}
	}
	if _, ok := m["Origins"]; ok {
		if _, ok := m["DefaultCacheBehavior"]; ok {
			return m, "main", nil
		}
	}
	if res, ok := m["Resources"].(map[string]any); ok {
		var names []string
		for n, r := range res {
			if rm, ok := r.(map[string]any); ok && rm["Type"] == "AWS::CloudFront::Distribution" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		switch {
		case len(names) == 0:
			return nil, "", errors.New("the template has no AWS::CloudFront::Distribution resource")
		case resource != "":
			if !contains(names, resource) {
				return nil, "", fmt.Errorf("the template has no distribution %q: it has %s", resource, strings.Join(names, ", "))
			}
			names = []string{resource}
		case len(names) > 1:
			return nil, "", fmt.Errorf("the template has %d distributions (%s): pick one with --resource NAME", len(names), strings.Join(names, ", "))
		}
		props, _ := res[names[0]].(map[string]any)["Properties"].(map[string]any)
		dc, ok := props["DistributionConfig"].(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("resource %s has no Properties.DistributionConfig", names[0])
		}
		return dc, strings.ToLower(names[0]), nil
	}
	return nil, "", errors.New("the file is not a CloudFront distribution: no DistributionConfig, no Origins and DefaultCacheBehavior, no CloudFormation Resources")
}
