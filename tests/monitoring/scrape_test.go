package monitoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// target is what a monitor scrapes: pods of app.kubernetes.io/name job,
// container port, path, and the monitor's relabelings (the operator's
// camelCase fields) for the targets and for the scraped series.
type target struct {
	Job  string
	Port int
	Path string
	// Relabel and MetricRelabel are the endpoint's relabelings and
	// metricRelabelings.
	Relabel, MetricRelabel []any
}

// scrapeTargets reads the ServiceMonitors and PodMonitors of objs and
// resolves each to the pods' container port it reaches.
func scrapeTargets(t *testing.T, objs []manifests.Object) []target {
	t.Helper()
	var out []target
	for _, o := range objs {
		if o.Kind != "ServiceMonitor" && o.Kind != "PodMonitor" {
			continue
		}
		if jl := manifests.Get(o.Raw, "spec", "jobLabel"); jl != "app.kubernetes.io/name" {
			t.Errorf("%s: jobLabel %v, want app.kubernetes.io/name (the rules' job names)", o.ID(), jl)
		}
		endpoints := "endpoints"
		if o.Kind == "PodMonitor" {
			endpoints = "podMetricsEndpoints"
		}
		eps, _ := manifests.Get(o.Raw, "spec", endpoints).([]any)
		for _, w := range selectedWorkloads(t, objs, o) {
			for _, ep := range eps {
				portName, _ := manifests.Get(ep, "port").(string)
				path, _ := manifests.Get(ep, "path").(string)
				if path == "" {
					path = "/metrics"
				}
				if o.Kind == "ServiceMonitor" {
					portName = servicePortTarget(t, objs, w.svc, portName)
				}
				port := containerPort(w.obj, portName)
				if port == 0 {
					t.Errorf("%s: %s has no container port %q", o.ID(), w.obj.ID(), portName)
					continue
				}
				rl, _ := manifests.Get(ep, "relabelings").([]any)
				mrl, _ := manifests.Get(ep, "metricRelabelings").([]any)
				out = append(out, target{Job: w.name, Port: port, Path: path, Relabel: rl, MetricRelabel: mrl})
			}
		}
	}
	slices.SortFunc(out, func(a, b target) int { return strings.Compare(a.Job, b.Job) })
	return out
}

type workload struct {
	name string // app.kubernetes.io/name of its pods
	obj  manifests.Object
	svc  *manifests.Object // the Service a ServiceMonitor selected
}

// selectedWorkloads returns the Deployments (and, for a PodMonitor, the
// StatefulSets) whose pods the monitor o scrapes.
func selectedWorkloads(t *testing.T, objs []manifests.Object, o manifests.Object) []workload {
	sel := manifests.Get(o.Raw, "spec", "selector")
	var out []workload
	for i, c := range objs {
		switch {
		case o.Kind == "ServiceMonitor" && c.Kind == "Service" && matches(sel, manifests.Get(c.Raw, "metadata", "labels")):
			podSel := manifests.Get(c.Raw, "spec", "selector")
			for _, d := range objs {
				if d.Kind == "Deployment" && d.Namespace == c.Namespace && matchesLabels(podSel, manifests.Get(d.Raw, "spec", "template", "metadata", "labels")) {
					name, _ := manifests.Get(d.Raw, "spec", "template", "metadata", "labels", "app.kubernetes.io/name").(string)
					out = append(out, workload{name: name, obj: d, svc: &objs[i]})
				}
			}
		case o.Kind == "PodMonitor" && (c.Kind == "Deployment" || c.Kind == "StatefulSet") && matches(sel, manifests.Get(c.Raw, "spec", "template", "metadata", "labels")):
			name, _ := manifests.Get(c.Raw, "spec", "template", "metadata", "labels", "app.kubernetes.io/name").(string)
			out = append(out, workload{name: name, obj: c})
		}
	}
	if len(out) == 0 {
		t.Errorf("%s selects nothing", o.ID())
	}
	return out
}

