package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/tests/e2e/internal/controlplane"
	"github.com/kubebank/kubebank/tests/e2e/internal/flux"
	"github.com/kubebank/kubebank/tests/e2e/internal/gitserve"
	"github.com/kubebank/kubebank/tests/e2e/internal/kubectl"
)

// manifestPaths are what Flux reads from the repository; the served clone
// gets them from the working tree.
var manifestPaths = []string{"base", "components", "overlays", "clusters", "kustomization.yaml", ".sourceignore"}

// TestFlux lets Flux's controllers reconcile each clusters/<env> from a
// clone of this repository served over git HTTP: the Kustomization gets
// Ready with every object health-checked, a second reconcile writes
// nothing, a deleted object is pruned, a bad commit leaves the last good
// revision applied and says why, and reverting it recovers.
func TestFlux(t *testing.T) {
	bins := build(t, true)
	root := repoRoot(t)
	dir := t.TempDir()
	etcd := controlplane.StartEtcd(t, bins.Etcd, dir)
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			envDir := filepath.Join(dir, env)
			repo := gitserve.Clone(t, root, envDir, "kubebank", manifestPaths)
			gitURL := gitserve.Start(t, filepath.Join(envDir, "served")) + "/kubebank.git"
			c := controlplane.Start(t, bins.Binaries, etcd, "/kubebank-e2e/flux-"+env, filepath.Join(envDir, "cluster"))
			k := kubectl.Kubectl{Bin: bins.Kubectl, Kubeconfig: c.Kubeconfig}
			addNodes(t, k)
			installCRDs(t, k, root, true)
			mustRun(t, k, "create", "namespace", flux.Namespace)

			clusterFile, err := os.ReadFile(repo.Path("clusters/" + env + "/kubebank.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var secrets map[string]string
			if strings.Contains(string(clusterFile), "decryption:") {
				secrets = encryptSecrets(t, bins, k, repo, env)
			}

			flux.Start(t, c, bins.SourceController, bins.KustomizeController)
			// The GitRepository points at the local server; nothing else
			// of the committed objects is changed.
			urlLine := regexp.MustCompile(`(?m)^  url: .*$`)
			if n := len(urlLine.FindAllIndex(clusterFile, -1)); n != 1 {
				t.Fatalf("clusters/%s/kubebank.yaml has %d spec.url lines, want 1", env, n)
			}
			objs := urlLine.ReplaceAll(clusterFile, []byte("  url: "+gitURL))
			if r, err := k.Run(strings.NewReader(string(objs)), "apply", "--server-side", "-f", "-"); err != nil {
				t.Fatal(err)
			} else if w := strings.TrimSpace(r.Stderr); w != "" {
				t.Errorf("applying clusters/%s printed warnings:\n%s", env, w)
			}

			// 1. Converges.
			start := time.Now()
			ks := waitApplied(t, k, repo.Head(), 6*time.Minute)
			took := time.Since(start).Round(time.Second)
			inv := inventory(t, ks)
			t.Logf("%s: Flux applied %d objects, Ready in %s", env, len(inv), took)
			if len(inv) == 0 {
				t.Fatal("the Kustomization's inventory is empty")
			}
			for name, want := range secrets {
				ns, n, _ := strings.Cut(name, "/")
				got := secretValue(t, k, ns, n)
				if got != want {
					t.Errorf("Secret %s: password %q after decryption, want the one encrypted", name, got)
				}
			}

			// 2. A second reconcile of the same revision writes nothing.
			drift := reconcileChanges(t, k, inv)
			if len(drift) > 0 {
				t.Errorf("a second reconcile changed %d objects:\n  %s", len(drift), strings.Join(drift, "\n  "))
			}
			// The same check sees a change when there is one: an edit made
			// in the cluster is drift, which Flux puts back.
			const portPath = "{.spec.ingress[0].ports[0].port}"
			gitPort := mustRun(t, k, "-n", "bank", "get", "networkpolicy", "redis", "-o", "jsonpath="+portPath).Stdout
			mustRun(t, k, "-n", "bank", "patch", "networkpolicy", "redis", "--type=json",
				"-p", `[{"op":"replace","path":"/spec/ingress/0/ports/0/port","value":1}]`)
			if got := reconcileChanges(t, k, inv); len(got) != 1 || !strings.Contains(got[0], "NetworkPolicy/bank/redis") {
				t.Errorf("after an edit of NetworkPolicy bank/redis in the cluster, a reconcile changed %v, want that object alone", got)
			}
			if got := mustRun(t, k, "-n", "bank", "get", "networkpolicy", "redis", "-o", "jsonpath="+portPath).Stdout; got != gitPort {
				t.Errorf("Flux left the edited port at %s, want git's %s", got, gitPort)
			}

			// 3. A commit that deletes an object: pruned.
			editFile(t, repo.Path("base/bank/web/kustomization.yaml"), "  - service.yaml\n", "")
			pruneRev := repo.Commit("e2e: delete Service bank/web")
			repo.Push()
			requestReconcile(t, k, "gitrepository")
			waitApplied(t, k, pruneRev, 3*time.Minute)
			pruned := false
			if _, err := k.Run(nil, "get", "service", "web", "-n", "bank"); err != nil && strings.Contains(err.Error(), "NotFound") {
				pruned = true
			} else {
				t.Errorf("Service bank/web is still there after its commit deleted it (err %v)", err)
			}

			// 4. A bad commit: a valid new object beside an invalid one. The
			// dry-run refuses the whole revision, so neither is applied.
			if err := os.WriteFile(repo.Path("overlays/"+env+"/e2e-bad.yaml"), []byte(badCommit), 0o644); err != nil {
				t.Fatal(err)
			}
			editFile(t, repo.Path("overlays/"+env+"/kustomization.yaml"), "resources:\n", "resources:\n  - e2e-bad.yaml\n")
			badRev := repo.Commit("e2e: an invalid manifest")
			repo.Push()
			requestReconcile(t, k, "gitrepository")
			failed := waitFailed(t, k, badRev, 3*time.Minute)
			ready := failed.Condition("Ready")
			t.Logf("%s: after the bad commit: Ready=%s %s: %s", env, ready.Status, ready.Reason, ready.Message)
			if !strings.Contains(ready.Message, "E2E_Invalid") || !strings.Contains(ready.Message, "metadata.name") {
				t.Errorf("the Ready message does not say which object and field are wrong: %q", ready.Message)
			}
			if got := status(failed).LastAppliedRevision; got != "main@sha1:"+pruneRev {
				t.Errorf("lastAppliedRevision %q after the bad commit, want the last good one main@sha1:%s", got, pruneRev)
			}
			if _, err := k.Run(nil, "get", "configmap", "e2e-canary", "-n", "bank"); err == nil {
				t.Error("the valid object of the bad commit was applied: the revision was applied in part")
			}

			// The server, with Flux's CRDs, refuses what the offline
			// validator refuses.
			rejectsBrokenManifests(t, k, root)

			// 5. Reverting recovers.
			revertRev := repo.Revert()
			repo.Push()
			requestReconcile(t, k, "gitrepository")
			waitApplied(t, k, revertRev, 3*time.Minute)
			c.Alive(t)
			report("flux %s: %d objects, Ready in %s, %d changed by a second reconcile, prune %v, bad commit refused (%s), revert recovered",
				env, len(inv), took, len(drift), pruned, ready.Reason)
			if secrets != nil {
				report("flux %s: %d SOPS-encrypted Secrets decrypted by kustomize-controller", env, len(secrets))
			}
		})
	}
}

