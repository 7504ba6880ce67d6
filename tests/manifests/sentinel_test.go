package manifests_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// envOf is a container's env with Secret references as "secret NAME".
func envOf(c map[string]any) map[string]string {
	return manifests.Env(c, func(name, key string) string { return "secret " + generatorName(name) })
}

// The Sentinel topology of staging and prod (components/redis-sentinel)
// holds together: the clients name exactly the three Sentinels' stable
// addresses and the master name they monitor, the money movers wait for a
// replica, the data nodes replicate with the Secret's password and refuse
// writes without a replica, a drain keeps the Sentinels' quorum, both
// StatefulSets spread over nodes, the data nodes get time to replay their
// AOF, and the network policies open exactly the new flows. dev stays a
// single redis-server that nobody reaches through Sentinel.
func TestSentinelTopology(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		s := manifests.Find(objs, "StatefulSet", "redis-sentinel")
		if env == "dev" {
			if s != nil {
				t.Errorf("dev: Sentinels, want a single redis-server")
			}
			for _, w := range []string{"api", "web", "worker", "scheduler"} {
				if e := envOf(manifests.Containers(*manifests.Find(objs, "Deployment", w))[0]); e["BANK_REDIS_SENTINELS"] != "" {
					t.Errorf("dev: %s uses Sentinels %q", w, e["BANK_REDIS_SENTINELS"])
				}
			}
			continue
		}
		if s == nil {
			t.Fatalf("%s: no redis-sentinel StatefulSet", env)
		}
		n := replicas(t, objs, "StatefulSet", "redis-sentinel")
		sc := manifests.Containers(*s)[0]
		senv := envOf(sc)
		master := senv["MASTER_NAME"]
		headless := fmt.Sprint(manifests.Get(s.Raw, "spec", "serviceName"))
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("redis-sentinel-%d.%s.bank.svc.cluster.local:26379", i, headless))
		}
		if h := manifests.Find(objs, "Service", headless); h == nil || manifests.Get(h.Raw, "spec", "clusterIP") != "None" {
			t.Errorf("%s: the Sentinels' governing Service %s is missing or not headless", env, headless)
		}
		if senv["REDIS_PASSWORD"] != "secret redis-auth" || senv["SENTINEL_PASSWORD"] != "secret "+sentinelSecret {
			t.Errorf("%s: the Sentinels' passwords %q, %q, want redis-auth's and %s's", env, senv["REDIS_PASSWORD"], senv["SENTINEL_PASSWORD"], sentinelSecret)
		}
		// The exporter logs in to the Sentinels as on the data nodes: its
		// own user, with the password of its Secret.
		if senv["EXPORTER_PASSWORD"] != "secret redis-exporter" {
			t.Errorf("%s: the Sentinels' EXPORTER_PASSWORD %q, want redis-exporter's", env, senv["EXPORTER_PASSWORD"])
		}

		for _, w := range []string{"api", "web", "worker", "scheduler"} {
			e := envOf(manifests.Containers(*manifests.Find(objs, "Deployment", w))[0])
			if got := strings.Split(e["BANK_REDIS_SENTINELS"], ","); !slices.Equal(got, want) {
				t.Errorf("%s: %s's BANK_REDIS_SENTINELS %q, want %q", env, w, got, want)
			}
			if e["BANK_REDIS_MASTER_NAME"] != master || master == "" {
				t.Errorf("%s: %s's BANK_REDIS_MASTER_NAME %q, the Sentinels monitor %q", env, w, e["BANK_REDIS_MASTER_NAME"], master)
			}
			if e["BANK_REDIS_SENTINEL_PASSWORD"] != "secret "+sentinelSecret {
				t.Errorf("%s: %s's BANK_REDIS_SENTINEL_PASSWORD %q, want from %s", env, w, e["BANK_REDIS_SENTINEL_PASSWORD"], sentinelSecret)
			}
			wantAck := map[string]string{"api": "1", "worker": "1"}[w]
			if e["BANK_REDIS_MIN_REPLICAS_ACK"] != wantAck {
				t.Errorf("%s: %s's BANK_REDIS_MIN_REPLICAS_ACK %q, want %q", env, w, e["BANK_REDIS_MIN_REPLICAS_ACK"], wantAck)
			}
		}

		data := manifests.Find(objs, "StatefulSet", "redis")
		dc, err := manifests.RedisContainer(objs)
		if err != nil {
			t.Fatal(err)
		}
		if envOf(dc)["MASTER_NAME"] != master {
			t.Errorf("%s: the data nodes' MASTER_NAME %q, the Sentinels' %q", env, envOf(dc)["MASTER_NAME"], master)
		}
		args := strings.Join(manifests.Args(dc), " ")
		for _, a := range []string{"--masterauth $(REDIS_PASSWORD)", "--min-replicas-to-write 1", "--min-replicas-max-lag "} {
			if !strings.Contains(args, a) {
				t.Errorf("%s: the data nodes' args lack %q", env, a)
			}
		}
		period, _ := manifests.Get(dc, "startupProbe", "periodSeconds").(float64)
		failures, _ := manifests.Get(dc, "startupProbe", "failureThreshold").(float64)
		if period*failures < 600 {
			t.Errorf("%s: the data nodes' startupProbe allows %vs, want at least 10 minutes to replay an AOF", env, period*failures)
		}

		// A drain keeps a quorum of Sentinels and a primary with a replica.
		for name, keep := range map[string]int{"redis-sentinel": n/2 + 1, "redis": 2} {
			pdb := manifests.Find(objs, "PodDisruptionBudget", name)
			if pdb == nil {
				t.Errorf("%s: no PodDisruptionBudget %s", env, name)
				continue
			}
			maxU, _ := manifests.Get(pdb.Raw, "spec", "maxUnavailable").(float64)
			total := replicas(t, objs, "StatefulSet", name)
			if maxU < 1 || total-int(maxU) < keep {
				t.Errorf("%s: PodDisruptionBudget %s lets %v of %d go, want %d to stay", env, name, maxU, total, keep)
			}
		}
		for _, o := range []*manifests.Object{s, data} {
			spread := fmt.Sprint(manifests.Get(o.Raw, "spec", "template", "spec", "topologySpreadConstraints"))
			if !strings.Contains(spread, "kubernetes.io/hostname") || !strings.Contains(spread, "topology.kubernetes.io/zone") {
				t.Errorf("%s: %s does not spread over nodes and zones: %s", env, o.ID(), spread)
			}
		}

		// The flows: clients and data nodes to the Sentinels, Sentinels
		// and replicas to the data nodes, the exporter to both.
		allows := func(policy, peer string, port int, dir string) bool {
			np := manifests.Find(objs, "NetworkPolicy", policy)
			if np == nil {
				return false
			}
			rules, _ := manifests.Get(np.Raw, "spec", dir).([]any)
			for _, r := range rules {
				if strings.Contains(fmt.Sprint(r), peer) && strings.Contains(fmt.Sprint(manifests.Get(r, "ports")), fmt.Sprintf("port:%d", port)) {
					return true
				}
			}
			return false
		}
		for _, f := range []struct {
			policy, peer string
			port         int
			dir          string
		}{
			{"api", "redis-sentinel", 26379, "egress"}, {"web", "redis-sentinel", 26379, "egress"}, {"jobs", "redis-sentinel", 26379, "egress"},
			{"redis", "redis-sentinel", 26379, "egress"}, {"redis", "redis-sentinel", 6379, "ingress"},
			{"redis", "redis", 6379, "egress"}, {"redis-sentinel", "redis", 6379, "egress"},
			{"redis-sentinel", "api", 26379, "ingress"}, {"redis-sentinel", "worker", 26379, "ingress"},
			{"redis-sentinel", "redis-sentinel", 26379, "egress"},
			// The exporter scrapes each data node and each Sentinel.
			{"redis", "redis-exporter", 6379, "ingress"}, {"redis-exporter", "redis", 6379, "egress"},
			{"redis-sentinel", "redis-exporter", 26379, "ingress"}, {"redis-exporter", "redis-sentinel", 26379, "egress"},
		} {
			if !allows(f.policy, f.peer, f.port, f.dir) {
				t.Errorf("%s: NetworkPolicy %s has no %s rule for %s on %d", env, f.policy, f.dir, f.peer, f.port)
			}
		}
	}
}