// matches is a label selector (matchLabels, matchExpressions with In) against labels.
func matches(sel, labels any) bool {
	if ml := manifests.Get(sel, "matchLabels"); ml != nil && !matchesLabels(ml, labels) {
		return false
	}
	exprs, _ := manifests.Get(sel, "matchExpressions").([]any)
	for _, e := range exprs {
		key, _ := manifests.Get(e, "key").(string)
		v, _ := manifests.Get(labels, key).(string)
		vals, _ := manifests.Get(e, "values").([]any)
		if manifests.Get(e, "operator") != "In" || !slices.Contains(vals, any(v)) {
			return false
		}
	}
	return sel != nil
}

func matchesLabels(want, labels any) bool {
	m, _ := want.(map[string]any)
	for k, v := range m {
		if manifests.Get(labels, k) != v {
			return false
		}
	}
	return len(m) > 0
}

// servicePortTarget is the targetPort (a container port name) of svc's port named name.
func servicePortTarget(t *testing.T, _ []manifests.Object, svc *manifests.Object, name string) string {
	ports, _ := manifests.Get(svc.Raw, "spec", "ports").([]any)
	for _, p := range ports {
		if manifests.Get(p, "name") == name {
			if tp, ok := manifests.Get(p, "targetPort").(string); ok {
				return tp
			}
			t.Errorf("%s: port %s has a numeric targetPort", svc.ID(), name)
		}
	}
	return name
}

func containerPort(o manifests.Object, name string) int {
	for _, c := range manifests.Containers(o) {
		ports, _ := c["ports"].([]any)
		for _, p := range ports {
			if manifests.Get(p, "name") == name {
				switch n := manifests.Get(p, "containerPort").(type) {
				case int:
					return n
				case int64:
					return int(n)
				case float64:
					return int(n)
				}
			}
		}
	}
	return 0
}

// listenFlags says, per job and container port, which flag of the
// process sets that listen address; a monitor scraping anything else
// fails the test (the manifests changed and so must this test).
var listenFlags = map[string]map[int]string{
	"api":            {8000: "--addr"},
	"web":            {3000: "--addr", 9090: "--metrics-addr"},
	"worker":         {9090: "--metrics-addr"},
	"scheduler":      {9090: "--metrics-addr"},
	"redis-exporter": {9121: "-web.listen-address"},
}

// redisPorts are the container ports of the Redis pods the exporter
// scrapes one by one (/scrape?target=): redistest starts them, no flag.
var redisPorts = map[string]int{"redis": 6379, "redis-sentinel": 26379}

// pod is one scraped pod on loopback: its name and address.
type pod struct{ name, addr string }

// relabelConfigs turns a monitor's relabelings into Prometheus's
// relabel_configs. A replacement that is a Service's cluster address
// (svc.namespace.svc:port, the exporter for the multi-target monitors)
// becomes the local address of the pods behind it, so the test scrapes
// where the manifests point.
func relabelConfigs(t *testing.T, objs []manifests.Object, rls []any, local map[string]map[int]string) []map[string]any {
	t.Helper()
	fields := map[string]string{"sourceLabels": "source_labels", "separator": "separator", "targetLabel": "target_label",
		"regex": "regex", "modulus": "modulus", "replacement": "replacement", "action": "action"}
	svcAddr := regexp.MustCompile(`^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?:(\d+)$`)
	var out []map[string]any
	for _, r := range rls {
		m, _ := r.(map[string]any)
		c := map[string]any{}
		for k, v := range m {
			f, ok := fields[k]
			if !ok {
				t.Fatalf("relabeling field %q: this test does not translate it", k)
			}
			c[f] = v
		}
		if a, _ := c["action"].(string); a != "" {
			c["action"] = strings.ToLower(a)
		}
		if rep, _ := c["replacement"].(string); svcAddr.MatchString(rep) {
			c["replacement"] = serviceLocalAddr(t, objs, svcAddr.FindStringSubmatch(rep), local)
		}
		out = append(out, c)
	}
	return out
}

