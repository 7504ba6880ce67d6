package manifests_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// prod backs Redis up nightly onto its own volume, keeping N snapshots,
// and the network lets the job reach the data nodes and nothing else;
// dev and staging have no backup job.
func TestProdBacksUpRedis(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		cj := manifests.Find(objs, "CronJob", "redis-backup")
		if env != "prod" {
			if cj != nil {
				t.Errorf("%s: a redis-backup CronJob outside prod", env)
			}
			continue
		}
		if cj == nil {
			t.Fatal("prod: no CronJob redis-backup")
		}
		c := manifests.Containers(*cj)[0]
		args, _ := c["args"].([]any)
		flag := func(name string) string {
			for i, a := range args {
				if a == name && i+1 < len(args) {
					return fmt.Sprint(args[i+1])
				}
			}
			return ""
		}
		dir, keep := flag("--out-dir"), flag("--keep")
		if len(args) < 2 || args[0] != "admin" || args[1] != "backup" || dir == "" || keep == "" || keep == "0" {
			t.Errorf("prod: backup args %v, want admin backup --out-dir DIR --keep N", args)
		}
		var claim string
		for _, m := range c["volumeMounts"].([]any) {
			if manifests.Get(m, "mountPath") == dir {
				for _, v := range manifests.PodSpec(*cj)["volumes"].([]any) {
					if manifests.Get(v, "name") == manifests.Get(m, "name") {
						claim, _ = manifests.Get(v, "persistentVolumeClaim", "claimName").(string)
					}
				}
			}
		}
		if claim == "" || manifests.Find(objs, "PersistentVolumeClaim", claim) == nil {
			t.Errorf("prod: --out-dir %s is not on a PersistentVolumeClaim that exists (%q)", dir, claim)
		}
		if u := manifests.Env(c, func(n, k string) string { return n })["BANK_REDIS_URL"]; u != "redis://redis.bank.svc.cluster.local:6379/0" {
			t.Errorf("prod: the backup reads from %q, want the redis Service", u)
		}
		// Both ends of the flow: the job's egress and the data nodes' ingress.
		if !allows(objs, "redis-backup", "egress", "to", "redis") {
			t.Error("prod: no NetworkPolicy lets redis-backup reach redis:6379")
		}
		if !allows(objs, "redis", "ingress", "from", "redis-backup") {
			t.Error("prod: the redis NetworkPolicy does not accept redis-backup on 6379")
		}
		if allows(objs, "redis-backup", "ingress", "from", "api") {
			t.Error("prod: redis-backup accepts connections")
		}
	}
}

// allows says whether a NetworkPolicy selecting pods named self has a
// direction (ingress/egress) rule whose peers (from/to) select pods named
// peer, on TCP 6379.
func allows(objs []manifests.Object, self, direction, peers, peer string) bool {
	for _, o := range objs {
		if o.Kind != "NetworkPolicy" || !selects(manifests.Get(o.Raw, "spec", "podSelector"), self) {
			continue
		}
		rules, _ := manifests.Get(o.Raw, "spec", direction).([]any)
		for _, r := range rules {
			onPort := false
			for _, p := range asList(manifests.Get(r, "ports")) {
				onPort = onPort || fmt.Sprint(manifests.Get(p, "port")) == "6379"
			}
			for _, p := range asList(manifests.Get(r, peers)) {
				if onPort && manifests.Get(p, "namespaceSelector") == nil && selects(manifests.Get(p, "podSelector"), peer) {
					return true
				}
			}
		}
	}
	return false
}

func asList(v any) []any { l, _ := v.([]any); return l }

// selects says whether a podSelector picks pods with
// app.kubernetes.io/name=name (matchLabels or an In expression).
func selects(sel any, name string) bool {
	if manifests.Get(sel, "matchLabels", "app.kubernetes.io/name") == name {
		return true
	}
	for _, e := range asList(manifests.Get(sel, "matchExpressions")) {
		if manifests.Get(e, "key") == "app.kubernetes.io/name" && manifests.Get(e, "operator") == "In" {
			vals := asList(manifests.Get(e, "values"))
			if slices.Contains(vals, any(name)) {
				return true
			}
		}
	}
	return false
}
