package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/backup"
	"github.com/kubebank/kubebank/src/redistest"
)

var rdb = "REDIS0011" + strings.Repeat("payload-", 5000) + "\xff12345678"

// Both framings Redis uses, read one byte at a time so that the diskless
// end mark straddles reads, with keepalives before the header and the
// replication stream's first bytes after the snapshot.
func TestReadFramings(t *testing.T) {
	mark := strings.Repeat("0123456789", 4)
	for name, stream := range map[string]string{
		"disk":     "\n\n$" + itoa(len(rdb)) + "\r\n" + rdb + "*1\r\n$4\r\nPING\r\n",
		"diskless": "\n$EOF:" + mark + "\r\n" + rdb + mark + "*1\r\n$4\r\nPING\r\n",
	} {
		var out bytes.Buffer
		n, err := backup.Read(iotest.OneByteReader(strings.NewReader(stream)), &out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != int64(len(rdb)) || out.String() != rdb {
			t.Fatalf("%s: got %d bytes, want the %d of the RDB", name, n, len(rdb))
		}
	}
}

func TestReadRejects(t *testing.T) {
	for name, stream := range map[string]string{
		"error":     "-NOPERM this user has no permissions to run the 'sync' command\r\n",
		"not rdb":   "$5\r\nHELLO",
		"truncated": "$100\r\nREDIS0011",
		"no mark":   "$EOF:" + strings.Repeat("m", 40) + "\r\nREDIS0011",
		"bad len":   "$x\r\n",
	} {
		if _, err := backup.Read(strings.NewReader(stream), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A real snapshot from a real redis-server restores into a fresh one,
// in both framings: written to the primary's disk first, or streamed.
func TestTakeAndRestore(t *testing.T) {
	for _, tc := range []struct{ diskless, logLine string }{
		{"no", "Starting BGSAVE for SYNC with target: disk"},
		{"yes", "Starting BGSAVE for SYNC with target: replicas sockets"},
	} {
		t.Run("diskless="+tc.diskless, func(t *testing.T) {
			src := redistest.Start(t, "--repl-diskless-sync", tc.diskless, "--repl-diskless-sync-delay", "0")
			takeAndRestore(t, src)
			if log, _ := os.ReadFile(filepath.Join(src.Dir, "redis.log")); !strings.Contains(string(log), tc.logLine) {
				t.Errorf("redis.log does not say %q:\n%s", tc.logLine, log)
			}
		})
	}
}

func takeAndRestore(t *testing.T, src *redistest.Server) {
	c, err := redis.Dial("tcp", src.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		if _, err := c.Do("SET", "k"+itoa(i), i); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "snap.rdb")
	if _, err := backup.ToFile(context.Background(), backup.Source{URL: src.URL, Timeout: 10 * time.Second}, file); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do("SET", "after", "x"); err != nil { // the connection is left usable
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	if _, err := backup.Restore(file, data); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(file, data); !errors.Is(err, backup.ErrNotEmpty) {
		t.Fatalf("second restore into the same directory: %v, want ErrNotEmpty", err)
	}
	// Start appends "--appendonly no" after its own "--appendonly yes":
	// the later one wins, as the runbook's first start needs.
	dst := redistest.StartIn(t, data, "--dbfilename", "dump.rdb", "--appendonly", "no")
	d, err := redis.Dial("tcp", dst.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n, err := redis.Int(d.Do("DBSIZE")); err != nil || n != 100 {
		t.Fatalf("restored DBSIZE = %d, %v; want 100", n, err)
	}
	if v, err := redis.Int(d.Do("GET", "k42")); err != nil || v != 42 {
		t.Fatalf("restored k42 = %d, %v", v, err)
	}
}

func TestRestoreRefusesNonRDB(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(bad, []byte("not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	if _, err := backup.Restore(bad, data); err == nil {
		t.Fatal("restored a file without the RDB magic")
	}
	if _, err := os.Stat(filepath.Join(data, "dump.rdb")); !os.IsNotExist(err) {
		t.Fatalf("a refused restore left dump.rdb: %v", err)
	}
}

func TestPruneKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var names []string
	for i := range 5 {
		n := backup.FileName(t0.Add(time.Duration(i) * 24 * time.Hour))
		names = append(names, n)
		if err := os.WriteFile(filepath.Join(dir, n), []byte(backup.Magic), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	deleted, err := backup.Prune(dir, 2)
	if err != nil || len(deleted) != 3 {
		t.Fatalf("Prune deleted %v, %v; want the 3 oldest", deleted, err)
	}
	left, _ := os.ReadDir(dir)
	var got []string
	for _, e := range left {
		got = append(got, e.Name())
	}
	want := []string{names[3], names[4], "notes.txt"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("left %v, want %v", got, want)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// A user without SYNC gets Redis's refusal as the error, and no file.
func TestUserWithoutSyncIsRefused(t *testing.T) {
	src := redistest.Start(t, "--user", "reader", "on", ">reader-pw", "~*", "+@read")
	out := filepath.Join(t.TempDir(), "snap.rdb")
	_, err := backup.ToFile(context.Background(), backup.Source{URL: src.URL, Username: "reader", Password: "reader-pw", Timeout: 5 * time.Second}, out)
	if err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("backup as a user without SYNC: %v, want NOPERM", err)
	}
	if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
		t.Fatalf("a refused backup left %v", left)
	}
}

// ToDir names each snapshot by its time and keeps the newest N.
func TestToDirKeepsNewest(t *testing.T) {
	src := redistest.Start(t, "--repl-diskless-sync-delay", "0")
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 2, 17, 0, 0, time.UTC)
	s := backup.Source{URL: src.URL, Timeout: 10 * time.Second}
	for i := range 3 {
		path, deleted, err := backup.ToDir(context.Background(), s, dir, 2, t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, backup.FileName(t0.Add(time.Duration(i)*time.Hour))); path != want {
			t.Fatalf("wrote %s, want %s", path, want)
		}
		if wantDeleted := max(0, i-1); len(deleted) != wantDeleted {
			t.Fatalf("run %d deleted %v, want %d", i, deleted, wantDeleted)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 || filepath.Base(left[0]) != backup.FileName(t0.Add(time.Hour)) {
		t.Fatalf("left %v, want the newest 2", left)
	}
}
