package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Transport is an HTTP/1.1 client transport for the load generator:
// keep-alive connections, each request written and its response read by
// the calling goroutine itself. net/http's Transport hands every request
// to a writer and a reader goroutine per connection; on a machine shared
// with the system under test those hand-offs were a good part of the load
// generator's CPU, which is CPU the system under test then lacks. Only
// plain http is spoken (the API's address inside a cluster or on a
// laptop); anything else goes to Fallback.
type Transport struct {
	// Fallback serves requests this transport does not (https).
	Fallback http.RoundTripper
	dialer   net.Dialer
	mu       sync.Mutex
	idle     map[string][]*persistConn
}

type persistConn struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// NewTransport returns a Transport with http.DefaultTransport as fallback.
func NewTransport() *Transport {
	return &Transport{Fallback: http.DefaultTransport, dialer: net.Dialer{Timeout: 5 * time.Second}, idle: map[string][]*persistConn{}}
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return t.Fallback.RoundTrip(req)
	}
	ctx := req.Context()
	pc, err := t.get(ctx, req.URL.Host)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, also on failure
		}
		return nil, err
	}
	// The request's context bounds the whole exchange: its deadline is the
	// connection's, and cancelling it unblocks a read or write at once.
	if d, ok := ctx.Deadline(); ok {
		pc.conn.SetDeadline(d)
	} else {
		pc.conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(time.Unix(1, 0)) })
	resp, err := t.exchange(pc, req)
	if err != nil {
		stop()
		pc.conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The connection's deadline is the context's, and may pass a
		// moment before the context says so.
		if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	resp.Body = &body{ReadCloser: resp.Body, done: func(reuse bool) {
		if stop() && reuse && !resp.Close {
			t.put(req.URL.Host, pc)
			return
		}
		pc.conn.Close()
	}}
	return resp, nil
}

func (t *Transport) exchange(pc *persistConn, req *http.Request) (*http.Response, error) {
	if err := req.Write(pc.bw); err != nil {
		return nil, err
	}
	if err := pc.bw.Flush(); err != nil {
		return nil, err
	}
	return http.ReadResponse(pc.br, req)
}

func (t *Transport) get(ctx context.Context, host string) (*persistConn, error) {
	t.mu.Lock()
	if cs := t.idle[host]; len(cs) > 0 {
		pc := cs[len(cs)-1]
		t.idle[host] = cs[:len(cs)-1]
		t.mu.Unlock()
		return pc, nil
	}
	t.mu.Unlock()
	c, err := t.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &persistConn{conn: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}, nil
}

func (t *Transport) put(host string, pc *persistConn) {
	t.mu.Lock()
	t.idle[host] = append(t.idle[host], pc)
	t.mu.Unlock()
}

// CloseIdleConnections closes the kept connections.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for host, cs := range t.idle {
		for _, pc := range cs {
			pc.conn.Close()
		}
		delete(t.idle, host)
	}
}

// body gives the connection back once the response has been read to
// its end and closed; a body closed early closes the connection (the
// rest of the response is still on it).
type body struct {
	io.ReadCloser
	eof      bool
	finished bool
	done     func(reuse bool)
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	if !b.eof {
		// A JSON decoder stops at the value's end: what is left (a new
		// line) is read here so that the connection can be kept.
		if _, err := io.CopyN(io.Discard, b, 64<<10); errors.Is(err, io.EOF) {
			b.eof = true
		}
	}
	err := b.ReadCloser.Close()
	if !b.finished {
		b.finished = true
		b.done(b.eof && err == nil)
	}
	return err
}
