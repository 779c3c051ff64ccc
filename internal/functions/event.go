package functions

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"
)

// Event is what a handler is called with: CloudFront's event object,
// version 1.0. The JavaScript objects are made from it lazily: a field
// list the function never reads is never built.
type Event struct {
	Type                   string // "viewer-request" or "viewer-response"
	DistributionDomainName string
	DistributionID         string
	RequestID              string
	ViewerIP               string     // or, when "", Viewer
	Viewer                 netip.Addr // the viewer's address, formatted only when read
	Method                 string
	URI                    string // the path, decoded
	RawQuery               string
	Host                   string
	Header                 http.Header // the viewer's fields; Cookie gives event.request.cookies
	// Response is the answer a viewer-response function sees.
	Response *Response
}

// Response is an answer: the one a viewer-response function is given, or
// the one a function returns. Header holds Set-Cookie lines too.
type Response struct {
	StatusCode        int
	StatusDescription string
	Header            http.Header
	Body              []byte // an answer made by the function
}

// Outcome is what the handler returned: a request (Request) or a response.
type Outcome struct {
	Request  *Request
	Response *Response
	// HeaderChanged says the returned response's fields differ from the
	// ones the viewer-response function was given.
	HeaderChanged bool
	// Origin is the origin chosen by cf.selectRequestOriginById,
	// cf.updateRequestOrigin or cf.createRequestOriginGroup, if any.
	Origin *OriginChange
	Logs   []string
}

// Request is the request a viewer-request function returned. Only what
// changed needs applying: the flags say what did.
type Request struct {
	URI           string
	RawQuery      string
	QueryChanged  bool
	Host          string
	Header        http.Header // Cookie among them, when HeaderChanged
	HeaderChanged bool        // headers or cookies
}

// field is one name of a field list (headers, query string parameters,
// cookies) with its values and, for a response's cookies, attributes.
type field struct {
	name   string
	values []string
	attrs  []string
}

// fields is a field list as a JavaScript object, {name: {value,
// multiValue}}. It builds a property's object only when the function reads
// it and keeps what the function sets or deletes, so that an untouched
// list costs nothing and is known to be unchanged.
type fields struct {
	vm      *goja.Runtime
	obj     *goja.Object
	load    func() []field
	entries []field
	loaded  bool
	attrs   bool // cookies of a response: {value, attributes}
	props   map[string]goja.Value
	deleted map[string]bool
	added   []string // names the function added, in order
	touched bool
}

func newFields(vm *goja.Runtime, attrs bool, load func() []field) *fields {
	f := &fields{vm: vm, load: load, attrs: attrs}
	f.obj = vm.NewDynamicObject(f)
	return f
}

func (f *fields) list() []field {
	if !f.loaded {
		f.entries, f.loaded = f.load(), true
	}
	return f.entries
}

func (f *fields) find(key string) *field {
	for i := range f.list() {
		if f.entries[i].name == key {
			return &f.entries[i]
		}
	}
	return nil
}

func (f *fields) Get(key string) goja.Value {
	if v, ok := f.props[key]; ok {
		return v
	}
	if f.deleted[key] {
		return nil
	}
	e := f.find(key)
	if e == nil {
		return nil
	}
	v := f.valueObject(e)
	f.set(key, v)
	return v
}

// valueObject is {value, multiValue?, attributes?} for one name.
func (f *fields) valueObject(e *field) *goja.Object {
	vm := f.vm
	one := func(i int) *goja.Object {
		o := vm.NewObject()
		o.Set("value", e.values[i])
		if f.attrs {
			a := ""
			if i < len(e.attrs) {
				a = e.attrs[i]
			}
			o.Set("attributes", a)
		}
		return o
	}
	o := one(0)
	if len(e.values) > 1 {
		l := make([]any, len(e.values))
		for i := range e.values {
			l[i] = one(i)
		}
		o.Set("multiValue", vm.NewArray(l...))
	}
	return o
}

func (f *fields) set(key string, v goja.Value) {
	if f.props == nil {
		f.props = make(map[string]goja.Value, 4)
	}
	if _, ok := f.props[key]; !ok && f.find(key) == nil {
		f.added = append(f.added, key)
	}
	f.props[key] = v
	f.touched = true
}

func (f *fields) Set(key string, v goja.Value) bool {
	delete(f.deleted, key)
	f.set(key, v)
	return true
}

func (f *fields) Has(key string) bool {
	if _, ok := f.props[key]; ok {
		return true
	}
	return !f.deleted[key] && f.find(key) != nil
}

