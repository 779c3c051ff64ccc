package edge

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// headerPolicy is a compiled response headers policy (CloudFront's): CORS,
// security and custom headers, headers removed, Server-Timing.
type headerPolicy struct {
	set          []headerSet
	remove       []string
	cors         *corsPolicy
	serverTiming float64 // sampling rate in percent; 0 off
}

type headerSet struct {
	name, value string
	override    bool
}

type corsPolicy struct {
	origins         []string // "*" for any
	headers         string
	methods         string
	expose          string
	maxAge          string
	credentials     bool
	override        bool
	answerPreflight bool
}

// managedPolicies are CloudFront's managed response headers policies.
func managedPolicy(name string) *config.ResponseHeaders {
	no := func(v string) *config.HeaderSetting { return &config.HeaderSetting{Value: v} }
	security := &config.SecurityHeaders{
		StrictTransportSecurity: no("max-age=31536000"),
		ContentTypeOptions:      &config.HeaderSetting{Value: "nosniff", Override: true},
		FrameOptions:            no("SAMEORIGIN"),
		ReferrerPolicy:          no("strict-origin-when-cross-origin"),
		XSSProtection:           no("1; mode=block"),
	}
	simple := &config.CORSPolicy{AllowOrigins: []string{"*"}}
	preflight := &config.CORSPolicy{AllowOrigins: []string{"*"}, AllowMethods: []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}, ExposeHeaders: []string{"*"}}
	switch name {
	case "SimpleCORS":
		return &config.ResponseHeaders{CORS: simple}
	case "CORS-With-Preflight":
		return &config.ResponseHeaders{CORS: preflight}
	case "SecurityHeadersPolicy":
		return &config.ResponseHeaders{Security: security}
	case "CORS-and-SecurityHeadersPolicy":
		return &config.ResponseHeaders{CORS: simple, Security: security}
	case "CORS-with-preflight-and-SecurityHeadersPolicy":
		return &config.ResponseHeaders{CORS: preflight, Security: security}
	}
	return nil
}

