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
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"regexp"
	"strings"
	"sync"
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
)

// Function is a compiled function.
type Function struct {
	Name   string
	prog   *goja.Program
	pool   sync.Pool
	Budget time.Duration
	KVS    map[string]string // cf.kvs(), when the behavior names a store
}

// ErrBudget is an invocation stopped at its time budget.
var ErrBudget = errors.New("the function ran past its time budget")

var importLine = regexp.MustCompile(`(?m)^\s*import\s+(\w+)\s+from\s+['"]([\w-]+)['"]\s*;?`)

// Compile checks and compiles a function's source. Errors name the line.
func Compile(name, source string) (*Function, error) {
	if len(source) > MaxCodeSize {
		return nil, fmt.Errorf("function %s is %d bytes; CloudFront allows %d", name, len(source), MaxCodeSize)
	}
	// Runtime 2.0's `import x from 'module'` becomes a require call.
	var bad []string
	src := importLine.ReplaceAllStringFunc(source, func(line string) string {
		m := importLine.FindStringSubmatch(line)
		if !knownModule(m[2]) {
			bad = append(bad, m[2])
		}
		return fmt.Sprintf("var %s = require(%q);", m[1], m[2])
	})
	if len(bad) > 0 {
		return nil, fmt.Errorf("function %s imports %s, which CloudFront Functions do not provide (crypto, querystring, buffer, cloudfront)", name, strings.Join(bad, ", "))
	}
	prog, err := goja.Compile(name, src, true)
	if err != nil {
		return nil, fmt.Errorf("function %s: %v", name, err)
	}
	f := &Function{Name: name, prog: prog, Budget: Budget}
	// Run it once now: a missing handler is a config error, not a 503.
	vm, err := f.newRuntime()
	if err != nil {
		return nil, err
	}
	f.pool.Put(vm)
	return f, nil
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
	logs    *[]string
}

func (f *Function) newRuntime() (*runtime, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(MaxStack)
	rt := &runtime{vm: vm, logs: new([]string)}
	console := vm.NewObject()
	console.Set("log", func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		*rt.logs = append(*rt.logs, strings.Join(parts, " "))
		return goja.Undefined()
	})
	vm.Set("console", console)
	vm.Set("require", func(name string) goja.Value { return f.module(vm, name) })
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

// Run calls the handler with event and returns what it returned, exported
// to Go values, and what it logged.
func (f *Function) Run(event map[string]any) (result any, logs []string, err error) {
	rt, _ := f.pool.Get().(*runtime)
	if rt == nil {
		if rt, err = f.newRuntime(); err != nil {
			return nil, nil, err
		}
	}
	*rt.logs = nil
	budget := f.Budget
	if budget <= 0 {
		budget = Budget
	}
	timer := time.AfterFunc(budget, func() { rt.vm.Interrupt(ErrBudget) })
	v, err := rt.handler(goja.Undefined(), rt.vm.ToValue(event))
	timer.Stop()
	logs = *rt.logs
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			// An interrupted runtime is left as it is: start afresh.
			return nil, logs, ErrBudget
		}
		f.pool.Put(rt)
		return nil, logs, err
	}
	if p, ok := v.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			v = p.Result()
		case goja.PromiseStateRejected:
			f.pool.Put(rt)
			return nil, logs, fmt.Errorf("the handler's promise was rejected: %v", p.Result())
		default:
			f.pool.Put(rt)
			return nil, logs, errors.New("the handler's promise never settled")
		}
	}
	result = v.Export()
	f.pool.Put(rt)
	return result, logs, nil
}

// module is what require(name) returns.
func (f *Function) module(vm *goja.Runtime, name string) goja.Value {
	switch name {
	case "crypto":
		return f.cryptoModule(vm)
	case "querystring":
		return querystringModule(vm)
	case "buffer":
		o := vm.NewObject()
		o.Set("Buffer", vm.Get("Buffer"))
		if b := vm.Get("Buffer"); b == nil || goja.IsUndefined(b) {
			o.Set("Buffer", bufferObject(vm))
		}
		return o
	case "cloudfront":
		return f.cloudfrontModule(vm)
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

func digestObject(vm *goja.Runtime, h hash.Hash) *goja.Object {
	o := vm.NewObject()
	o.Set("update", func(data string) *goja.Object { h.Write([]byte(data)); return o })
	o.Set("digest", func(call goja.FunctionCall) goja.Value {
		sum := h.Sum(nil)
		switch call.Argument(0).String() {
		case "hex":
			return vm.ToValue(hex.EncodeToString(sum))
		case "base64":
			return vm.ToValue(base64.StdEncoding.EncodeToString(sum))
		case "base64url":
			return vm.ToValue(base64.RawURLEncoding.EncodeToString(sum))
		}
		return vm.ToValue(string(sum))
	})
	return o
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
	o.Set("createHmac", func(alg, key string) *goja.Object {
		nh, ok := newHash(alg)
		if !ok {
			panic(vm.NewTypeError("unsupported hash " + alg))
		}
		return digestObject(vm, hmac.New(nh, []byte(key)))
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
	o.Set("escape", url.QueryEscape)
	o.Set("unescape", func(s string) string { u, _ := url.QueryUnescape(s); return u })
	return o
}

// bufferObject is the part of Node's Buffer that functions use: from()
// and toString() with utf8, base64, base64url and hex.
func bufferObject(vm *goja.Runtime) *goja.Object {
	b := vm.NewObject()
	b.Set("from", func(data, enc string) *goja.Object {
		var raw []byte
		switch enc {
		case "base64":
			raw, _ = base64.StdEncoding.DecodeString(data)
		case "base64url":
			raw, _ = base64.RawURLEncoding.DecodeString(strings.TrimRight(data, "="))
		case "hex":
			raw, _ = hex.DecodeString(data)
		default:
			raw = []byte(data)
		}
		o := vm.NewObject()
		o.Set("length", len(raw))
		o.Set("toString", func(enc string) string {
			switch enc {
			case "base64":
				return base64.StdEncoding.EncodeToString(raw)
			case "base64url":
				return base64.RawURLEncoding.EncodeToString(raw)
			case "hex":
				return hex.EncodeToString(raw)
			}
			return string(raw)
		})
		return o
	})
	return b
}

// cloudfrontModule is `import cf from 'cloudfront'`: cf.kvs() reads the
// behavior's key-value store.
func (f *Function) cloudfrontModule(vm *goja.Runtime) goja.Value {
	o := vm.NewObject()
	o.Set("kvs", func() *goja.Object {
		store := vm.NewObject()
		store.Set("get", func(call goja.FunctionCall) goja.Value {
			key := call.Argument(0).String()
			p, resolve, reject := vm.NewPromise()
			if v, ok := f.KVS[key]; ok {
				resolve(v)
			} else {
				reject(vm.NewGoError(fmt.Errorf("key %s not found", key)))
			}
			return vm.ToValue(p)
		})
		store.Set("exists", func(key string) goja.Value {
			p, resolve, _ := vm.NewPromise()
			_, ok := f.KVS[key]
			resolve(ok)
			return vm.ToValue(p)
		})
		return store
	})
	return o
}
