package cfimport

import (
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// keyGroup is a key group the import writes: its keys, and what the user
// must know about them.
type keyGroup struct {
	comments []string
	keys     []groupKey
}

type groupKey struct{ id, file, comment string }

// keysDir is where public keys go: Options.KeysDir, or keys/.
func (c *converter) keysDir() string {
	if c.opts.KeysDir != "" {
		return c.opts.KeysDir
	}
	return "keys"
}

// trustedKeyGroup returns the edgefront key group for one of a behavior's
// TrustedKeyGroups: a template's AWS::CloudFront::KeyGroup with its public
// keys written to files, or a key group id whose keys the user supplies.
func (c *converter) trustedKeyGroup(v any) string {
	if m, ok := v.(map[string]any); ok {
		if res, ok := c.resource(m, "AWS::CloudFront::KeyGroup"); ok {
			name := originName(refName(m))
			c.templateKeyGroup(name, res)
			return name
		}
	}
	id, _ := c.value(v)
	name := originName(id)
	if _, done := c.keyGroups[name]; !done {
		env := strings.ToUpper(notWord.ReplaceAllString(name, "_")) + "_KEY_ID"
		file := filepath.Join(c.keysDir(), name+".pem")
		c.addKeyGroup(name, &keyGroup{
			comments: []string{
				"CloudFront key group " + id + ": one entry per public key of the group (aws cloudfront get-key-group --id " + id + " lists them),",
				"each by its id, set in " + env + ", with its PEM in " + file + " (aws cloudfront get-public-key --id ID --query PublicKey.PublicKeyConfig.EncodedKey --output text);",
				"validate refuses the config until both are there",
			},
			keys: []groupKey{{id: "${" + env + "}", file: file}},
		})
	}
	return name
}

// trustedSigners is the key group that stands for a behavior's legacy
// TrustedSigners: CloudFront key pairs of the named accounts, whose ids
// and public keys only the user has.
func (c *converter) trustedSigners(accounts []string) string {
	const name = "trusted-signers"
	for _, a := range accounts {
		if !contains(c.signerAccounts, a) {
			c.signerAccounts = append(c.signerAccounts, a)
		}
	}
	if g, done := c.keyGroups[name]; done {
		g.comments[0] = signersComment(c.signerAccounts)
		return name
	}
	const env = "TRUSTED_SIGNERS_KEY_PAIR_ID"
	file := filepath.Join(c.keysDir(), name+".pem")
	c.addKeyGroup(name, &keyGroup{
		comments: []string{
			signersComment(c.signerAccounts),
			"edgefront requires them too, from this key group. Set " + env + " to the key pair's id and put its public key in " + file,
			"(openssl rsa -pubout -in pk-APKA....pem -out " + file + "); validate refuses the config until both are there",
		},
		keys: []groupKey{{id: "${" + env + "}", file: file}},
	})
	return name
}

func signersComment(accounts []string) string {
	return "CloudFront trusted signers " + strings.Join(accounts, ", ") + " (legacy CloudFront key pairs, ids APKA...) required signed URLs or cookies:"
}

// templateKeyGroup writes the public keys of a template's key group to
// files and lists them by their logical ids.
func (c *converter) templateKeyGroup(name string, res map[string]any) {
	if _, done := c.keyGroups[name]; done {
		return
	}
	g := &keyGroup{comments: []string{"CloudFront key group " + name + " of the template"}}
	cfg := obj(obj(res, "Properties"), "KeyGroupConfig")
	for _, it := range items(cfg, "Items") {
		ref, _ := it.(map[string]any)
		pk, ok := c.resource(ref, "AWS::CloudFront::PublicKey")
		if !ok {
			s, _ := c.value(it)
			g.keys = append(g.keys, groupKey{id: s, file: filepath.Join(c.keysDir(), originName(s)+".pem"),
				comment: "public key " + raw(it) + " is not in the template: put its PEM in the file"})
			continue
		}
		keyName := refName(ref)
		file := filepath.Join(c.keysDir(), keyName+".pem")
		k := groupKey{id: keyName, file: file,
			comment: "public key " + keyName + ": CloudFront gives it an id when it is created (its Ref, K...); signed URLs name that id in Key-Pair-Id, so put it here"}
		pem, isString := obj(obj(pk, "Properties"), "PublicKeyConfig")["EncodedKey"].(string)
		if isString && strings.Contains(pem, "-----BEGIN") {
			if !strings.HasSuffix(pem, "\n") {
				pem += "\n"
			}
			c.files[file] = []byte(pem)
		} else {
			k.comment += "; its EncodedKey is not in the template: put its PEM in " + file
		}
		g.keys = append(g.keys, k)
	}
	if len(g.keys) == 0 {
		c.errs = append(c.errs, "key group "+name+" has no public keys")
	}
	c.addKeyGroup(name, g)
}

func (c *converter) addKeyGroup(name string, g *keyGroup) {
	if c.keyGroups == nil {
		c.keyGroups = map[string]*keyGroup{}
	}
	c.keyGroups[name] = g
}

// resource returns the template resource a Ref names, when it is of type.
func (c *converter) resource(ref map[string]any, typ string) (map[string]any, bool) {
	name, ok := ref["Ref"].(string)
	if !ok {
		return nil, false
	}
	res, ok := c.resources[name].(map[string]any)
	return res, ok && res["Type"] == typ
}

// keyGroupsNode renders key_groups.
func (c *converter) keyGroupsNode() *yaml.Node {
	names := make([]string, 0, len(c.keyGroups))
	for n := range c.keyGroups {
		names = append(names, n)
	}
	sort.Strings(names)
	groups := newMap()
	for _, name := range names {
		g := c.keyGroups[name]
		l := &yaml.Node{Kind: yaml.SequenceNode}
		for _, k := range g.keys {
			e := newMap().flow()
			e.set("id", k.id)
			e.set("public_key_file", k.file)
			if k.comment != "" {
				e.n.LineComment = k.comment
			}
			l.Content = append(l.Content, e.n)
		}
		key := groups.add(name, l)
		for _, cm := range g.comments {
			note(key, cm)
		}
	}
	return groups.n
}
