// Package demo seeds `bank dev`'s demo bank: the demo logins, alice's and
// bob's accounts and about four months of alice's history, written through
// the ledger's own postings, the interest job and the statements job on a
// clock set back to each moment, so the books balance and every page of
// the web app shows something real on a fresh `make run`. The browser test
// seeds the same data for the README's screenshots.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
)

// User is one demo login. They exist only in a local dev Redis.
type User struct {
	Name, Password string
	Role           bank.Role
}

// Users are the demo logins, in the order `bank dev` prints them.
var Users = []User{
	{"alice", "alice-demo-password", bank.Customer},
	{"bob", "bob-demo-password", bank.Customer},
	{"teller", "teller-demo-password", bank.Teller},
	{"admin", "admin-demo-password", bank.Admin},
}

// Customers are the demo users that own accounts, in opening order: on a
// fresh Redis alice's accounts are 1000000016 (checking) and 1000000024
// (savings), bob's is 1000000032.
var Customers = []string{"alice", "bob"}

// Accounts are each customer's accounts (user name → accounts, oldest first).
type Accounts map[string][]bank.Account

// Deps are what Seed writes through, built by main on the ledger's Redis.
// Seed builds its own ledger on Pool (and the stores and job runner on
// it), because it owns that ledger's clock while it writes the history.
type Deps struct {
	Pool *redis.Pool
	Auth *auth.Service
	// Publisher announces the statements as the worker's does; nil
	// announces nothing.
	Publisher jobs.Publisher
	Location  *time.Location // the bank's days and months; default UTC
	Log       *slog.Logger   // default: discard
}

// Scope is the idempotency scope of every seeded write.
const Scope = "demo-seed"

// Seed creates the demo users when missing and, when the demo customers
// have no accounts yet, opens their accounts and writes their history up
// to now; otherwise it changes nothing. It returns the customers' accounts.
func Seed(ctx context.Context, d Deps, now time.Time) (Accounts, error) {
	s := newSeeder(d, now)
	users, err := s.users(ctx)
	if err != nil {
		return nil, err
	}
	out, fresh, err := s.existing(ctx, users)
	if err != nil || !fresh {
		return out, err
	}
	accts, err := s.open(ctx, users)
	if err != nil {
		return nil, err
	}
	if err := s.history(ctx, users, accts); err != nil {
		return nil, err
	}
	out, _, err = s.existing(ctx, users)
	return out, err
}

// seeder writes the demo data on a ledger whose clock it sets.
type seeder struct {
	d     Deps
	loc   *time.Location
	now   time.Time
	at    time.Time // the ledger's clock: the moment being written
	l     *ledger.Ledger
	stand *standing.Store
	run   *jobs.Runner
}

func newSeeder(d Deps, now time.Time) *seeder {
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Publisher == nil {
		d.Publisher = silent{}
	}
	s := &seeder{d: d, loc: d.Location, now: now, at: now}
	s.l = ledger.New(d.Pool)
	s.l.Now = func() time.Time { return s.at }
	s.stand = standing.NewStore(d.Pool, s.l, d.Location)
	s.run = jobs.New(jobs.Deps{Ledger: s.l, Statements: statements.NewStore(d.Pool), Standing: s.stand, Publisher: d.Publisher},
		jobs.Options{Location: d.Location, Log: d.Log})
	return s
}

// silent is the publisher of a seed without webhooks.
type silent struct{}

func (silent) Publish(context.Context, string, string, []string, any) error { return nil }

// users returns every demo user by name, creating the missing ones.
func (s *seeder) users(ctx context.Context) (map[string]bank.User, error) {
	users := map[string]bank.User{}
	for _, d := range Users {
		u, err := s.d.Auth.UserByName(ctx, d.Name)
		if err != nil {
			if u, err = s.d.Auth.CreateUser(ctx, d.Name, d.Password, d.Role); err != nil {
				return nil, fmt.Errorf("demo: user %s: %w", d.Name, err)
			}
		}
		users[d.Name] = u
	}
	return users, nil
}

// existing returns the customers' accounts and whether none has any yet.
func (s *seeder) existing(ctx context.Context, users map[string]bank.User) (Accounts, bool, error) {
	out := Accounts{}
	fresh := true
	for _, name := range Customers {
		accts, err := s.l.AccountsOf(ctx, users[name].ID)
		if err != nil {
			return nil, false, err
		}
		out[name] = accts
		fresh = fresh && len(accts) == 0
	}
	return out, fresh, nil
}

// accounts are the demo accounts the history writes to.
type accounts struct {
	checking, savings, bob string
}

// open opens the demo accounts on the history's first day, in the order
// that gives them the documented numbers.
func (s *seeder) open(ctx context.Context, users map[string]bank.User) (accounts, error) {
	s.at = s.start().Add(9 * time.Hour)
	var nums []string
	for _, r := range []ledger.OpenRequest{
		{Owner: users["alice"].ID, Name: "Everyday", Type: bank.Checking, Currency: "EUR", OverdraftLimit: 50000},
		{Owner: users["alice"].ID, Name: "Savings", Type: bank.Savings, Currency: "EUR", InterestRate: 250},
		{Owner: users["bob"].ID, Name: "Everyday", Type: bank.Checking, Currency: "EUR", OverdraftLimit: 50000},
	} {
		a, err := s.l.Open(ctx, r)
		if err != nil {
			return accounts{}, fmt.Errorf("demo: opening %s's %s: %w", r.Owner, r.Type, err)
		}
		nums = append(nums, a.Number)
	}
	return accounts{checking: nums[0], savings: nums[1], bob: nums[2]}, nil
}

// start is the first instant of the history's first day: the same day
// four months before now.
func (s *seeder) start() time.Time {
	y, m, d := s.now.In(s.loc).AddDate(0, -4, 0).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
}
