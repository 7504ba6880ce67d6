package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"
)

// OutboxEvent is one event the posting scripts appended to KeyOutbox in
// the same atomic step as a new posting (never for a replay or a refusal).
type OutboxEvent struct {
	StreamID string    // the entry's id in the stream, for AckOutbox
	Type     string    // "transfer.completed" or "hold.captured"
	ID       string    // business key: the transfer id, or the hold id
	At       time.Time // the posting's time
}

// OutboxEvents returns up to count of the oldest events not yet acked.
func (l *Ledger) OutboxEvents(ctx context.Context, count int) ([]OutboxEvent, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	vals, err := redis.Values(c.Do("XRANGE", KeyOutbox, "-", "+", "COUNT", count))
	if err != nil {
		return nil, fmt.Errorf("ledger: outbox: %w", err)
	}
	out := make([]OutboxEvent, 0, len(vals))
	for _, v := range vals {
		entry, err := redis.Values(v, nil)
		if err != nil || len(entry) != 2 {
			return nil, fmt.Errorf("ledger: outbox entry: %v", err)
		}
		sid, _ := redis.String(entry[0], nil)
		fields, err := redis.StringMap(entry[1], nil)
		if err != nil {
			return nil, fmt.Errorf("ledger: outbox entry %s: %w", sid, err)
		}
		ms, _ := strconv.ParseInt(fields["at"], 10, 64)
		out = append(out, OutboxEvent{StreamID: sid, Type: fields["type"], ID: fields["id"], At: time.UnixMilli(ms)})
	}
	return out, nil
}

// AckOutbox removes relayed events from the outbox.
func (l *Ledger) AckOutbox(ctx context.Context, streamIDs ...string) error {
	if len(streamIDs) == 0 {
		return nil
	}
	c, err := l.conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	args := redis.Args{KeyOutbox}.AddFlat(streamIDs)
	if _, err := c.Do("XDEL", args...); err != nil {
		return fmt.Errorf("ledger: outbox ack: %w", err)
	}
	return nil
}
