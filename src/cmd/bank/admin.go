package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
)

func init() {
	commands["admin"] = command{"operator tasks: create-user (bootstrap tellers and admins), reconcile (check the ledger now)", runAdmin}
}

const adminUsage = `usage: bank admin create-user --username NAME --role admin|teller|customer [--password PW | --password-stdin]
       bank admin reconcile [--full]`

func runAdmin(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "reconcile" {
		return runReconcile(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "create-user" {
		return errors.New(adminUsage)
	}
	fs := flag.NewFlagSet("admin create-user", flag.ContinueOnError)
	var f apiFlags
	f.redisFlags(fs)
	username := fs.String("username", "", "login name (3-32 of a-z 0-9 . _ -)")
	password := fs.String("password", "", "password (8-128 bytes); prefer --password-stdin or BANK_PASSWORD so it stays out of the process list")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	role := fs.String("role", "teller", "admin, teller or customer")
	existsOK := fs.Bool("exists-ok", false, "succeed without changes when the username already exists (for repeatable bootstrap jobs)")
	if err := cli.Parse(fs, args[1:]); err != nil {
		return err
	}
	pw := *password
	if *stdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password from stdin: %v", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if *username == "" || pw == "" {
		return errors.New("--username and a password (--password, --password-stdin or BANK_PASSWORD) are required")
	}
	f.redis.MaxActive = 2
	pool := redispool.New(f.redis)
	defer pool.Close()
	if err := redispool.Ping(ctx, pool); err != nil {
		return err
	}
	u, err := auth.New(pool, auth.DefaultLimits).CreateUser(ctx, *username, pw, bank.Role(*role))
	if errors.Is(err, auth.ErrUsernameTaken) && *existsOK {
		// Only the same user counts as done: a customer who registered
		// the name first must not let a bootstrap job report an admin.
		prev, perr := auth.New(pool, auth.DefaultLimits).UserByName(ctx, *username)
		if perr != nil {
			return perr
		}
		if prev.Role != bank.Role(*role) {
			return fmt.Errorf("user %s already exists with role %s, not %s", prev.Username, prev.Role, *role)
		}
		fmt.Printf("user %s already exists as %s; unchanged\n", prev.Username, prev.Role)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("created %s %s (id %s)\n", u.Role, u.Username, u.ID)
	return nil
}

// runReconcile checks the ledger's invariants right now and prints the
// report as JSON; it exits non-zero when the ledger does not balance, so
// it can gate a script. --full re-reads every journal from its start.
func runReconcile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin reconcile", flag.ContinueOnError)
	var f apiFlags
	f.redisFlags(fs)
	full := fs.Bool("full", false, "re-read every journal from its start instead of from the last verified entry (slower; also finds edited old entries)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	f.redis.MaxActive = 2
	pool := redispool.New(f.redis)
	defer pool.Close()
	l := ledger.New(pool)
	check := l.Reconcile
	if *full {
		check = l.ReconcileFull
	}
	rep, err := check(ctx)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(map[string]any{"balanced": rep.Balanced(), "report": rep}, "", "  ")
	fmt.Println(string(out))
	if !rep.Balanced() {
		return errors.New("the ledger does not balance")
	}
	return nil
}
