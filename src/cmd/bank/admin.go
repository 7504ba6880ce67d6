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
	"time"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/backup"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
)

func init() {
	commands["admin"] = command{"operator tasks: create-user (bootstrap tellers and admins), reconcile (check the ledger now), backup, restore", runAdmin}
}

const adminUsage = `usage: bank admin create-user --username NAME --role admin|teller|auditor|customer [--password PW | --password-stdin]
       bank admin reconcile [--full]
       bank admin backup --out FILE | --out-dir DIR [--keep N]
       bank admin restore --in FILE --data-dir DIR`

func runAdmin(ctx context.Context, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "reconcile":
		return runReconcile(ctx, args[1:])
	case len(args) > 0 && args[0] == "create-user":
		return runCreateUser(ctx, args[1:])
	case len(args) > 0 && args[0] == "backup":
		return runBackup(ctx, args[1:])
	case len(args) > 0 && args[0] == "restore":
		return runRestore(args[1:])
	}
	return errors.New(adminUsage)
}

// runCreateUser registers a staff member (or a customer) directly in the
// user store: the API only registers customers.
func runCreateUser(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin create-user", flag.ContinueOnError)
	var f apiFlags
	f.redisFlags(fs)
	username := fs.String("username", "", "login name (3-32 of a-z 0-9 . _ -)")
	password := fs.String("password", "", "password (8-128 bytes); prefer --password-stdin or BANK_PASSWORD so it stays out of the process list")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	role := fs.String("role", "teller", "admin, teller, auditor (read-only staff) or customer")
	operator := operatorFlag(fs)
	existsOK := fs.Bool("exists-ok", false, "succeed without changes when the username already exists (for repeatable bootstrap jobs)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	pw, err := adminPassword(*password, *stdin)
	if err != nil {
		return err
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
	users := auth.New(pool, auth.DefaultLimits)
	octx := audit.NewContext(ctx, operatorRecord(*operator, audit.UserCreate, ""))
	u, err := users.CreateUser(octx, *username, pw, bank.Role(*role))
	if errors.Is(err, auth.ErrUsernameTaken) && *existsOK {
		return sameUserExists(ctx, users, *username, bank.Role(*role))
	}
	if err != nil {
		return err
	}
	fmt.Printf("created %s %s (id %s)\n", u.Role, u.Username, u.ID)
	return nil
}

// adminPassword is --password, or with fromStdin the first line of stdin.
func adminPassword(flagValue string, fromStdin bool) (string, error) {
	if !fromStdin {
		return flagValue, nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from stdin: %v", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// sameUserExists succeeds for --exists-ok only when the existing user has
// the role asked for: a customer who registered the name first must not
// let a bootstrap job report an admin.
func sameUserExists(ctx context.Context, users *auth.Service, username string, role bank.Role) error {
	prev, err := users.UserByName(ctx, username)
	if err != nil {
		return err
	}
	if prev.Role != role {
		return fmt.Errorf("user %s already exists with role %s, not %s", prev.Username, prev.Role, role)
	}
	fmt.Printf("user %s already exists as %s; unchanged\n", prev.Username, prev.Role)
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

// runBackup writes a snapshot taken through the replication protocol:
// --out FILE for one file, or --out-dir with --keep for the CronJob.
func runBackup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin backup", flag.ContinueOnError)
	var f apiFlags
	f.redisFlags(fs)
	out := fs.String("out", "", "file to write the snapshot (RDB) to, atomically")
	outDir := fs.String("out-dir", "", "directory to write bank-<UTC time>.rdb into (instead of --out)")
	keep := fs.Int("keep", 0, "with --out-dir: delete all but the newest N snapshots there (0 keeps all)")
	timeout := fs.Duration("timeout", 60*time.Second, "longest silence from Redis while it forks and streams the snapshot")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if (*out == "") == (*outDir == "") {
		return errors.New("exactly one of --out FILE and --out-dir DIR is required")
	}
	if *keep < 0 || (*keep > 0 && *outDir == "") {
		return errors.New("--keep N (N >= 1) goes with --out-dir")
	}
	if f.redis.Sentinels != "" {
		return errors.New("admin backup connects with --redis-url (a replica or the primary), not through Sentinels")
	}
	src := backup.Source{URL: f.redis.URL, Username: f.redis.Username, Password: f.redis.Password, Timeout: *timeout}
	if *out != "" {
		n, err := backup.ToFile(ctx, src, *out)
		if err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", *out, n)
		return nil
	}
	path, deleted, err := backup.ToDir(ctx, src, *outDir, *keep, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", path)
	for _, d := range deleted {
		fmt.Printf("deleted %s (keeping the newest %d)\n", d, *keep)
	}
	return nil
}

// runRestore prepares an empty Redis data directory from a snapshot; the
// runbook's restore drill says how to start redis-server on it.
func runRestore(args []string) error {
	fs := flag.NewFlagSet("admin restore", flag.ContinueOnError)
	in := fs.String("in", "", "snapshot (RDB) written by bank admin backup")
	dataDir := fs.String("data-dir", "", "empty (or missing) Redis data directory to prepare")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *dataDir == "" {
		return errors.New("--in FILE and --data-dir DIR are required")
	}
	dst, err := backup.Restore(*in, *dataDir)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s; start redis-server --dir %s --dbfilename dump.rdb --appendonly no, then CONFIG SET appendonly yes (docs/runbook.md, Restore drill)\n", dst, *dataDir)
	return nil
}
