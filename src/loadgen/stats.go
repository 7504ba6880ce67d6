package loadgen

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// OpStats is what one kind of request measured: answers (2xx), latency
// percentiles over them, and every other outcome by status and problem
// code.
type OpStats struct {
	OK        int
	Errors    map[string]int
	latencies []time.Duration
	P50, P90  time.Duration
	P99, Max  time.Duration
}

func (s *OpStats) add(lat time.Duration, outcome string) {
	if outcome == "" {
		s.OK++
		s.latencies = append(s.latencies, lat)
		return
	}
	if s.Errors == nil {
		s.Errors = map[string]int{}
	}
	s.Errors[outcome]++
}

func (s *OpStats) finish() {
	l := s.latencies
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q int) time.Duration { return l[min(len(l)-1, len(l)*q/100)] }
	s.P50, s.P90, s.P99, s.Max = at(50), at(90), at(99), l[len(l)-1]
}

// ErrorCount is the number of requests that were not answered 2xx.
func (s *OpStats) ErrorCount() int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// Table is the result as a text table: one row per operation.
func (r Result) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %8s %9s %8s %8s %8s %8s  %s\n", "op", "ok", "ok/s", "p50", "p90", "p99", "max", "errors")
	for _, op := range r.opNames() {
		s := r.Ops[op]
		fmt.Fprintf(&b, "%-9s %8d %9.0f %8s %8s %8s %8s  %s\n", op, s.OK, float64(s.OK)/r.Elapsed.Seconds(),
			ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), errorList(s.Errors))
	}
	return b.String()
}

func (r Result) opNames() []string {
	var names []string
	for _, op := range []string{OpTransfer, OpHold, OpCapture, OpVoid, OpBalance, OpHistory} {
		if _, ok := r.Ops[op]; ok {
			names = append(names, op)
		}
	}
	return names
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func errorList(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(out, " ")
}

// Errors is the number of requests of every operation that were not
// answered 2xx.
func (r Result) Errors() int {
	n := 0
	for _, s := range r.Ops {
		n += s.ErrorCount()
	}
	return n
}

// OpReport is one operation in the JSON result (Result.JSON), as
// programs (make bench) read it: latencies in milliseconds.
type OpReport struct {
	OK     int            `json:"ok"`
	Rate   float64        `json:"ok_per_second"`
	P50    float64        `json:"p50_ms"`
	P90    float64        `json:"p90_ms"`
	P99    float64        `json:"p99_ms"`
	Max    float64        `json:"max_ms"`
	Errors map[string]int `json:"errors"`
}

// JSON is the result for programs (make bench): latencies in
// milliseconds, rates per second.
func (r Result) JSON() ([]byte, error) {
	f := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out := struct {
		ElapsedS    float64             `json:"elapsed_seconds"`
		Concurrency int                 `json:"concurrency"`
		APIURLs     []string            `json:"api_urls"`
		Mix         string              `json:"mix"`
		Ops         map[string]OpReport `json:"ops"`
	}{r.Elapsed.Seconds(), r.Concurrency, r.APIURLs, r.Mix.String(), map[string]OpReport{}}
	for name, s := range r.Ops {
		errs := s.Errors
		if errs == nil {
			errs = map[string]int{}
		}
		out.Ops[name] = OpReport{s.OK, float64(s.OK) / r.Elapsed.Seconds(), f(s.P50), f(s.P90), f(s.P99), f(s.Max), errs}
	}
	return json.MarshalIndent(out, "", "  ")
}
