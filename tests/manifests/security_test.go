package manifests_test

import (
	"fmt"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// Every workload in every environment meets the "restricted" Pod Security
// Standard and the house rules: own ServiceAccount without a token,
// requests and limits, liveness and readiness probes.
func TestWorkloadsAreLockedDown(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		workloads := 0
		for _, o := range objs {
			ps := manifests.PodSpec(o)
			if ps == nil {
				continue
			}
			workloads++
			id := env + ": " + o.ID()
			if o.Kind == "CronJob" {
				if d, _ := manifests.Get(o.Raw, "spec", "jobTemplate", "spec", "activeDeadlineSeconds").(float64); d <= 0 {
					t.Errorf("%s: no activeDeadlineSeconds: a hung run would never end", id)
				}
				if manifests.Get(o.Raw, "spec", "concurrencyPolicy") != "Forbid" {
					t.Errorf("%s: concurrencyPolicy %v, want Forbid (runs must not overlap)", id, manifests.Get(o.Raw, "spec", "concurrencyPolicy"))
				}
			}
			sa, _ := ps["serviceAccountName"].(string)
			if sa == "" || sa == "default" || manifests.Find(objs, "ServiceAccount", sa) == nil {
				t.Errorf("%s: ServiceAccount %q is not its own", id, sa)
			} else if sao := manifests.Find(objs, "ServiceAccount", sa); manifests.Get(sao.Raw, "automountServiceAccountToken") != false {
				t.Errorf("%s: ServiceAccount %s mounts a token", id, sa)
			}
			if ps["automountServiceAccountToken"] != false {
				t.Errorf("%s: pod mounts a ServiceAccount token", id)
			}
			if manifests.Get(ps, "securityContext", "runAsNonRoot") != true ||
				manifests.Get(ps, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("%s: pod securityContext %v", id, ps["securityContext"])
			}
			if g, _ := ps["terminationGracePeriodSeconds"].(float64); g < 10 {
				t.Errorf("%s: terminationGracePeriodSeconds %v", id, ps["terminationGracePeriodSeconds"])
			}
			for _, c := range manifests.Containers(o) {
				cid := fmt.Sprintf("%s container %v", id, c["name"])
				sc := c["securityContext"]
				if uid, _ := manifests.Get(sc, "runAsUser").(float64); uid < 1000 {
					t.Errorf("%s: runAsUser %v", cid, manifests.Get(sc, "runAsUser"))
				}
				if manifests.Get(sc, "readOnlyRootFilesystem") != true ||
					manifests.Get(sc, "allowPrivilegeEscalation") != false ||
					fmt.Sprint(manifests.Get(sc, "capabilities", "drop")) != "[ALL]" ||
					manifests.Get(sc, "runAsNonRoot") != true {
					t.Errorf("%s: securityContext %v", cid, sc)
				}
				for _, r := range []string{"requests", "limits"} {
					for _, res := range []string{"cpu", "memory"} {
						if manifests.Get(c, "resources", r, res) == nil {
							t.Errorf("%s: no %s %s", cid, res, r)
						}
					}
				}
				// A job runs to completion and serves nothing: no probes,
				// but a deadline (below) so that a hung run ends.
				if o.Kind != "CronJob" && (c["livenessProbe"] == nil || c["readinessProbe"] == nil) {
					t.Errorf("%s: liveness or readiness probe missing", cid)
				}
			}
		}
		want := 6 // api, web, worker, scheduler, redis, redis-exporter
		if env != "dev" {
			want++ // redis-sentinel
		}
		if env == "prod" {
			want++ // the redis-backup CronJob
		}
		if workloads != want {
			t.Errorf("%s: %d workloads, want %d (api, web, worker, scheduler, redis, redis-exporter, redis-sentinel outside dev, redis-backup in prod)", env, workloads, want)
		}
		ns := manifests.Find(objs, "Namespace", "bank")
		if ns == nil || manifests.Get(ns.Raw, "metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted" {
			t.Errorf("%s: namespace bank does not enforce the restricted Pod Security Standard", env)
		}
	}
}

// Both namespaces deny by default; every bank pod is selected by a policy.
func TestDefaultDenyNetworkPolicies(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		for _, ns := range []string{"bank", "monitoring"} {
			found := false
			for _, o := range objs {
				if o.Kind == "NetworkPolicy" && o.Namespace == ns && o.Name == "default-deny" {
					types := fmt.Sprint(manifests.Get(o.Raw, "spec", "policyTypes"))
					found = types == "[Ingress Egress]" && manifests.Get(o.Raw, "spec", "ingress") == nil && manifests.Get(o.Raw, "spec", "egress") == nil
				}
			}
			if !found {
				t.Errorf("%s: no default-deny (ingress and egress) in %s", env, ns)
			}
		}
	}
}