// serviceLocalAddr resolves [_, name, namespace, port] of a Service to the
// local address of the Deployment's container port it forwards to.
func serviceLocalAddr(t *testing.T, objs []manifests.Object, m []string, local map[string]map[int]string) string {
	t.Helper()
	for i, svc := range objs {
		if svc.Kind != "Service" || svc.Name != m[1] || svc.Namespace != m[2] {
			continue
		}
		ports, _ := manifests.Get(svc.Raw, "spec", "ports").([]any)
		for _, p := range ports {
			if fmt.Sprint(manifests.Get(p, "port")) != m[3] {
				continue
			}
			tp, _ := manifests.Get(p, "targetPort").(string)
			podSel := manifests.Get(svc.Raw, "spec", "selector")
			for _, d := range objs {
				if d.Kind == "Deployment" && d.Namespace == svc.Namespace && matchesLabels(podSel, manifests.Get(d.Raw, "spec", "template", "metadata", "labels")) {
					name, _ := manifests.Get(d.Raw, "spec", "template", "metadata", "labels", "app.kubernetes.io/name").(string)
					if a := local[name][containerPort(d, tp)]; a != "" {
						return a
					}
				}
			}
			t.Fatalf("%s: port %s reaches no process this test starts", objs[i].ID(), m[3])
		}
	}
	t.Fatalf("relabeling to %s.%s.svc:%s: no such Service port", m[1], m[2], m[3])
	return ""
}

// exporterNodeUser is the data nodes' "--user exporter ..." directive
// from the rendered StatefulSet, with password pw.
func exporterNodeUser(t *testing.T, objs []manifests.Object, pw string) []string {
	t.Helper()
	c, err := manifests.RedisContainer(objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range manifests.Directives(manifests.Args(c)) {
		if len(d) > 1 && d[0] == "user" && d[1] == "exporter" {
			out := append([]string{"--user"}, d[1:]...)
			for i, a := range out {
				out[i] = strings.ReplaceAll(a, "$(REDIS_EXPORTER_PASSWORD)", pw)
			}
			return out
		}
	}
	t.Fatal("the redis StatefulSet declares no user exporter")
	return nil
}

// exporterSentinelUser is the "user exporter ..." line that the deployed
// Sentinels' start script writes into sentinel.conf, with password pw.
func exporterSentinelUser(t *testing.T, pw string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(manifests.Root(), "components", "redis-sentinel", "sentinel.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "user exporter ") {
			return strings.ReplaceAll(l, "$EXPORTER_PASSWORD", pw)
		}
	}
	t.Fatal("components/redis-sentinel/sentinel.sh declares no user exporter")
	return ""
}

// startProc starts a program, logs to a file shown on failure, and stops
// it (SIGTERM, then SIGKILL) when the test ends.
func startProc(t *testing.T, name, bin string, env []string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("%s log:\n%s", name, b)
		}
	})
}

