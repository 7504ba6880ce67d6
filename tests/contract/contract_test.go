// Package contract_test checks that the manifests and the binary agree:
// for every container that runs the bank image in every overlay, the real
// binary (built from ./src/cmd/bank) is started with that container's args
// and env, with Service host names pointed at a test redis-server (started
// with the Redis StatefulSet's args, its ACL users included) and at local
// ports. It must start, listen on the declared ports, answer the declared
// liveness and readiness probes, work as the bank under its own Redis user
// (useTheBank; Redis's ACL log must stay empty), and stop cleanly on
// SIGTERM within terminationGracePeriodSeconds; every env var the
// manifests set must be one of the binary's flags. What the prometheus.io
// annotations point at must be the binary's metrics, and no Ingress path
// may reach a container's /readyz or /metrics. TestACLUsers checks what
// each Redis user is refused.
package contract_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/tests/internal/bankbin"
	"github.com/kubebank/kubebank/tests/internal/manifests"
)

const bankImage = "kubebank/bank"

var bankBinary string

func TestMain(m *testing.M) { os.Exit(bankbin.Run(m, &bankBinary)) }

var flagLine = regexp.MustCompile(`(?m)^\s+-{1,2}([a-z0-9][a-z0-9-]*)`)

// flagEnv returns the BANK_* variables `bank <cmd> -h` says the
// subcommand reads (one per flag), or an error when it has no such
// subcommand.
func flagEnv(cmd ...string) (map[string]bool, error) {
	out, _ := exec.Command(bankBinary, append(slices.Clone(cmd), "-h")...).CombinedOutput()
	if strings.Contains(string(out), "unknown command") {
		return nil, fmt.Errorf("the binary has no subcommand %q yet (the manifests run `bank %s`):\n%s", cmd, cmd, out)
	}
	vars := map[string]bool{}
	for _, m := range flagLine.FindAllStringSubmatch(string(out), -1) {
		vars["BANK_"+strings.ToUpper(strings.ReplaceAll(m[1], "-", "_"))] = true
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("`bank %s -h` lists no flags:\n%s", cmd, out)
	}
	return vars, nil
}

// container is one bank container of a rendered workload.
type container struct {
	workload    string
	grace       time.Duration
	spec        map[string]any
	annotations map[string]any // the pod template's
}

func (c container) args() []string {
	var a []string
	for _, x := range c.spec["args"].([]any) {
		a = append(a, fmt.Sprint(x))
	}
	return a
}

// ports maps container port names (and numbers) to numbers.
func (c container) ports() map[string]int {
	p := map[string]int{}
	l, _ := c.spec["ports"].([]any)
	for _, x := range l {
		n := int(manifests.Get(x, "containerPort").(float64))
		p[strconv.Itoa(n)] = n
		if name, ok := manifests.Get(x, "name").(string); ok {
			p[name] = n
		}
	}
	return p
}

func bankContainers(t *testing.T, objs []manifests.Object) []container {
	t.Helper()
	var out []container
	for _, o := range objs {
		if o.Kind == "CronJob" { // runs to completion: checked by runJobs
			continue
		}
		for _, c := range manifests.Containers(o) {
			img, _ := c["image"].(string)
			if !strings.HasPrefix(img, bankImage+":") && !strings.HasPrefix(img, bankImage+"@") {
				continue
			}
			grace := 30 * time.Second
			if g, ok := manifests.Get(manifests.PodSpec(o), "terminationGracePeriodSeconds").(float64); ok {
				grace = time.Duration(g) * time.Second
			}
			ann, _ := manifests.Get(o.Raw, "spec", "template", "metadata", "annotations").(map[string]any)
			out = append(out, container{workload: o.Name, grace: grace, spec: c, annotations: ann})
		}
	}
	// api first: web's readiness needs a running API.
	sort.SliceStable(out, func(i, j int) bool { return out[i].workload == "api" && out[j].workload != "api" })
	return out
}

