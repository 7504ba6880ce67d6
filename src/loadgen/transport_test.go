package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The transport keeps its connections: 8 clients making 50 requests each
// (bodies read by a JSON decoder, as apiclient reads them) open at most 8,
// and every request and answer arrive whole.
func TestTransportKeepsConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"echo": string(b), "path": r.URL.Path})
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				body := strings.Repeat("x", w*100+i)
				resp, err := client.Post(srv.URL+"/p", "text/plain", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				var got map[string]string
				err = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if err != nil || got["echo"] != body || got["path"] != "/p" {
					t.Errorf("answer %v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n > 8 {
		t.Errorf("400 requests from 8 clients opened %d connections", n)
	}
}

// A request's context bounds it: a server that does not answer is given
// up on at the deadline, and the connection is not kept.
func TestTransportHonoursTheContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	tr := NewTransport()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RoundTrip to a silent server: %v, want the deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("gave up after %s for a 100ms deadline", took)
	}
	if n := len(tr.idle); n != 0 {
		t.Errorf("%d connections kept after a failed exchange", n)
	}
}
