package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config file, at a line.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is every problem found in a config, in line order.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads, parses and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a config; file names it in messages and is the
// directory relative paths in it are resolved against.
func Parse(file string, data []byte) (*Config, error) {
	var probs Problems
	add := func(line int, msg string) { probs = append(probs, Problem{file, line, oneLine(msg)}) }

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		for _, e := range yamlErrors(err) {
			add(e.line, e.msg)
		}
		return nil, probs
	}
	if len(root.Content) == 0 {
		add(0, "the config is empty")
		return nil, probs
	}
	expandEnv(&root, add)

	cfg := &Config{File: file, pos: positions{}}
	cfg.pos.walk("", root.Content[0])
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// yaml.v3 checks unknown keys only when decoding text, and the values
	// must come from the expanded tree: a strict pass over the text finds
	// the unknown keys, then the tree is decoded.
	if err := dec.Decode(new(Config)); err != nil {
		for _, e := range yamlErrors(err) {
			if e.unknownKey {
				add(e.line, e.msg)
			}
		}
	}
	if err := root.Content[0].Decode(cfg); err != nil {
		for _, e := range yamlErrors(err) {
			add(e.line, e.msg)
		}
	}
	probs = append(probs, cfg.validate()...)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, probs
	}
	return cfg, nil
}

// oneLine keeps a message on its line: values quoted from the file may hold
// line breaks.
func oneLine(msg string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(msg)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} in every scalar with the environment variable,
// before decoding, so that lines stay those of the file.
func expandEnv(n *yaml.Node, add func(int, string)) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := ref[2 : len(ref)-1]
			v, ok := os.LookupEnv(name)
			if !ok {
				add(n.Line, fmt.Sprintf("environment variable %s is not set", name))
			}
			return v
		})
	}
	for _, c := range n.Content {
		expandEnv(c, add)
	}
}

type yamlError struct {
	line       int
	msg        string
	unknownKey bool
}

var (
	lineMsg      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)
	cannotDecode = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
)

// yamlErrors turns yaml.v3's errors into lines and short sentences.
func yamlErrors(err error) []yamlError {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]yamlError, 0, len(msgs))
	for _, m := range msgs {
		e := yamlError{msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := lineMsg.FindStringSubmatch(m); sm != nil {
			e.line, _ = strconv.Atoi(sm[1])
			e.msg = sm[2]
		}
		if sm := unknownField.FindStringSubmatch(e.msg); sm != nil {
			e.unknownKey = true
			e.msg = fmt.Sprintf("unknown key %q in %s%s", sm[1], section(sm[2]), didYouMean(sm[1], keysOf(sm[2])))
			if why, ok := notYet[sm[1]]; ok {
				e.msg = fmt.Sprintf("%q (%s) is not supported by this version of edgefront", sm[1], why)
			}
		} else if sm := cannotDecode.FindStringSubmatch(e.msg); sm != nil {
			e.msg = fmt.Sprintf("expected %s, got %q", kind(sm[3]), sm[2])
		}
		out = append(out, e)
	}
	return out
}

// notYet names the keys of the specification that this version does not
// implement. They are refused rather than ignored: a config that asks for
// signed URLs must never serve private content without them.
var notYet = map[string]string{}

func section(goType string) string {
	switch goType {
	case "Config":
		return "the top level"
	case "ErrorResponse":
		return "error response"
	case "CacheKey":
		return "cache_key"
	}
	return strings.ToLower(goType)
}

func kind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "config."):
		return "a mapping"
	case strings.HasPrefix(goType, "int"):
		return "an integer"
	case strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	}
	return "a value of another kind"
}

// positions maps a value's path in the document ("distributions[0].name") to
// its line, so that checks made after decoding can say where.
type positions map[string]int

func (p positions) walk(path string, n *yaml.Node) {
	p[path] = n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			p.walk(child, v)
			p[child] = k.Line
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.walk(fmt.Sprintf("%s[%d]", path, i), c)
		}
	}
}

// line returns the line of path, or of its nearest ancestor present in the
// file.
func (p positions) line(path string) int {
	for {
		if l, ok := p[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return p[""]
		}
		path = path[:i]
	}
}

// Line returns the line of a value given by its path, such as
// "distributions[0].behaviors[2].path_pattern"; 0 when unknown.
func (c *Config) Line(path string) int { return c.pos.line(path) }
