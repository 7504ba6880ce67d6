// Command bench is `make bench`: one run that prints one table of the
// bank's speed against the ceiling Redis itself allows on this machine.
//
// For each fsync mode (everysec, always) it starts a fresh redis-server
// and `bank api`, captures with MONITOR the Redis commands one HTTP
// transfer sends, replays that exact EVALSHA (the composed transfer
// script with its real KEYS and ARGV, fresh ids per call) with
// redis-benchmark at 32 clients as the ceiling, then drives the API with
// `bank loadgen` at 16 and 32 clients. Every row shows its ratio to the
// ceiling of its fsync mode. The Go benchmarks run last. It measures and
// prints; nothing in it fails because a machine is slow.
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/redisproc"
)

type row struct {
	name, fsync string
	rate        float64 // per second
	p50, p99    float64 // ms; 0 when not measured
	errors      string
	ceiling     float64 // the same fsync mode's; 0: none
	note        string
}

type stack struct {
	fsync       string
	rows        []row
	rssMB       float64 // peak (VmHWM): password hashing while the load customers register and log in
	loadRSSMB   float64 // the most while transfers run (the second half of each loadgen run)
	bytesPer    float64 // Redis memory per stored posting, the outbox aside
	outboxPer   float64 // the outbox's per event, until the relay deletes it
	perWrite    float64 // requests per Redis write (group commit); 0: not exported
	aofPer      float64
	commands    []string // the Redis commands of one HTTP transfer
	scriptLines int
}

func main() {
	bankBin := flag.String("bank", "bin/bank", "the bank binary")
	apiBin := flag.String("api-bank", "", "the bank binary whose api (and create-user) is measured, when not -bank: an older build, for before/after")
	duration := flag.Duration("duration", 10*time.Second, "how long each loadgen run lasts")
	ceilingN := flag.Int("ceiling-requests", 200_000, "script calls redis-benchmark replays per fsync mode")
	goBench := flag.Bool("go", true, "run the Go benchmarks too")
	flag.Parse()
	bin, err := filepath.Abs(*bankBin)
	if err != nil {
		fail(err)
	}
	apiBank := bin
	if *apiBin != "" {
		if apiBank, err = filepath.Abs(*apiBin); err != nil {
			fail(err)
		}
	}
	fmt.Println("machine:", machine())
	var stacks []stack
	for _, fsync := range []string{"everysec", "always"} {
		fmt.Fprintf(os.Stderr, "== fsync %s\n", fsync)
		s, err := measure(bin, apiBank, fsync, *duration, *ceilingN)
		if err != nil {
			fail(fmt.Errorf("fsync %s: %w", fsync, err))
		}
		stacks = append(stacks, s)
	}
	var rows []row
	for _, s := range stacks {
		rows = append(rows, s.rows...)
	}
	if *goBench {
		rows = append(rows, goBenchmarks(stacks[0].rows[0].rate)...)
	}
	fmt.Println()
	printTable(rows)
	fmt.Println()
	for _, s := range stacks {
		fmt.Printf("fsync %-8s api RSS (peak) %.1f MB; Redis memory %.0f B and AOF %.0f B per stored posting; %d Redis commands per HTTP transfer: %s\n",
			s.fsync, s.rssMB, s.bytesPer, s.aofPer, len(s.commands), strings.Join(s.commands, ", "))
		fmt.Printf("               outbox %.0f B per event until the relay delivers and deletes it (not counted above)\n", s.outboxPer)
		if s.perWrite > 0 {
			fmt.Printf("               group commit: %.1f requests per Redis write on average\n", s.perWrite)
		}
		fmt.Printf("               api RSS while transfers run %.1f MB (the peak is argon2id, %d MiB per hash, as the load customers register and log in)\n",
			s.loadRSSMB, auth.DefaultArgon2.MemoryKiB/1024)
	}
	fmt.Println("machine after:", machine())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// machine names the cores, the load and the Redis version beside the numbers.
func machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(load))
	if len(f) > 3 {
		f = f[:3]
	}
	v, _ := exec.Command("redis-server", "--version").Output()
	ver := regexp.MustCompile(`v=(\S+)`).FindStringSubmatch(string(v))
	rv := "?"
	if ver != nil {
		rv = ver[1]
	}
	return fmt.Sprintf("%d cores (%s/%s), load average %s, %s, redis %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, strings.Join(f, " "), runtime.Version(), rv)
}

