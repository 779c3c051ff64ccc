package functions

import (
	"errors"
	"strings"
	"testing"
)

func request(uri string) map[string]any {
	return map[string]any{"version": "1.0", "context": map[string]any{"eventType": "viewer-request"},
		"viewer": map[string]any{"ip": "198.51.100.7"},
		"request": map[string]any{"method": "GET", "uri": uri, "querystring": map[string]any{},
			"headers": map[string]any{"host": map[string]any{"value": "www.example.org"}}, "cookies": map[string]any{}}}
}

// AWS's example "Add index.html to request URLs that don't include a file
// name", as the CloudFront Developer Guide shows it.
const addIndex = `
async function handler(event) {
    var request = event.request;
    var uri = request.uri;

    // Check whether the URI is missing a file name.
    if (uri.endsWith('/')) {
        request.uri += 'index.html';
    }
    // Check whether the URI is missing a file extension.
    else if (!uri.includes('.')) {
        request.uri += '/index.html';
    }

    return request;
}`

func TestAWSExampleAddIndex(t *testing.T) {
	f, err := Compile("add-index", addIndex)
	if err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{"/": "/index.html", "/docs/": "/docs/index.html", "/docs": "/docs/index.html", "/app.js": "/app.js"} {
		res, _, err := f.Run(request(uri))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.(map[string]any)["uri"]; got != want {
			t.Errorf("%s: %v, want %s", uri, got, want)
		}
	}
}

func TestRuntimeModulesAndLimits(t *testing.T) {
	f, err := Compile("mods", `
import crypto from 'crypto';
import qs from 'querystring';
import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    console.log('hello', event.viewer.ip);
    const v = await kvs.get('greeting');
    return {statusCode: 200, statusDescription: 'OK',
        headers: {'x-hash': {value: crypto.createHash('sha256').update('abc').digest('hex')},
                  'x-qs': {value: qs.stringify({a: '1'})}, 'x-kvs': {value: v}}};
}`)
	if err != nil {
		t.Fatal(err)
	}
	f.KVS = map[string]string{"greeting": "hi"}
	res, logs, err := f.Run(request("/"))
	if err != nil {
		t.Fatal(err)
	}
	h := res.(map[string]any)["headers"].(map[string]any)
	if h["x-hash"].(map[string]any)["value"] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ||
		h["x-qs"].(map[string]any)["value"] != "a=1" || h["x-kvs"].(map[string]any)["value"] != "hi" {
		t.Errorf("headers %v", h)
	}
	if len(logs) != 1 || logs[0] != "hello 198.51.100.7" {
		t.Errorf("logs %q", logs)
	}

	for name, src := range map[string]string{
		"loop":    `function handler(e) { for (;;) {} }`,
		"alloc":   `function handler(e) { var a = []; for (;;) { a.push(new Array(1000)); } }`,
		"recurse": `function f(n) { return f(n + 1) + 1; } function handler(e) { return f(0); }`,
		"throw":   `function handler(e) { throw new Error('boom'); }`,
	} {
		f, err := Compile(name, src)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.Run(request("/"))
		if err == nil || (name == "loop" || name == "alloc") && !errors.Is(err, ErrBudget) {
			t.Errorf("%s: %v", name, err)
		}
		// The runtime still serves afterwards.
		if name == "throw" && !strings.Contains(err.Error(), "boom") {
			t.Errorf("throw: %v", err)
		}
	}
	for src, want := range map[string]string{
		"function handler(e) { return e.request; ":    "add-index: ",
		"import fs from 'fs'; function handler(e) {}": "imports fs",
		"var x = 1;": "no handler(event) function",
		strings.Repeat("//", MaxCodeSize) + "\nfunction handler(e){}": "bytes; CloudFront allows",
	} {
		if _, err := Compile("add-index", src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.30q: %v, want %q", src, err, want)
		}
	}
}

func BenchmarkRun(b *testing.B) {
	f, err := Compile("add-index", addIndex)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.Run(request("/docs")); err != nil {
			b.Fatal(err)
		}
	}
}
