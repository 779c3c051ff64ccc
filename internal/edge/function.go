package edge

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
)

// behaviorFunctions compiles a behavior's CloudFront Functions.
func compileFunctions(c *config.Functions, stores map[string]config.KeyValueStore) (req, resp *functions.Function, err error) {
	if c == nil {
		return nil, nil, nil
	}
	var kvs map[string]string
	if c.KeyValueStore != "" {
		if kvs, err = config.LoadKeyValueStore(stores[c.KeyValueStore].File); err != nil {
			return nil, nil, err
		}
	}
	load := func(file string) (*functions.Function, error) {
		if file == "" {
			return nil, nil
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		f, err := functions.Compile(file, string(src))
		if f != nil {
			f.KVS = kvs
		}
		return f, err
	}
	if req, err = load(c.ViewerRequest); err != nil {
		return nil, nil, err
	}
	resp, err = load(c.ViewerResponse)
	return req, resp, err
}

// multi turns HTTP fields into CloudFront's {value, multiValue} objects.
func multi(vs []string) map[string]any {
	o := map[string]any{"value": vs[0]}
	if len(vs) > 1 {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = map[string]any{"value": v}
		}
		o["multiValue"] = l
	}
	return o
}

// requestEvent is CloudFront's event object for a viewer request.
func (b *Behavior) requestEvent(r *http.Request, ex *exchange, eventType string) map[string]any {
	headers := map[string]any{"host": map[string]any{"value": r.Host}}
	for k, vs := range r.Header {
		if k == "Cookie" || len(vs) == 0 {
			continue
		}
		headers[strings.ToLower(k)] = multi(vs)
	}
	qs := map[string]any{}
	for k, vs := range r.URL.Query() {
		qs[k] = multi(vs)
	}
	cookies := map[string]any{}
	byName := map[string][]string{}
	for _, c := range parseCookies(r.Header) {
		byName[c.Name] = append(byName[c.Name], c.Value)
	}
	for k, vs := range byName {
		cookies[k] = multi(vs)
	}
	return map[string]any{
		"version": "1.0",
		"context": map[string]any{"distributionDomainName": r.Host, "distributionId": b.dist.Name, "eventType": eventType, "requestId": ex.id},
		"viewer":  map[string]any{"ip": ex.client.String()},
		"request": map[string]any{"method": r.Method, "uri": r.URL.Path, "querystring": qs, "headers": headers, "cookies": cookies},
	}
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// values reads a {value, multiValue} object.
func values(v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if l, ok := m["multiValue"].([]any); ok && len(l) > 0 {
		out := make([]string, 0, len(l))
		for _, e := range l {
			if em, ok := e.(map[string]any); ok {
				out = append(out, str(em["value"]))
			}
		}
		return out
	}
	return []string{str(m["value"])}
}

var errBadFunctionResult = errors.New("the function returned neither a request nor a response")

// applyRequest makes the request a viewer-request function returned.
func applyRequest(r *http.Request, res map[string]any) (*http.Request, error) {
	r2 := r.Clone(r.Context())
	if uri, ok := res["uri"].(string); ok {
		if !strings.HasPrefix(uri, "/") {
			return nil, fmt.Errorf("the function returned uri %q, which does not start with /", uri)
		}
		r2.URL.Path, r2.URL.RawPath = uri, ""
	}
	if qs, ok := res["querystring"].(map[string]any); ok {
		keys := make([]string, 0, len(qs))
		for k := range qs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			for _, v := range values(qs[k]) {
				parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
			}
		}
		r2.URL.RawQuery = strings.Join(parts, "&")
	}
	if hs, ok := res["headers"].(map[string]any); ok {
		h := http.Header{}
		for k, v := range hs {
			name := http.CanonicalHeaderKey(k)
			if name == "Host" {
				if vs := values(v); len(vs) > 0 {
					r2.Host = vs[0]
				}
				continue
			}
			if !config.ValidFieldName(name) {
				return nil, fmt.Errorf("the function returned a header %q that is not a field name", k)
			}
			h[name] = values(v)
		}
		if c := r.Header["Cookie"]; c != nil {
			h["Cookie"] = c
		}
		r2.Header = h
	}
	if cs, ok := res["cookies"].(map[string]any); ok {
		var parts []string
		for k, v := range cs {
			for _, val := range values(v) {
				parts = append(parts, k+"="+val)
			}
		}
		sort.Strings(parts)
		if len(parts) > 0 {
			r2.Header["Cookie"] = []string{strings.Join(parts, "; ")}
		} else {
			delete(r2.Header, "Cookie")
		}
	}
	return r2, nil
}

// writeFunctionResponse answers with the response a function built.
func writeFunctionResponse(w http.ResponseWriter, res map[string]any, head bool) error {
	code, err := strconv.Atoi(str(res["statusCode"]))
	if err != nil || code < 200 || code > 599 {
		return fmt.Errorf("the function returned statusCode %v", res["statusCode"])
	}
	h := w.Header()
	if err := setResponseFields(h, res); err != nil {
		return err
	}
	var body []byte
	switch bv := res["body"].(type) {
	case string:
		body = []byte(bv)
	case map[string]any:
		body = []byte(str(bv["data"]))
		if str(bv["encoding"]) == "base64" {
			if body, err = base64.StdEncoding.DecodeString(string(body)); err != nil {
				return fmt.Errorf("the function's body is not base64: %v", err)
			}
		}
	}
	stamp(h, xcacheMiss)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	if !head {
		w.Write(body)
	}
	return nil
}

