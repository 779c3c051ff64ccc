// Package accesslog writes one line per request in CloudFront's standard
// log format (tab-separated, W3C header lines, CloudFront's 33 fields in
// its order and its URL-encoding), or as JSON lines with the same field
// names. Writing never blocks a request: lines wait in a bounded queue for
// a writer goroutine, and lines that find the queue full are dropped and
// counted.
package accesslog

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fields are CloudFront's standard log fields, in order.
const Fields = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"

// Header is what a CloudFront log file starts with.
const Header = "#Version: 1.0\n#Fields: " + Fields + "\n"

// Entry is one request.
type Entry struct {
	Time          time.Time  // when the last byte was written
	Location      string     // x-edge-location
	BytesOut      int64      // sc-bytes, header included
	Client        netip.Addr // c-ip; when not valid, ClientIP
	ClientIP      string
	Method        string
	Distribution  string // cs(Host): the distribution that answered
	Path          string // cs-uri-stem, as the viewer sent it
	Status        int    // 0 when the viewer left before an answer
	Referer       string
	UserAgent     string
	Query         string
	Cookie        string
	Result        string // x-edge-result-type: Hit, RefreshHit, Miss, Error, Redirect, LimitExceeded
	RequestID     string
	Host          string // x-host-header
	Protocol      string // http, https, ws, wss
	BytesIn       int64  // cs-bytes
	TimeTaken     time.Duration
	ForwardedFor  string
	TLSProtocol   string
	TLSCipher     string
	Response      string // x-edge-response-result-type
	ProtoVersion  string // HTTP/1.1, HTTP/2.0, HTTP/3.0
	ClientPort    string
	TTFB          time.Duration
	Detailed      string // x-edge-detailed-result-type
	ContentType   string
	ContentLength string
	RangeStart    string
	RangeEnd      string
	// CacheTags are the cache tags of the object answered from or stored,
	// in the JSON format only (the W3C one has CloudFront's fields alone).
	CacheTags []string
}

// Logger writes entries to a file or to stdout. Requests append their
// lines to a buffer in memory; a writer goroutine swaps it out and writes
// it whenever it holds 64 KiB, and at least every 100 ms.
type Logger struct {
	path string
	json bool

	mu      sync.Mutex // the lines waiting
	pending []byte
	limit   int // bytes that may wait; lines beyond are dropped
	dropped atomic.Uint64
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	fmu    sync.Mutex // the file, its writes, and closing
	f      *os.File
	spare  []byte
	closed bool
}

