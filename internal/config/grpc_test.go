package config

import (
	"testing"
)

func TestGRPCSettings(t *testing.T) {
	const tls = "listen: {https: \":8443\"}\ntls: {certificates: [{cert_file: c.pem, key_file: k.pem}]}\n"
	behavior := func(origin, methods string) string {
		return "distributions: [{name: main, origins: {g: " + origin + ", s: {type: dir, root: .}}, default_behavior: {target_origin: s}, " +
			"behaviors: [{path_pattern: \"/pkg.Svc/*\", target_origin: g, grpc: true" + methods + "}]}]\n"
	}
	const all = ", allowed_methods: [GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE]"
	for _, c := range []struct{ yaml, want string }{
		{tls + behavior(`{type: http, url: "http://127.0.0.1:50051", http2: true}`, all), ""},
		{tls + behavior(`{type: http, url: "https://api.internal:443", http2: true}`, all), ""},
		{tls + behavior(`{type: http, url: "http://127.0.0.1:50051"}`, all), `:3: origin "g" of a grpc behavior needs http2: true`},
		{tls + behavior(`{type: http, url: "http://127.0.0.1:50051", http2: true}`, ""), `:3: a grpc behavior needs POST among its allowed_methods`},
		{behavior(`{type: http, url: "http://127.0.0.1:50051", http2: true}`, all), `:1: gRPC clients call over HTTP/2, which the edge serves on its https listener`},
		{tls + "distributions: [{name: main, origins: {s: {type: dir, root: ., http2: true}}, default_behavior: {target_origin: s}}]\n", `:3: origin "s": http2 is for http origins`},
	} {
		p := writeWithCert(t, c.yaml)
		loadsAs(t, p, c.yaml, c.want)
	}
}