// The exporter's user on the Sentinels (sentinel.sh) reads and nothing
// more: its password from its own variable, no keys, and only the
// commands redis_exporter runs against a Sentinel. SENTINEL SET, RESET,
// FAILOVER, MONITOR or CONFIG would let whoever holds the exporter's
// Secret move the primary or reconfigure the quorum.
func TestSentinelExporterUserOnlyReads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(manifests.Root(), "components", "redis-sentinel", "sentinel.sh"))
	if err != nil {
		t.Fatal(err)
	}
	read := []string{"+ping", "+info", "+client|setname", "+sentinel|masters", "+sentinel|sentinels",
		"+sentinel|slaves", "+sentinel|replicas", "+sentinel|ckquorum"}
	var rules []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "user" && f[1] == "exporter" {
			rules = f[2:]
		}
	}
	if len(rules) == 0 {
		t.Fatal("sentinel.sh declares no user exporter")
	}
	if !slices.Equal(rules[:3], []string{"reset", "on", ">$EXPORTER_PASSWORD"}) {
		t.Errorf("the exporter's Sentinel user starts %q, want reset, on, >$EXPORTER_PASSWORD", rules[:3])
	}
	for _, r := range rules[3:] {
		if !slices.Contains(read, r) {
			t.Errorf("the exporter's Sentinel user has %q, which is no read it needs", r)
		}
	}
	if !slices.Contains(rules, "+sentinel|masters") {
		t.Error("the exporter's Sentinel user cannot run SENTINEL MASTERS (redis_sentinel_master_*)")
	}
}
