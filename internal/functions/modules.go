package functions

// The modules runtime 2.0 offers: crypto, querystring, buffer, cloudfront.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/url"
	"strings"

	"github.com/dop251/goja"
)

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
