package audit_test

import (
	"context"
	"testing"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/redistest"
)

// Trimming the trail through XADD's own options, which no ACL can refuse,
// shows in Integrity: what was added and is gone is counted.
func TestTrimmingTheTrailIsSeen(t *testing.T) {
	ctx := context.Background()
	pool := redistest.Start(t).Pool(t)
	log := audit.New(pool)
	if in, err := log.Integrity(ctx); err != nil || in.Deleted() != 0 || in.Added != 0 {
		t.Fatalf("an empty trail: %+v %v", in, err)
	}
	for range 5 {
		if _, err := log.Append(ctx, audit.Record{Actor: "u_1", Action: audit.JobRun}); err != nil {
			t.Fatal(err)
		}
	}
	in, err := log.Integrity(ctx)
	if err != nil || in.Length != 5 || in.Deleted() != 0 || in.LastMs == 0 {
		t.Fatalf("5 entries: %+v %v", in, err)
	}
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("XADD", keyspace.Audit, "MAXLEN", "1", "*", "actor", "mallory"); err != nil {
		t.Fatal(err)
	}
	if in, err = log.Integrity(ctx); err != nil || in.Deleted() != 5 {
		t.Fatalf("after XADD MAXLEN 1: %+v %v, want 5 deleted", in, err)
	}
}
