package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/tests/e2e/internal/controlplane"
	"github.com/kubebank/kubebank/tests/e2e/internal/kubectl"
)

var envs = []string{"dev", "staging", "prod"}

// TestKubectlApply applies each overlay with `kubectl apply --server-side
// -k` to a fresh cluster: accepted without a warning, the bank namespace
// enforcing Pod Security "restricted", every workload rolled out with its
// Pods Running and Ready (so every pod template got past admission), and a
// second apply writing nothing.
func TestKubectlApply(t *testing.T) {
	bins := build(t, false)
	root := repoRoot(t)
	dir := t.TempDir()
	etcd := controlplane.StartEtcd(t, bins.Etcd, dir)
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			c := controlplane.Start(t, bins.Binaries, etcd, "/kubebank-e2e/kubectl-"+env, filepath.Join(dir, "kubectl-"+env))
			defer c.Stop()
			k := kubectl.Kubectl{Bin: bins.Kubectl, Kubeconfig: c.Kubeconfig}
			addNodes(t, k)
			installCRDs(t, k, root, false)
			overlay := filepath.Join(root, "overlays", env)

			start := time.Now()
			first, err := k.Run(nil, "apply", "--server-side", "-k", overlay, "-o", "json")
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.TrimSpace(first.Stderr); w != "" {
				t.Errorf("first apply printed warnings:\n%s", w)
			}
			applied, err := kubectl.Decode([]byte(first.Stdout))
			if err != nil {
				t.Fatalf("decoding the apply's output: %v", err)
			}
			if len(applied) == 0 {
				t.Fatal("the apply printed no objects")
			}

			ns, err := k.Get("namespace", "bank")
			if err != nil {
				t.Fatal(err)
			}
			if got := ns[0].Metadata.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
				t.Errorf("namespace bank enforces Pod Security %q, want restricted", got)
			}
			waitRolledOut(t, k, applied)
			t.Logf("%s: %d objects applied and rolled out in %s", env, len(applied), time.Since(start).Round(time.Second))
			c.Alive(t)

			// Settled: what a second identical apply writes is drift.
			refs := refsOf(applied)
			before := writeStates(t, k, refs, "kubectl")
			second, err := k.Run(nil, "apply", "--server-side", "-k", overlay)
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.TrimSpace(second.Stderr); w != "" {
				t.Errorf("second apply printed warnings:\n%s", w)
			}
			drift, others := compareWrites(before, writeStates(t, k, refs, "kubectl"))
			if len(drift) > 0 {
				t.Errorf("a second identical apply changed %d objects:\n  %s", len(drift), strings.Join(drift, "\n  "))
			}
			if len(others) > 0 {
				t.Logf("%s: meanwhile other controllers wrote %d objects: %s", env, len(others), strings.Join(others, ", "))
			}
			report("kubectl %s: %d objects applied, %d changed by a second apply", env, len(applied), len(drift))

			rejectsPrivilegedPod(t, k)
		})
	}
}

// waitRolledOut waits for every Deployment and StatefulSet among objs, then
// checks that every Pod in their namespaces is Running and Ready.
func waitRolledOut(t *testing.T, k kubectl.Kubectl, objs []kubectl.Object) {
	t.Helper()
	namespaces := map[string]bool{}
	deadline := time.Now().Add(4 * time.Minute)
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		namespaces[o.Metadata.Namespace] = true
		ref := strings.ToLower(o.Kind) + "/" + o.Metadata.Name
		left := time.Until(deadline).Round(time.Second)
		if left < time.Second {
			left = time.Second
		}
		if _, err := k.Run(nil, "rollout", "status", ref, "-n", o.Metadata.Namespace, "--timeout="+left.String()); err != nil {
			t.Errorf("%s in %s did not roll out: %v\n%s", ref, o.Metadata.Namespace, err, describe(k, o.Metadata.Namespace))
		}
	}
	for ns := range namespaces {
		pods, err := k.Get("pods", "-n", ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) == 0 {
			t.Errorf("no pods in %s", ns)
		}
		for _, p := range pods {
			var st struct{ Phase string }
			_ = json.Unmarshal(p.Status, &st)
			if st.Phase != "Running" || p.Condition("Ready").Status != "True" {
				t.Errorf("pod %s/%s: phase %q, Ready %q", ns, p.Metadata.Name, st.Phase, p.Condition("Ready").Status)
			}
		}
	}
}

