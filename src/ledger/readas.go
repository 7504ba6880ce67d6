package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
)

// scriptAccountAs reads an account, and a range of its journal, for a
// caller who may see it (account_as.lua): one round trip per read.
var scriptAccountAs = luascript.New(3, moneyLua, luascript.Read(scripts, "as_caller"),
	luascript.Read(scripts, "account_as"))

// AccountAs returns the account number for the caller, in one round trip
// that also checks the token and the role: its owner and staff see it,
// anyone else gets bank.ErrAccountNotFound, as for a number that does
// not exist.
func (l *Ledger) AccountAs(ctx context.Context, who Caller, number string) (bank.Account, error) {
	a, _, err := l.accountAs(ctx, who, number, "", "", 0)
	return a, err
}

// EntriesAs is Entries for the caller who may see q.Account (as
// AccountAs): the account and one page of its journal, in one round trip.
func (l *Ledger) EntriesAs(ctx context.Context, who Caller, q EntryQuery) (bank.Account, []bank.Entry, string, error) {
	q, start, end, err := q.page()
	if err != nil {
		return bank.Account{}, nil, "", err
	}
	a, raw, err := l.accountAs(ctx, who, q.Account, end, start, q.Limit+1)
	if err != nil {
		return bank.Account{}, nil, "", err
	}
	entries, next, err := q.cut(raw)
	return a, entries, next, err
}

// BalanceAtAs is BalanceAt for the caller who may see account (as
// AccountAs): the account and its posted balance at at, in one round trip.
func (l *Ledger) BalanceAtAs(ctx context.Context, who Caller, account string, at time.Time) (bank.Account, PointBalance, error) {
	end, err := l.balanceEnd(at)
	if err != nil {
		return bank.Account{}, PointBalance{}, err
	}
	a, raw, err := l.accountAs(ctx, who, account, end, "-", 1)
	if err != nil {
		return bank.Account{}, PointBalance{}, err
	}
	b, err := pointOf(account, raw)
	return a, b, err
}

// accountAs runs account_as.lua: the account, and the journal entries
// from end down to start (count at most; none when end is "").
func (l *Ledger) accountAs(ctx context.Context, who Caller, number, end, start string, count int) (bank.Account, []any, error) {
	c, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Account{}, nil, err
	}
	defer c.Close()
	v, err := scriptAccountAs.DoContext(ctx, c, keyspace.Token+who.TokenHash, accountKey(number), journalKey(number),
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), end, start, strconv.Itoa(count))
	if err != nil {
		return bank.Account{}, nil, refusalAs(err, number)
	}
	reply, err := redis.Values(v, nil)
	if err != nil || len(reply) != 2 {
		return bank.Account{}, nil, fmt.Errorf("ledger: script answered %v (%v)", v, err)
	}
	m, err := redis.StringMap(reply[0], nil)
	if err != nil {
		return bank.Account{}, nil, fmt.Errorf("ledger: %w", err)
	}
	a, err := accountFrom(m)
	if err != nil {
		return bank.Account{}, nil, err
	}
	raw, err := redis.Values(reply[1], nil)
	if err != nil {
		return bank.Account{}, nil, fmt.Errorf("ledger: %w", err)
	}
	return a, raw, nil
}

// scriptTransferGetAs reads a transfer for a caller who may see it
// (transfer_get_as.lua).
var scriptTransferGetAs = luascript.New(1, moneyLua, luascript.Read(scripts, "as_caller"),
	luascript.Read(scripts, "transfer_get_as"))

// TransferAs returns the transfer id for the caller, in one round trip
// that also checks the token and the role: staff and the owners of its
// accounts see it, anyone else gets bank.ErrTransferNotFound, as for an
// id that does not exist.
func (l *Ledger) TransferAs(ctx context.Context, who Caller, id string) (bank.Transfer, error) {
	c, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Transfer{}, err
	}
	defer c.Close()
	v, err := scriptTransferGetAs.DoContext(ctx, c, keyspace.Token+who.TokenHash,
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), id)
	t, _, err := runAs("", transferFrom, v, err)
	return t, err
}
