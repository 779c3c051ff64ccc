package h1

import (
	"io"
	"net"
	"net/http"
	"os"
)

// spliceChunk is how much one splice moves before the send timeout is
// set again: a viewer that keeps reading is never cut off, one that stops
// is within a chunk.
const spliceChunk = 4 << 20

// ReadFrom lets the kernel copy a body of declared length to a plain TCP
// viewer: from another TCP connection (splice, an origin's body) or a
// file (sendfile). The head leaves first. Anything else (TLS, chunked
// framing, a HEAD, a type still to sniff) is copied as Write would.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	bw := &w.cn.bw
	tc, plain := bw.c.(*net.TCPConn)
	_, typed := w.header["Content-Type"]
	if !plain || w.req.Method == http.MethodHead || !bodyAllowed(w.status) || w.contentLength < 0 ||
		w.chunked || len(w.held) > 0 || (!w.headSent && !typed) || w.header.Get("Transfer-Encoding") != "" {
		return io.Copy(writerOnly{w}, src)
	}
	if !w.headSent {
		w.sendHead(nil)
	}
	if err := bw.flush(); err != nil {
		return 0, err
	}
	if sr, ok := src.(*io.SectionReader); ok {
		if f, ok := fileOf(sr); ok {
			return w.sendSection(tc, sr, f)
		}
	}
	var total int64
	for left := w.contentLength - w.written; left > 0; {
		r, done := chunkOf(src, min(left, spliceChunk))
		n := r.N
		if n == 0 {
			return total, nil // the source has no more
		}
		bw.deadline()
		k, err := tc.ReadFrom(r)
		done(k)
		total += k
		w.written += k
		left -= k
		if err != nil {
			bw.err = err
			return total, err
		}
		if k < n {
			return total, nil // the source ended
		}
	}
	return total, nil
}

// fileOf is the file under a section, when it is one.
func fileOf(sr *io.SectionReader) (*os.File, bool) {
	outer, _, _ := sr.Outer()
	f, ok := outer.(*os.File)
	return f, ok
}

// sendSection sends the rest of a section of a file, up to the declared
// length, with sendfile at the section's offsets.
func (w *response) sendSection(tc *net.TCPConn, sr *io.SectionReader, f *os.File) (int64, error) {
	pos, _ := sr.Seek(0, io.SeekCurrent)
	_, base, n := sr.Outer()
	size := min(n-pos, w.contentLength-w.written)
	k, err := sendFile(tc, f, base+pos, size, w.cn.bw.deadline)
	sr.Seek(k, io.SeekCurrent)
	w.written += k
	if err != nil {
		w.cn.bw.err = err
	}
	return k, err
}

// chunkOf is up to n bytes of src as a limited reader straight over
// src's own connection or file, which the kernel can copy from (a limit
// around a limit it cannot); done counts what was read against src.
func chunkOf(src io.Reader, n int64) (r *io.LimitedReader, done func(int64)) {
	if lr, ok := src.(*io.LimitedReader); ok {
		return &io.LimitedReader{R: lr.R, N: min(n, lr.N)}, func(k int64) { lr.N -= k }
	}
	return &io.LimitedReader{R: src, N: n}, func(int64) {}
}

// writerOnly hides ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }
