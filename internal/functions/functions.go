// Package functions runs CloudFront Functions (JavaScript, runtime 2.0)
// on goja: a handler gets CloudFront's event object and returns a request
// or a response. A function is compiled once; runtimes are pooled and
// reused; each invocation has a time budget, no network and no files.
package functions

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Limits, as CloudFront's.
const (
	MaxCodeSize = 10 << 10 // bytes of function code
	// Budget is the time an invocation may take.
	Budget = 20 * time.Millisecond
	// MaxStack is the deepest call stack.
	MaxStack = 1000
	// MaxItems is the longest string or array a built-in makes or walks
	// in one step, and MaxBytes the largest typed array or Buffer:
	// CloudFront gives a function 2 MB of memory.
	MaxItems = 1 << 20
	MaxBytes = 16 << 20
	// MaxLogBytes is what an invocation may log, as CloudFront truncates
	// function logs at 10 KB.
	MaxLogBytes = 10 << 10
	// MaxBodyBytes is the largest body of a response a function makes.
	MaxBodyBytes = 40 << 10
	// MaxHeaderBytes bounds the header fields a function returns, as
	// limits.max_header_bytes bounds a viewer's.
	MaxHeaderBytes = 64 << 10
)

// Function is a compiled function.
type Function struct {
	Name string
	prog *goja.Program
	// idle runtimes, kept across garbage collections (a sync.Pool would
	// drop them and each would have to run the function's code again).
	idle   chan *runtime
	Budget time.Duration
	KVS    map[string]string // cf.kvs(), when the behavior names a store
}

// ErrBudget is an invocation stopped at its time budget.
var ErrBudget = errors.New("the function ran past its time budget")