// serviceHosts maps every DNS form of every rendered Service
// (name, name.ns, name.ns.svc, name.ns.svc.cluster.local) and port to the
// Service's name and port.
func serviceHosts(objs []manifests.Object) map[string]string {
	m := map[string]string{}
	for _, o := range objs {
		// A StatefulSet's pods have names under its governing Service:
		// pod-N.service.namespace.svc.cluster.local.
		if o.Kind == "StatefulSet" {
			svc := fmt.Sprint(manifests.Get(o.Raw, "spec", "serviceName"))
			n, _ := manifests.Get(o.Raw, "spec", "replicas").(float64)
			for _, c := range manifests.Containers(o) {
				ports, _ := c["ports"].([]any)
				for _, p := range ports {
					port := strconv.Itoa(int(manifests.Get(p, "containerPort").(float64)))
					for i := range int(n) {
						pod := fmt.Sprintf("%s-%d", o.Name, i)
						m[net.JoinHostPort(pod+"."+svc+"."+o.Namespace+".svc.cluster.local", port)] = pod + ":" + port
					}
				}
			}
		}
		if o.Kind != "Service" {
			continue
		}
		ports, _ := manifests.Get(o.Raw, "spec", "ports").([]any)
		for _, p := range ports {
			port := strconv.Itoa(int(manifests.Get(p, "port").(float64)))
			for _, h := range []string{o.Name, o.Name + "." + o.Namespace, o.Name + "." + o.Namespace + ".svc", o.Name + "." + o.Namespace + ".svc.cluster.local"} {
				m[net.JoinHostPort(h, port)] = o.Name + ":" + port
			}
		}
	}
	return m
}

// startRedis starts the test redis-server as the overlay's StatefulSet
// runs it: with its args, every $(VAR) resolved from the container's env
// and Secrets, so the ACL users and their passwords are the manifests'
// own. Two directives are the test's: --dir (redistest's temporary
// folder) and --requirepass, set once the server answers (redistest
// checks that without a password). It returns the server and the default
// user's password.
func startRedis(t *testing.T, objs []manifests.Object, secret func(name, key string) string) (*redistest.Server, string) {
	t.Helper()
	c, err := manifests.RedisContainer(objs)
	if err != nil {
		t.Fatal(err)
	}
	env := manifests.Env(c, secret)
	var args []string
	pw := ""
	for _, d := range manifests.Directives(manifests.Args(c)) {
		for i := range d {
			if d[i] = manifests.Expand(d[i], env); strings.Contains(d[i], "$(") {
				t.Fatalf("redis arg %q names a variable the container does not set", d[i])
			}
		}
		switch d[0] {
		case "dir":
		case "requirepass":
			pw = d[1]
		default:
			args = append(append(args, "--"+d[0]), d[1:]...)
		}
	}
	if pw == "" {
		t.Fatal("the Redis StatefulSet sets no --requirepass")
	}
	rds := redistest.Start(t, args...)
	requirePassword(t, rds.Addr, pw)
	if slices.Contains(args, "--min-replicas-to-write") {
		startReplica(t, rds, pw, args)
	}
	return rds, pw
}

// startReplica starts a replica of rds with the same args, as the
// Sentinel topology's StatefulSet runs three data nodes: the primary's
// min-replicas-to-write refuses writes without one, and WAIT needs one.
func startReplica(t *testing.T, rds *redistest.Server, pw string, args []string) {
	t.Helper()
	admin, err := redis.Dial("tcp", rds.Addr, redis.DialPassword(pw))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Do("CONFIG", "SET", "repl-diskless-sync-delay", "0"); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(rds.Addr)
	replica := redistest.Start(t, append(slices.Clone(args), "--replicaof", host, port)...)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := redis.Dial("tcp", replica.Addr)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := redis.String(c.Do("INFO", "replication"))
		c.Close()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the replica did not sync with the primary within 10s (masterauth?)")
		}
	}
	requirePassword(t, replica.Addr, pw)
	if err := redistest.WaitReplicaOnline(rds.Addr, replica.Addr, pw); err != nil {
		t.Fatal(err)
	}
}

