package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/e2e/internal/kubectl"
	"github.com/kubebank/kubebank/tests/e2e/internal/toolbin"
)

// The prometheus-operator's CRDs, which a cluster running
// kube-prometheus-stack has (docs/deploy.md, What a cluster must have): an
// overlay may ship ServiceMonitors and PrometheusRules. The version is the
// one tests/manifests validates against (TestVersionsMatchTheSchemas).
const (
	prometheusOperator        = "github.com/prometheus-operator/prometheus-operator"
	prometheusOperatorVersion = "v0.85.0"
)

// installCRDs applies the prometheus-operator's CRDs, and Flux's when
// flux is set, and waits until the server serves them.
func installCRDs(t *testing.T, k kubectl.Kubectl, root string, flux bool) {
	t.Helper()
	prom, err := toolbin.ModuleAt(prometheusOperator, prometheusOperatorVersion)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"apply", "--server-side", "-f", filepath.Join(prom, "example", "prometheus-operator-crd")}
	if flux {
		toolsDir := filepath.Join(root, "tests", "e2e", "tools")
		for _, m := range []struct {
			tool   toolbin.Tool
			module string
		}{
			{toolbin.SourceController, "github.com/fluxcd/source-controller"},
			{toolbin.KustomizeController, "github.com/fluxcd/kustomize-controller"},
		} {
			d, err := toolbin.ModuleDir(toolsDir, m.tool, m.module)
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, "-f", filepath.Join(d, "config", "crd", "bases"))
		}
	}
	mustRun(t, k, args...)
	mustRun(t, k, "wait", "--for=condition=Established", "crd", "--all", "--timeout=1m")
}

// TestVersionsMatchTheSchemas: what runs here is what tests/manifests
// validates the manifests against (tests/internal/kubeschema), so a bump
// of one without the other fails.
func TestVersionsMatchTheSchemas(t *testing.T) {
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "tests", "internal", "kubeschema", "generate.go"))
	if err != nil {
		t.Fatal(err)
	}
	toolsDir := filepath.Join(root, "tests", "e2e", "tools")
	kube, err := toolbin.Kubernetes(toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{prometheusOperator: prometheusOperatorVersion}
	for _, m := range []struct {
		tool   toolbin.Tool
		module string
	}{
		{kube, "k8s.io/kubernetes"},
		{toolbin.SourceController, "github.com/fluxcd/source-controller"},
		{toolbin.KustomizeController, "github.com/fluxcd/kustomize-controller"},
	} {
		v, err := toolbin.ModuleVersion(toolsDir, m.tool, m.module)
		if err != nil {
			t.Fatal(err)
		}
		want[m.module] = v
	}
	for module, version := range want {
		if entry := fmt.Sprintf("{Module: %q, Version: %q", module, version); !strings.Contains(string(src), entry) {
			t.Errorf("the e2e test runs %s %s, but tests/internal/kubeschema's Sources do not list that version (want %s)", module, version, entry)
		}
	}
}
