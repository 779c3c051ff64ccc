package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClusterSettings(t *testing.T) {
	const dist = "distributions:\n  - {name: main, origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}}\n"
	for _, c := range []struct{ cluster, want string }{
		{"cluster: {redis: \"redis://127.0.0.1:6379/0\"}\n", ""},
		{"cluster: {redis: \"redis://:pw@10.0.0.5:6379/0\", token_file: good.token, node: edge-1, advertise: \"10.0.0.11:8080\"}\n", ""},
		{"cluster: {redis: \"rediss://:pw@redis.example:6380\", token_file: good.token, ca_file: ca.pem}\n", ""},
		{"cluster: {redis: \"redis://10.0.0.5:6379/0\", token_file: good.token}\n", `:1: Redis at 10.0.0.5:6379 is reachable from other machines: put its password in the URL`},
		{"cluster: {redis: \"redis://:pw@10.0.0.5:6379/0\"}\n", `:1: nodes reach each other off loopback: set cluster.token_file`},
		{"cluster: {node: a}\n", `:1: cluster needs redis`},
		{"cluster: {redis: \"redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/0\"}\n", ""},
		{"cluster: {redis: \"redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster\", token_file: good.token}\n", ""},
		{"cluster: {redis: \"redis+sentinel://127.0.0.1:26379,10.0.0.2:26379/mymaster\", token_file: good.token}\n", `:1: Redis at 127.0.0.1:26379,10.0.0.2:26379 is reachable from other machines`},
		{"cluster: {redis: \"redis+sentinel://127.0.0.1:26379/\"}\n", `:1: redis "redis+sentinel://127.0.0.1:26379/": a Sentinel URL's path is the primary's name`},
		{"cluster: {redis: \"http://127.0.0.1:6379\"}\n", `:1: redis "http://127.0.0.1:6379" is not a Redis URL`},
		{"cluster: {redis: \"redis://:pw@127.0.0.1:6379/x\"}\n", `:1: redis "redis://:xxxxx@127.0.0.1:6379/x": the path is the database number`},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", ca_file: ca.pem}\n", `:1: ca_file is for TLS`},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", node: \"a b\"}\n", `:1: node "a b" must be letters`},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", advertise: \"nowhere\"}\n", `:1: advertise "nowhere" is not a host:port`},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", shard: true, token_file: good.token}\n", `:1: shard needs cluster.advertise`},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", shard: true, advertise: \"127.0.0.1:8080\"}\n", `:1: shard needs cluster.token_file`},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", shard: true, advertise: \"127.0.0.1:8080\", token_file: good.token}\n", ""},
		{"cluster: {redis: \"redis://127.0.0.1:6379\", timeout: 10s}\n", `:1: timeout must be above 0 and at most 5s`},
		{"cluster:\n  redis: \"redis://127.0.0.1:6379\"\n  token_file: short.token\n", `:3: admin token file`},
	} {
		p := write(t, c.cluster+dist)
		dir := filepath.Dir(p)
		os.WriteFile(filepath.Join(dir, "short.token"), []byte("abc\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "good.token"), []byte("0123456789abcdef0123\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o600)
		if cfg := loadsAs(t, p, c.cluster, c.want); cfg != nil && cfg.Cluster.TimeoutOrDefault() != 50*time.Millisecond {
			t.Errorf("default timeout %s", cfg.Cluster.TimeoutOrDefault())
		}
	}
	// The password never shows in a message.
	p := write(t, "cluster: {redis: \"redis://:hunter2@127.0.0.1:6379/zz\"}\n"+dist)
	if _, err := Load(p); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a message shows the password: %v", err)
	}
}
