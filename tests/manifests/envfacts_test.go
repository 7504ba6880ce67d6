package manifests_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

func render(t *testing.T, env string) []manifests.Object {
	t.Helper()
	objs, _, err := manifests.Render("overlays/" + env)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// replicas of a Deployment/StatefulSet; -1 when the field is absent (an
// HPA owns it then).
func replicas(t *testing.T, objs []manifests.Object, kind, name string) int {
	t.Helper()
	o := manifests.Find(objs, kind, name)
	if o == nil {
		t.Fatalf("no %s/%s", kind, name)
	}
	r, ok := manifests.Get(o.Raw, "spec", "replicas").(float64)
	if !ok {
		return -1
	}
	return int(r)
}

func TestReplicasPerEnvironment(t *testing.T) {
	want := map[string]map[string]int{
		// -1: no replicas field, an HPA scales it.
		"dev":     {"api": 1, "web": 1, "worker": 1, "scheduler": 1},
		"staging": {"api": 2, "web": 2, "worker": 2, "scheduler": 1},
		"prod":    {"api": -1, "web": -1, "worker": 3, "scheduler": 1},
	}
	for env, w := range want {
		objs := render(t, env)
		for name, n := range w {
			if got := replicas(t, objs, "Deployment", name); got != n {
				t.Errorf("%s: %s replicas %d, want %d", env, name, got, n)
			}
		}
		// dev: one redis-server. staging and prod: a primary, two
		// replicas and three Sentinels (components/redis-sentinel).
		wantData, wantSentinels := 1, 0
		if env != "dev" {
			wantData, wantSentinels = 3, 3
		}
		if got := replicas(t, objs, "StatefulSet", "redis"); got != wantData {
			t.Errorf("%s: redis replicas %d, want %d", env, got, wantData)
		}
		if s := manifests.Find(objs, "StatefulSet", "redis-sentinel"); wantSentinels == 0 && s != nil {
			t.Errorf("%s: Sentinels, want a single redis-server", env)
		} else if wantSentinels > 0 && replicas(t, objs, "StatefulSet", "redis-sentinel") != wantSentinels {
			t.Errorf("%s: redis-sentinel replicas, want %d", env, wantSentinels)
		}
	}
}

func TestProdAutoscalesAPIAndWeb(t *testing.T) {
	objs := render(t, "prod")
	for _, name := range []string{"api", "web"} {
		h := manifests.Find(objs, "HorizontalPodAutoscaler", name)
		if h == nil {
			t.Errorf("prod: no HPA for %s", name)
			continue
		}
		if manifests.Get(h.Raw, "spec", "scaleTargetRef", "name") != name {
			t.Errorf("prod: HPA %s targets %v", name, manifests.Get(h.Raw, "spec", "scaleTargetRef"))
		}
		if min, _ := manifests.Get(h.Raw, "spec", "minReplicas").(float64); min < 3 {
			t.Errorf("prod: HPA %s minReplicas %v, want >= 3", name, min)
		}
	}
	for _, name := range []string{"api", "web", "worker", "scheduler", "redis"} {
		if manifests.Find(objs, "PodDisruptionBudget", name) == nil {
			t.Errorf("prod: no PodDisruptionBudget for %s", name)
		}
	}
	for _, name := range []string{"api", "web", "worker"} {
		d := manifests.Find(objs, "Deployment", name)
		keys := map[string]bool{}
		tsc, _ := manifests.Get(d.Raw, "spec", "template", "spec", "topologySpreadConstraints").([]any)
		for _, c := range tsc {
			keys[fmt.Sprint(manifests.Get(c, "topologyKey"))] = true
		}
		if !keys["kubernetes.io/hostname"] || !keys["topology.kubernetes.io/zone"] {
			t.Errorf("prod: %s spreads over %v, want nodes and zones", name, keys)
		}
	}
}

var digestRef = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)

func TestImages(t *testing.T) {
	for _, env := range manifests.Envs {
		for _, o := range render(t, env) {
			for _, c := range manifests.Containers(o) {
				img, _ := c["image"].(string)
				switch {
				case env == "prod" && !digestRef.MatchString(img):
					t.Errorf("prod: %s container %v image %q is not pinned by digest", o.ID(), c["name"], img)
				case strings.HasSuffix(img, ":latest") || !strings.Contains(img, ":"):
					t.Errorf("%s: %s image %q has no pinned tag", env, o.ID(), img)
				}
			}
		}
	}
}

