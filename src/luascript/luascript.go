// Package luascript loads the Lua scripts the bank runs in Redis, one way
// for all of them. Each script is a .lua file embedded by the package that
// owns its keys; it runs after lib.lua, the helpers every script may use
// (exact number formatting, error replies, the idempotency record and the
// audit trail), so that every write that honours an Idempotency-Key, and
// every staff action, is recorded by the same functions.
package luascript

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
)

//go:embed lib.lua
var libText string

// lib is lib.lua after the key names its helpers build themselves (the
// audit trail's, the users'), taken from keyspace so that no script
// spells them.
var lib = fmt.Sprintf("local KEY_AUDIT, KEY_AUDIT_ACTOR, KEY_AUDIT_ACCOUNT, KEY_USER = %q, %q, %q, %q\n",
	keyspace.Audit, keyspace.AuditActor, keyspace.AuditAccount, keyspace.User) + libText

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
// syntax), which is not a refusal.
func Refusal(err error) (_ *bank.Error, ok bool) {
	var re redis.Error
	if !errors.As(err, &re) {
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
