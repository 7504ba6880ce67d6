package system

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// `bank loadgen` with every operation of the mix against two api
// processes on one Redis: each operation is measured, none fails, both
// replicas served requests, and the ledger balances afterwards.
func TestLoadgenMixAcrossReplicas(t *testing.T) {
	rds := redistest.Start(t)
	var urls []string
	for range 2 {
		port, _ := redisproc.FreePort()
		env := []string{"BANK_REDIS_URL=" + rds.URL, fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=warn"}
		if len(urls) == 0 {
			if err := run(env, "admin", "create-user", "--username", "loadteller", "--password", "load-teller-pw", "--role", "teller"); err != nil {
				t.Fatal(err)
			}
		}
		startBank(t, env, "api")
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitHTTP(t, url+"/readyz")
		urls = append(urls, url)
	}
	cmd := exec.Command(bankBin, "loadgen", "--api-url", urls[0], "--api-url", urls[1], "--teller-user", "loadteller", "--teller-password", "load-teller-pw",
		"--customers", "6", "--concurrency", "4", "--requests", "400", "--mix", "transfer=40,hold=20,balance=20,history=20", "--json", "--progress=false")
	cmd.Env = os.Environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, out)
	}
	for _, op := range []string{"transfer", "hold", "capture", "void", "balance", "history"} {
		if !strings.Contains(string(out), `"`+op+`": {`) {
			t.Errorf("loadgen measured no %s:\n%s", op, out)
		}
	}
	if strings.Count(string(out), `"errors": {}`) != 6 {
		t.Errorf("loadgen saw errors:\n%s", out)
	}
	// Both replicas answered: each counted requests on its /metrics.
	for _, u := range urls {
		if n := postCountOf(t, u); n < 50 {
			t.Errorf("%s served %d transfer requests, want a share of them", u, n)
		}
	}
	rep, err := ledger.New(rds.Pool(t)).Reconcile(context.Background())
	if err != nil || !rep.Balanced() {
		t.Fatalf("after loadgen the ledger does not balance: %+v %v", rep, err)
	}
}

// postCountOf sums the api's bank_api_requests_total for POST
// /v1/transfers from its /metrics.
func postCountOf(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "bank_api_requests_total{") && strings.Contains(line, `route="/v1/transfers"`) && strings.Contains(line, `method="POST"`) {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			n += int(v)
		}
	}
	return n
}
