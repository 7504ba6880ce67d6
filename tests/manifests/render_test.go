// Package manifests_test checks the Kustomize trees offline: they render
// as `kubectl apply -k` renders them, every object validates strictly
// against the Kubernetes and CRD schemas, kube-score finds nothing
// critical, and the facts that make each environment what it is hold.
package manifests_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// componentsCheck renders the monitoring Component on top of dev.
const componentsCheck = "tests/manifests/testdata/components"

func TestEveryKustomizationRenders(t *testing.T) {
	dirs, err := manifests.Kustomizations()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "base", "overlays/dev", "overlays/staging", "overlays/prod"}
	for _, w := range want {
		found := false
		for _, d := range dirs {
			found = found || d == w
		}
		if !found {
			t.Errorf("no kustomization.yaml in %s", w)
		}
	}
	for _, d := range dirs {
		if filepath.Dir(d) == "components" {
			continue // a Component only builds inside a Kustomization: below
		}
		objs, _, err := manifests.Render(d)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(objs) == 0 {
			t.Errorf("%s renders no objects", d)
		}
	}
}

// Every folder under components/ must be built by some overlay or by the
// components check, or nothing would notice it break.
func TestEveryComponentIsRendered(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(manifests.Root(), "components"))
	if err != nil {
		t.Fatal(err)
	}
	var used []byte
	for _, k := range []string{"overlays/staging", "overlays/prod", "overlays/dev", componentsCheck} {
		b, err := os.ReadFile(filepath.Join(manifests.Root(), k, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, b...)
	}
	if len(entries) == 0 {
		t.Fatal("components/ is empty")
	}
	for _, e := range entries {
		if !bytes.Contains(used, []byte("components/"+e.Name()+"\n")) {
			t.Errorf("component %s is used by no overlay and not by %s", e.Name(), componentsCheck)
		}
	}
	objs, _, err := manifests.Render(componentsCheck)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"ServiceMonitor", "PodMonitor", "PrometheusRule"} {
		n := 0
		for _, o := range objs {
			if o.Kind == kind {
				n++
			}
		}
		if n == 0 {
			t.Errorf("components check renders no %s", kind)
		}
	}
}

// The root kustomization is the dev environment, byte for byte.
func TestRootIsDev(t *testing.T) {
	_, root, err := manifests.Render(".")
	if err != nil {
		t.Fatal(err)
	}
	_, dev, err := manifests.Render("overlays/dev")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, dev) {
		t.Error("kustomize build . differs from kustomize build overlays/dev")
	}
}

// Namespaces come from the sub-trees of base: the exporter and its
// policies stay in monitoring, everything else is in bank, in every
// environment.
func TestNamespaces(t *testing.T) {
	inMonitoring := map[string]bool{
		"Deployment/redis-exporter": true, "Service/redis-exporter": true,
		"ServiceAccount/redis-exporter": true, "NetworkPolicy/redis-exporter": true,
		"NetworkPolicy/default-deny": true, "NetworkPolicy/allow-dns-egress": true,
		"Secret/redis-exporter": true,
		// components/prometheus-operator (staging, prod)
		"ServiceMonitor/bank": true, "PodMonitor/bank-web": true, "PodMonitor/bank-jobs": true,
		"ServiceMonitor/redis-exporter": true, "PrometheusRule/kubebank": true, "ConfigMap/kubebank-dashboard": true,
		"PodMonitor/redis": true, "PodMonitor/redis-sentinel": true,
	}
	for _, env := range manifests.Envs {
		objs := render(t, env)
		counts := map[string]int{}
		for _, o := range objs {
			if o.Kind == "Namespace" {
				continue
			}
			counts[o.Namespace]++
			name := strings.TrimSuffix(o.Name, "-"+lastDash(o.Name)) // generated Secrets carry a hash suffix
			if o.Kind != "Secret" {
				name = o.Name
			}
			if o.Namespace == "monitoring" && !inMonitoring[o.Kind+"/"+name] {
				t.Errorf("%s: %s is in monitoring", env, o.ID())
			}
			if o.Namespace != "monitoring" && o.Namespace != "bank" {
				t.Errorf("%s: %s is in namespace %q", env, o.ID(), o.Namespace)
			}
		}
		// The exporter (with its Service, ServiceAccount, three policies).
		if counts["monitoring"] < 6 || counts["bank"] < 20 {
			t.Errorf("%s: objects per namespace %v", env, counts)
		}
	}
}

func lastDash(s string) string {
	if i := strings.LastIndex(s, "-"); i >= 0 {
		return s[i+1:]
	}
	return ""
}