// startSentinels stands in for the overlay's redis-sentinel StatefulSet,
// if it has one: as many redis-sentinel processes, with its master name
// and passwords, monitoring rds. It returns them by pod name and port
// (redis-sentinel-0:26379), as serviceHosts names the pods.
func startSentinels(t *testing.T, objs []manifests.Object, rds *redistest.Server, pw string, secret func(name, key string) string) map[string]string {
	t.Helper()
	sts := manifests.Find(objs, "StatefulSet", "redis-sentinel")
	if sts == nil {
		return nil
	}
	env := manifests.Env(manifests.Containers(*sts)[0], secret)
	n := int(manifests.Get(sts.Raw, "spec", "replicas").(float64))
	ss := redistest.StartSentinelsWith(t, redisproc.SentinelOptions{MasterName: env["MASTER_NAME"], Master: rds.Addr,
		AuthPass: pw, Password: env["SENTINEL_PASSWORD"]}, n)
	local := map[string]string{}
	for i, s := range ss {
		local[fmt.Sprintf("%s-%d:26379", sts.Name, i)] = s.Addr
	}
	return local
}

// requirePassword turns on AUTH in the running test server (redistest
// pings it without a password while starting it).
func requirePassword(t *testing.T, addr, pw string) {
	t.Helper()
	c, err := redis.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Do("CONFIG", "SET", "requirepass", pw); err != nil {
		t.Fatal(err)
	}
	c2, err := redis.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Do("PING"); err == nil {
		t.Fatal("redis answers without the password")
	}
}

type process struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer // stdout and stderr
	done   chan error
	grace  time.Duration
	listen map[int]string // containerPort -> local address
	env    []string       // its environment, for commands run "in its pod"
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestContract(t *testing.T) {
	for _, env := range manifests.Envs {
		t.Run(env, func(t *testing.T) { checkOverlay(t, env) })
	}
}

func checkOverlay(t *testing.T, env string) {
	objs, _, err := manifests.Render("overlays/" + env)
	if err != nil {
		t.Fatal(err)
	}
	cs := bankContainers(t, objs)
	want := []string{"api", "scheduler", "web", "worker"}
	var got []string
	for _, c := range cs {
		got = append(got, c.workload)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bank containers %v, want %v", got, want)
	}
	secret := manifests.SecretValues(objs)
	rds, redisPassword := startRedis(t, objs, secret)
	// Last, after every process has stopped (or the test failed).
	t.Cleanup(func() { noACLDenials(t, rds.Addr, redisPassword) })
	hosts := serviceHosts(objs)
	// Where each Service is reachable in this test: redis is the test
	// server; api is the api process once it is started.
	local := map[string]string{"redis:6379": rds.Addr}
	maps.Copy(local, startSentinels(t, objs, rds, redisPassword, secret))

	runJobs(t, objs, hosts, local, secret)

	var running []*process
	ready := map[string]*process{} // workload -> process whose probes passed
	defer func() {
		// Kill whatever still runs; an exited process only returns an
		// error here. (Reading ProcessState would race with Wait.)
		for _, p := range running {
			_ = p.cmd.Process.Kill()
		}
	}()
	for _, c := range cs {
		p, ok := start(t, c, hosts, local, secret)
		if !ok {
			continue
		}
		running = append(running, p)
		if !probe(t, c, p) {
			continue
		}
		ready[c.workload] = p
		if c.workload == "api" {
			local["api:8000"] = p.listen[8000]
		}
	}
	for _, c := range cs {
		if p := ready[c.workload]; p != nil {
			scrape(t, c, p)
		}
	}
	publicPathsServeNoOps(t, objs, cs, ready)
	useTheBank(t, ready)
	// SIGTERM all at once (as a rollout does), then each must exit 0
	// within its grace period.
	for _, p := range running {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range running {
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("%s: exit after SIGTERM: %v\n%s", p.name, err, p.out)
			}
		case <-time.After(p.grace):
			t.Errorf("%s: still running %s after SIGTERM (terminationGracePeriodSeconds)\n%s", p.name, p.grace, p.out)
			p.cmd.Process.Kill()
		}
	}
}