func printTable(rows []row) {
	fmt.Printf("%-46s %-8s %10s %8s %8s %8s  %s\n", "what", "fsync", "per second", "p50 ms", "p99 ms", "/ceiling", "errors")
	for _, r := range rows {
		ratio := "-"
		if r.ceiling > 0 {
			ratio = fmt.Sprintf("%.2f", r.rate/r.ceiling)
		}
		lat := func(v float64) string {
			if v == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", v)
		}
		name := r.name
		if r.note != "" {
			name += " " + r.note
		}
		fmt.Printf("%-46s %-8s %10.0f %8s %8s %8s  %s\n", name, r.fsync, r.rate, lat(r.p50), lat(r.p99), ratio, r.errors)
	}
}

// measure runs one fsync mode on a fresh redis-server and api.
func measure(bin, apiBank, fsync string, duration time.Duration, ceilingN int) (stack, error) {
	s := stack{fsync: fsync}
	dir, err := os.MkdirTemp("", "kubebank-bench-")
	if err != nil {
		return s, err
	}
	defer os.RemoveAll(dir)
	rds, err := redisproc.Start(redisproc.Options{Dir: dir, Extra: []string{"--appendonly", "yes", "--appendfsync", fsync,
		// No automatic AOF rewrite during the run: the AOF bytes per
		// posting are what it appends, which a rewrite would hide.
		"--auto-aof-rewrite-percentage", "0"}})
	if err != nil {
		return s, err
	}
	defer rds.Kill()
	port, err := redisproc.FreePort()
	if err != nil {
		return s, err
	}
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Every load customer registers and logs in from 127.0.0.1: lift the
	// per-address limits, which are for people, not for this.
	env := append(os.Environ(), "BANK_REDIS_URL="+rds.URL, fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=warn",
		"BANK_LOGIN_ATTEMPTS_PER_ADDR=100000", "BANK_REGISTRATIONS_PER_ADDR=100000")
	create := exec.Command(apiBank, "admin", "create-user", "--username", "benchteller", "--password", "bench-teller-pw", "--role", "teller")
	create.Env = env
	if out, err := create.CombinedOutput(); err != nil {
		return s, fmt.Errorf("create-user: %v: %s", err, out)
	}
	apiCmd := exec.Command(apiBank, "api")
	apiCmd.Env = env
	var apiLog bytes.Buffer
	apiCmd.Stdout, apiCmd.Stderr = &apiLog, &apiLog
	if err := apiCmd.Start(); err != nil {
		return s, err
	}
	defer func() { _ = apiCmd.Process.Kill(); _ = apiCmd.Wait() }()
	if err := waitReady(api + "/readyz"); err != nil {
		return s, fmt.Errorf("%w\n%s", err, apiLog.String())
	}
	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.DialURL(rds.URL) }, MaxIdle: 2}
	defer pool.Close()

	// One transfer under MONITOR: what the API sends, and the script call
	// to replay.
	ctx := context.Background()
	cfg := loadgen.Config{APIURL: api, TellerUser: "benchteller", TellerPassword: "bench-teller-pw", Customers: 32,
		Concurrency: 32, Funding: 100_000_000_000, Currency: "EUR"}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		return s, err
	}
	cmds, script, err := captureTransfer(rds.Addr, cs)
	if err != nil {
		return s, err
	}
	s.commands = cmds

	// The ceiling: that exact script call, replayed by redis-benchmark.
	ceiling, err := replay(rds.Addr, script, ceilingN, 1)
	if err != nil {
		return s, err
	}
	ceiling.fsync = fsync
	ceiling.ceiling = ceiling.rate
	s.rows = append(s.rows, ceiling)
	// What sharing one round trip among several postings (group commit)
	// could gain at most on Redis's side: the same calls, 8 per round
	// trip. Its ratio is to the unbatched ceiling.
	batched, err := replay(rds.Addr, script, ceilingN, 8)
	if err != nil {
		return s, err
	}
	batched.fsync, batched.ceiling = fsync, ceiling.rate
	s.rows = append(s.rows, batched)

	before, err := redisInfo(pool)
	if err != nil {
		return s, err
	}
	outboxBefore, err := outboxBytes(pool)
	if err != nil {
		return s, err
	}
	postings := 0
	for _, c := range []int{16, 32} {
		// The load customers' setup (some 130 password hashes) takes a few
		// seconds before the duration starts: sample its second half.
		stop := sampleRSS(apiCmd.Process.Pid, 4*time.Second+duration/2, &s.loadRSSMB)
		out, err := runLoadgen(bin, api, c, duration)
		stop()
		if err != nil {
			return s, err
		}
		t := out.Ops["transfer"]
		postings += t.OK
		s.rows = append(s.rows, row{name: fmt.Sprintf("HTTP transfers, bank loadgen c=%d", c), fsync: fsync, rate: t.Rate,
			p50: t.P50, p99: t.P99, errors: errorsOf(t.Errors), ceiling: ceiling.rate})
	}
	after, err := redisInfo(pool)
	if err != nil {
		return s, err
	}
	s.perWrite = groupCommit(api)
	outboxAfter, err := outboxBytes(pool)
	if err != nil {
		return s, err
	}
	if postings > 0 {
		// The outbox holds each event only until the relay (a worker job,
		// not running here) has handed it on and deleted it: it is what a
		// posting costs for seconds, not what it stores.
		s.outboxPer = (outboxAfter - outboxBefore) / float64(postings)
		s.bytesPer = (after["used_memory"]-before["used_memory"])/float64(postings) - s.outboxPer
		s.aofPer = (after["aof_current_size"] - before["aof_current_size"]) / float64(postings)
	}
	s.rssMB = rssMB(apiCmd.Process.Pid)
	return s, nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready in 30s", url)
}