const badCommit = `apiVersion: v1
kind: ConfigMap
metadata:
  name: e2e-canary
  namespace: bank
data:
  note: applied only if the whole revision is
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: E2E_Invalid
  namespace: bank
data:
  note: an object name must be a lowercase DNS subdomain
`

// reconcileChanges asks for a reconcile of the applied revision and
// returns the inventory objects it wrote: changed, with
// kustomize-controller's managedFields entry changed with them.
func reconcileChanges(t *testing.T, k kubectl.Kubectl, inv []objectRef) []string {
	t.Helper()
	const manager = "kustomize-controller"
	before := writeStates(t, k, inv, manager)
	requestReconcile(t, k, "kustomization")
	changed, others := compareWrites(before, writeStates(t, k, inv, manager))
	if len(others) > 0 {
		t.Logf("meanwhile other controllers wrote %d objects: %s", len(others), strings.Join(others, ", "))
	}
	return changed
}

type fluxStatus struct {
	LastAppliedRevision    string `json:"lastAppliedRevision"`
	LastAttemptedRevision  string `json:"lastAttemptedRevision"`
	LastHandledReconcileAt string `json:"lastHandledReconcileAt"`
	Artifact               struct {
		Revision string `json:"revision"`
	} `json:"artifact"`
	Inventory struct {
		Entries []struct {
			ID string `json:"id"`
			V  string `json:"v"`
		} `json:"entries"`
	} `json:"inventory"`
}