func (f *fields) Delete(key string) bool {
	if f.deleted == nil {
		f.deleted = make(map[string]bool, 2)
	}
	f.deleted[key] = true
	delete(f.props, key)
	f.added = slices.DeleteFunc(f.added, func(k string) bool { return k == key })
	f.touched = true
	return true
}

func (f *fields) Keys() []string {
	var keys []string
	for _, e := range f.list() {
		if !f.deleted[e.name] {
			keys = append(keys, e.name)
		}
	}
	for _, k := range f.added {
		if _, ok := f.props[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// result is the list as the function left it.
func (f *fields) result() ([]field, error) {
	out := make([]field, 0, len(f.list()))
	for _, k := range f.Keys() {
		v, ok := f.props[k]
		if !ok {
			out = append(out, *f.find(k))
			continue
		}
		e, err := readField(k, v)
		if err != nil {
			return nil, err
		}
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, nil
}

// readFields reads a field list the function returned: one of ours, or an
// object of its own.
func readFields(v goja.Value, ours *fields) (list []field, changed bool, err error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, ours == nil || len(ours.list()) > 0, nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, false, fmt.Errorf("a field list is %s, not an object", v)
	}
	if ours != nil && o == ours.obj {
		if !ours.touched {
			return ours.list(), false, nil
		}
		list, err = ours.result()
		return list, err == nil && !sameFields(list, ours.list()), err
	}
	for _, k := range o.Keys() {
		e, err := readField(k, o.Get(k))
		if err != nil {
			return nil, false, err
		}
		if e != nil {
			list = append(list, *e)
		}
	}
	return list, true, nil
}

// readField reads {value, multiValue, attributes}.
func readField(name string, v goja.Value) (*field, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("%s is %q, not an object with a value", name, v.String())
	}
	e := &field{name: name}
	add := func(o *goja.Object) {
		val := o.Get("value")
		if val == nil || goja.IsUndefined(val) {
			return
		}
		e.values = append(e.values, val.String())
		a := ""
		if av := o.Get("attributes"); av != nil && !goja.IsUndefined(av) && !goja.IsNull(av) {
			a = av.String()
		}
		e.attrs = append(e.attrs, a)
	}
	if mv, ok := o.Get("multiValue").(*goja.Object); ok {
		for _, k := range mv.Keys() {
			if eo, ok := mv.Get(k).(*goja.Object); ok {
				add(eo)
			}
		}
	}
	if len(e.values) == 0 {
		add(o)
	}
	if len(e.values) == 0 {
		return nil, nil
	}
	return e, nil
}

func sameFields(a, b []field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || len(a[i].values) != len(b[i].values) {
			return false
		}
		for j := range a[i].values {
			if a[i].values[j] != b[i].values[j] {
				return false
			}
		}
		for j := range a[i].values {
			if attr(a[i].attrs, j) != attr(b[i].attrs, j) {
				return false
			}
		}
	}
	return true
}

func attr(attrs []string, i int) string {
	if i < len(attrs) {
		return attrs[i]
	}
	return ""
}

// headerFields lists HTTP fields with CloudFront's lower-case names,
// leaving out skip (Cookie or Set-Cookie, which are lists of their own).
func headerFields(h http.Header, host, skip string) []field {
	out := make([]field, 0, len(h)+1)
	if host != "" {
		out = append(out, field{name: "host", values: []string{host}})
	}
	for k, vs := range h {
		if k == skip || len(vs) == 0 || k == "Host" {
			continue
		}
		out = append(out, field{name: strings.ToLower(k), values: vs})
	}
	return out
}

// queryFields parses a query string in its order, values decoded.
func queryFields(raw string) []field {
	var out []field
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		appendValue(&out, k, v, "")
	}
	return out
}

func appendValue(out *[]field, name, value, attrs string) {
	for i := range *out {
		if (*out)[i].name == name {
			(*out)[i].values = append((*out)[i].values, value)
			(*out)[i].attrs = append((*out)[i].attrs, attrs)
			return
		}
	}
	*out = append(*out, field{name: name, values: []string{value}, attrs: []string{attrs}})
}

// requestCookies reads the Cookie fields.
func requestCookies(h http.Header) []field {
	var out []field
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || name == "" {
				continue
			}
			appendValue(&out, name, value, "")
		}
	}
	return out
}

// responseCookies reads the Set-Cookie fields: value and attributes.
func responseCookies(h http.Header) []field {
	var out []field
	for _, line := range h["Set-Cookie"] {
		pair, attrs, _ := strings.Cut(line, ";")
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || name == "" {
			continue
		}
		appendValue(&out, name, value, strings.TrimSpace(attrs))
	}
	return out
}