// describe is what a failing rollout's reader needs: events of the namespace.
func describe(k kubectl.Kubectl, ns string) string {
	r, err := k.Run(nil, "get", "events", "-n", ns, "--sort-by=.lastTimestamp")
	if err != nil {
		return err.Error()
	}
	return r.Stdout
}

// objectRef names one object for `kubectl get`.
type objectRef struct{ kind, name, namespace string }

// writeState is what tells whether a field manager wrote an object since:
// its resourceVersion and that manager's managedFields entries.
type writeState struct{ rv, mine string }

// writeStates reads the write state of each object for manager, by
// Object.Key.
func writeStates(t *testing.T, k kubectl.Kubectl, refs []objectRef, manager string) map[string]writeState {
	t.Helper()
	states := map[string]writeState{}
	for _, r := range refs {
		args := []string{r.kind, r.name, "--show-managed-fields"}
		if r.namespace != "" {
			args = append(args, "-n", r.namespace)
		}
		got, err := k.Get(args...)
		if err != nil {
			t.Fatal(err)
		}
		states[got[0].Key()] = writeState{got[0].Metadata.ResourceVersion, got[0].ManagedBy(manager)}
	}
	return states
}

// compareWrites sorts the objects written between two readings: by the
// manager (its entry changed with the object: drift), or only by other
// controllers (an HPA scaling, a status update), which is no drift.
func compareWrites(before, after map[string]writeState) (mine, others []string) {
	for key, b := range before {
		a := after[key]
		if a.rv == b.rv {
			continue
		}
		change := fmt.Sprintf("%s (resourceVersion %s -> %s)", key, b.rv, a.rv)
		if a.mine != b.mine {
			mine = append(mine, change)
		} else {
			others = append(others, change)
		}
	}
	sort.Strings(mine)
	sort.Strings(others)
	return mine, others
}

func refsOf(objs []kubectl.Object) []objectRef {
	refs := make([]objectRef, 0, len(objs))
	for _, o := range objs {
		refs = append(refs, objectRef{kindArg(o), o.Metadata.Name, o.Metadata.Namespace})
	}
	return refs
}

// kindArg names a kind unambiguously for kubectl (kind.version.group).
func kindArg(o kubectl.Object) string {
	group, version, ok := strings.Cut(o.APIVersion, "/")
	if !ok {
		return o.Kind // the core group: "v1"
	}
	return o.Kind + "." + version + "." + group
}

// rejectsPrivilegedPod: the restricted profile has teeth; in namespace
// bank a privileged Pod is refused, and so is one that only misses
// restricted's rules (baseline would let it run).
func rejectsPrivilegedPod(t *testing.T, k kubectl.Kubectl) {
	t.Helper()
	const pod = `apiVersion: v1
kind: Pod
metadata: {name: e2e-privileged, namespace: bank}
spec:
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: true}
`
	const baseline = `apiVersion: v1
kind: Pod
metadata: {name: e2e-baseline, namespace: bank}
spec:
  containers:
  - name: c
    image: busybox
`
	for name, pod := range map[string]string{"privileged": pod, "baseline-only": baseline} {
		_, err := k.Run(strings.NewReader(pod), "create", "--dry-run=server", "-f", "-")
		if err == nil {
			t.Errorf("a %s Pod was accepted in namespace bank", name)
		} else if !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest"`) {
			t.Errorf("a %s Pod was refused, but not by Pod Security restricted: %v", name, err)
		}
	}
}
