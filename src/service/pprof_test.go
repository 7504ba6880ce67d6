package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestPprofOnLoopbackOnly(t *testing.T) {
	for _, bad := range []string{":6060", "0.0.0.0:6060", "10.0.0.1:6060", "[::]:6060", "example.com:6060", "6060"} {
		if err := CheckPprofAddr(bad); err == nil {
			t.Errorf("--pprof-addr %s accepted", bad)
		}
	}
	for _, ok := range []string{"", "127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if err := CheckPprofAddr(ok); err != nil {
			t.Errorf("--pprof-addr %q refused: %v", ok, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := ServePprof(ctx, "0.0.0.0:0", log); err == nil {
		t.Fatal("ServePprof listened on every interface")
	}
}

func TestPprofServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if err := ServePprof(ctx, "127.0.0.1:0", log); err != nil {
		t.Fatal(err)
	}
	_, addr, _ := strings.Cut(buf.String(), "addr=")
	addr = strings.TrimSpace(addr)
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine") {
		t.Fatalf("pprof index: %d %s", resp.StatusCode, b)
	}
}
