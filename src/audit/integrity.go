package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/keyspace"
)

// Integrity is what Redis itself counts about the trail's stream: every
// entry ever added, the entries it holds, and the newest id. A Redis ACL
// can refuse DEL, XDEL and XTRIM (no process may run them on the trail)
// but not XADD's own MAXLEN and MINID options, so trimming cannot be
// prevented, only seen: Added minus Length is what was deleted, and Redis
// keeps Added for as long as the stream exists, which no process may end.
type Integrity struct {
	Length, Added int64
	LastMs        int64 // the newest id's time: far ahead of now wedges the stream
}

// Deleted is how many entries left the trail.
func (i Integrity) Deleted() int64 { return i.Added - i.Length }

// Integrity reads the trail's counts (zero before its first entry).
func (l *Log) Integrity(ctx context.Context) (Integrity, error) {
	c, err := l.pool.GetContext(ctx)
	if err != nil {
		return Integrity{}, err
	}
	defer c.Close()
	vs, err := redis.Values(c.Do("XINFO", "STREAM", keyspace.Audit))
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return Integrity{}, nil
		}
		return Integrity{}, fmt.Errorf("audit: %w", err)
	}
	var in Integrity
	for i := 0; i+1 < len(vs); i += 2 {
		name, _ := redis.String(vs[i], nil)
		switch name {
		case "length":
			in.Length, _ = redis.Int64(vs[i+1], nil)
		case "entries-added":
			in.Added, _ = redis.Int64(vs[i+1], nil)
		case "last-generated-id":
			id, _ := redis.String(vs[i+1], nil)
			ms, _, _ := strings.Cut(id, "-")
			in.LastMs, _ = strconv.ParseInt(ms, 10, 64)
		}
	}
	return in, nil
}

// Collector exports the trail's integrity on every scrape, for the alert
// that fires when entries were deleted or the stream is wedged.
type Collector struct {
	log                   *Log
	entries, deleted, ups *prometheus.Desc
	last                  *prometheus.Desc
}

// NewCollector returns the collector of log's integrity.
func NewCollector(log *Log) *Collector {
	return &Collector{log: log,
		entries: prometheus.NewDesc("bank_audit_entries", "Entries in the audit trail.", nil, nil),
		deleted: prometheus.NewDesc("bank_audit_entries_deleted", "Entries ever added to the audit trail and no longer in it: must stay 0.", nil, nil),
		last:    prometheus.NewDesc("bank_audit_last_entry_timestamp_seconds", "Time of the audit trail's newest entry id.", nil, nil),
		ups:     prometheus.NewDesc("bank_audit_up", "1 when the audit trail could be read.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.deleted
	ch <- c.last
	ch <- c.ups
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	in, err := c.log.Integrity(context.Background())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.ups, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.ups, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(in.Length))
	ch <- prometheus.MustNewConstMetric(c.deleted, prometheus.GaugeValue, float64(in.Deleted()))
	ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, float64(in.LastMs)/1000)
}