// importLine is an import declaration: `import x from 'm'`,
// `import {a, b as c} from 'm'`, `import * as x from 'm'`, `import x, {a}
// from 'm'` or `import 'm'`.
var importLine = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+(?:([^'"\n;]+?)[ \t]+from[ \t]+)?['"]([\w-]+)['"][ \t]*;?`)

// requireFor turns an import's clause into declarations from require(m),
// on one line so that line numbers stay.
func requireFor(clause, m string) string {
	req := fmt.Sprintf("require(%q)", m)
	clause = strings.TrimSpace(clause)
	if clause == "" {
		return req + ";"
	}
	var decls []string
	for clause != "" {
		switch {
		case strings.HasPrefix(clause, "{"):
			end := strings.Index(clause, "}")
			if end < 0 {
				return "import " + clause // left for the parser to report
			}
			names := strings.Split(clause[1:end], ",")
			for i, n := range names {
				if from, to, ok := strings.Cut(strings.TrimSpace(n), " as "); ok {
					names[i] = strings.TrimSpace(from) + ": " + strings.TrimSpace(to)
				}
			}
			decls = append(decls, "{"+strings.Join(names, ",")+"} = "+req)
			clause = clause[end+1:]
		case strings.HasPrefix(clause, "*"):
			_, name, _ := strings.Cut(clause, " as ")
			name, clause, _ = strings.Cut(strings.TrimSpace(name), ",")
			decls = append(decls, strings.TrimSpace(name)+" = "+req)
		default:
			var name string
			name, clause, _ = strings.Cut(clause, ",")
			decls = append(decls, strings.TrimSpace(name)+" = "+req)
		}
		clause = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(clause), ","))
	}
	return "var " + strings.Join(decls, ", ") + ";"
}

//go:embed buffer.js
var bufferSource string

// bufferProgram defines Buffer in a runtime.
var bufferProgram = goja.MustCompile("buffer.js", bufferSource, true)

//go:embed harden.js
var hardenSource string

// hardenProgram bounds the built-ins that could make or walk something
// huge in one native step, which the time budget cannot interrupt.
var hardenProgram = goja.MustCompile("harden.js", hardenSource, true)

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

var asyncHandler = regexp.MustCompile(`(^|[\s;}])async\s+function\s+handler\s*\(`)

// Compile checks and compiles a function's source. Errors name the line.
func Compile(name, source string) (*Function, error) {
	if len(source) > MaxCodeSize {
		return nil, fmt.Errorf("function %s is %d bytes; CloudFront allows %d", name, len(source), MaxCodeSize)
	}
	// Runtime 2.0's import declarations become require calls.
	var bad []string
	for _, loc := range importLine.FindAllStringSubmatchIndex(source, -1) {
		if m := source[loc[4]:loc[5]]; !knownModule(m) {
			line := strings.Count(source[:loc[4]], "\n") + 1
			bad = append(bad, fmt.Sprintf("%s:%d: imports %s", name, line, m))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s, which CloudFront Functions do not provide (crypto, querystring, buffer, cloudfront)", strings.Join(bad, "; "))
	}
	src := importLine.ReplaceAllStringFunc(source, func(line string) string {
		m := importLine.FindStringSubmatch(line)
		return requireFor(m[1], m[2])
	})
	// An async handler that never awaits settles before it returns: it is
	// run as an ordinary function, which spares a promise an invocation.
	if !strings.Contains(src, "await") {
		src = asyncHandler.ReplaceAllString(src, "${1}function handler(")
	}
	prog, err := goja.Compile(name, src, true)
	if err != nil {
		return nil, fmt.Errorf("function %s: %v", name, err)
	}
	f := &Function{Name: name, prog: prog, Budget: Budget, idle: make(chan *runtime, 4*goruntime.GOMAXPROCS(0))}
	// Run it once now: a missing handler is a config error, not a 503.
	vm, err := f.newRuntime()
	if err != nil {
		return nil, err
	}
	f.put(vm)
	return f, nil
}

// put keeps an idle runtime for the next invocation, unless enough are
// kept already.
func (f *Function) put(rt *runtime) {
	if rt.b != nil {
		rt.b.clear()
	}
	select {
	case f.idle <- rt:
	default:
	}
}

func knownModule(m string) bool {
	switch m {
	case "crypto", "querystring", "buffer", "cloudfront":
		return true
	}
	return false
}

type runtime struct {
	vm      *goja.Runtime
	handler goja.Callable
	logs    []string
	// origin is what the cloudfront module's origin helpers chose during
	// the current invocation; eventType the current event's type.
	origin    *OriginChange
	eventType string
	timer     *time.Timer // interrupts an invocation at its budget
	logBytes  int         // what the invocation logged so far
	b         *built      // the event's objects, reused
}

func (f *Function) newRuntime() (*runtime, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(MaxStack)
	rt := &runtime{vm: vm}
	console := vm.NewObject()
	console.Set("log", func(call goja.FunctionCall) goja.Value {
		if rt.logBytes > MaxLogBytes {
			return goja.Undefined()
		}
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		line := strings.Join(parts, " ")
		if rt.logBytes += len(line); rt.logBytes > MaxLogBytes {
			line = strings.ToValidUTF8(line[:max(0, len(line)-(rt.logBytes-MaxLogBytes))], "") + " … (logs truncated at 10 KB)"
		}
		rt.logs = append(rt.logs, line)
		return goja.Undefined()
	})
	vm.Set("console", console)
	// Buffer is a global, as in Node and CloudFront's runtime 2.0.
	vm.Set("__encode", func(call goja.FunctionCall) goja.Value {
		s, err := encodeBytes(bytesOf(call.Argument(0)), call.Argument(1).String())
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return vm.ToValue(s)
	})
	vm.Set("__decode", func(s, enc string) goja.ArrayBuffer {
		b, err := decodeString(s, enc)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return vm.NewArrayBuffer(b)
	})
	vm.Set("__limits", map[string]int{"items": MaxItems, "bytes": MaxBytes})
	for _, p := range []*goja.Program{bufferProgram, hardenProgram} {
		if _, err := vm.RunProgram(p); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"__encode", "__decode", "__limits"} {
		vm.GlobalObject().Delete(name)
	}
	vm.Set("require", func(name string) goja.Value { return f.module(rt, name) })
	if _, err := vm.RunProgram(f.prog); err != nil {
		return nil, fmt.Errorf("function %s: %v", f.Name, err)
	}
	h, ok := goja.AssertFunction(vm.Get("handler"))
	if !ok {
		return nil, fmt.Errorf("function %s has no handler(event) function", f.Name)
	}
	rt.handler = h
	return rt, nil
}

// Run calls the handler with the event and reads what it returned. The
// outcome holds what the function logged, also when err says it failed.
func (f *Function) Run(ev *Event) (Outcome, error) {
	var out Outcome
	rt, v, b, err := f.call(ev, &out)
	if rt != nil {
		if err == nil {
			err = b.read(v, &out)
		}
		f.put(rt)
	}
	return out, err
}

// RunJSON calls the handler and returns what it returned as JSON, with
// "request" or "response" for its kind, as aws cloudfront test-function
// shows it.
func (f *Function) RunJSON(ev *Event) (kind string, js []byte, out Outcome, err error) {
	rt, v, b, err := f.call(ev, &out)
	if rt == nil {
		return "", nil, out, err
	}
	defer f.put(rt)
	if err == nil {
		err = b.read(v, &out)
	}
	if err != nil {
		return "", nil, out, err
	}
	kind = "request"
	if out.Response != nil {
		kind = "response"
	}
	js, err = v.ToObject(rt.vm).MarshalJSON()
	return kind, js, out, err
}

// call runs the handler on a runtime of the pool and settles its promise.
// It returns the runtime, to be put back once the result is read, or nil
// when the runtime cannot serve again (it was interrupted, or could not
// be made). out gets the logs and the origin chosen.
func (f *Function) call(ev *Event, out *Outcome) (rt *runtime, v goja.Value, b *built, err error) {
	select {
	case rt = <-f.idle:
	default:
		if rt, err = f.newRuntime(); err != nil {
			return nil, nil, nil, err
		}
	}
	rt.logs, rt.origin, rt.eventType, rt.logBytes = nil, nil, ev.Type, 0
	budget := f.Budget
	if budget <= 0 {
		budget = Budget
	}
	if rt.timer == nil {
		rt.timer = time.AfterFunc(budget, func() { rt.vm.Interrupt(ErrBudget) })
	} else {
		rt.timer.Reset(budget)
	}
	obj, b := rt.event(ev)
	v, err = rt.handler(goja.Undefined(), obj)
	stopped := !rt.timer.Stop()
	out.Logs, out.Origin = rt.logs, rt.origin
	rt.logs, rt.origin = nil, nil
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			// An interrupted runtime is left as it is: start afresh.
			return nil, nil, nil, ErrBudget
		}
		return rt, nil, b, err
	}
	if stopped {
		rt.vm.ClearInterrupt()
	}
	if o, ok := v.(*goja.Object); ok && o.ExportType() == promiseType {
		p := o.Export().(*goja.Promise)
		switch p.State() {
		case goja.PromiseStateFulfilled:
			v = p.Result()
		case goja.PromiseStateRejected:
			return rt, nil, b, fmt.Errorf("the handler's promise was rejected: %v", p.Result())
		default:
			return rt, nil, b, errors.New("the handler's promise never settled")
		}
	}
	return rt, v, b, nil
}

// built is one invocation's event: its records and field lists, made
// when the function first reads them, to tell what the function changed.
// A field list is nil until the function reads it.
type built struct {
	vm                               *goja.Runtime
	ev                               Event // a copy: the caller's need not escape
	event, request, response         record
	eventProps, requestProps         [5]prop
	responseProps                    [4]prop
	hasResponse                      bool
	query, headers, cookies          *fields
	responseHeaders, responseCookies *fields
}

// make is a lazy property's value.
func (b *built) make(name string) goja.Value {
	vm, ev := b.vm, &b.ev
	switch name {
	case "querystring":
		b.query = newFields(vm, false, func() []field { return queryFields(ev.RawQuery) })
		return b.query.obj
	case "headers":
		b.headers = newFields(vm, false, func() []field { return headerFields(ev.Header, ev.Host, "Cookie") })
		return b.headers.obj
	case "cookies":
		b.cookies = newFields(vm, false, func() []field { return requestCookies(ev.Header) })
		return b.cookies.obj
	case "response.headers":
		b.responseHeaders = newFields(vm, false, func() []field { return headerFields(ev.Response.Header, "", "Set-Cookie") })
		return b.responseHeaders.obj
	case "response.cookies":
		b.responseCookies = newFields(vm, true, func() []field { return responseCookies(ev.Response.Header) })
		return b.responseCookies.obj
	case "context":
		return newRecord(vm, nil,
			prop{name: "distributionDomainName", str: ev.DistributionDomainName},
			prop{name: "distributionId", str: ev.DistributionID},
			prop{name: "eventType", str: ev.Type},
			prop{name: "requestId", str: ev.RequestID}).obj
	case "viewer":
		return newRecord(vm, b, prop{name: "ip", lazy: "viewer.ip"}).obj
	case "viewer.ip":
		if ev.ViewerIP == "" && ev.Viewer.IsValid() {
			return vm.ToValue(ev.Viewer.String())
		}
		return vm.ToValue(ev.ViewerIP)
	}
	return goja.Undefined()
}

// event makes CloudFront's event object.
func (rt *runtime) event(ev *Event) (*goja.Object, *built) {
	vm, b := rt.vm, rt.b
	if b == nil {
		// One per runtime, reused: a runtime serves one invocation at a
		// time, and the objects cost more than the rest of a small
		// function's work.
		b = &built{vm: vm}
		b.event.setup(vm, b)
		b.request.setup(vm, b)
		b.response.setup(vm, b)
		rt.b = b
	}
	b.ev = *ev
	ev = &b.ev
	b.query, b.headers, b.cookies, b.responseHeaders, b.responseCookies = nil, nil, nil, nil, nil
	b.requestProps = [5]prop{{name: "method", str: ev.Method}, {name: "uri", str: ev.URI},
		{name: "querystring", lazy: "querystring"}, {name: "headers", lazy: "headers"}, {name: "cookies", lazy: "cookies"}}
	b.request.reset(b.requestProps[:])
	b.eventProps = [5]prop{{name: "version", str: "1.0"}, {name: "context", lazy: "context"},
		{name: "viewer", lazy: "viewer"}, {name: "request", v: b.request.obj}}
	props := b.eventProps[:4]
	b.hasResponse = ev.Response != nil
	if r := ev.Response; r != nil {
		desc := r.StatusDescription
		if desc == "" {
			desc = http.StatusText(r.StatusCode)
		}
		b.responseProps = [4]prop{{name: "statusCode", v: vm.ToValue(r.StatusCode)}, {name: "statusDescription", str: desc},
			{name: "headers", lazy: "response.headers"}, {name: "cookies", lazy: "response.cookies"}}
		b.response.reset(b.responseProps[:])
		b.eventProps[4] = prop{name: "response", v: b.response.obj}
		props = b.eventProps[:]
	}
	b.event.reset(props)
	return b.event.obj, b
}

// clear lets go of the invocation's request once it is over.
func (b *built) clear() {
	b.ev = Event{}
	b.query, b.headers, b.cookies, b.responseHeaders, b.responseCookies = nil, nil, nil, nil, nil
	b.eventProps, b.requestProps, b.responseProps = [5]prop{}, [5]prop{}, [4]prop{}
	b.event.reset(nil)
	b.request.reset(nil)
	b.response.reset(nil)
}

// fieldsOf reads field list name of the returned object o: unchanged when
// o is the event's own object and the function never touched the list.
func fieldsOf(o *goja.Object, own *record, name string, ours *fields) (list []field, changed bool, err error) {
	if own.untouched(o, name) {
		return nil, false, nil
	}
	return readFields(o.Get(name), ours)
}

// stringProp reads a property the function set to a string.
func stringProp(o *goja.Object, own *record, name string) (string, bool) {
	if own.untouched(o, name) {
		return "", false
	}
	v := o.Get(name)
	if v == nil || v.ExportType() == nil || v.ExportType().Kind() != reflect.String {
		return "", false
	}
	return v.String(), true
}

var errNoResult = errors.New("the function returned neither a request nor a response")

// read turns what the handler returned into out.
func (b *built) read(v goja.Value, out *Outcome) error {
	ev := &b.ev
	o, ok := v.(*goja.Object)
	if !ok {
		return errNoResult
	}
	if sc := o.Get("statusCode"); sc != nil && !goja.IsUndefined(sc) {
		return b.readResponse(o, out)
	}
	if ev.Type != "viewer-request" {
		return errors.New("a viewer-response function must return a response")
	}
	uri := o.Get("uri")
	if uri == nil || goja.IsUndefined(uri) {
		return errNoResult
	}
	r := &Request{URI: uri.String(), RawQuery: ev.RawQuery, Host: ev.Host, Header: ev.Header}
	if !strings.HasPrefix(r.URI, "/") {
		return fmt.Errorf("the function returned uri %q, which does not start with /", r.URI)
	}
	if qv, ok := stringProp(o, &b.request, "querystring"); ok {
		r.RawQuery, r.QueryChanged = qv, qv != ev.RawQuery
	} else {
		list, changed, err := fieldsOf(o, &b.request, "querystring", b.query)
		if err != nil {
			return err
		}
		if changed {
			r.RawQuery, r.QueryChanged = encodeQuery(list), true
		}
	}
	headers, hc, err := fieldsOf(o, &b.request, "headers", b.headers)
	if err != nil {
		return err
	}
	cookies, cc, err := fieldsOf(o, &b.request, "cookies", b.cookies)
	if err != nil {
		return err
	}
	if hc || cc {
		r.HeaderChanged = true
		h := make(http.Header, len(headers)+1)
		if !hc {
			for k, vs := range ev.Header {
				h[k] = vs
			}
		} else {
			r.Host = ""
			for _, e := range headers {
				if e.name == "host" {
					r.Host = e.values[0]
				}
			}
			if err := applyFields(h, headers); err != nil {
				return err
			}
			delete(h, "Host")
		}
		delete(h, "Cookie")
		if !cc {
			if c, ok := ev.Header["Cookie"]; ok {
				h["Cookie"] = c
			}
		} else if c := cookieLine(cookies, false); len(c) > 0 {
			h["Cookie"] = []string{strings.Join(c, "; ")}
		}
		r.Header = h
		if err := checkHeaderSize(h, r.Host); err != nil {
			return err
		}
	}
	out.Request = r
	return nil
}

// checkHeaderSize refuses header fields a viewer could not have sent.
func checkHeaderSize(h http.Header, host string) error {
	n := len(host)
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if n > MaxHeaderBytes {
		return fmt.Errorf("the function returned %d bytes of header fields; at most %d", n, MaxHeaderBytes)
	}
	return nil
}

func (b *built) readResponse(o *goja.Object, out *Outcome) error {
	ev := &b.ev
	code, err := statusCode(o.Get("statusCode"))
	if err != nil {
		return err
	}
	r := &Response{StatusCode: code}
	if d := o.Get("statusDescription"); d != nil && !goja.IsUndefined(d) {
		r.StatusDescription = d.String()
	}
	own := b.hasResponse && o == b.response.obj
	var hf, cf *fields
	if own {
		hf, cf = b.responseHeaders, b.responseCookies
	}
	var ownRecord *record
	if own {
		ownRecord = &b.response
	}
	headers, hc, err := fieldsOf(o, ownRecord, "headers", hf)
	if err != nil {
		return err
	}
	cookies, cc, err := fieldsOf(o, ownRecord, "cookies", cf)
	if err != nil {
		return err
	}
	if own && !hc && !cc {
		r.Header = ev.Response.Header
	} else {
		out.HeaderChanged = true
		r.Header = make(http.Header, len(headers)+1)
		if own && !hc {
			for k, vs := range ev.Response.Header {
				r.Header[k] = vs
			}
		} else if err := applyFields(r.Header, headers); err != nil {
			return err
		}
		delete(r.Header, "Set-Cookie")
		if c := cookieLine(cookies, true); len(c) > 0 {
			r.Header["Set-Cookie"] = c
		}
	}
	switch body := o.Get("body").(type) {
	case nil:
	case *goja.Object:
		data := body.Get("data")
		if data == nil || goja.IsUndefined(data) {
			break
		}
		r.Body = []byte(data.String())
		if enc := body.Get("encoding"); enc != nil && enc.String() == "base64" {
			if r.Body, err = base64.StdEncoding.DecodeString(data.String()); err != nil {
				return fmt.Errorf("the function's body is not base64: %v", err)
			}
		}
	default:
		if !goja.IsUndefined(body) && !goja.IsNull(body) {
			r.Body = []byte(body.String())
		}
	}
	if out.HeaderChanged {
		if err := checkHeaderSize(r.Header, ""); err != nil {
			return err
		}
	}
	if len(r.Body) > MaxBodyBytes {
		return fmt.Errorf("the function's response body is %d bytes; CloudFront allows %d", len(r.Body), MaxBodyBytes)
	}
	out.Response = r
	return nil
}

// module is what require(name) returns.
func (f *Function) module(rt *runtime, name string) goja.Value {
	vm := rt.vm
	switch name {
	case "crypto":
		return f.cryptoModule(vm)
	case "querystring":
		return querystringModule(vm)
	case "buffer":
		o := vm.NewObject()
		o.Set("Buffer", vm.Get("Buffer"))
		return o
	case "cloudfront":
		return f.cloudfrontModule(rt)
	}
	panic(vm.NewGoError(fmt.Errorf("module %q is not provided", name)))
}

func newHash(alg string) (func() hash.Hash, bool) {
	switch strings.ToLower(alg) {
	case "md5":
		return md5.New, true
	case "sha1":
		return sha1.New, true
	case "sha256":
		return sha256.New, true
	case "sha512":
		return sha512.New, true
	}
	return nil, false
}

// digestObject is a hash or an HMAC: update() takes strings (UTF-8) or
// Buffers, digest() gives a string in an encoding, or a Buffer.
func digestObject(vm *goja.Runtime, h hash.Hash) *goja.Object {
	o := vm.NewObject()
	o.Set("update", func(call goja.FunctionCall) goja.Value {
		h.Write(bytesOf(call.Argument(0)))
		return o
	})
	o.Set("digest", func(call goja.FunctionCall) goja.Value {
		sum := h.Sum(nil)
		if enc := call.Argument(0); !goja.IsUndefined(enc) {
			s, err := encodeBytes(sum, enc.String())
			if err != nil {
				panic(vm.NewTypeError(err.Error()))
			}
			return vm.ToValue(s)
		}
		return newBuffer(vm, sum)
	})
	return o
}

// bytesOf reads a string as UTF-8, or a Buffer's (a typed array's) bytes.
func bytesOf(v goja.Value) []byte {
	if o, ok := v.(*goja.Object); ok {
		if b, ok := o.Export().([]byte); ok {
			return b
		}
	}
	return []byte(v.String())
}

// newBuffer makes a Buffer holding b.
func newBuffer(vm *goja.Runtime, b []byte) goja.Value {
	from, _ := goja.AssertFunction(vm.Get("Buffer").ToObject(vm).Get("from"))
	v, err := from(vm.Get("Buffer"), vm.ToValue(vm.NewArrayBuffer(b)))
	if err != nil {
		panic(err)
	}
	return v
}

// encodeBytes and decodeString are Buffer's encodings.
func encodeBytes(b []byte, enc string) (string, error) {
	switch strings.ToLower(enc) {
	case "utf8", "utf-8", "":
		return string(b), nil
	case "hex":
		return hex.EncodeToString(b), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	case "base64url":
		return base64.RawURLEncoding.EncodeToString(b), nil
	case "latin1", "binary", "ascii":
		r := make([]rune, len(b))
		for i, c := range b {
			if enc == "ascii" {
				c &= 127
			}
			r[i] = rune(c)
		}
		return string(r), nil
	}
	return "", fmt.Errorf("unknown encoding %s", enc)
}

func decodeString(s, enc string) ([]byte, error) {
	switch strings.ToLower(enc) {
	case "utf8", "utf-8", "":
		return []byte(s), nil
	case "hex":
		if len(s)%2 == 1 {
			s = s[:len(s)-1] // as Node: an odd last digit is dropped
		}
		return hex.DecodeString(s)
	case "base64", "base64url":
		// Node reads both alphabets, with or without padding.
		s = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(s, "="))
		return base64.RawStdEncoding.DecodeString(s)
	case "latin1", "binary", "ascii":
		b := make([]byte, 0, len(s))
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown encoding %s", enc)
}

func (f *Function) cryptoModule(vm *goja.Runtime) goja.Value {
	o := vm.NewObject()
	o.Set("createHash", func(alg string) *goja.Object {
		nh, ok := newHash(alg)
		if !ok {
			panic(vm.NewTypeError("unsupported hash " + alg))
		}
		return digestObject(vm, nh())
	})
	o.Set("createHmac", func(call goja.FunctionCall) goja.Value {
		alg := call.Argument(0).String()
		nh, ok := newHash(alg)
		if !ok {
			panic(vm.NewTypeError("unsupported hash " + alg))
		}
		return digestObject(vm, hmac.New(nh, bytesOf(call.Argument(1))))
	})
	return o
}

func querystringModule(vm *goja.Runtime) goja.Value {
	o := vm.NewObject()
	o.Set("parse", func(s string) map[string]any {
		out := map[string]any{}
		v, _ := url.ParseQuery(s)
		for k, vs := range v {
			if len(vs) == 1 {
				out[k] = vs[0]
			} else {
				l := make([]any, len(vs))
				for i, x := range vs {
					l[i] = x
				}
				out[k] = l
			}
		}
		return out
	})
	o.Set("stringify", func(m map[string]any) string {
		v := url.Values{}
		for k, x := range m {
			switch y := x.(type) {
			case []any:
				for _, e := range y {
					v.Add(k, fmt.Sprint(e))
				}
			default:
				v.Add(k, fmt.Sprint(y))
			}
		}
		return v.Encode()
	})
	o.Set("decode", o.Get("parse"))
	o.Set("encode", o.Get("stringify"))
	o.Set("escape", url.QueryEscape)
	o.Set("unescape", func(s string) string { u, _ := url.QueryUnescape(s); return u })
	return o
}

// cloudfrontModule is `import cf from 'cloudfront'`: cf.kvs() reads the
// behavior's key-value store; the origin helpers choose the origin of a
// viewer request.
func (f *Function) cloudfrontModule(rt *runtime) goja.Value {
	vm := rt.vm
	o := vm.NewObject()
	o.Set("kvs", func() *goja.Object {
		store := vm.NewObject()
		store.Set("get", func(call goja.FunctionCall) goja.Value {
			key := call.Argument(0).String()
			p, resolve, reject := vm.NewPromise()
			v, ok := f.KVS[key]
			if !ok {
				reject(vm.NewGoError(fmt.Errorf("key %s not found", key)))
				return vm.ToValue(p)
			}
			format := "string"
			if opts, ok := call.Argument(1).(*goja.Object); ok {
				if fv := opts.Get("format"); fv != nil && !goja.IsUndefined(fv) {
					format = fv.String()
				}
			}
			switch format {
			case "json":
				var parsed any
				if err := json.Unmarshal([]byte(v), &parsed); err != nil {
					reject(vm.NewGoError(fmt.Errorf("the value of key %s is not JSON: %v", key, err)))
				} else {
					resolve(vm.ToValue(parsed))
				}
			case "bytes":
				resolve(newBuffer(vm, []byte(v)))
			default:
				resolve(v)
			}
			return vm.ToValue(p)
		})
		store.Set("exists", func(key string) goja.Value {
			p, resolve, _ := vm.NewPromise()
			_, ok := f.KVS[key]
			resolve(ok)
			return vm.ToValue(p)
		})
		store.Set("meta", func() goja.Value {
			p, resolve, _ := vm.NewPromise()
			m := vm.NewObject()
			m.Set("keyCount", len(f.KVS))
			resolve(m)
			return vm.ToValue(p)
		})
		return store
	})
	viewerRequestOnly := func(what string) {
		if rt.eventType != "viewer-request" {
			panic(vm.NewTypeError(what + " can only be used in a viewer request function"))
		}
	}
	o.Set("selectRequestOriginById", func(id string) {
		viewerRequestOnly("cf.selectRequestOriginById")
		rt.origin = &OriginChange{ID: id}
	})
	o.Set("updateRequestOrigin", func(params *goja.Object) {
		viewerRequestOnly("cf.updateRequestOrigin")
		if params == nil {
			panic(vm.NewTypeError("cf.updateRequestOrigin needs an object"))
		}
		c, err := readOriginChange(params)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		rt.origin = c
	})
	o.Set("createRequestOriginGroup", func(params *goja.Object) {
		viewerRequestOnly("cf.createRequestOriginGroup")
		if params == nil {
			panic(vm.NewTypeError("cf.createRequestOriginGroup needs an object"))
		}
		c := &OriginChange{}
		if err := vm.ExportTo(params.Get("originIds"), &c.Group); err != nil || len(c.Group) != 2 {
			panic(vm.NewTypeError("cf.createRequestOriginGroup needs originIds: two origin ids"))
		}
		if fc, ok := params.Get("failoverCriteria").(*goja.Object); ok {
			if err := vm.ExportTo(fc.Get("statusCodes"), &c.FailoverStatusCodes); err != nil {
				panic(vm.NewTypeError("failoverCriteria.statusCodes must be a list of status codes"))
			}
		}
		rt.origin = c
	})
	return o
}
