package manifests_test

import (
	"bufio"
	"bytes"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// kubeScoreIgnored is the one place where kube-score checks are turned
// off: per environment, each with its reason. Nothing else is ignored.
var kubeScoreIgnored = map[string]map[string]string{
	"dev": {
		"container-image-pull-policy": "dev runs the bank image that `make image` built and `kind load image-archive` " +
			"put on the node (imagePullPolicy IfNotPresent); Always would try to pull it from a registry that does not have it",
	},
	"staging": {},
	"prod":    {},
}

// kubeScore runs the pinned kube-score (a tool directive in go.mod) on a
// rendered overlay and returns its findings by level.
func kubeScore(t *testing.T, env string, rendered []byte) map[string][]string {
	t.Helper()
	args := []string{"tool", "kube-score", "score", "--output-format", "ci", "--kubernetes-version", "v1.34"}
	for _, check := range slices.Sorted(maps.Keys(kubeScoreIgnored[env])) {
		args = append(args, "--ignore-test", check)
	}
	cmd := exec.Command("go", append(args, "-")...)
	cmd.Dir = manifests.Root()
	cmd.Stdin = bytes.NewReader(rendered)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// kube-score exits 1 when it finds a critical problem: the findings
	// below say which; any other failure has no findings to show.
	if err != nil && !bytes.Contains(out, []byte("[CRITICAL]")) {
		t.Fatalf("kube-score: %v\n%s\n%s", err, out, stderr.String())
	}
	findings := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "]"); strings.HasPrefix(line, "[") && i > 0 {
			findings[line[1:i]] = append(findings[line[1:i]], line)
		}
	}
	if len(findings["OK"]) == 0 {
		t.Fatalf("kube-score reported no passing check; output:\n%s", out)
	}
	return findings
}

func TestKubeScore(t *testing.T) {
	for _, env := range manifests.Envs {
		t.Run(env, func(t *testing.T) {
			_, rendered, err := manifests.Render("overlays/" + env)
			if err != nil {
				t.Fatal(err)
			}
			f := kubeScore(t, env, rendered)
			for _, c := range f["CRITICAL"] {
				t.Error(c)
			}
			for _, w := range f["WARNING"] {
				t.Log(w)
			}
			t.Logf("%s: %d ok, %d warnings, %d critical", env, len(f["OK"]), len(f["WARNING"]), len(f["CRITICAL"]))
		})
	}
}

// kube-score has teeth here: a workload without limits, security context
// or network policy, on a latest tag, is reported critical.
func TestKubeScoreFindsCriticalProblems(t *testing.T) {
	bad := []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
  namespace: bank
spec:
  replicas: 2
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: bad}
    spec:
      containers:
        - name: bad
          image: kubebank/bank:latest
`)
	f := kubeScore(t, "staging", bad)
	text := strings.Join(f["CRITICAL"], "\n")
	for _, want := range []string{"CPU limit", "security context", "latest tag", "NetworkPolicy"} {
		if !strings.Contains(text, want) {
			t.Errorf("no critical finding about %q in:\n%s", want, text)
		}
	}
}
