package system

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// The restore drill of docs/runbook.md, for real: `bank admin backup`
// while transfers run, `bank admin restore` into a fresh directory,
// redis-server loads the RDB with AOF off, CONFIG SET appendonly yes
// writes the AOF, a restart with the normal arguments loads that, and
// `bank admin reconcile --full` balances on the restored ledger.
func TestBackupUnderLoadRestores(t *testing.T) {
	ctx := context.Background()
	// Diskless sync (Redis 7's default) without its 5s wait for more replicas.
	rds := redistest.Start(t, "--appendfsync", "always", "--repl-diskless-sync-delay", "0")
	port, _ := redisproc.FreePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{"BANK_REDIS_URL=" + rds.URL, fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=warn"}
	if err := run(env, "admin", "create-user", "--username", "backupteller", "--password", "backup-teller-pw", "--role", "teller"); err != nil {
		t.Fatal(err)
	}
	startBank(t, env, "api")
	waitHTTP(t, base+"/readyz")
	cfg := loadgen.Config{APIURL: base, TellerUser: "backupteller", TellerPassword: "backup-teller-pw",
		Customers: 8, Concurrency: 8, Duration: 2 * time.Second, Funding: 1_000_000, Currency: "EUR",
		Client: &http.Client{Timeout: 5 * time.Second}}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan loadgen.Result)
	go func() { done <- loadgen.Drive(ctx, cfg, cs) }()
	time.Sleep(700 * time.Millisecond)
	file := filepath.Join(t.TempDir(), "bank.rdb")
	backupErr := run(env, "admin", "backup", "--out", file)
	load := <-done
	if backupErr != nil {
		t.Fatal(backupErr)
	}
	t.Logf("load: %s", load)

	data := filepath.Join(t.TempDir(), "restored")
	if err := run(nil, "admin", "restore", "--in", file, "--data-dir", data); err != nil {
		t.Fatal(err)
	}
	// Step 1: load the RDB with AOF off (with AOF on, the RDB is ignored).
	first := redistest.StartIn(t, data, "--dbfilename", "dump.rdb", "--appendonly", "no")
	c, err := redis.Dial("tcp", first.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// Step 2: turn AOF on; Redis rewrites the AOF from the loaded dataset.
	if _, err := c.Do("CONFIG", "SET", "appendonly", "yes"); err != nil {
		t.Fatal(err)
	}
	waitAOFRewritten(t, c)
	c.Close()
	// Step 3: restart with the normal arguments (AOF on): it loads the AOF.
	first.Stop()
	restored := redistest.StartIn(t, data)

	out, err := runOut([]string{"BANK_REDIS_URL=" + restored.URL}, "admin", "reconcile", "--full")
	if err != nil || !strings.Contains(out, `"balanced": true`) {
		t.Fatalf("reconcile --full on the restored Redis: %v\n%s", err, out)
	}
	l := ledger.New(restored.Pool(t))
	transfers, sum := journalled(t, ctx, l, cs.Accounts)
	if len(transfers) == 0 {
		t.Fatal("the restored ledger has no transfers: the backup was not taken under load")
	}
	if len(transfers) >= len(load.Acked) {
		t.Errorf("the restored ledger has %d transfers, the live one %d acknowledged: the snapshot was not taken mid-load", len(transfers), len(load.Acked))
	}
	for id, n := range transfers {
		if _, ok := load.Acked[id]; !ok || n != 2 {
			t.Errorf("restored transfer %s: %d journal entries (want 2), acknowledged %v", id, n, ok)
		}
	}
	if want := int64(len(cs.Accounts)) * cfg.Funding; sum != want {
		t.Errorf("restored customer balances sum to %d, want %d", sum, want)
	}
	t.Logf("backup taken mid-load holds %d of %d acknowledged transfers; reconcile --full balances on the restore", len(transfers), len(load.Acked))
}

// waitAOFRewritten waits (30s at most) until the AOF that CONFIG SET
// appendonly yes started has been written.
func waitAOFRewritten(t *testing.T, c redis.Conn) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		info, err := redis.String(c.Do("INFO", "persistence"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, "aof_enabled:1") && strings.Contains(info, "aof_rewrite_in_progress:0") &&
			strings.Contains(info, "aof_rewrite_scheduled:0") && strings.Contains(info, "aof_last_bgrewrite_status:ok") {
			return
		}
	}
	t.Fatal("the AOF rewrite after CONFIG SET appendonly yes did not finish in 30s")
}
