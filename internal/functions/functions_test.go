package functions

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func request(uri string) *Event {
	return &Event{Type: "viewer-request", ViewerIP: "198.51.100.7", Method: "GET", URI: uri, Host: "www.example.org",
		Header: http.Header{"Accept": {"*/*"}}}
}

// addIndex is AWS's example "Add index.html to request URLs that don't
// include a file name", as the CloudFront Developer Guide shows it; the
// edge's tests, the end-to-end tests and bench/functions.sh run the same file.
var addIndex = func() string {
	b, err := os.ReadFile("testdata/add-index.js")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestAWSExampleAddIndex(t *testing.T) {
	f, err := Compile("add-index", addIndex)
	if err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{"/": "/index.html", "/docs/": "/docs/index.html", "/docs": "/docs/index.html", "/app.js": "/app.js"} {
		res, err := f.Run(request(uri))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Request; got == nil || got.URI != want || got.HeaderChanged || got.QueryChanged {
			t.Errorf("%s: %+v, want %s", uri, got, want)
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
	res, err := f.Run(request("/"))
	if err != nil {
		t.Fatal(err)
	}
	h := res.Response.Header
	if h.Get("X-Hash") != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ||
		h.Get("X-Qs") != "a=1" || h.Get("X-Kvs") != "hi" {
		t.Errorf("headers %v", h)
	}
	if len(res.Logs) != 1 || res.Logs[0] != "hello 198.51.100.7" {
		t.Errorf("logs %q", res.Logs)
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
		_, err = f.Run(request("/"))
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
		"import fs from 'fs'; function handler(e) {}": "add-index:1: imports fs",
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
		if _, err := f.Run(request("/docs")); err != nil {
			b.Fatal(err)
		}
	}
}

// compile compiles a function for a test of what it does, not of its
// time budget: under the race detector on a busy machine, ordinary work
// can take more than 20 ms.
func compile(t *testing.T, src string) *Function {
	t.Helper()
	f, err := Compile("f.js", src)
	if err != nil {
		t.Fatal(err)
	}
	f.Budget = 5 * time.Second
	return f
}

// The event's lists are made when read; what the function leaves alone is
// reported unchanged, what it changes is read back whole.
func TestEventObjectsAndWhatChanged(t *testing.T) {
	ev := func() *Event {
		return &Event{Type: "viewer-request", ViewerIP: "192.0.2.9", Method: "GET", URI: "/p", RawQuery: "b=2&a=1&a=3",
			Host: "site.example", Header: http.Header{"Accept": {"text/html"}, "Cookie": {"sid=1; theme=dark"}}}
	}
	for name, c := range map[string]struct {
		src   string
		check func(*Request) bool
	}{
		"reads only": {`function handler(e) { var r = e.request; if (r.headers.accept.value !== 'text/html' || r.cookies.sid.value !== '1' || r.querystring.a.multiValue[1].value !== '3' || r.headers.host.value !== 'site.example' || e.viewer.ip !== '192.0.2.9') throw new Error('bad event ' + JSON.stringify(e)); return r; }`,
			func(r *Request) bool { return !r.HeaderChanged && !r.QueryChanged && r.URI == "/p" }},
		"adds a header": {`function handler(e) { e.request.headers['x-a'] = {value: 'b'}; return e.request; }`,
			func(r *Request) bool {
				return r.HeaderChanged && r.Header.Get("X-A") == "b" && r.Header.Get("Accept") == "text/html" && r.Header.Get("Cookie") == "sid=1; theme=dark" && r.Host == "site.example"
			}},
		"changes the host": {`function handler(e) { e.request.headers.host.value = 'other.example'; return e.request; }`,
			func(r *Request) bool {
				return r.HeaderChanged && r.Host == "other.example" && r.Header.Get("Host") == ""
			}},
		"deletes a cookie": {`function handler(e) { delete e.request.cookies.theme; return e.request; }`,
			func(r *Request) bool {
				return r.HeaderChanged && r.Header.Get("Cookie") == "sid=1" && r.Header.Get("Accept") == "text/html"
			}},
		"replaces the query": {`function handler(e) { e.request.querystring = {z: {value: 'a b'}}; return e.request; }`,
			func(r *Request) bool { return r.QueryChanged && r.RawQuery == "z=a+b" && !r.HeaderChanged }},
		"query as a string": {`function handler(e) { e.request.querystring = 'x=1'; return e.request; }`,
			func(r *Request) bool { return r.QueryChanged && r.RawQuery == "x=1" }},
		"a request of its own": {`function handler(e) { return {method: 'GET', uri: '/new', headers: {host: {value: 'h.example'}}, querystring: {}, cookies: {}}; }`,
			func(r *Request) bool {
				return r.URI == "/new" && r.HeaderChanged && r.Host == "h.example" && len(r.Header) == 0 && r.RawQuery == ""
			}},
	} {
		res, err := compile(t, c.src).Run(ev())
		if err != nil || res.Request == nil || !c.check(res.Request) {
			t.Errorf("%s: %v %+v", name, err, res.Request)
		}
	}

	// A viewer-response function changes the answer's fields and cookies.
	f := compile(t, `async function handler(e) {
    var r = e.response;
    r.headers['x-frame-options'] = {value: 'DENY'};
    r.cookies.sid = {value: '2', attributes: 'Secure; HttpOnly'};
    delete r.headers.server;
    return r;
}`)
	res, err := f.Run(&Event{Type: "viewer-response", Method: "GET", URI: "/", Header: http.Header{},
		Response: &Response{StatusCode: 200, Header: http.Header{"Server": {"o"}, "Content-Type": {"text/plain"}, "Set-Cookie": {"sid=1; Path=/"}}}})
	if err != nil || !res.HeaderChanged || res.Response.Header.Get("Server") != "" || res.Response.Header.Get("X-Frame-Options") != "DENY" ||
		res.Response.Header.Get("Set-Cookie") != "sid=2; Secure; HttpOnly" || res.Response.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("viewer response: %v %+v", err, res.Response)
	}
	// Returning the response untouched changes nothing.
	res, err = compile(t, `function handler(e) { return e.response; }`).Run(&Event{Type: "viewer-response", Header: http.Header{},
		Response: &Response{StatusCode: 404, Header: http.Header{"A": {"b"}}}})
	if err != nil || res.HeaderChanged || res.Response.StatusCode != 404 {
		t.Errorf("untouched response: %v %+v", err, res)
	}
	// A viewer-response function cannot return the request.
	if _, err := compile(t, `function handler(e) { return e.request; }`).Run(&Event{Type: "viewer-response", Header: http.Header{},
		Response: &Response{StatusCode: 200, Header: http.Header{}}}); err == nil {
		t.Error("a viewer-response function returned the request")
	}
	// JSON.stringify sees the whole event, as CloudFront's own objects.
	_, js, _, err := compile(t, `function handler(e) { return JSON.parse(JSON.stringify(e.request)); }`).RunJSON(ev())
	if err != nil || !strings.Contains(string(js), `"cookies":{"sid":{"value":"1"},"theme":{"value":"dark"}}`) ||
		!strings.Contains(string(js), `"a":{"value":"1","multiValue":[{"value":"1"},{"value":"3"}]}`) {
		t.Errorf("stringified: %v %s", err, js)
	}
}

// async handlers: with or without await, a throw is a failure and a
// returned request is read.
func TestAsyncHandlers(t *testing.T) {
	for src, wantErr := range map[string]bool{
		`async function handler(e) { throw new Error('no'); }`:                                       true,
		`async function handler(e) { await null; throw new Error('no'); }`:                           true,
		`async function handler(e) { await null; return e.request; }`:                                false,
		`async function handler(e) { return e.request; }`:                                            false,
		`const later = async (r) => r; async function handler(e) { return await later(e.request); }`: false,
	} {
		res, err := compile(t, src).Run(request("/x"))
		if (err != nil) != wantErr || !wantErr && res.Request.URI != "/x" {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestOriginHelpersAndKeyValueFormats(t *testing.T) {
	f := compile(t, `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(e) {
    const conf = await kvs.get('conf', {format: 'json'});
    const raw = await kvs.get('raw', {format: 'bytes'});
    if (!Buffer.isBuffer(raw) || raw.length !== 2 || raw[1] !== 2) throw new Error('bytes: ' + raw);
    cf.updateRequestOrigin({domainName: conf.origin, originPath: '/v2', customHeaders: {'x-k': 'v'}, timeouts: {readTimeout: 3}});
    return e.request;
}`)
	f.KVS = map[string]string{"conf": `{"origin": "eu.example"}`, "raw": "\x01\x02"}
	res, err := f.Run(request("/"))
	if err != nil || res.Origin == nil || res.Origin.DomainName != "eu.example" || *res.Origin.OriginPath != "/v2" ||
		res.Origin.CustomHeaders.Get("X-K") != "v" || res.Origin.ReadTimeout != 3*time.Second {
		t.Fatalf("%v %+v", err, res.Origin)
	}
	for src, want := range map[string]string{
		`cf.updateRequestOrigin({originPath: 'v2/'})`:                             "must start with /",
		`cf.updateRequestOrigin({})`:                                              "nothing to change",
		`cf.updateRequestOrigin({domainName: 'a', timeouts: {readTimeout: 500}})`: "1 to 120 seconds",
		`cf.createRequestOriginGroup({originIds: ['a']})`:                         "two origin ids",
	} {
		_, err := compile(t, "import cf from 'cloudfront';\nfunction handler(e) { "+src+"; return e.request; }").Run(request("/"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	// Origins are chosen in viewer-request functions only.
	_, err = compile(t, "import cf from 'cloudfront';\nfunction handler(e) { cf.selectRequestOriginById('a'); return e.response; }").
		Run(&Event{Type: "viewer-response", Header: http.Header{}, Response: &Response{StatusCode: 200, Header: http.Header{}}})
	if err == nil || !strings.Contains(err.Error(), "viewer request function") {
		t.Errorf("origin helper in a viewer-response function: %v", err)
	}
}

// Invocations on many goroutines share the pool of runtimes; each gets its
// own logs and result.
func TestConcurrentInvocations(t *testing.T) {
	f := compile(t, `function handler(e) { console.log('uri ' + e.request.uri); e.request.uri += '/x'; return e.request; }`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				uri := fmt.Sprintf("/%d/%d", g, i)
				res, err := f.Run(request(uri))
				if err != nil || res.Request.URI != uri+"/x" || len(res.Logs) != 1 || res.Logs[0] != "uri "+uri {
					t.Errorf("%s: %v %+v %q", uri, err, res.Request, res.Logs)
					return
				}
			}
		})
	}
	wg.Wait()
}

// The event's objects are reused by the next invocation on a runtime, but
// nothing one invocation added, deleted or read shows in the next.
func TestNothingCarriesOverBetweenInvocations(t *testing.T) {
	f := compile(t, `function handler(e) {
    var r = e.request;
    var seen = [r.mark, e.mark, r.headers['x-a'] && r.headers['x-a'].value, typeof r.cookies, r.querystring.q && r.querystring.q.value].join(',');
    r.mark = r.uri; e.mark = 1;
    r.headers['x-a'] = {value: 'set'};
    delete r.cookies;
    r.headers['x-seen'] = {value: seen};
    return r;
}`)
	for i, uri := range []string{"/one", "/two", "/three"} {
		ev := request(uri)
		ev.RawQuery = "q=" + uri
		res, err := f.Run(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Request.Header.Get("X-Seen"), ",,,object,"+uri; got != want {
			t.Errorf("invocation %d saw %q, want %q", i, got, want)
		}
	}
}

// Buffer and the crypto module as runtime 2.0 has them: encodings, Buffer
// methods, digests that are Buffers without an encoding.
func TestBufferAndCrypto(t *testing.T) {
	f := compile(t, `import crypto from 'crypto';
import { Buffer as B } from 'buffer';
function handler(e) {
    const checks = {
        utf8: Buffer.from('héllo').toString('hex') === '68c3a96c6c6f',
        hex: Buffer.from('68c3a96c6c6f', 'hex').toString() === 'héllo',
        base64: Buffer.from('aGk/Pz8+Pg==', 'base64').toString() === 'hi???>>',
        base64url: Buffer.from('aGk_Pz8-Pg', 'base64url').toString('base64') === 'aGk/Pz8+Pg==',
        latin1: Buffer.from([0xe9]).toString('latin1') === 'é',
        length: Buffer.byteLength('héllo') === 6 && Buffer.from('héllo').length === 6,
        concat: Buffer.concat([Buffer.from('ab'), Buffer.from('cd')]).toString() === 'abcd',
        alloc: Buffer.alloc(4, 'ab').toString() === 'abab' && Buffer.alloc(2).equals(Buffer.from([0, 0])),
        slice: Buffer.from('hello').slice(1, 3).toString() === 'el' && Buffer.isBuffer(Buffer.from('x').slice(0)),
        indexOf: Buffer.from('hello').indexOf('ll') === 2 && Buffer.from('hello').includes('z') === false,
        compare: Buffer.compare(Buffer.from('a'), Buffer.from('b')) === -1,
        json: JSON.stringify(Buffer.from('hi')) === '{"type":"Buffer","data":[104,105]}',
        read: Buffer.from([1, 2, 3, 4]).readUInt32BE(0) === 0x01020304,
        module: B === Buffer,
        digestBuffer: Buffer.isBuffer(crypto.createHash('sha256').update('abc').digest()) &&
            crypto.createHash('sha256').update('abc').digest().toString('hex') === crypto.createHash('sha256').update('abc').digest('hex'),
        hmacBufferKey: crypto.createHmac('sha256', Buffer.from('key')).update(Buffer.from('data')).digest('base64url') ===
            crypto.createHmac('sha256', 'key').update('data').digest('base64url'),
        md5: crypto.createHash('md5').update('').digest('hex') === 'd41d8cd98f00b204e9800998ecf8427e',
    };
    const failed = Object.keys(checks).filter(k => !checks[k]);
    return {statusCode: failed.length ? 500 : 200, statusDescription: failed.join(',')};
}`)
	res, err := f.Run(request("/"))
	if err != nil || res.Response.StatusCode != 200 {
		t.Fatalf("%v: failed %s", err, res.Response.StatusDescription)
	}
	if _, err := compile(t, `function handler(e) { return Buffer.from('x', 'ebcdic'); }`).Run(request("/")); err == nil || !strings.Contains(err.Error(), "Unknown encoding") {
		t.Errorf("unknown encoding: %v", err)
	}
}

func TestImportForms(t *testing.T) {
	for _, src := range []string{
		"import crypto from 'crypto';",
		"import { createHash } from 'crypto'; const crypto = { createHash };",
		"import { createHash as h } from \"crypto\"\nconst crypto = { createHash: h };",
		"import * as crypto from 'crypto';",
		"import crypto, { createHmac } from 'crypto';",
	} {
		f, err := Compile("f.js", src+"\nfunction handler(e) { return {statusCode: 200, statusDescription: crypto.createHash('md5').update('').digest('hex')}; }")
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if res, err := f.Run(request("/")); err != nil || res.Response.StatusDescription != "d41d8cd98f00b204e9800998ecf8427e" {
			t.Errorf("%q: %v %+v", src, err, res.Response)
		}
	}
	// A syntax error after an import is reported on its own line.
	if _, err := Compile("f.js", "import { createHash } from 'crypto';\nfunction handler(e) {\n  return e.request\n}}\n"); err == nil || !strings.Contains(err.Error(), "Line 4") {
		t.Errorf("line numbers after an import: %v", err)
	}
	if _, err := Compile("f.js", "import { x } from 'fs';\nfunction handler(e) {}"); err == nil || !strings.Contains(err.Error(), "imports fs") {
		t.Errorf("named import of an unknown module: %v", err)
	}
}

// Any event JSON is read or refused, and a function run on what is read
// answers or fails, never panics.
func FuzzEventFromJSON(f *testing.F) {
	f.Add([]byte(`{"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
  "request": {"method": "GET", "uri": "/a", "querystring": {"q": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]}},
  "headers": {"host": {"value": "d.example"}}, "cookies": {"c": {"value": "v"}}}}`))
	f.Add([]byte(`{"context": {"eventType": "viewer-response"}, "request": {"uri": "/"}, "response": {"statusCode": 200,
  "headers": {"x": {"value": "y"}}, "cookies": {"s": {"value": "1", "attributes": "Secure"}}}}`))
	fn, err := Compile("f.js", `function handler(e) {
    var r = e.response || e.request;
    r.headers['x-seen'] = {value: JSON.stringify(e).length + ''};
    return r;
}`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := EventFromJSON(in)
		if err != nil {
			return
		}
		if _, err := fn.Run(ev); err != nil && errors.Is(err, ErrBudget) {
			t.Fatalf("a small function ran past its budget: %v", err)
		}
	})
}

// What a time budget cannot stop, one native step that makes or walks
// something huge, is refused at once; the runtime serves on, and ordinary
// sizes work.
func TestMemoryLimits(t *testing.T) {
	for src, want := range map[string]string{
		`'x'.repeat(1e9)`:   "a repeated string of 1000000000",
		`'x'.padStart(5e8)`: "a padded string of 500000000",
		`var a = []; a.length = 2e9; a.forEach(function () {})`:                       "forEach on a length of 2000000000",
		`new Array(2e8).fill(1)`:                                                      "fill on a length of 200000000",
		`new Array(1e8).join('ab')`:                                                   "join on a length of 100000000",
		`Array.from({length: 1e8})`:                                                   "Array.from on a length of 100000000",
		`new Uint8Array(5e8)`:                                                         "a Uint8Array of bytes of 500000000",
		`new ArrayBuffer(1e9)`:                                                        "a ArrayBuffer of bytes of 1000000000",
		`Buffer.alloc(1e9)`:                                                           "a Buffer of 1000000000 bytes",
		"new Array(1000).fill('x'.repeat(2000)).join('')":                             "a joined string of",
		"'x'.repeat(200).replaceAll('x', 'y'.repeat(10000))":                          "a replaced string of 2000200",
		"'x'.repeat(200).replace(/x/g, 'y'.repeat(10000))":                            "a replaced string of 2000200",
		"var a = []; a.length = 2e9; [].concat(a)":                                    "concat to a length of 2000000000",
		"var a = []; a.length = 2e8; Math.max.apply(null, a)":                         "apply with a length of 200000000",
		"var a = []; a.length = 2e8; Math.max(...a)":                                  "iterating a length of 200000000",
		"var a = []; a.length = 2e8; new Set(a)":                                      "iterating a length of 200000000",
		"var a = []; a.length = 2e8; for (var x of a) {}":                             "iterating a length of 200000000",
		"var a = []; a.length = 2e8; Promise.all(a)":                                  "Promise.all with a length of 200000000",
		"var a = []; a.length = 2e8; Reflect.apply(Math.max, null, a)":                "Reflect.apply with a length of 200000000",
		`var a = [1]; for (var i = 0; i < 40; i++) { a = [a, a]; } JSON.stringify(a)`: "JSON.stringify on values",
	} {
		f := compile(t, "function handler(e) { "+src+"; return e.request; }")
		if strings.Contains(src, "JSON.stringify") {
			f.Budget = Budget // it may stop this one first
		}
		start := time.Now()
		_, err := f.Run(request("/"))
		// JSON.stringify calls back into the function for each value, so
		// the time budget may stop it first.
		stopped := err != nil && (strings.Contains(err.Error(), want) || strings.HasPrefix(src, "var a = [1]") && errors.Is(err, ErrBudget))
		if !stopped || time.Since(start) > time.Second {
			t.Errorf("%s: %v after %v, want %q", src, err, time.Since(start), want)
		}
	}
	f := compile(t, `function handler(e) {
    var ok = 'ab'.repeat(1000).length === 2000 && 'x'.padStart(10, '-') === '---------x' &&
        [3, 1, 2].sort().join() === '1,2,3' && Array.from('abc').length === 3 &&
        new Uint8Array(100) instanceof Uint8Array && new Uint8Array([1, 2]).constructor === Uint8Array &&
        new Uint8Array(4).subarray(1) instanceof Uint8Array && Buffer.alloc(10) instanceof Uint8Array &&
        JSON.stringify({a: [1, {b: 2}]}) === '{"a":[1,{"b":2}]}' &&
        JSON.stringify({a: 1, b: 2, c: 3}, ['c', 'a']) === '{"c":3,"a":1}' &&
        JSON.stringify({a: 1}, function (k, v) { return k === 'a' ? 2 : v; }) === '{"a":2}' &&
        'a-b-c'.replaceAll('-', '+') === 'a+b+c' && 'aXbX'.replace(/X/g, '--') === 'a--b--' &&
        'x'.repeat(1e4).replace('x', 'y'.repeat(200)).length === 1e4 + 199 && '/p/q'.replace('/p', '') === '/q' &&
        Math.max(...[1, 3, 2]) === 3 && Math.max.apply(null, [4, 5]) === 5 && [1].concat([2], 3).length === 3 &&
        new Set([1, 1, 2]).size === 2 && Reflect.apply(Math.min, null, [2, 1]) === 1 && [...'ab'].length === 2;
    return {statusCode: ok ? 200 : 500};
}`)
	if res, err := f.Run(request("/")); err != nil || res.Response.StatusCode != 200 {
		t.Errorf("ordinary sizes: %v %+v", err, res.Response)
	}
	// Logs stop at 10 KB; a made body stops at 40 KB.
	res, err := compile(t, `function handler(e) { for (var i = 0; i < 1000; i++) { console.log('0123456789'.repeat(10)); } return e.request; }`).Run(request("/"))
	n := 0
	for _, l := range res.Logs {
		n += len(l)
	}
	if err != nil || n > MaxLogBytes+100 || !strings.HasSuffix(res.Logs[len(res.Logs)-1], "(logs truncated at 10 KB)") {
		t.Errorf("logs: %v, %d bytes in %d lines", err, n, len(res.Logs))
	}
	if _, err := compile(t, `function handler(e) { return {statusCode: 200, body: 'x'.repeat(50000)}; }`).Run(request("/")); err == nil || !strings.Contains(err.Error(), "response body is 50000 bytes") {
		t.Errorf("a 50 KB body: %v", err)
	}
	// Header fields past 64 KiB, on a request or a response.
	for _, src := range []string{
		`for (var i = 0; i < 1000; i++) { e.request.headers['x-' + i] = {value: 'v'.repeat(100)}; } return e.request;`,
		`for (var i = 0; i < 1000; i++) { e.request.cookies['c' + i] = {value: 'v'.repeat(100)}; } return e.request;`,
		`var h = {}; for (var i = 0; i < 1000; i++) { h['x-' + i] = {value: 'v'.repeat(100)}; } return {statusCode: 200, headers: h};`,
	} {
		if _, err := compile(t, "function handler(e) { "+src+" }").Run(request("/")); err == nil || !strings.Contains(err.Error(), "bytes of header fields; at most 65536") {
			t.Errorf("%.60s: %v", src, err)
		}
	}
}
