// Package requestid follows one request through every process: the web
// app takes a valid incoming X-Request-ID (or makes one), answers with it,
// passes it to the API, and every log line written for the request carries
// it as request_id.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// Header is the HTTP header that carries the id.
const Header = "X-Request-ID"

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Of returns r's X-Request-ID when it is a sensible id (1-64 letters,
// digits, '.', '_' or '-', so a client cannot inject log syntax), or a
// new random one.
func Of(r *http.Request) string {
	if id := r.Header.Get(Header); valid(id) {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func valid(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Start gives request r its id (Of), answers with it, and returns r with
// the id in its context for everything the request calls and logs.
func Start(w http.ResponseWriter, r *http.Request) *http.Request {
	id := Of(r)
	w.Header().Set(Header, id)
	return r.WithContext(With(r.Context(), id))
}

// LogHandler adds request_id to every record logged with a context that
// carries one (log.InfoContext(ctx, ...) and friends).
type LogHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := From(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler { return LogHandler{h.Handler.WithGroup(name)} }

// Logger returns log with a LogHandler, unless it has one already.
func Logger(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(LogHandler); ok {
		return log
	}
	return slog.New(LogHandler{log.Handler()})
}
