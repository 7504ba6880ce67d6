package system

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// lines counts the lines of a process's log.
func lines(t *testing.T, p *proc) int {
	t.Helper()
	f, err := os.Open(p.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
	}
	return n
}

// TestJobsBackOffWhileRedisIsAway kills Redis under a worker and a
// scheduler: gocraft/work polls again 10ms after an error and prints each
// one, so without the pool's dial back-off they would write hundreds of
// lines a second. They write a few, /readyz fails, and both are ready
// again by themselves once Redis is back.
func TestJobsBackOffWhileRedisIsAway(t *testing.T) {
	rds := redistest.Start(t)
	var procs []*proc
	var ready []string
	for _, cmd := range []string{"worker", "scheduler"} {
		port, _ := redisproc.FreePort()
		env := []string{"BANK_REDIS_URL=" + rds.URL, fmt.Sprintf("BANK_METRICS_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=warn"}
		procs = append(procs, startBank(t, env, cmd))
		ready = append(ready, fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	}
	for _, u := range ready {
		waitHTTP(t, u)
	}
	before := []int{lines(t, procs[0]), lines(t, procs[1])}
	rds.Kill()
	const away = 5 * time.Second
	time.Sleep(away)
	for i, p := range procs {
		n := lines(t, p) - before[i]
		// 5s of back-off (100ms doubling to 5s) allow a handful of
		// attempts per polling loop; gocraft/work has about ten loops.
		if n > 200 {
			t.Errorf("%s wrote %d log lines in %s without Redis, want a few dozen at most", p.args[0], n, away)
		}
		resp, err := http.Get(ready[i])
		if err == nil {
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Errorf("%s: /readyz answered 200 without Redis", p.args[0])
		}
		t.Logf("%s: %d log lines in %s without Redis", p.args[0], n, away)
	}
	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, u := range ready {
		waitHTTP(t, u)
	}
	t.Logf("both ready again %s after Redis was back", time.Since(start).Round(time.Millisecond))
}