// encodeQuery writes a query string from its fields.
func encodeQuery(list []field) string {
	var b strings.Builder
	for _, e := range list {
		for _, v := range e.values {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(e.name))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// applyFields writes header fields into h, checking names and values.
func applyFields(h http.Header, list []field) error {
	for _, e := range list {
		name := http.CanonicalHeaderKey(e.name)
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("the function returned a header %q that is not a field name", e.name)
		}
		for _, v := range e.values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("the function returned header %s with a control character", name)
			}
		}
		h[name] = e.values
	}
	return nil
}

func cookieLine(list []field, attrs bool) []string {
	var out []string
	for _, e := range list {
		for i, v := range e.values {
			c := e.name + "=" + v
			if attrs && i < len(e.attrs) && e.attrs[i] != "" {
				c += "; " + e.attrs[i]
			}
			out = append(out, c)
		}
	}
	return out
}

func statusCode(v goja.Value) (int, error) {
	if v == nil || goja.IsUndefined(v) {
		return 0, fmt.Errorf("the function returned a response without statusCode")
	}
	code, err := strconv.Atoi(v.String())
	if err != nil || code < 200 || code > 599 {
		return 0, fmt.Errorf("the function returned statusCode %s", v.String())
	}
	return code, nil
}

// prop is a property of a record: its value, or how to make it.
type prop struct {
	name string
	v    goja.Value
	lazy string // what to ask the maker for, when not ""
	str  string // the value when v and lazy are unset
}

// maker makes a record's lazy properties.
type maker interface{ make(lazy string) goja.Value }

// record is an ordinary-looking JavaScript object with a few known
// properties, each made when first read. Properties the function adds or
// deletes behave as on any object.
type record struct {
	vm    *goja.Runtime
	obj   *goja.Object
	maker maker
	props []prop
	gone  []bool
	extra map[string]goja.Value
	order []string
}

func newRecord(vm *goja.Runtime, m maker, props ...prop) *record {
	r := &record{}
	r.setup(vm, m)
	r.reset(props)
	return r
}

func (r *record) setup(vm *goja.Runtime, m maker) {
	r.vm, r.maker = vm, m
	r.obj = vm.NewDynamicObject(r)
}

// reset gives the record new properties and forgets what the function
// added or deleted.
func (r *record) reset(props []prop) {
	r.props, r.gone, r.extra, r.order = props, nil, nil, r.order[:0]
}

// untouched says that o is this record and that its lazy property key was
// never read nor set: the function left it as the event had it.
func (r *record) untouched(o *goja.Object, key string) bool {
	if r == nil || r.obj == nil || o != r.obj {
		return false
	}
	i := r.index(key)
	return i >= 0 && r.props[i].v == nil && r.props[i].lazy != ""
}

func (r *record) index(key string) int {
	for i := range r.props {
		if r.props[i].name == key {
			return i
		}
	}
	return -1
}

func (r *record) Get(key string) goja.Value {
	if i := r.index(key); i >= 0 {
		if r.gone != nil && r.gone[i] {
			return nil
		}
		p := &r.props[i]
		if p.v == nil {
			if p.lazy != "" {
				p.v, p.lazy = r.maker.make(p.lazy), ""
			} else {
				p.v = r.vm.ToValue(p.str)
			}
		}
		return p.v
	}
	return r.extra[key]
}

func (r *record) Set(key string, v goja.Value) bool {
	if i := r.index(key); i >= 0 {
		r.props[i].v, r.props[i].lazy = v, ""
		if r.gone != nil {
			r.gone[i] = false
		}
		return true
	}
	if r.extra == nil {
		r.extra = map[string]goja.Value{}
	}
	if _, ok := r.extra[key]; !ok {
		r.order = append(r.order, key)
	}
	r.extra[key] = v
	return true
}

func (r *record) Has(key string) bool {
	if i := r.index(key); i >= 0 {
		return r.gone == nil || !r.gone[i]
	}
	_, ok := r.extra[key]
	return ok
}

func (r *record) Delete(key string) bool {
	if i := r.index(key); i >= 0 {
		if r.gone == nil {
			r.gone = make([]bool, len(r.props))
		}
		r.gone[i] = true
		r.props[i].v, r.props[i].lazy = nil, ""
		return true
	}
	if _, ok := r.extra[key]; ok {
		delete(r.extra, key)
		r.order = slices.DeleteFunc(r.order, func(k string) bool { return k == key })
	}
	return true
}

func (r *record) Keys() []string {
	keys := make([]string, 0, len(r.props)+len(r.order))
	for i, p := range r.props {
		if r.gone == nil || !r.gone[i] {
			keys = append(keys, p.name)
		}
	}
	return append(keys, r.order...)
}