// start checks the container's env against the binary's flags, rewrites
// Service addresses and listen ports to local ones, and starts it.
func start(t *testing.T, c container, hosts, local map[string]string, secret func(string, string) string) (*process, bool) {
	t.Helper()
	args := c.args()
	if len(args) == 0 {
		t.Errorf("%s: no args (which subcommand?)", c.workload)
		return nil, false
	}
	known, err := flagEnv(args[0])
	if err != nil {
		t.Errorf("%s: %v", c.workload, err)
		return nil, false
	}
	ports := c.ports()
	p := &process{name: c.workload, grace: c.grace, listen: map[int]string{}, done: make(chan error, 1)}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TMPDIR=" + t.TempDir()}
	envs, _ := c.spec["env"].([]any)
	ok := true
	for _, e := range envs {
		name := fmt.Sprint(manifests.Get(e, "name"))
		if !known[name] {
			t.Errorf("%s: env %s is not read by `bank %s` (its flags give %v)", c.workload, name, args[0], slices.Sorted(maps.Keys(known)))
			ok = false
			continue
		}
		val := manifests.EnvValue(e, secret)
		// A listen address: its port must be a declared containerPort;
		// locally it becomes a free port.
		if strings.HasPrefix(val, ":") {
			port, err := strconv.Atoi(val[1:])
			if err != nil || ports[val[1:]] != port {
				t.Errorf("%s: %s=%s listens on a port the container does not declare (%v)", c.workload, name, val, ports)
				ok = false
				continue
			}
			addr := redistest.FreeAddr(t)
			p.listen[port] = addr
			val = addr
		}
		val, err := localAddrs(val, hosts, local)
		if err != nil {
			t.Errorf("%s: %s: %v", c.workload, name, err)
			ok = false
			if val == "" {
				continue
			}
		}
		environ = append(environ, name+"="+val)
	}
	for _, port := range ports {
		if _, ok := p.listen[port]; !ok {
			t.Errorf("%s: containerPort %d is not set by any listen-address env var", c.workload, port)
			return nil, false
		}
	}
	if !ok {
		return nil, false
	}
	p.out = &syncBuffer{}
	p.env = environ
	p.cmd = exec.Command(bankBinary, args...)
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Errorf("%s: %v", c.workload, err)
		return nil, false
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", c.workload, p.out)
		}
	})
	return p, true
}

// localAddrs points the Services or pods that val names at their local
// stand-ins: a list of host:port (the Sentinels) or a URL. The error says
// what nothing stands in for; with it, val is "" when it must not be used.
func localAddrs(val string, hosts, local map[string]string) (string, error) {
	if addrs := strings.Split(val, ","); slices.ContainsFunc(addrs, func(a string) bool { return hosts[a] != "" }) {
		var to []string
		for _, a := range addrs {
			if l := local[hosts[a]]; l != "" {
				to = append(to, l)
			}
		}
		if len(to) != len(addrs) {
			return "", fmt.Errorf("%s names addresses that nothing in the test stands in for", val)
		}
		val = strings.Join(to, ",")
	}
	if u, err := url.Parse(val); err == nil && u.Host != "" {
		if svc, isSvc := hosts[u.Host]; isSvc {
			to, have := local[svc]
			if !have {
				return "", fmt.Errorf("%s names Service %s, which nothing in the test stands in for", val, svc)
			}
			u.Host = to
			return u.String(), nil
		} else if u.Scheme != "" && strings.Contains(u.Host, ".") {
			return val, fmt.Errorf("%s names a host that is no Service of the overlay", val)
		}
	}
	return val, nil
}

// probe waits until the container's liveness and readiness probes answer
// 2xx on the ports the manifests declare, as the kubelet would ask them.
func probe(t *testing.T, c container, p *process) bool {
	t.Helper()
	ports := c.ports()
	for _, kind := range []string{"livenessProbe", "readinessProbe"} {
		pr := c.spec[kind]
		path, _ := manifests.Get(pr, "httpGet", "path").(string)
		portRef := fmt.Sprint(manifests.Get(pr, "httpGet", "port"))
		port, declared := ports[portRef]
		if path == "" || !declared {
			t.Errorf("%s: %s is not an httpGet on a declared port: %v", c.workload, kind, pr)
			return false
		}
		target := "http://" + p.listen[port] + path
		if err := waitOK(target, 20*time.Second, p.done); err != nil {
			t.Errorf("%s: %s %s: %v", c.workload, kind, target, err)
			return false
		}
	}
	return true
}