func TestRedisDurability(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		sts := manifests.Find(objs, "StatefulSet", "redis")
		c := manifests.Containers(*sts)[0]
		args := fmt.Sprint(c["args"])
		for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction", "--requirepass $(REDIS_PASSWORD)", "--appendfsync $(REDIS_APPENDFSYNC)"} {
			if !strings.Contains(strings.Trim(args, "[]"), want) {
				t.Errorf("%s: redis args %s lack %q", env, args, want)
			}
		}
		env2 := map[string]string{}
		for _, e := range c["env"].([]any) {
			m := e.(map[string]any)
			if v, ok := m["value"].(string); ok {
				env2[m["name"].(string)] = v
			}
		}
		wantFsync := "everysec"
		if env == "prod" {
			wantFsync = "always"
		}
		if env2["REDIS_APPENDFSYNC"] != wantFsync {
			t.Errorf("%s: appendfsync %q, want %q", env, env2["REDIS_APPENDFSYNC"], wantFsync)
		}
		size := manifests.Get(sts.Raw, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage")
		wantSize := map[string]string{"dev": "1Gi", "staging": "5Gi", "prod": "20Gi"}[env]
		if size != wantSize {
			t.Errorf("%s: redis volume %v, want %s", env, size, wantSize)
		}
	}
}

// Secrets with data live in git only for dev; staging and prod reference
// Secrets that the cluster provides (SOPS via Flux, or an operator).
func TestNoLiteralSecretsOutsideDev(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		n := 0
		for _, o := range objs {
			if o.Kind == "Secret" {
				n++
				if env != "dev" {
					t.Errorf("%s: %s in the rendered manifests", env, o.ID())
				}
			}
			// Secret values never go into env literals either.
			for _, c := range manifests.Containers(o) {
				envs, _ := c["env"].([]any)
				for _, e := range envs {
					m := e.(map[string]any)
					name := fmt.Sprint(m["name"])
					if strings.Contains(name, "PASSWORD") || strings.Contains(name, "AUTH") {
						if _, literal := m["value"]; literal {
							t.Errorf("%s: %s sets %s literally", env, o.ID(), name)
						}
					}
				}
			}
		}
		if env == "dev" && n != 7 {
			t.Errorf("dev: %d Secrets, want the generated Redis passwords: redis-auth, redis-api, redis-worker, redis-scheduler, redis-web in bank and redis-exporter in bank and monitoring", n)
		}
	}
}

func TestDevExposesNodePorts(t *testing.T) {
	objs := render(t, "dev")
	for name, port := range map[string]float64{"api": 30800, "web": 30300} {
		s := manifests.Find(objs, "Service", name)
		if manifests.Get(s.Raw, "spec", "type") != "NodePort" || manifests.Get(s.Raw, "spec", "ports", 0, "nodePort") != port {
			t.Errorf("dev: Service %s is not NodePort %v: %v", name, port, manifests.Get(s.Raw, "spec"))
		}
	}
	for _, env := range []string{"staging", "prod"} {
		objs := render(t, env)
		if manifests.Find(objs, "Ingress", "bank") == nil {
			t.Errorf("%s: no Ingress", env)
		}
		for _, o := range objs {
			if typ := manifests.Get(o.Raw, "spec", "type"); o.Kind == "Service" && typ != "ClusterIP" && typ != nil {
				t.Errorf("%s: %s is %v", env, o.ID(), manifests.Get(o.Raw, "spec", "type"))
			}
		}
	}
}

// The web app passes the browser's X-Forwarded-For on to the api only from
// its trusted proxies. Where only the ingress controller can reach it
// (staging, prod) those are the pod networks; in dev a NodePort lets
// anyone reach it with a made-up header, so it trusts nobody.
func TestWebTrustsProxiesOnlyBehindTheIngress(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		d := manifests.Find(objs, "Deployment", "web")
		got, set := "", false
		for _, e := range manifests.Containers(*d)[0]["env"].([]any) {
			if manifests.Get(e, "name") == "BANK_TRUSTED_PROXIES" {
				got, set = fmt.Sprint(manifests.Get(e, "value")), true
			}
		}
		switch {
		case env == "dev" && set:
			t.Errorf("dev: web trusts X-Forwarded-For from %q, but its NodePort lets anyone send one", got)
		case env != "dev" && got != "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10":
			t.Errorf("%s: web BANK_TRUSTED_PROXIES %q (set: %v), want the pod networks", env, got, set)
		case env != "dev" && manifests.Find(objs, "NetworkPolicy", "from-ingress-controller") == nil:
			t.Errorf("%s: web trusts proxies, but no NetworkPolicy keeps everyone but the ingress controller out", env)
		}
	}
}
