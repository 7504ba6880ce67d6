package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/e2e/internal/flux"
	"github.com/kubebank/kubebank/tests/e2e/internal/gitserve"
	"github.com/kubebank/kubebank/tests/e2e/internal/kubectl"
)

// encryptSecrets follows docs/deploy.md ("SOPS with Flux") for env: an age
// key in flux-system/sops-age, each Redis Secret generated and encrypted
// with sops into overlays/<env>/redis-*.sops.yaml (the exporter's twice,
// bank and monitoring, one value), listed in the overlay's resources and
// committed. It returns "namespace/name" -> the password encrypted.
func encryptSecrets(t *testing.T, bins binaries, k kubectl.Kubectl, repo *gitserve.Repo, env string) map[string]string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "age.agekey")
	if out, err := exec.Command(bins.AgeKeygen, "-o", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v: %s", err, out)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^# public key: (age1\S+)$`).FindSubmatch(key)
	if m == nil {
		t.Fatalf("no public key in %s", keyFile)
	}
	public := string(m[1])
	mustRun(t, k, "-n", flux.Namespace, "create", "secret", "generic", "sops-age", "--from-file=age.agekey="+keyFile)

	overlay := repo.Path("overlays/" + env)
	want := map[string]string{}
	var files []string
	for _, s := range []string{"auth", "api", "worker", "scheduler", "web", "exporter"} {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		password := hex.EncodeToString(b)
		r := mustRun(t, k, "create", "secret", "generic", "redis-"+s, "-n", "bank",
			"--from-literal=password="+password, "--dry-run=client", "-o", "yaml")
		name := "redis-" + s + ".sops.yaml"
		writeFile(t, filepath.Join(overlay, name), r.Stdout)
		files = append(files, name)
		want["bank/redis-"+s] = password
		if s == "exporter" {
			name := "redis-exporter-monitoring.sops.yaml"
			writeFile(t, filepath.Join(overlay, name), strings.Replace(r.Stdout, "namespace: bank", "namespace: monitoring", 1))
			files = append(files, name)
			want["monitoring/redis-exporter"] = password
		}
	}
	for _, f := range files {
		path := filepath.Join(overlay, f)
		cmd := exec.Command(bins.SOPS, "--encrypt", "--age", public, "--encrypted-regex", "^(data|stringData)$", "--in-place", path)
		cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE=/nonexistent") // encrypting needs only the public key
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sops --encrypt %s: %v: %s", f, err, out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range want {
			if strings.Contains(string(data), p) || strings.Contains(string(data), b64(p)) {
				t.Fatalf("%s still holds a password in plain text after sops --encrypt", f)
			}
		}
	}
	editFile(t, filepath.Join(overlay, "kustomization.yaml"), "resources:\n", "resources:\n  - "+strings.Join(files, "\n  - ")+"\n")
	repo.Commit("e2e: " + env + "'s Redis Secrets, SOPS-encrypted")
	repo.Push()
	return want
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
