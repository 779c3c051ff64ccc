package h1

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/edgefront/edgefront/internal/clock"
)

// bufWriter buffers a connection's writes, remembering the first error.
// Each write to the connection gets the send timeout, armed lazily: it
// fires no sooner than the timeout after the write starts, and at most a
// sixteenth of it (300 ms at most) later, as nginx's send_timeout.
type bufWriter struct {
	c    net.Conn
	send time.Duration
	wd   clock.Deadline
	b    []byte
	err  error
}

func (b *bufWriter) deadline() {
	if b.send > 0 {
		if t, set := b.wd.Extend(b.send); set {
			b.c.SetWriteDeadline(t)
		}
	}
}

const flushAt = 32 << 10

func (b *bufWriter) writeString(s string) {
	if b.err == nil {
		b.b = append(b.b, s...)
		if len(b.b) >= flushAt {
			b.flush()
		}
	}
}

func (b *bufWriter) write(p []byte) {
	if b.err != nil {
		return
	}
	if len(b.b)+len(p) > flushAt {
		// Head and body leave in one write (writev) when they are big.
		b.deadline()
		bufs := net.Buffers{b.b, p}
		_, b.err = bufs.WriteTo(b.c)
		b.b = b.b[:0]
		return
	}
	b.b = append(b.b, p...)
}

// writeRaw appends p to the buffer, however long.
func (b *bufWriter) writeRaw(p []byte) {
	if b.err == nil {
		b.b = append(b.b, p...)
	}
}

func (b *bufWriter) statusLine(code int) {
	b.writeString("HTTP/1.1 ")
	b.writeInt(int64(code))
	if text := http.StatusText(code); text != "" {
		b.writeString(" ")
		b.writeString(text)
	} else {
		b.writeString(" status code " + strconv.Itoa(code))
	}
	b.writeString("\r\n")
}

// writeInt writes n in decimal, allocating nothing.
func (b *bufWriter) writeInt(n int64) {
	if b.err == nil {
		b.b = strconv.AppendInt(b.b, n, 10)
	}
}

func (b *bufWriter) flush() error {
	if b.err == nil && len(b.b) > 0 {
		b.deadline()
		_, b.err = b.c.Write(b.b)
		b.b = b.b[:0]
	}
	return b.err
}

// date is the Date field's value, made once a second.
func date() string {
	now := time.Now().Unix()
	dateMu.Lock()
	defer dateMu.Unlock()
	if now != dateSec {
		dateSec, dateVal = now, time.Unix(now, 0).UTC().Format(http.TimeFormat)
	}
	return dateVal
}

var (
	dateMu  sync.Mutex
	dateSec int64
	dateVal string
)
