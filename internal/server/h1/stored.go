package h1

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// WriteStored answers with a stored object in one go: the handler's
// fields, the object's fields already rendered (head, without
// Content-Length), its length and its body, in one write (a writev when
// the body is large). hasDate says the rendered fields hold a Date. It is
// for answers whose framing is known: a body allowed, a length, a type.
// It reports false, having written nothing, when the answer has begun.
func (w *response) WriteStored(status int, head []byte, hasDate bool, body []byte) bool {
	if !w.storedHead(status, head, hasDate, int64(len(body))) {
		return false
	}
	if w.req.Method != http.MethodHead {
		w.written = int64(len(body))
		w.cn.bw.write(body)
	}
	return true
}

// WriteStoredFile is WriteStored for a body in a file, size bytes from
// its start: after the head, the kernel copies the file to the
// connection (sendfile) without moving the file's offset, which other
// answers share.
func (w *response) WriteStoredFile(status int, head []byte, hasDate bool, f *os.File, size int64) bool {
	if !w.storedHead(status, head, hasDate, size) {
		return false
	}
	if w.req.Method == http.MethodHead {
		return true
	}
	bw := &w.cn.bw
	if bw.flush() != nil {
		return true
	}
	var err error
	if tc, ok := bw.c.(*net.TCPConn); ok {
		_, err = sendFile(tc, f, 0, size, bw.deadline)
	} else {
		bw.deadline()
		_, err = io.Copy(bw.c, io.NewSectionReader(f, 0, size))
	}
	if err != nil {
		bw.err = err
	}
	w.written = size
	return true
}

// storedHead writes the head of a stored answer of length bytes.
func (w *response) storedHead(status int, head []byte, hasDate bool, length int64) bool {
	h := w.header
	// The handler's few fields, walked once for those the loop minds.
	var cl, te, hasConn, dated bool
	var conn []string
	for k, vs := range h {
		switch k {
		case "Content-Length":
			cl = true
		case "Transfer-Encoding":
			te = true
		case "Connection":
			conn, hasConn = vs, true
		case "Date":
			dated = true
		}
	}
	firstConn := "" // h.Get("Connection")
	if len(conn) > 0 {
		firstConn = conn[0]
	}
	closing := w.closeAfter || firstConn == "close"
	if w.wroteHeader || !bodyAllowed(status) || cl || te || (closing && hasConn && !hasToken(strings.Join(conn, ","), "close")) {
		return false
	}
	w.wroteHeader, w.headSent, w.status = true, true, status
	w.contentLength = length
	w.closeAfter = closing
	bw := &w.cn.bw
	bw.statusLine(status)
	writeFields(bw, h, nil)
	bw.writeRaw(head)
	bw.writeString("Content-Length: ")
	bw.writeInt(length)
	bw.writeString("\r\n")
	if !dated && !hasDate {
		bw.writeString("Date: ")
		bw.writeString(date())
		bw.writeString("\r\n")
	}
	if w.closeAfter && !hasToken(firstConn, "close") {
		bw.writeString("Connection: close\r\n")
	}
	bw.writeString("\r\n")
	return true
}

// sendFile sends size bytes of f from offset start to c with sendfile(2)
// at explicit offsets (the file's own is shared), waiting for the socket
// through the netpoller; progress arms the send timeout, before the first
// write and after each wait. It returns how much it sent.
func sendFile(c *net.TCPConn, f *os.File, start, size int64, progress func()) (int64, error) {
	dst, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	src, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	end := start + size
	progress()
	off := start
	var werr error
	err = dst.Write(func(out uintptr) bool {
		full := false
		serr := src.Read(func(in uintptr) bool {
			for off < end {
				n, e := syscall.Sendfile(int(out), int(in), &off, int(min(end-off, 1<<30)))
				switch {
				case e == syscall.EAGAIN:
					full = true // the socket's buffer is full: wait for it
					return true
				case e == syscall.EINTR:
				case e != nil:
					werr = e
					return true
				case n == 0:
					werr = io.ErrUnexpectedEOF // the file is shorter than it said
					return true
				}
			}
			return true
		})
		if serr != nil && werr == nil {
			werr = serr
		}
		if full && werr == nil {
			progress()
			return false
		}
		return true
	})
	if werr != nil {
		return off - start, werr
	}
	return off - start, err
}

// WriteProxied writes the head of an answer passed on from an origin: the
// handler's fields, the origin's as lines (fields), a Content-Length of
// length, a Date unless hasDate. The body follows through Write or
// ReadFrom, framed by that length. It reports false, having written
// nothing, as WriteStored does.
func (w *response) WriteProxied(status int, fields []byte, hasDate bool, length int64) bool {
	return w.storedHead(status, fields, hasDate, length)
}