func compileHeaderPolicy(c *config.ResponseHeaders) *headerPolicy {
	if c == nil {
		return nil
	}
	if c.Policy != "" {
		c = managedPolicy(c.Policy)
		if c == nil {
			return nil
		}
	}
	p := &headerPolicy{}
	if s := c.Security; s != nil {
		for _, h := range []struct {
			name string
			s    *config.HeaderSetting
		}{
			{"Strict-Transport-Security", s.StrictTransportSecurity}, {"Content-Security-Policy", s.ContentSecurityPolicy},
			{"X-Content-Type-Options", s.ContentTypeOptions}, {"X-Frame-Options", s.FrameOptions},
			{"Referrer-Policy", s.ReferrerPolicy}, {"X-Xss-Protection", s.XSSProtection},
		} {
			if h.s != nil {
				p.set = append(p.set, headerSet{h.name, h.s.Value, h.s.Override})
			}
		}
	}
	for _, h := range c.Custom {
		p.set = append(p.set, headerSet{http.CanonicalHeaderKey(h.Header), h.Value, h.Override == nil || *h.Override})
	}
	for _, h := range c.Remove {
		p.remove = append(p.remove, http.CanonicalHeaderKey(h))
	}
	if st := c.ServerTiming; st != nil && st.Enabled {
		p.serverTiming = st.SamplingRate
	}
	if cc := c.CORS; cc != nil {
		cp := &corsPolicy{origins: cc.AllowOrigins, credentials: cc.AllowCredentials, override: cc.OriginOverride, answerPreflight: cc.AnswerPreflight}
		if len(cp.origins) == 0 {
			cp.origins = []string{"*"}
		}
		methods := cc.AllowMethods
		if len(methods) == 0 {
			methods = []string{"GET", "HEAD"}
		}
		if slices.Contains(methods, "ALL") {
			methods = config.KnownMethods
		}
		cp.methods = strings.Join(methods, ", ")
		cp.headers = strings.Join(cc.AllowHeaders, ", ")
		cp.expose = strings.Join(cc.ExposeHeaders, ", ")
		if cc.MaxAge != nil {
			cp.maxAge = strconv.FormatInt(int64(*cc.MaxAge), 10)
		}
		p.cors = cp
	}
	return p
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin is the Access-Control-Allow-Origin for a request from
// origin, "" when the policy does not allow it.
func (c *corsPolicy) allowOrigin(origin string) string {
	for _, o := range c.origins {
		if o == "*" {
			if c.credentials {
				return origin
			}
			return "*"
		}
		if strings.EqualFold(o, origin) {
			return origin
		}
	}
	return ""
}

// hookWriter calls hook once, when the answer's final header is about to
// be written: it may change the header and the status, or answer itself
// (false), after which what the handler writes goes nowhere. The response
// headers policy and the viewer-response function are such hooks.
type hookWriter struct {
	http.ResponseWriter
	hook     func(code int) (int, bool)
	done     bool
	answered bool // the hook answered instead
}

func (hw *hookWriter) WriteHeader(code int) {
	if hw.answered {
		return
	}
	if !hw.done && code >= 200 {
		hw.done = true
		var goOn bool
		if code, goOn = hw.hook(code); !goOn {
			hw.answered = true
			return
		}
	}
	hw.ResponseWriter.WriteHeader(code)
}

func (hw *hookWriter) Write(b []byte) (int, error) {
	if !hw.done {
		hw.WriteHeader(http.StatusOK)
	}
	if hw.answered {
		return len(b), nil
	}
	return hw.ResponseWriter.Write(b)
}

func (hw *hookWriter) Flush() {
	if !hw.done {
		hw.WriteHeader(http.StatusOK)
	}
	if f, ok := hw.ResponseWriter.(http.Flusher); ok && !hw.answered {
		f.Flush()
	}
}

func (hw *hookWriter) Unwrap() http.ResponseWriter { return hw.ResponseWriter }

// wrap applies the policy to what is written through w.
func (p *headerPolicy) wrap(w http.ResponseWriter, r *http.Request, ex *exchange) *hookWriter {
	start := time.Now()
	return &hookWriter{ResponseWriter: w, hook: func(code int) (int, bool) {
		p.apply(w.Header(), r, ex, start)
		return code, true
	}}
}

// apply sets the policy's headers on an answer's header h.
func (p *headerPolicy) apply(h http.Header, r *http.Request, ex *exchange, start time.Time) {
	for _, name := range p.remove {
		delete(h, name)
	}
	for _, s := range p.set {
		if _, ok := h[s.name]; s.override || !ok {
			h[s.name] = []string{s.value}
		}
	}
	if c := p.cors; c != nil {
		if origin := r.Header.Get("Origin"); origin != "" {
			if allow := c.allowOrigin(origin); allow != "" {
				c.apply(h, allow, isPreflight(r))
			}
		}
	}
	if p.serverTiming > 0 && rand.Float64()*100 < p.serverTiming {
		h.Add("Server-Timing", ex.outcome.serverTiming()+`,cdn-rid;desc="`+h.Get("X-Edge-Request-Id")+`",cdn-downstream-fbl;dur=`+
			strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	}
}

func (c *corsPolicy) apply(h http.Header, allow string, preflight bool) {
	set := func(name, value string) {
		if value == "" {
			return
		}
		if _, ok := h[name]; c.override || !ok {
			h[name] = []string{value}
		}
	}
	set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		addVary(h, "Origin")
	}
	if c.credentials {
		set("Access-Control-Allow-Credentials", "true")
	}
	if preflight {
		set("Access-Control-Allow-Methods", c.methods)
		set("Access-Control-Allow-Headers", c.headers)
		set("Access-Control-Max-Age", c.maxAge)
	}
	set("Access-Control-Expose-Headers", c.expose)
}

// answerPreflight answers a CORS preflight at the edge; the policy's
// headers are added as the header is written.
func answerPreflight(w http.ResponseWriter, ex *exchange) {
	h := w.Header()
	ex.stamp(h, outcomeMiss)
	h["Content-Length"] = []string{"0"}
	w.WriteHeader(http.StatusNoContent)
}
