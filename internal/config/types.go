package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a Go duration ("30s", "1m30s") or an integer number of seconds.
type Duration time.Duration

// UnmarshalYAML reads either form.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseSeconds(n, "a duration such as 30s")
	*d = Duration(v)
	return err
}

// TTL is a time to live, in whole seconds; it may be written as an integer or
// as a Go duration.
type TTL int64

// UnmarshalYAML reads either form.
func (t *TTL) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseSeconds(n, "a number of seconds or a duration such as 1h")
	if err == nil && v%time.Second != 0 {
		return typeError(n, "a TTL is a whole number of seconds, got %q", n.Value)
	}
	*t = TTL(v / time.Second)
	return err
}

// Duration returns the TTL as a time.Duration.
func (t TTL) Duration() time.Duration { return time.Duration(t) * time.Second }

func parseSeconds(n *yaml.Node, want string) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, typeError(n, "expected %s", want)
	}
	if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		if i < 0 || i > 1<<33 {
			return 0, typeError(n, "%d seconds is out of range", i)
		}
		return time.Duration(i) * time.Second, nil
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, typeError(n, "expected %s, got %q", want, n.Value)
	}
	if d < 0 {
		return 0, typeError(n, "a duration cannot be negative, got %q", n.Value)
	}
	return d, nil
}

// Size is a number of bytes, written as an integer or with a unit: KiB,
// MiB, GiB (or KB, MB, GB, also taken as powers of 1024).
type Size int64

// UnmarshalYAML reads a size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeError(n, "expected a size such as 256MiB")
	}
	v := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil || i < 0 || i > (1<<50)/mult {
		return typeError(n, "expected a size such as 256MiB, got %q", n.Value)
	}
	*s = Size(i * mult)
	return nil
}

// List is CloudFront's "all", "none", a whitelist of names, or all but
// some ({all_except: [names]}, CloudFront's allExcept).
type List struct {
	Mode  string // "" (not set), "all", "none", "list" or "all_except"
	Items []string
}

// Includes reports whether the list takes name, compared as given
// (callers canonicalise header names).
func (l List) Includes(name string) bool {
	switch l.Mode {
	case "all":
		return true
	case "list":
		return slices.Contains(l.Items, name)
	case "all_except":
		return !slices.Contains(l.Items, name)
	}
	return false
}

// UnmarshalYAML accepts all, none, a sequence of names, or
// {all_except: [names]}.
func (l *List) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		if len(n.Content) != 2 || n.Content[0].Value != "all_except" || n.Content[1].Kind != yaml.SequenceNode {
			return typeError(n, "expected all, none, a list of names or {all_except: [names]}")
		}
		if err := l.UnmarshalYAML(n.Content[1]); err != nil {
			return err
		}
		l.Mode = "all_except"
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch v := strings.ToLower(n.Value); v {
		case "all", "none":
			l.Mode = v
			return nil
		}
		return typeError(n, "expected all, none or a list of names, got %q", n.Value)
	case yaml.SequenceNode:
		l.Mode = "list"
		l.Items = make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Value == "" {
				return typeError(c, "expected a name")
			}
			l.Items = append(l.Items, c.Value)
		}
		return nil
	}
	return typeError(n, "expected all, none, a list of names or {all_except: [names]}")
}

// Or returns l with an unset value replaced by def.
func (l List) Or(def string) List {
	if l.Mode == "" {
		l.Mode = def
	}
	return l
}

// String renders the list as it would be written.
func (l List) String() string {
	switch l.Mode {
	case "list":
		return "[" + strings.Join(l.Items, ", ") + "]"
	case "all_except":
		return "all except [" + strings.Join(l.Items, ", ") + "]"
	}
	return l.Mode
}

// typeError makes an error that yaml.v3 collects with the others instead of
// stopping at it.
func typeError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
}

// String formats the duration as Go does.
func (d Duration) String() string { return time.Duration(d).String() }
