package requestid

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOfKeepsAValidIDAndReplacesOthers(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(Header, "web-1a2b.3_c")
	if got := Of(r); got != "web-1a2b.3_c" {
		t.Errorf("valid id replaced: %q", got)
	}
	for _, bad := range []string{"", "with space", `quote"`, "new\nline", strings.Repeat("a", 65)} {
		r.Header.Set(Header, bad)
		if got := Of(r); got == bad || !valid(got) {
			t.Errorf("id %q kept or replaced badly: %q", bad, got)
		}
	}
}

func TestLogLinesCarryTheID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler{slog.NewJSONHandler(&buf, nil)}).With("component", "api")
	log.InfoContext(With(context.Background(), "abc"), "request")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"request_id":"abc"`) || strings.Contains(lines[1], "request_id") {
		t.Fatalf("log lines:\n%s", buf.String())
	}
}
