// Package luascript loads the Lua scripts the bank runs in Redis, one way
// for all of them. Each script is a .lua file embedded by the package that
// owns its keys; it runs after lib.lua, the helpers every script may use
// (exact number formatting, error replies, the idempotency record and the
// audit trail), so that every write that honours an Idempotency-Key, and
// every staff action, is recorded by the same functions.
package luascript

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/redispool"
)

//go:embed lib.lua
var libText string

// lib is lib.lua after the key names its helpers build themselves (the
// audit trail's, the users'), taken from keyspace so that no script
// spells them.
var lib = fmt.Sprintf("local KEY_AUDIT, KEY_AUDIT_ACTOR, KEY_AUDIT_ACCOUNT, KEY_USER, KEY_IDEM, KEY_IDEM_WINDOW = %q, %q, %q, %q, %q, %q\n",
	keyspace.Audit, keyspace.AuditActor, keyspace.AuditAccount, keyspace.User, keyspace.Idempotency, keyspace.IdempotencyWindow) + libText

// Read returns the script name (without ".lua") from fsys. A missing
// script is a build mistake, so it panics at start-up.
func Read(fsys fs.FS, name string) string {
	b, err := fs.ReadFile(fsys, name+".lua")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Function wraps a script's text as a local Lua function fn(KEYS, ARGV),
// so that a script loaded after it can run it as one step of its own.
func Function(fn, text string) string {
	return "local function " + fn + "(KEYS, ARGV)\n" + text + "\nend\n"
}

// New returns the script of keyCount keys made of lib.lua followed by parts.
func New(keyCount int, parts ...string) *redis.Script {
	return redis.NewScript(keyCount, lib+"\n"+strings.Join(parts, "\n"))
}

// Load is New with each part read from fsys by name.
func Load(fsys fs.FS, keyCount int, names ...string) *redis.Script {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = Read(fsys, n)
	}
	return New(keyCount, parts...)
}

// Refusal is the rule a script's error reply names (fail('code') in Lua):
// the domain error with that code, or a KindRejected one for a code the
// domain does not list. ok is false for any other error (transport,
// syntax, a server that cannot serve now: LOADING, READONLY...), which
// is not a refusal.
func Refusal(err error) (_ *bank.Error, ok bool) {
	var re redis.Error
	if !errors.As(err, &re) || redispool.IsUnavailableReply(string(re)) {
		return nil, false
	}
	code := strings.TrimPrefix(string(re), "ERR ")
	if e, known := bank.LedgerErrors[code]; known {
		return e, true
	}
	return bank.Errorf(bank.KindRejected, code, "refused: %s", code), true
}

// Error turns a script's error reply that names a known rule into the
// domain error with that code; any other error is wrapped with what, the
// caller's package name.
func Error(what string, err error) error {
	if e, ok := Refusal(err); ok {
		if _, known := bank.LedgerErrors[e.Code]; known {
			return e
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Run runs s on c like s.DoContext and, when ack asks for replicas,
// acknowledges the write only once WAIT has confirmed it on that many
// within ack.Timeout; otherwise the error is redispool.ErrNotReplicated
// (the script ran, its outcome is unknown to the client). The script, a
// PUBLISH and the WAIT go out in one flush, so this is still one round
// trip. The PUBLISH is there because a replay writes nothing, and WAIT
// only waits for this connection's last replicated command: without it a
// replay of a write that never reached a replica would be acknowledged.
func Run(ctx context.Context, c redis.Conn, s *redis.Script, ack redispool.Ack, keysAndArgs ...any) (any, error) {
	if ack.Replicas <= 0 {
		return s.DoContext(ctx, c, keysAndArgs...)
	}
	reply, err := runAcked(ctx, c, s.SendHash, ack, keysAndArgs)
	if e, ok := err.(redis.Error); ok && strings.HasPrefix(string(e), "NOSCRIPT ") {
		reply, err = runAcked(ctx, c, s.Send, ack, keysAndArgs)
	}
	return reply, err
}

func runAcked(ctx context.Context, c redis.Conn, send func(redis.Conn, ...any) error, ack redispool.Ack, keysAndArgs []any) (any, error) {
	if err := send(c, keysAndArgs...); err != nil {
		return nil, err
	}
	if err := c.Send("PUBLISH", keyspace.AckChannel, ""); err != nil {
		return nil, err
	}
	if err := c.Send("WAIT", ack.Replicas, ack.Timeout.Milliseconds()); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	reply, err := redis.ReceiveContext(c, ctx)
	_, perr := redis.ReceiveContext(c, ctx)
	n, werr := redis.Int(redis.ReceiveContext(c, ctx))
	switch {
	case err != nil: // a refusal moved nothing; a transport error says itself
		return nil, err
	case perr != nil:
		return nil, perr
	case werr != nil:
		return nil, werr
	case n < ack.Replicas:
		return nil, fmt.Errorf("%w (%d of %d replicas within %s)", redispool.ErrNotReplicated, n, ack.Replicas, ack.Timeout)
	}
	return reply, nil
}