// Flushing: the writer writes when this much waits, or after flushEvery.
const (
	flushBytes = 64 << 10
	flushEvery = 100 * time.Millisecond
)

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Open starts a logger writing to path ("-" is stdout) in format
// ("cloudfront" or "json"), with room for about buffer lines waiting.
func Open(path, format string, buffer int) (*Logger, error) {
	if buffer <= 0 {
		buffer = 8192
	}
	l := &Logger{path: path, json: format == "json", limit: max(buffer*512, flushBytes),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.open(); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

func (l *Logger) open() error {
	if l.path == "-" {
		l.f = os.Stdout
	} else {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("access_log: %w", err)
		}
		l.f = f
	}
	if !l.json {
		if info, err := l.f.Stat(); err == nil && (info.Size() == 0 || l.path == "-") {
			l.f.WriteString(Header)
		}
	}
	return nil
}

// Reopen writes what waits, closes the file and opens the path again, for
// log rotation (SIGUSR1): the lines written from then on go to the new file.
func (l *Logger) Reopen() error {
	l.flush()
	l.fmu.Lock()
	defer l.fmu.Unlock()
	if l.closed || l.path == "-" {
		return nil
	}
	l.f.Close()
	return l.open()
}

// Dropped is the number of lines dropped because the disk did not keep up.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Log adds the entry's line. It never blocks on the disk.
func (l *Logger) Log(e *Entry) {
	bp := bufs.Get().(*[]byte)
	if l.json {
		*bp = e.appendJSON((*bp)[:0])
	} else {
		*bp = e.appendW3C((*bp)[:0])
	}
	l.mu.Lock()
	if len(l.pending)+len(*bp) > l.limit {
		l.mu.Unlock()
		l.dropped.Add(1)
		bufs.Put(bp)
		return
	}
	l.pending = append(l.pending, *bp...)
	full := len(l.pending) >= flushBytes
	l.mu.Unlock()
	bufs.Put(bp)
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

func (l *Logger) run() {
	defer close(l.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.kick:
		case <-tick.C:
		case <-l.stop:
			l.flush()
			return
		}
		l.flush()
	}
}

// flush writes the lines waiting.
func (l *Logger) flush() {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.mu.Lock()
	buf := l.pending
	l.pending = l.spare[:0]
	l.mu.Unlock()
	if len(buf) > 0 && !l.closed {
		l.f.Write(buf)
	}
	l.spare = buf[:0]
}

// Close writes the lines waiting and closes the file.
func (l *Logger) Close() error {
	l.fmu.Lock()
	if l.closed {
		l.fmu.Unlock()
		return nil
	}
	l.fmu.Unlock()
	close(l.stop)
	<-l.done
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.closed = true
	if l.path != "-" {
		return l.f.Close()
	}
	return nil
}

// appendW3C appends the entry as a line of CloudFront's standard log.
func (e *Entry) appendW3C(b []byte) []byte {
	b = appendDateTime(b, e.Time)
	b = field(b, e.Location)
	b = append(b, '\t')
	b = strconv.AppendInt(b, e.BytesOut, 10)
	if e.Client.IsValid() {
		b = append(b, '\t')
		b = e.Client.AppendTo(b)
	} else {
		b = field(b, e.ClientIP)
	}
	b = field(b, e.Method)
	b = field(b, e.Distribution)
	b = field(b, e.Path)
	b = append(b, '\t')
	b = appendStatus(b, e.Status)
	b = field(b, e.Referer)
	b = field(b, e.UserAgent)
	b = field(b, e.Query)
	b = field(b, e.Cookie)
	b = field(b, e.Result)
	b = field(b, e.RequestID)
	b = field(b, e.Host)
	b = field(b, e.Protocol)
	b = append(b, '\t')
	b = strconv.AppendInt(b, e.BytesIn, 10)
	b = append(b, '\t')
	b = appendSeconds(b, e.TimeTaken)
	b = field(b, e.ForwardedFor)
	b = field(b, e.TLSProtocol)
	b = field(b, e.TLSCipher)
	b = field(b, e.Response)
	b = field(b, e.ProtoVersion)
	b = field(b, "") // fle-status
	b = field(b, "") // fle-encrypted-fields
	b = field(b, e.ClientPort)
	b = append(b, '\t')
	b = appendSeconds(b, e.TTFB)
	b = field(b, e.Detailed)
	b = field(b, e.ContentType)
	b = field(b, e.ContentLength)
	b = field(b, e.RangeStart)
	b = field(b, e.RangeEnd)
	return append(b, '\n')
}

// lastSecond caches the date and time fields of the current second.
var lastSecond atomic.Pointer[stamp]

type stamp struct {
	sec int64
	s   string
}

func appendDateTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if st := lastSecond.Load(); st != nil && st.sec == sec {
		return append(b, st.s...)
	}
	s := t.UTC().Format("2006-01-02\t15:04:05")
	lastSecond.Store(&stamp{sec, s})
	return append(b, s...)
}

func appendStatus(b []byte, s int) []byte {
	if s == 0 {
		return append(b, "000"...)
	}
	return strconv.AppendInt(b, int64(s), 10)
}

func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}

