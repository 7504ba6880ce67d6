package toolbin

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kubernetes is the control plane and kubectl, at the k8s.io/kubernetes
// version tools/kubernetes/go.mod requires, stamped with that version
// (kubectl and the servers report it; version skew checks read it).
func Kubernetes(toolsDir string) (Tool, error) {
	t := Tool{Module: "kubernetes"}
	v, err := ModuleVersion(toolsDir, t, "k8s.io/kubernetes")
	if err != nil {
		return t, err
	}
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if !ok {
		return t, fmt.Errorf("k8s.io/kubernetes version %q", v)
	}
	minor, _, _ = strings.Cut(minor, ".")
	const pkg = "k8s.io/component-base/version"
	t.LDFlags = fmt.Sprintf("-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean",
		pkg, v, pkg, major, pkg, minor, pkg)
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"} {
		t.Commands = append(t.Commands, Command{c, "k8s.io/kubernetes/cmd/" + c})
	}
	return t, nil
}

// Etcd is the etcd server.
var Etcd = Tool{Module: "etcd", Commands: []Command{{"etcd", "go.etcd.io/etcd/server/v3"}}}

// KWOK simulates nodes and the kubelet's part of a Pod's life.
var KWOK = Tool{Module: "kwok", Commands: []Command{{"kwok", "sigs.k8s.io/kwok/cmd/kwok"}}}

// SourceController is Flux's source-controller.
var SourceController = Tool{Module: "source-controller", Commands: []Command{{"source-controller", "github.com/fluxcd/source-controller"}}}

// KustomizeController is Flux's kustomize-controller, and the sops and
// age-keygen of the versions it decrypts with.
var KustomizeController = Tool{Module: "kustomize-controller", Commands: []Command{
	{"kustomize-controller", "github.com/fluxcd/kustomize-controller"},
	{"sops", "github.com/getsops/sops/v3/cmd/sops"},
	{"age-keygen", "filippo.io/age/cmd/age-keygen"},
}}

// ModuleVersion is the version of module that tool's go.mod selects.
func ModuleVersion(toolsDir string, t Tool, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", module)
	cmd.Dir = filepath.Join(toolsDir, t.Module)
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s in %s: %w", module, cmd.Dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}
