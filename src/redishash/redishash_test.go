package redishash

import (
	"testing"
	"time"
)

func TestFields(t *testing.T) {
	f := New("bank:acct:1", map[string]string{"balance": "-1500", "created": "1767225600000", "name": "x"})
	if got := f.Int("balance"); got != -1500 {
		t.Errorf("balance %d", got)
	}
	if got := f.Int("missing"); got != 0 {
		t.Errorf("missing field %d, want 0", got)
	}
	if got := f.Millis("created"); !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("created %v", got)
	}
	if !f.Millis("missing").IsZero() || f.Str("name") != "x" {
		t.Error("zero values")
	}
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedIsReported(t *testing.T) {
	f := New("bank:acct:1", map[string]string{"balance": "12x", "held": "1e3"})
	f.Int("balance")
	f.Int("held")
	if f.Err() == nil || f.Err().Error() != `redis hash bank:acct:1: field balance: malformed integer "12x"` {
		t.Fatalf("err %v", f.Err())
	}
}