// setResponseFields sets the headers and cookies of a function's response.
func setResponseFields(h http.Header, res map[string]any) error {
	if hs, ok := res["headers"].(map[string]any); ok {
		for k, v := range hs {
			name := http.CanonicalHeaderKey(k)
			if !config.ValidFieldName(name) {
				return fmt.Errorf("the function returned a header %q that is not a field name", k)
			}
			vs := values(v)
			for _, val := range vs {
				if strings.ContainsAny(val, "\r\n\x00") {
					return fmt.Errorf("the function returned header %s with a line break", name)
				}
			}
			h[name] = vs
		}
	}
	if cs, ok := res["cookies"].(map[string]any); ok {
		delete(h, "Set-Cookie")
		for name, v := range cs {
			m, _ := v.(map[string]any)
			for _, val := range values(v) {
				c := name + "=" + val
				if a := str(m["attributes"]); a != "" {
					c += "; " + a
				}
				h.Add("Set-Cookie", c)
			}
		}
	}
	return nil
}

// functionFailed answers 503 for a function that threw, ran out of time or
// returned something that is not a request or a response.
func (b *Behavior) functionFailed(w http.ResponseWriter, r *http.Request, ex *exchange, f string, err error) {
	b.dist.log.Warn("function failed", "distribution", b.dist.Name, "function", f, "request_id", ex.id, "err", err)
	b.dist.fail(w, r, ex, http.StatusServiceUnavailable, "the distribution's function failed")
}

// runViewerRequest runs the behavior's viewer-request function. It returns
// the request to go on with, or false when the function (or its failure)
// answered.
func (b *Behavior) runViewerRequest(w http.ResponseWriter, r *http.Request, ex *exchange) (*http.Request, bool) {
	f := b.viewerRequest
	res, logs, err := f.Run(b.requestEvent(r, ex, "viewer-request"))
	for _, l := range logs {
		b.dist.log.Info("function log", "function", f.Name, "request_id", ex.id, "line", l)
	}
	if err != nil {
		b.functionFailed(w, r, ex, f.Name, err)
		return nil, false
	}
	m, ok := res.(map[string]any)
	if !ok {
		b.functionFailed(w, r, ex, f.Name, errBadFunctionResult)
		return nil, false
	}
	if _, isResponse := m["statusCode"]; isResponse {
		if err := writeFunctionResponse(w, m, r.Method == http.MethodHead); err != nil {
			b.functionFailed(w, r, ex, f.Name, err)
		}
		return nil, false
	}
	r2, err := applyRequest(r, m)
	if err != nil {
		b.functionFailed(w, r, ex, f.Name, err)
		return nil, false
	}
	return r2, true
}

// responseFunctionWriter runs the viewer-response function when the
// answer's header is written.
type responseFunctionWriter struct {
	http.ResponseWriter
	b      *Behavior
	r      *http.Request
	ex     *exchange
	done   bool
	failed bool
}

func (fw *responseFunctionWriter) WriteHeader(code int) {
	if fw.done || code < 200 {
		if !fw.failed {
			fw.ResponseWriter.WriteHeader(code)
		}
		return
	}
	fw.done = true
	f := fw.b.viewerResponse
	h := fw.Header()
	headers := map[string]any{}
	for k, vs := range h {
		if k != "Set-Cookie" && len(vs) > 0 {
			headers[strings.ToLower(k)] = multi(vs)
		}
	}
	cookies := map[string]any{}
	for _, c := range (&http.Response{Header: http.Header{"Set-Cookie": h["Set-Cookie"]}}).Cookies() {
		cookies[c.Name] = map[string]any{"value": c.Value}
	}
	ev := fw.b.requestEvent(fw.r, fw.ex, "viewer-response")
	ev["response"] = map[string]any{"statusCode": code, "statusDescription": http.StatusText(code), "headers": headers, "cookies": cookies}
	res, logs, err := f.Run(ev)
	for _, l := range logs {
		fw.b.dist.log.Info("function log", "function", f.Name, "request_id", fw.ex.id, "line", l)
	}
	m, _ := res.(map[string]any)
	if err == nil && m == nil {
		err = errBadFunctionResult
	}
	if err == nil {
		if c, cerr := strconv.Atoi(str(m["statusCode"])); cerr == nil && c >= 200 && c <= 599 {
			code = c
		} else if m["statusCode"] != nil {
			err = fmt.Errorf("the function returned statusCode %v", m["statusCode"])
		}
	}
	if err == nil {
		next := http.Header{}
		for _, k := range []string{"X-Cache", "Via", "X-Edge-Request-Id", "Content-Length", "Content-Encoding", "Transfer-Encoding"} {
			if v, ok := h[k]; ok {
				next[k] = v
			}
		}
		if err = setResponseFields(next, m); err == nil {
			clear(h)
			for k, v := range next {
				h[k] = v
			}
		}
	}
	if err != nil {
		fw.failed = true
		clear(h)
		fw.b.functionFailed(fw.ResponseWriter, fw.r, fw.ex, f.Name, err)
		return
	}
	fw.ResponseWriter.WriteHeader(code)
}

func (fw *responseFunctionWriter) Write(p []byte) (int, error) {
	if !fw.done {
		fw.WriteHeader(http.StatusOK)
	}
	if fw.failed {
		return len(p), nil // the answer was replaced by the 503
	}
	return fw.ResponseWriter.Write(p)
}

func (fw *responseFunctionWriter) Flush() {
	if !fw.done {
		fw.WriteHeader(http.StatusOK)
	}
	if f, ok := fw.ResponseWriter.(http.Flusher); ok && !fw.failed {
		f.Flush()
	}
}

func (fw *responseFunctionWriter) Unwrap() http.ResponseWriter { return fw.ResponseWriter }