// field appends a tab and v, URL-encoded as CloudFront encodes log fields,
// or "-" when v is empty.
func field(b []byte, v string) []byte {
	b = append(b, '\t')
	if v == "" {
		return append(b, '-')
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if mustEncode(c) {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

const hexDigits = "0123456789ABCDEF"

// mustEncode reports whether CloudFront URL-encodes c in a log field:
// controls, space, bytes from 127, and < > " # % { } | \ ^ ~ [ ] ` '.
func mustEncode(c byte) bool {
	if c <= ' ' || c >= 127 {
		return true
	}
	switch c {
	case '<', '>', '"', '#', '%', '{', '}', '|', '\\', '^', '~', '[', ']', '`', '\'':
		return true
	}
	return false
}

// jsonEntry is the JSON line: CloudFront's field names.
type jsonEntry struct {
	Date         string   `json:"date"`
	Time         string   `json:"time"`
	Location     string   `json:"x-edge-location"`
	BytesOut     int64    `json:"sc-bytes"`
	ClientIP     string   `json:"c-ip"`
	Method       string   `json:"cs-method"`
	Distribution string   `json:"cs(Host)"`
	Path         string   `json:"cs-uri-stem"`
	Status       int      `json:"sc-status"`
	Referer      string   `json:"cs(Referer),omitempty"`
	UserAgent    string   `json:"cs(User-Agent),omitempty"`
	Query        string   `json:"cs-uri-query,omitempty"`
	Cookie       string   `json:"cs(Cookie),omitempty"`
	Result       string   `json:"x-edge-result-type"`
	RequestID    string   `json:"x-edge-request-id"`
	Host         string   `json:"x-host-header"`
	Protocol     string   `json:"cs-protocol"`
	BytesIn      int64    `json:"cs-bytes"`
	TimeTaken    float64  `json:"time-taken"`
	ForwardedFor string   `json:"x-forwarded-for,omitempty"`
	TLSProtocol  string   `json:"ssl-protocol,omitempty"`
	TLSCipher    string   `json:"ssl-cipher,omitempty"`
	Response     string   `json:"x-edge-response-result-type"`
	ProtoVersion string   `json:"cs-protocol-version"`
	ClientPort   string   `json:"c-port"`
	TTFB         float64  `json:"time-to-first-byte"`
	Detailed     string   `json:"x-edge-detailed-result-type"`
	ContentType  string   `json:"sc-content-type,omitempty"`
	ContentLen   string   `json:"sc-content-len,omitempty"`
	RangeStart   string   `json:"sc-range-start,omitempty"`
	RangeEnd     string   `json:"sc-range-end,omitempty"`
	CacheTags    []string `json:"x-cache-tags,omitempty"`
}

func (e *Entry) appendJSON(b []byte) []byte {
	t := e.Time.UTC()
	if e.Client.IsValid() {
		e.ClientIP = e.Client.String()
	}
	j := jsonEntry{
		Date: t.Format("2006-01-02"), Time: t.Format("15:04:05"), Location: e.Location, BytesOut: e.BytesOut,
		ClientIP: e.ClientIP, Method: e.Method, Distribution: e.Distribution, Path: e.Path, Status: e.Status,
		Referer: e.Referer, UserAgent: e.UserAgent, Query: e.Query, Cookie: e.Cookie, Result: e.Result,
		RequestID: e.RequestID, Host: e.Host, Protocol: e.Protocol, BytesIn: e.BytesIn,
		TimeTaken: roundMillis(e.TimeTaken), ForwardedFor: e.ForwardedFor, TLSProtocol: e.TLSProtocol,
		TLSCipher: e.TLSCipher, Response: e.Response, ProtoVersion: e.ProtoVersion, ClientPort: e.ClientPort,
		TTFB: roundMillis(e.TTFB), Detailed: e.Detailed, ContentType: e.ContentType, ContentLen: e.ContentLength,
		RangeStart: e.RangeStart, RangeEnd: e.RangeEnd, CacheTags: e.CacheTags,
	}
	out, _ := json.Marshal(j)
	b = append(b, out...)
	return append(b, '\n')
}

func roundMillis(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
