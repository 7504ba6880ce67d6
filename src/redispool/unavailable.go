package redispool

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/sentinel"
)

// ErrNotReplicated is a write the primary applied but WAIT could not
// confirm on enough replicas in time. Its outcome is unknown to the
// client: if the primary dies now, a replica without it may take over. A
// retry with the same Idempotency-Key is safe either way.
var ErrNotReplicated = errors.New("redis: the write was not confirmed by enough replicas in time; outcome unknown")

// Unavailable reports whether err means Redis could not serve the request
// now (down, unreachable, paused past the timeout, loading, read-only
// after a failover, no confirmed master, a write not replicated) rather
// than a bug or a refusal. Such a request is worth retrying later: the
// API answers it 503 with Retry-After.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		return IsUnavailableReply(string(re))
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrNotReplicated), errors.Is(err, sentinel.ErrNoMaster), errors.Is(err, sentinel.ErrNotMaster), errors.Is(err, sentinel.ErrUnconfirmed),
		errors.Is(err, errStale), errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne):
		return true
	}
	// redigo's own errors for a connection or pool that is gone carry no
	// type; a pool closed at shutdown is unavailable too.
	msg := err.Error()
	for _, m := range []string{"redigo: connection closed", "redigo: get on closed pool", "redigo: closed"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
