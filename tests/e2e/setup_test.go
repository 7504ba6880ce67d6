package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubebank/kubebank/tests/e2e/internal/controlplane"
	"github.com/kubebank/kubebank/tests/e2e/internal/toolbin"
)

// repoRoot is the repository this module sits in (tests/e2e).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "overlays")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}

// binaries are the programs the test runs.
type binaries struct {
	controlplane.Binaries
	Kubectl             string
	SourceController    string
	KustomizeController string
	SOPS, AgeKeygen     string
}

var buildMu sync.Mutex

// build builds what is missing (the control plane; Flux's controllers too
// when flux is set) or takes it from the cache. A tool that cannot be
// built fails the test: nothing here skips.
func build(t testing.TB, flux bool) binaries {
	t.Helper()
	buildMu.Lock() // one build at a time: the machine is shared
	defer buildMu.Unlock()
	root := repoRoot(t)
	toolsDir := filepath.Join(root, "tests", "e2e", "tools")
	cache := filepath.Join(root, ".cache", "e2e", "bin")
	kube, err := toolbin.Kubernetes(toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	tools := []toolbin.Tool{toolbin.Etcd, kube, toolbin.KWOK}
	if flux {
		tools = append(tools, toolbin.SourceController, toolbin.KustomizeController)
	}
	all := toolbin.Binaries{}
	for _, tool := range tools {
		bins, err := toolbin.Build(toolsDir, cache, tool, os.Stdout)
		if err != nil {
			t.Fatalf("building the e2e programs: %v", err)
		}
		for k, v := range bins {
			all[k] = v
		}
	}
	kwokDir, err := toolbin.ModuleDir(toolsDir, toolbin.KWOK, "sigs.k8s.io/kwok")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, f := range []string{"node/fast/node-initialize.yaml", "node/heartbeat/node-heartbeat.yaml",
		"pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"} {
		stages = append(stages, filepath.Join(kwokDir, "kustomize", "stage", filepath.FromSlash(f)))
	}
	return binaries{
		Binaries: controlplane.Binaries{
			Etcd:              all["etcd"],
			APIServer:         all["kube-apiserver"],
			ControllerManager: all["kube-controller-manager"],
			Scheduler:         all["kube-scheduler"],
			KWOK:              all["kwok"],
			KWOKStages:        stages,
		},
		Kubectl:             all["kubectl"],
		SourceController:    all["source-controller"],
		KustomizeController: all["kustomize-controller"],
		SOPS:                all["sops"],
		AgeKeygen:           all["age-keygen"],
	}
}

// summary collects one line per finding for the closing report.
var summary struct {
	sync.Mutex
	lines []string
}

func report(format string, args ...any) {
	summary.Lock()
	defer summary.Unlock()
	summary.lines = append(summary.lines, fmt.Sprintf(format, args...))
}

func TestMain(m *testing.M) {
	code := m.Run()
	if len(summary.lines) > 0 {
		fmt.Println("e2e summary:\n  " + strings.Join(summary.lines, "\n  "))
	}
	os.Exit(code)
}
