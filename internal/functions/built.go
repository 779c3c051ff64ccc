package functions

// An invocation's event, as the function sees it, and what it returns,
// read back.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/dop251/goja"
)

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