func waitOK(t *testing.T, u string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not OK within %s: %v", u, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A real Prometheus scrapes the real processes where the monitors say,
// evaluates the deployed rules, and has data for every metric they and
// the dashboard use.
func TestScrapeTheStack(t *testing.T) {
	prometheus := tool(t, "prometheus", "prometheus")
	exporter := tool(t, "prometheus-redis-exporter", "prometheus-redis-exporter")
	objs := render(t)
	targets := scrapeTargets(t, objs)
	groups := ruleGroups(t, objs)
	dash := dashboardOf(t, objs)

	// Redis as staging and prod run it: a primary, a replica and three
	// Sentinels (master name "bank", what the rules watch), each scraped
	// through the exporter as its own target.
	// The exporter logs in to each as its ACL user, declared as the
	// manifests do; the Sentinels require a password of their own.
	const exporterPW = "exporter-pw"
	nodeUser := exporterNodeUser(t, objs, exporterPW)
	rs := redistest.Start(t, nodeUser...)
	redisURL := rs.URL
	replica := rs.Replica(t, nodeUser...)
	sentinels := redistest.StartSentinelsWith(t, redisproc.SentinelOptions{MasterName: "bank", Master: rs.Addr,
		Password: "sentinel-pw", Extra: []string{exporterSentinelUser(t, exporterPW)}}, 3)
	pods := map[string][]pod{
		"redis": {{"redis-0", rs.Addr}, {"redis-1", replica.Addr}},
	}
	for i, s := range sentinels {
		pods["redis-sentinel"] = append(pods["redis-sentinel"], pod{fmt.Sprintf("redis-sentinel-%d", i), s.Addr})
	}
	local := map[string]map[int]string{} // job → container port → local address
	for job, ports := range listenFlags {
		local[job] = map[int]string{}
		for p := range ports {
			local[job][p] = redistest.FreeAddr(t)
		}
	}
	for job, ports := range local {
		for p, a := range ports {
			pods[job] = append(pods[job], pod{fmt.Sprintf("%s-%d", job, p), a})
		}
	}
	for _, tg := range targets {
		if _, ok := listenFlags[tg.Job][tg.Port]; !ok && redisPorts[tg.Job] != tg.Port {
			t.Fatalf("the monitors scrape %s on port %d, which this test does not start", tg.Job, tg.Port)
		}
	}
	redisEnv := []string{"BANK_REDIS_URL=" + redisURL, "BANK_LOG_LEVEL=warn"}
	apiAddr := local["api"][8000]
	startProc(t, "api", bankBinary, redisEnv, "api", "--addr", apiAddr)
	startProc(t, "worker", bankBinary, redisEnv, "worker", "--metrics-addr", local["worker"][9090])
	startProc(t, "scheduler", bankBinary, redisEnv, "scheduler", "--metrics-addr", local["scheduler"][9090])
	waitOK(t, "http://"+apiAddr+"/readyz", 20*time.Second)
	startProc(t, "web", bankBinary, redisEnv, "web", "--addr", local["web"][3000], "--metrics-addr", local["web"][9090],
		"--api-url", "http://"+apiAddr)
	startProc(t, "redis-exporter", exporter, []string{"REDIS_ADDR=" + redisURL, "REDIS_EXPORTER_CONFIG_COMMAND=-",
		"REDIS_USER=exporter", "REDIS_PASSWORD=" + exporterPW},
		"-web.listen-address", local["redis-exporter"][9121])

	// Prometheus with the deployed rules and one scrape job per target kind.
	dir := t.TempDir()
	writeRules(t, dir, "rules.yaml", groups)
	// Each pod is a target as Kubernetes discovery would give it
	// (its address, its name), then the monitor's relabelings apply.
	type staticConfig struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels"`
	}
	type scrapeConfig struct {
		JobName       string           `yaml:"job_name"`
		MetricsPath   string           `yaml:"metrics_path"`
		StaticConfigs []staticConfig   `yaml:"static_configs"`
		Relabel       []map[string]any `yaml:"relabel_configs,omitempty"`
		MetricRelabel []map[string]any `yaml:"metric_relabel_configs,omitempty"`
	}
	var scrapes []scrapeConfig
	for _, tg := range targets {
		sc := scrapeConfig{JobName: tg.Job, MetricsPath: tg.Path,
			Relabel:       relabelConfigs(t, objs, tg.Relabel, local),
			MetricRelabel: relabelConfigs(t, objs, tg.MetricRelabel, local)}
		for _, p := range pods[tg.Job] {
			if a, ok := local[tg.Job][tg.Port]; ok && a != p.addr {
				continue // another port of the same process
			}
			sc.StaticConfigs = append(sc.StaticConfigs, staticConfig{Targets: []string{p.addr},
				Labels: map[string]string{"__meta_kubernetes_pod_name": p.name}})
		}
		scrapes = append(scrapes, sc)
	}
	cfg, err := yaml.Marshal(map[string]any{
		"global":         map[string]string{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files":     []string{filepath.Join(dir, "rules.yaml")},
		"scrape_configs": scrapes,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := redistest.FreeAddr(t)
	startProc(t, "prometheus", prometheus, nil, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	prom := "http://" + promAddr
	waitOK(t, prom+"/-/ready", 30*time.Second)

	sendTraffic(t, "http://"+apiAddr, "http://"+local["web"][3000], redisURL)

	// Every target kind is up.
	for _, tg := range targets {
		job := tg.Job
		eventually(t, 30*time.Second, "up{job=\""+job+"\"} == 1", func() bool {
			return len(query(t, prom, `up{job="`+job+`"} == 1`)) > 0
		})
	}
	// Each Redis pod is its own instance, named for its pod, and answers
	// the exporter; the exporter's own /metrics keeps no Redis series.
	for job, ps := range map[string][]pod{"redis": pods["redis"], "redis-sentinel": pods["redis-sentinel"]} {
		q := `redis_up{job="` + job + `"} == 1`
		eventually(t, 30*time.Second, fmt.Sprintf("%s: %d instances", q, len(ps)), func() bool {
			got := map[string]bool{}
			for _, r := range query(t, prom, q) {
				got[fmt.Sprint(manifests.Get(r, "metric", "instance"))] = true
			}
			for _, p := range ps {
				if !got[p.name] {
					return false
				}
			}
			return len(got) == len(ps)
		})
	}
	// Its user may run what it needs: no scrape error, and every
	// Sentinel answers SENTINEL CKQUORUM (the quorum is reachable).
	eventually(t, 30*time.Second, "every Sentinel's ckquorum is OK", func() bool {
		return len(query(t, prom, `redis_sentinel_master_ckquorum_status{job="redis-sentinel",master_name="bank"} == 1`)) == len(pods["redis-sentinel"])
	})
	if r := query(t, prom, `redis_exporter_last_scrape_error{job=~"redis|redis-sentinel"} != 0`); len(r) > 0 {
		t.Errorf("the exporter's scrapes fail: %v", r)
	}
	if r := query(t, prom, `redis_up{job="redis-exporter"}`); len(r) > 0 {
		t.Errorf("the exporter's /metrics keeps Redis series: %v", r)
	}
	// Every metric a rule or a panel uses has data.
	names := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			for _, n := range metricNames(r.Expr) {
				names[n] = true
			}
		}
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
			for _, n := range metricNames(tg.Expr) {
				names[n] = true
			}
		}
	}
	if len(exprs) < 20 {
		t.Errorf("the dashboard has only %d queries", len(exprs))
	}
	for _, n := range slices.Sorted(mapsKeys(names)) {
		eventually(t, 60*time.Second, n+" has data", func() bool {
			return len(query(t, prom, `count({__name__="`+n+`"})`)) > 0
		})
	}
	// Every panel query parses and runs ($__rate_interval is Grafana's).
	for _, e := range exprs {
		if _, err := tryQuery(prom, strings.ReplaceAll(e, "$__rate_interval", "1m")); err != nil {
			t.Errorf("panel query %q: %v", e, err)
		}
	}
	// Every rule evaluates without error on the real series.
	eventually(t, 20*time.Second, "every rule evaluated without error", func() bool {
		return rulesHealthy(t, prom, len(groups))
	})
	if os.Getenv("BANK_UPDATE_SCREENSHOTS") != "" {
		screenshot(t, prom)
	}
}

// metricNames are the metric names in a PromQL expression: the bank's
// (bank_*, the recording rules' bank:*), the exporter's (redis_*) and up.
// Every series the rules and panels use is one of these families, so a
// pattern finds them without a PromQL parser; label names in them
// (job_name, code, ...) never start so.
var metricName = regexp.MustCompile(`\b(bank[_:][a-z0-9_:]+|redis_[a-z0-9_]+|up)\b`)

func metricNames(expr string) []string {
	// Strings ("5..", "interest-accrual-batch") are label values, not names.
	expr = regexp.MustCompile(`"[^"]*"`).ReplaceAllString(expr, `""`)
	return metricName.FindAllString(expr, -1)
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func eventually(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("not within %s: %s", limit, what)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// query runs an instant query and returns its result vector.
func query(t *testing.T, prom, q string) []any {
	t.Helper()
	res, err := tryQuery(prom, q)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	return res
}

func tryQuery(prom, q string) ([]any, error) {
	resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status, Error string
		Data          struct {
			ResultType string `json:"resultType"`
			Result     json.RawMessage
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.Status, body.Error)
	}
	var res []any
	if body.Data.ResultType == "vector" || body.Data.ResultType == "matrix" {
		if err := json.Unmarshal(body.Data.Result, &res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// rulesHealthy reports whether Prometheus loaded want groups and has
// evaluated every rule in them without error.
func rulesHealthy(t *testing.T, prom string, want int) bool {
	resp, err := http.Get(prom + "/api/v1/rules")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data.Groups) != want {
		return false
	}
	ok := true
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			if r.Health != "ok" {
				if r.Health == "err" {
					t.Logf("rule %s: %s", r.Name, r.LastError)
				}
				ok = false
			}
		}
	}
	return ok
}

// sendTraffic uses the bank as its users would: a teller deposits, a
// customer transfers (once refused), pages of the web app, a reconciliation.
func sendTraffic(t *testing.T, api, web, redisURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	create := exec.Command(bankBinary, "admin", "create-user", "--username", "tina", "--role", "teller",
		"--password-stdin", "--redis-url", redisURL)
	create.Stdin = strings.NewReader("teller-password-123\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("create-user: %v\n%s", err, out)
	}
	cl := apiclient.New(api, nil)
	if _, err := cl.Register(ctx, "carol", "carol-password-123"); err != nil {
		t.Fatal(err)
	}
	carol, err := cl.Login(ctx, "carol", "carol-password-123")
	if err != nil {
		t.Fatal(err)
	}
	teller, err := cl.Login(ctx, "tina", "teller-password-123")
	if err != nil {
		t.Fatal(err)
	}
	a, err := cl.OpenAccount(ctx, carol.Token, apiclient.OpenAccount{Type: "checking", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cl.OpenAccount(ctx, carol.Token, apiclient.OpenAccount{Type: "savings", Currency: "EUR", InterestRateBPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Transfer(ctx, carol.Token, "refused-1", apiclient.TransferRequest{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR"}); err == nil {
		t.Fatal("a transfer from an empty account went through")
	}
	if _, err := cl.Deposit(ctx, teller.Token, "dep-1", apiclient.CashRequest{Account: a.Number, Amount: 10_000, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := cl.Transfer(ctx, carol.Token, fmt.Sprintf("tr-%d", i), apiclient.TransferRequest{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{api + "/v1/nope", web + "/", web + "/login"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The worker pool runs what is enqueued: a reconciliation (the ledger
	// gauges) and the relay of the postings' events.
	for _, job := range []string{"reconciliation", "outbox-relay"} {
		if out, err := exec.Command(bankBinary, "jobs", "run", job, "--redis-url", redisURL).CombinedOutput(); err != nil {
			t.Fatalf("jobs run %s: %v\n%s", job, err, out)
		}
	}
}

// screenshot saves Prometheus's alerts page (Debian ships the classic UI), with the deployed rules
// evaluated on the live stack, as docs/screenshots/prometheus-alerts.png.
func screenshot(t *testing.T, prom string) {
	chromium := tool(t, "chromium", "chromium")
	out := filepath.Join(manifests.Root(), "docs", "screenshots", "prometheus-alerts.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1280,1400", "--virtual-time-budget=8000", "--screenshot="+out, prom+"/classic/alerts")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	t.Logf("wrote %s", out)
}