// scrape fetches what the pod's prometheus.io/* annotations tell
// Prometheus to scrape: it must be the binary's metrics.
func scrape(t *testing.T, c container, p *process) {
	t.Helper()
	if c.annotations["prometheus.io/scrape"] != "true" {
		return
	}
	port, err := strconv.Atoi(fmt.Sprint(c.annotations["prometheus.io/port"]))
	if err != nil || p.listen[port] == "" {
		t.Errorf("%s: prometheus.io/port %v is not a declared containerPort", c.workload, c.annotations["prometheus.io/port"])
		return
	}
	path, _ := c.annotations["prometheus.io/path"].(string)
	if path == "" {
		path = "/metrics"
	}
	code, body := fetch("http://" + p.listen[port] + path)
	if code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("%s: scraping port %d %s: %d %.200s", c.workload, port, path, code, body)
	}
}

// opsPaths must never reach the internet: /readyz calls the
// dependencies and shows their errors, /metrics shows the process's
// internals.
var opsPaths = []string{"/readyz", "/metrics"}

// publicPathsServeNoOps asks, for every Ingress path that covers one of
// opsPaths, the container port behind it for that path: the answer must
// be 404.
func publicPathsServeNoOps(t *testing.T, objs []manifests.Object, cs []container, ready map[string]*process) {
	t.Helper()
	byWorkload := map[string]container{}
	for _, c := range cs {
		byWorkload[c.workload] = c
	}
	for _, ing := range objs {
		if ing.Kind != "Ingress" {
			continue
		}
		rules, _ := manifests.Get(ing.Raw, "spec", "rules").([]any)
		for _, rule := range rules {
			paths, _ := manifests.Get(rule, "http", "paths").([]any)
			for _, hp := range paths {
				prefix := fmt.Sprint(manifests.Get(hp, "path"))
				svcName := fmt.Sprint(manifests.Get(hp, "backend", "service", "name"))
				svcPort := manifests.Get(hp, "backend", "service", "port", "name")
				if svcPort == nil {
					svcPort = manifests.Get(hp, "backend", "service", "port", "number")
				}
				exact := manifests.Get(hp, "pathType") == "Exact"
				for _, op := range opsPaths {
					if exact && prefix != op || !exact && !covers(prefix, op) {
						continue
					}
					svc := manifests.Find(objs, "Service", svcName)
					if svc == nil {
						t.Errorf("%s: path %s names no Service %s", ing.ID(), prefix, svcName)
						continue
					}
					workload := fmt.Sprint(manifests.Get(svc.Raw, "spec", "selector", "app.kubernetes.io/name"))
					c, p := byWorkload[workload], ready[workload]
					if p == nil {
						t.Errorf("%s: %s%s goes to %s, which did not start", ing.ID(), prefix, op, workload)
						continue
					}
					target := ""
					ports, _ := manifests.Get(svc.Raw, "spec", "ports").([]any)
					for _, sp := range ports {
						if fmt.Sprint(manifests.Get(sp, "name")) == fmt.Sprint(svcPort) || fmt.Sprint(manifests.Get(sp, "port")) == fmt.Sprint(svcPort) {
							target = fmt.Sprint(manifests.Get(sp, "targetPort"))
						}
					}
					port, ok := c.ports()[target]
					if !ok {
						t.Errorf("%s: Service %s port %v has no container port %q", ing.ID(), svcName, svcPort, target)
						continue
					}
					if code, body := fetch("http://" + p.listen[port] + op); code != http.StatusNotFound {
						t.Errorf("%s: the Ingress routes %s to %s port %d, which answers %d: %.200s", ing.ID(), op, workload, port, code, body)
					}
				}
			}
		}
	}
}

// covers reports whether an Ingress Prefix path matches p (element-wise,
// as the Ingress spec defines it).
func covers(prefix, p string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/")
}

func fetch(target string) (int, string) {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(target)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func waitOK(target string, limit time.Duration, exited chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for {
		select {
		case err := <-exited:
			exited <- err // keep it for the shutdown check
			return fmt.Errorf("process exited: %v", err)
		default:
		}
		resp, err := client.Get(target)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not 2xx within %s: %s", limit, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