func runLoadgen(bin, api string, concurrency int, d time.Duration) (struct{ Ops map[string]loadgen.OpReport }, error) {
	var out struct{ Ops map[string]loadgen.OpReport }
	cmd := exec.Command(bin, "loadgen", "--api-url", api, "--teller-user", "benchteller", "--teller-password", "bench-teller-pw",
		"--customers", "64", "--concurrency", strconv.Itoa(concurrency), "--duration", d.String(), "--json", "--progress=false")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("loadgen: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("loadgen output: %w: %s", err, b)
	}
	return out, nil
}

func errorsOf(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// captureTransfer makes one HTTP transfer under MONITOR and returns the
// commands the API sent for it (script-internal ones left out) and the
// arguments of its EVALSHA.
func captureTransfer(addr string, cs loadgen.Customers) ([]string, []string, error) {
	// A first transfer loads the script (NOSCRIPT, then EVAL), as after
	// any restart; the one measured is the steady state.
	if _, err := cs.API.Transfer(context.Background(), cs.Tokens[0], fmt.Sprintf("bench-warm-%d", time.Now().UnixNano()),
		apiclient.TransferRequest{From: cs.Accounts[0], To: cs.Accounts[1], Amount: 1, Currency: "EUR"}); err != nil {
		return nil, nil, err
	}
	mon, err := redis.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer mon.Close()
	if err := mon.Send("MONITOR"); err != nil {
		return nil, nil, err
	}
	if err := mon.Flush(); err != nil {
		return nil, nil, err
	}
	if ok, err := redis.String(mon.Receive()); err != nil || ok != "OK" {
		return nil, nil, fmt.Errorf("MONITOR: %v %v", ok, err)
	}
	key := fmt.Sprintf("bench-capture-%d", time.Now().UnixNano())
	if _, err := cs.API.Transfer(context.Background(), cs.Tokens[0], key, apiclient.TransferRequest{From: cs.Accounts[0], To: cs.Accounts[1],
		Amount: 1, Currency: "EUR"}); err != nil {
		return nil, nil, err
	}
	// A marker from another client ends the capture.
	c, err := redis.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	_, _ = c.Do("ECHO", "bench-capture-end")
	c.Close()
	var cmds []string
	var script []string
	for {
		line, err := redis.String(mon.Receive())
		if err != nil {
			return nil, nil, err
		}
		if strings.Contains(line, `"bench-capture-end"`) {
			break
		}
		if strings.Contains(line, " lua]") {
			continue // run by a script, not sent by the API
		}
		var args []string
		for _, q := range quoted.FindAllString(line, -1) {
			a, err := strconv.Unquote(q)
			if err != nil {
				a = strings.Trim(q, `"`)
			}
			args = append(args, a)
		}
		if len(args) == 0 {
			continue
		}
		cmds = append(cmds, args[0])
		if strings.EqualFold(args[0], "EVALSHA") {
			script = args
		}
	}
	if script == nil {
		return cmds, nil, fmt.Errorf("no EVALSHA among the transfer's commands %v", cmds)
	}
	// Every call gets its own Idempotency-Key, as real requests do:
	// redis-benchmark replaces __rand_int__. (The script names the
	// transfer itself, after the sender's journal entry.)
	for i, a := range script {
		script[i] = strings.ReplaceAll(a, key, "bench-__rand_int__")
	}
	return cmds, script, nil
}

// replay runs the script call with redis-benchmark at 32 clients.
func replay(addr string, script []string, n, pipeline int) (row, error) {
	host, port, _ := strings.Cut(addr, ":")
	// -r stays in an int: larger, redis-benchmark replaces every
	// __rand_int__ with zeros, and each call would be a replay. Each
	// placeholder draws its own number; the outbox, one entry per
	// posting, proves the calls posted.
	c, err := redis.Dial("tcp", addr)
	if err != nil {
		return row{}, err
	}
	defer c.Close()
	before, err := redis.Int(c.Do("XLEN", keyspace.Outbox))
	if err != nil {
		return row{}, err
	}
	args := append([]string{"-h", host, "-p", port, "-c", "32", "-n", strconv.Itoa(n), "-r", "2000000000", "-P", strconv.Itoa(pipeline), "--csv"}, script...)
	out, err := exec.Command("redis-benchmark", args...).Output()
	if err != nil {
		return row{}, fmt.Errorf("redis-benchmark: %w", err)
	}
	after, err := redis.Int(c.Do("XLEN", keyspace.Outbox))
	if err != nil {
		return row{}, err
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(recs) < 2 || len(recs[1]) < 7 {
		return row{}, fmt.Errorf("redis-benchmark output: %v: %s", err, out)
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	// A call that did not post (a refusal, a replay, an id drawn twice)
	// is not a posting: the row says how many did.
	posted := after - before
	errs := "0"
	if posted < n {
		errs = fmt.Sprintf("%d of %d calls posted nothing", n-posted, n)
	}
	name := "ceiling: the script in redis-benchmark c=32"
	if pipeline > 1 {
		name = fmt.Sprintf("  the same, %d calls per round trip", pipeline)
	}
	return row{name: name, rate: f(recs[1][1]) * float64(posted) / float64(n),
		p50: f(recs[1][4]), p99: f(recs[1][6]), errors: errs}, nil
}

// groupCommit is how many requests shared each Redis write on average,
// from the api's bank_redis_group_commit_* counters; 0 when the api
// exports none (an older build, or --redis-group-commit=false).
func groupCommit(api string) float64 {
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := map[string]float64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && strings.HasPrefix(k, "bank_redis_group_commit_") {
			m[k], _ = strconv.ParseFloat(v, 64)
		}
	}
	if m["bank_redis_group_commit_writes_total"] == 0 {
		return 0
	}
	return m["bank_redis_group_commit_requests_total"] / m["bank_redis_group_commit_writes_total"]
}

// outboxBytes is the outbox stream's memory, counted exactly (SAMPLES 0).
func outboxBytes(pool *redis.Pool) (float64, error) {
	c := pool.Get()
	defer c.Close()
	n, err := redis.Int64(c.Do("MEMORY", "USAGE", keyspace.Outbox, "SAMPLES", "0"))
	if err == redis.ErrNil {
		return 0, nil
	}
	return float64(n), err
}

func redisInfo(pool *redis.Pool) (map[string]float64, error) {
	c := pool.Get()
	defer c.Close()
	s, err := redis.String(c.Do("INFO"))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if f, err := strconv.ParseFloat(v, 64); ok && err == nil {
			out[k] = f
		}
	}
	return out, nil
}

// sampleRSS raises *most to the process's resident set (VmRSS) every
// 100 ms, from after until stop.
func sampleRSS(pid int, after time.Duration, most *float64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if time.Since(start) < after {
					continue
				}
				*most = max(*most, statusMB(pid, "VmRSS"))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// rssMB is a process's peak resident set (VmHWM) in MB.
func rssMB(pid int) float64 { return statusMB(pid, "VmHWM") }

// statusMB is one kB field of /proc/<pid>/status, in MB (0 when absent).
func statusMB(pid int, field string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// goBenchmarks runs the transfer benchmarks of the ledger (the script
// through the Go client) and the API (HTTP in one process), whose Redis
// runs with everysec.
func goBenchmarks(ceiling float64) []row {
	fmt.Fprintln(os.Stderr, "== Go benchmarks")
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkTransfer", "-benchtime", "3s", "./src/ledger", "./src/api")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return []row{{name: "go test -bench failed: " + err.Error()}}
	}
	var rows []row
	line := regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op.*?([\d.]+) transfers/s`)
	for l := range strings.SplitSeq(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rate, _ := strconv.ParseFloat(m[4], 64)
		ns, _ := strconv.ParseFloat(m[3], 64)
		rows = append(rows, row{name: "go " + m[1], fsync: "everysec", rate: rate, ceiling: ceiling, note: fmt.Sprintf("(%.0f µs/op)", ns/1e3)})
	}
	return rows
}