func status(o kubectl.Object) fluxStatus {
	var s fluxStatus
	_ = json.Unmarshal(o.Status, &s)
	return s
}

func kustomization(t *testing.T, k kubectl.Kubectl) kubectl.Object {
	t.Helper()
	objs, err := k.Get("kustomization.kustomize.toolkit.fluxcd.io", "kubebank", "-n", flux.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

// waitApplied waits until the Kustomization is Ready with rev applied.
func waitApplied(t *testing.T, k kubectl.Kubectl, rev string, timeout time.Duration) kubectl.Object {
	t.Helper()
	return waitKustomization(t, k, timeout, "Ready=True at main@sha1:"+rev, func(o kubectl.Object) bool {
		return o.Condition("Ready").Status == "True" && status(o).LastAppliedRevision == "main@sha1:"+rev
	})
}

// waitFailed waits until the Kustomization tried rev and is not Ready.
func waitFailed(t *testing.T, k kubectl.Kubectl, rev string, timeout time.Duration) kubectl.Object {
	t.Helper()
	return waitKustomization(t, k, timeout, "Ready=False after trying main@sha1:"+rev, func(o kubectl.Object) bool {
		return o.Condition("Ready").Status == "False" && status(o).LastAttemptedRevision == "main@sha1:"+rev
	})
}

func waitKustomization(t *testing.T, k kubectl.Kubectl, timeout time.Duration, what string, done func(kubectl.Object) bool) kubectl.Object {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o := kustomization(t, k)
		if done(o) {
			return o
		}
		if time.Now().After(deadline) {
			src, _ := k.Run(nil, "get", "gitrepository", "-n", flux.Namespace, "-o", "yaml")
			t.Fatalf("Kustomization not %s after %s; its status:\n%s\nGitRepository:\n%s", what, timeout, o.Status, src.Stdout)
		}
		time.Sleep(time.Second)
	}
}

// requestReconcile asks Flux to reconcile now (as `flux reconcile` does)
// and, for the Kustomization, waits until it has handled the request.
func requestReconcile(t *testing.T, k kubectl.Kubectl, kind string) {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	mustRun(t, k, "annotate", "--overwrite", "-n", flux.Namespace, kind+"/kubebank", "reconcile.fluxcd.io/requestedAt="+token)
	if kind != "kustomization" {
		return
	}
	waitKustomization(t, k, 3*time.Minute, "done with reconcile request "+token, func(o kubectl.Object) bool {
		return status(o).LastHandledReconcileAt == token && o.Condition("Ready").Status == "True"
	})
}

// inventory is the Kustomization's list of applied objects
// (ids "<namespace>_<name>_<group>_<kind>").
func inventory(t *testing.T, ks kubectl.Object) []objectRef {
	t.Helper()
	var out []objectRef
	for _, e := range status(ks).Inventory.Entries {
		parts := strings.Split(e.ID, "_")
		if len(parts) != 4 {
			t.Fatalf("inventory id %q", e.ID)
		}
		ns, name, group, kind := parts[0], parts[1], parts[2], parts[3]
		if group != "" {
			kind += "." + e.V + "." + group
		}
		out = append(out, objectRef{kind, name, ns})
	}
	return out
}

func secretValue(t *testing.T, k kubectl.Kubectl, ns, name string) string {
	t.Helper()
	r, err := k.Run(nil, "get", "secret", name, "-n", ns, "-o", "go-template={{.data.password | base64decode}}")
	if err != nil {
		t.Errorf("Secret %s/%s: %v", ns, name, err)
		return ""
	}
	return r.Stdout
}

func mustRun(t *testing.T, k kubectl.Kubectl, args ...string) kubectl.Result {
	t.Helper()
	r, err := k.Run(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// editFile replaces old with new exactly once.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once", path, old, n)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
